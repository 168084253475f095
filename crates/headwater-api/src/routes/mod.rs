//! The route table. One module per CMA resource.

mod account;
mod assets;
mod audit;
mod branch_merge;
mod branches;
mod bulk;
mod bulk_edit;
pub mod cda;
mod delivery_tokens;
mod entries;
mod entry_extras;
mod entry_workflow;
mod environments;
mod extensions;
mod labels;
mod locales;
mod management_tokens;
mod organizations;
mod publish_queue;
mod publish_rules;
mod releases;
mod roles;
mod schemas;
pub(crate) mod session;
pub(crate) mod sso;
mod stacks;
mod taxonomies;
mod teams;
mod token_controls;
mod token_revocations;
mod webhooks;
mod workflows;

use crate::error::{code, ApiError};
use crate::openapi::Body::{AssetJsonOrUpload, AssetUpload, ImportFile, Json, JsonObject};
use crate::openapi::{
    h, nested, op, Auth::*, Body, Operation, Reply::*, ASSET_LIST, COMPARE, COMPARE_ONE, COUNTED,
    DELIVERY_ENTRIES, ENTRY_LIST, LIST,
};
use crate::state::AppState;
use axum::http::StatusCode;
use axum::routing::{get, MethodFilter, MethodRouter};
use axum::Router;
use serde_json::{json, Value};

/// The route table: every route and method of the main router, with its handler and its
/// OpenAPI description (see [`crate::openapi`]). [`router`] registers the rows (those of one
/// path as one `.route(path, get(…).post(…))`) and `GET /v3/openapi.json` describes them; the
/// order is the document's order, not a matching order (axum matches by path, not by position).
///
/// To add a route, add its row here: `op(METHOD, PATH, h!(module::handler), tag, auth, body,
/// reply, summary)`, plus `.query(&[…])` / `.headers(&[…])`; then run
/// `UPDATE_OPENAPI=1 cargo test -p headwater-api --test it openapi::` and review the diff of
/// `crates/headwater-api/openapi.json`. `nested(…)` rows describe the delivery API, which
/// `cda::router()` serves (nested at `/cda`, and alone on the delivery port).
#[rustfmt::skip]
pub static OPERATIONS: &[Operation] = &[
    op("GET", "/healthz", h!(crate::ops::healthz), "server", Public, Body::None, Health, "Liveness: the process serves requests"),
    op("GET", "/readyz", h!(crate::ops::readyz), "server", Public, Body::None, Health, "Readiness: database, migrations and Redis (when configured)"),
    op("POST", "/v3/user-session", h!(session::login), "session", Public, Json("user"), Updated("user"),
       "Log in with email and password (and `tfa_token`); the answer carries the authtoken"),
    op("DELETE", "/v3/user-session", h!(session::logout), "session", User, Body::None, Notice, "Log out (revokes the authtoken)"),
    op("GET", "/v3/user", h!(session::current_user), "session", User, Body::None, One("user"), "The logged-in user"),
    op("GET", "/v3/organizations", h!(organizations::list), "organizations", User, Body::None, List("organizations"), "The user's organizations"),
    op("GET", "/v3/organizations/{uid}", h!(organizations::fetch), "organizations", User, Body::None, One("organization"), "One organization"),
    op("PUT", "/v3/user", h!(account::update), "session", User, Json("user"), Updated("user"),
       "Update the profile; a password change (`current_password`, `password`) ends the user's other sessions"),
    op("POST", "/v3/user/forgot_password", h!(account::forgot_password), "session", Public, Json("user"), Notice,
       "Email a password reset link (the same answer for unknown addresses)"),
    op("POST", "/v3/user/reset_password", h!(account::reset_password), "session", Public, Json("user"), Notice,
       "Set a new password with a reset token (single use, one hour); ends every session"),
    op("POST", "/v3/user/activate/{token}", h!(account::activate), "session", Public, JsonObject, Notice,
       "Accept an organization invitation (creating the account when the address has none)"),
    op("GET", "/v3/organizations/accept_ownership/{token}", h!(organizations::accept_ownership), "organizations", Public, Body::None, Notice,
       "Accept an organization ownership transfer"),
    op("GET", "/v3/organizations/{uid}/stacks", h!(organizations::org_stacks), "organizations", User, Body::None, List("stacks"), "The organization's stacks"),
    op("GET", "/v3/organizations/{uid}/roles", h!(organizations::org_roles), "organizations", User, Body::None, List("roles"), "The organization roles"),
    op("GET", "/v3/organizations/{uid}/logs", h!(organizations::logs), "organizations", User, Body::None, List("logs"), "The organization's audit log (owner and admins)"),
    op("GET", "/v3/organizations/{uid}/share", h!(organizations::invitations_list), "organizations", User, Body::None, List("shares"), "The organization's invitations (owner and admins)"),
    op("POST", "/v3/organizations/{uid}/share", h!(organizations::share), "organizations", User, Json("share"), List("shares"),
       "Invite by email with an organization role and optional stack roles (owner and admins)"),
    op("DELETE", "/v3/organizations/{uid}/share/{invitation}", h!(organizations::revoke), "organizations", User, Body::None, Notice, "Revoke a pending invitation"),
    op("GET", "/v3/organizations/{uid}/share/{invitation}/resend_invitation", h!(organizations::resend), "organizations", User, Body::None, Notice,
       "Send a pending invitation again (a new link; the old one stops working)"),
    op("GET", "/v3/organizations/{uid}/{invitation}/resend_invitation", h!(organizations::resend), "organizations", User, Body::None, Notice,
       "Send a pending invitation again (the official JS client's path)"),
    op("POST", "/v3/organizations/{uid}/transfer-ownership", h!(organizations::transfer_ownership), "organizations", User, JsonObject, Notice,
       "Ask another member to take over the organization (the owner only): `{\"transfer_to\": email}`"),
    op("GET", "/v3/organizations/{uid}/sso", h!(sso::config_get), "sso", User, Body::None, One("sso"),
       "The organization's single sign-on (OpenID Connect) settings, never the client secret (the owner only)"),
    op("PUT", "/v3/organizations/{uid}/sso", h!(sso::config_put), "sso", User, Json("sso"), Updated("sso"),
       "Set single sign-on: `issuer`, `client_id`, `client_secret` (kept when left out), `scopes`, `email_claim`, `allowed_domains`, `default_role`, `enabled`; the issuer's discovery document is fetched first (the owner only)"),
    op("DELETE", "/v3/organizations/{uid}/sso", h!(sso::config_delete), "sso", User, Body::None, Notice,
       "Remove the organization's single sign-on settings (the owner only)"),
    op("GET", "/v3/sso/discover", h!(sso::discover), "sso", Public, Body::None, One("sso"),
       "The organization that signs in an email's domain (or `org_uid`) through single sign-on, and its `start_url`")
        .query(&["email", "org_uid"]),
    op("GET", "/sso/start", h!(sso::start), "sso", Public, Body::None, Redirect,
       "Browser sign-in: redirects to the provider (code flow, PKCE S256, state, nonce); failures redirect to `/?sso_error=<code>`")
        .query(&["org_uid", "email"]),
    op("GET", "/sso/callback", h!(sso::callback), "sso", Public, Body::None, Redirect,
       "Browser sign-in: the provider's redirect back; sets the `hw_session` (HttpOnly) and `hw_csrf` cookies and redirects to `/`, or to `/?sso_error=<code>`")
        .query(&["code", "state"]),
    op("GET", "/v3/organizations/{uid}/teams", h!(teams::list), "teams", User, Body::None, List("teams"), "The organization's teams"),
    op("POST", "/v3/organizations/{uid}/teams", h!(teams::create), "teams", User, JsonObject, Bare("The team (201)."), "Create a team"),
    op("GET", "/v3/organizations/{uid}/teams/{team}", h!(teams::fetch), "teams", User, Body::None, Bare("The team."), "One team"),
    op("PUT", "/v3/organizations/{uid}/teams/{team}", h!(teams::update), "teams", User, JsonObject, Bare("The team."), "Update a team"),
    op("DELETE", "/v3/organizations/{uid}/teams/{team}", h!(teams::delete), "teams", User, Body::None, NoContent, "Delete a team"),
    op("GET", "/v3/organizations/{uid}/teams/{team}/users", h!(teams::users_list), "teams", User, Body::None, List("users"), "A team's members"),
    op("POST", "/v3/organizations/{uid}/teams/{team}/users", h!(teams::users_add), "teams", User, JsonObject, Notice, "Add members: `{\"emails\": [...]}`"),
    op("DELETE", "/v3/organizations/{uid}/teams/{team}/users/{user}", h!(teams::users_remove), "teams", User, Body::None, NoContent, "Remove a member"),
    op("GET", "/v3/organizations/{uid}/teams/{team}/stack_role_mappings", h!(teams::mappings_list), "teams", User, Body::None, List("stackRoleMappings"),
       "The stack roles the team's members get"),
    op("POST", "/v3/organizations/{uid}/teams/{team}/stack_role_mappings", h!(teams::mappings_add), "teams", User, JsonObject, One("stackRoleMapping"),
       "Map the team to roles of a stack: `{\"stackApiKey\", \"roles\"}`"),
    op("PUT", "/v3/organizations/{uid}/teams/{team}/stack_role_mappings/{api_key}", h!(teams::mappings_update), "teams", User, JsonObject, One("stackRoleMapping"),
       "Replace the team's roles in a stack"),
    op("DELETE", "/v3/organizations/{uid}/teams/{team}/stack_role_mappings/{api_key}", h!(teams::mappings_delete), "teams", User, Body::None, NoContent,
       "Remove the team's roles in a stack"),
    op("GET", "/v3/stacks", h!(stacks::fetch_or_list), "stacks", User, Body::None, List("stacks"),
       "The user's stacks, or with an `api_key` header that stack as `{\"stack\": {…}}`")
        .headers(&["api_key", "organization_uid"]).query(&["include_count", "include_collaborators"]),
    op("POST", "/v3/stacks", h!(stacks::create), "stacks", User, Json("stack"), Created("stack"), "Create a stack")
        .headers(&["organization_uid"]).query(&["organization_uid"]),
    op("PUT", "/v3/stacks", h!(stacks::update), "stacks", StackUser, Json("stack"), Updated("stack"), "Update the stack's settings"),
    op("DELETE", "/v3/stacks", h!(stacks::delete), "stacks", StackUser, Body::None, Notice, "Delete the stack"),
    op("GET", "/v3/stacks/users", h!(stacks::users), "stacks", StackUser, Body::None, List("users"), "The stack's users and their roles"),
    op("POST", "/v3/stacks/share", h!(stacks::share), "stacks", StackUser, JsonObject, Notice,
       "Share the stack: `{\"emails\": […], \"roles\": {email: [role uid]}}`"),
    op("POST", "/v3/stacks/unshare", h!(stacks::unshare), "stacks", StackUser, JsonObject, Notice, "Unshare the stack: `{\"email\": …}`"),
    op("GET", "/v3/stacks/settings", h!(stacks::settings), "stacks", StackUser, Body::None, One("stack_settings"), "The stack's settings"),
    op("POST", "/v3/stacks/settings", h!(stacks::update_settings), "stacks", StackUser, Json("stack_settings"), Updated("stack_settings"),
       "Set settings groups (each group sent replaces the stored one)"),
    op("POST", "/v3/stacks/settings/reset", h!(stacks::reset_settings), "stacks", StackUser, Body::None, Updated("stack_settings"), "Reset the settings"),
    op("POST", "/v3/stacks/transfer_ownership", h!(stacks::transfer_ownership), "stacks", StackUser, JsonObject, Notice,
       "Ask a member of the organization to take over the stack (the owner only)"),
    op("GET", "/v3/stacks/accept_ownership/{token}", h!(stacks::accept_ownership), "stacks", Public, Body::None, Notice, "Accept a stack ownership transfer")
        .query(&["api_key", "uid"]),
    op("GET", "/v3/stacks/management_tokens", h!(management_tokens::list), "management tokens", StackUser, Body::None, List("tokens"),
       "The stack's management tokens (secrets are never shown again)").query(COUNTED),
    op("POST", "/v3/stacks/management_tokens", h!(management_tokens::create), "management tokens", StackUser, Json("token"), Created("token"),
       "Create a management token; the answer shows its secret once"),
    op("GET", "/v3/stacks/management_tokens/{uid}", h!(management_tokens::fetch), "management tokens", StackUser, Body::None, One("token"), "One management token"),
    op("PUT", "/v3/stacks/management_tokens/{uid}", h!(management_tokens::update), "management tokens", StackUser, Json("token"), Updated("token"),
       "Update a management token (name, description, scope, expiry, rate limit)"),
    op("DELETE", "/v3/stacks/management_tokens/{uid}", h!(management_tokens::delete), "management tokens", StackUser, Body::None, Notice, "Delete (revoke) a management token"),
    op("POST", "/v3/stacks/management_tokens/{uid}/rotate", h!(token_controls::rotate), "management tokens", StackUser, JsonObject, Updated("token"),
       "Rotate a token's secret (MT-15): `{\"grace_period_seconds\": 0…604800}`; the old secret works for the grace period; the answer shows the new secret once"),
    op("GET", "/v3/stacks/management_tokens/{uid}/usage", h!(token_controls::usage), "management tokens", StackUser, Body::None, One("usage"),
       "A token's requests per day (reads, writes, refusals, rate-limited) and last 5 client addresses (MT-19)").query(&["days"]),
    op("POST", "/v3/token-revocations", h!(token_revocations::report), "management tokens", Public, JsonObject, Notice,
       "Report leaked secrets (MT-17): `{\"tokens\": [\"hwmt_…\", \"hwdt_…\"]}`, at most 1,000; valid ones are revoked; answers 202 whichever were valid"),
    op("GET", "/v3/stacks/delivery_tokens", h!(delivery_tokens::list), "delivery tokens", Stack, Body::None, List("tokens"), "The stack's delivery tokens").query(COUNTED),
    op("POST", "/v3/stacks/delivery_tokens", h!(delivery_tokens::create), "delivery tokens", Stack, Json("token"), Created("token"),
       "Create a delivery token; the answer shows its secret once"),
    op("GET", "/v3/stacks/delivery_tokens/{uid}", h!(delivery_tokens::fetch), "delivery tokens", Stack, Body::None, One("token"), "One delivery token"),
    op("PUT", "/v3/stacks/delivery_tokens/{uid}", h!(delivery_tokens::update), "delivery tokens", Stack, Json("token"), Updated("token"), "Update a delivery token"),
    op("DELETE", "/v3/stacks/delivery_tokens/{uid}", h!(delivery_tokens::delete), "delivery tokens", Stack, Body::None, Notice, "Delete a delivery token"),
    op("GET", "/v3/roles", h!(roles::list), "roles", Stack, Body::None, List("roles"), "The stack's roles").query(LIST),
    op("POST", "/v3/roles", h!(roles::create), "roles", Stack, Json("role"), Created("role"), "Create a custom role"),
    op("GET", "/v3/roles/{uid}", h!(roles::fetch), "roles", Stack, Body::None, One("role"), "One role"),
    op("PUT", "/v3/roles/{uid}", h!(roles::update), "roles", Stack, Json("role"), Updated("role"), "Update a custom role"),
    op("DELETE", "/v3/roles/{uid}", h!(roles::delete), "roles", Stack, Body::None, Notice, "Delete a custom role"),
    op("GET", "/v3/environments", h!(environments::list), "environments", Stack, Body::None, List("environments"), "The stack's environments")
        .query(&["skip", "limit", "include_count", "count"]),
    op("POST", "/v3/environments", h!(environments::create), "environments", Stack, Json("environment"), Created("environment"), "Create an environment"),
    op("GET", "/v3/environments/{name}", h!(environments::fetch), "environments", Stack, Body::None, One("environment"), "One environment"),
    op("PUT", "/v3/environments/{name}", h!(environments::update), "environments", Stack, Json("environment"), Updated("environment"), "Update an environment"),
    op("DELETE", "/v3/environments/{name}", h!(environments::delete), "environments", Stack, Body::None, Notice, "Delete an environment"),
    op("GET", "/v3/locales", h!(locales::list), "locales", Stack, Body::None, List("locales"), "The stack's locales").query(COUNTED),
    op("POST", "/v3/locales", h!(locales::create), "locales", Stack, Json("locale"), Created("locale"), "Add a locale"),
    op("GET", "/v3/locales/{code}", h!(locales::fetch), "locales", Stack, Body::None, One("locale"), "One locale"),
    op("PUT", "/v3/locales/{code}", h!(locales::update), "locales", Stack, Json("locale"), Updated("locale"), "Update a locale (name, fallback)"),
    op("DELETE", "/v3/locales/{code}", h!(locales::delete), "locales", Stack, Body::None, Notice, "Remove a locale"),
    op("GET", "/v3/content_types", h!(schemas::list_content_types), "content types", Stack, Body::None, List("content_types"), "The stack's content types")
        .query(&["skip", "limit", "include_count", "count"]),
    op("POST", "/v3/content_types", h!(schemas::create_content_type), "content types", Stack, Json("content_type"), Created("content_type"), "Create a content type"),
    op("GET", "/v3/content_types/{uid}", h!(schemas::fetch_content_type), "content types", Stack, Body::None, One("content_type"), "One content type"),
    op("PUT", "/v3/content_types/{uid}", h!(schemas::update_content_type), "content types", Stack, Json("content_type"), Updated("content_type"),
       "Update a content type (changes that would orphan stored entries are refused)"),
    op("DELETE", "/v3/content_types/{uid}", h!(schemas::delete_content_type), "content types", Stack, Body::None, Notice, "Delete a content type"),
    op("GET", "/v3/global_fields", h!(schemas::list_global_fields), "global fields", Stack, Body::None, List("global_fields"), "The stack's global fields")
        .query(&["skip", "limit", "include_count", "count"]),
    op("POST", "/v3/global_fields", h!(schemas::create_global_field), "global fields", Stack, Json("global_field"), Created("global_field"), "Create a global field"),
    op("GET", "/v3/global_fields/{uid}", h!(schemas::fetch_global_field), "global fields", Stack, Body::None, One("global_field"), "One global field"),
    op("PUT", "/v3/global_fields/{uid}", h!(schemas::update_global_field), "global fields", Stack, Json("global_field"), Updated("global_field"), "Update a global field"),
    op("DELETE", "/v3/global_fields/{uid}", h!(schemas::delete_global_field), "global fields", Stack, Body::None, Notice, "Delete a global field (refused while content types use it)"),
    op("POST", "/v3/content_types/import", h!(schemas::import_content_type), "content types", Stack, ImportFile("content_type"), Created("content_type"),
       "Import a content type from a JSON file (validated as a create; `overwrite=true` updates an existing uid)").query(&["overwrite"]),
    op("GET", "/v3/content_types/{uid}/export", h!(schemas::export_content_type), "content types", Stack, Body::None, Raw, "A content type as a JSON document")
        .query(&["version"]),
    op("POST", "/v3/global_fields/import", h!(schemas::import_global_field), "global fields", Stack, ImportFile("global_field"), Created("global_field"),
       "Import a global field from a JSON file (validated as a create; `overwrite=true` updates an existing uid)").query(&["overwrite"]),
    op("GET", "/v3/global_fields/{uid}/export", h!(schemas::export_global_field), "global fields", Stack, Body::None, Raw, "A global field as a JSON document")
        .query(&["version"]),
    op("POST", "/v3/content_types/{ct}/entries/import", h!(entries::import), "entries", Stack, ImportFile("entry"), Created("entry"),
       "Import an entry from a JSON file (validated as a create; a new uid)").query(&["locale", "overwrite"]),
    op("POST", "/v3/content_types/{ct}/entries/{uid}/import", h!(entries::import_existing), "entries", Stack, ImportFile("entry"), Updated("entry"),
       "Replace an entry from a JSON file (`overwrite=true` required; a new version)").query(&["locale", "overwrite"]),
    op("GET", "/v3/content_types/{ct}/entries/{uid}/export", h!(entries::export), "entries", Stack, Body::None, Raw, "An entry as a JSON document")
        .query(&["locale"]),
    op("GET", "/v3/content_types/{ct}/entries", h!(entries::list), "entries", Stack, Body::None, List("entries"),
       "Entries of a content type; `query` is compiled to parameterized SQL").query(ENTRY_LIST),
    op("POST", "/v3/content_types/{ct}/entries", h!(entries::create), "entries", Stack, Json("entry"), Created("entry"), "Create an entry (validated)")
        .query(&["locale"]),
    op("GET", "/v3/content_types/{ct}/entries/{uid}", h!(entries::fetch), "entries", Stack, Body::None, One("entry"), "One entry")
        .query(&["locale", "version", "only[BASE][]", "except[BASE][]"]),
    op("PUT", "/v3/content_types/{ct}/entries/{uid}", h!(entries::update), "entries", Stack, Json("entry"), Updated("entry"),
       "Update (or localize, with `locale`) an entry; a stale `_version` gets 409").query(&["locale"]),
    op("DELETE", "/v3/content_types/{ct}/entries/{uid}", h!(entries::delete), "entries", Stack, Body::None, Notice, "Delete an entry")
        .query(&["locale"]),
    op("GET", "/v3/content_types/{ct}/entries/{uid}/versions", h!(entries::versions), "entries", Stack, Body::None, List("versions"), "An entry's versions")
        .query(&["locale"]),
    op("GET", "/v3/content_types/{ct}/entries/{uid}/locales", h!(entries::entry_locales), "entries", Stack, Body::None, List("locales"),
       "The locales an entry is localized in"),
    op("POST", "/v3/content_types/{ct}/entries/{uid}/publish", h!(entries::publish), "entries", Stack, Json("entry"), Notice,
       "Publish an entry: `{\"entry\": {\"environments\": […], \"locales\": […]}}`; `nested=true` (or `publish_with_reference`) publishes its references too, five levels down").query(&["locale", "nested"]),
    op("POST", "/v3/content_types/{ct}/entries/{uid}/unpublish", h!(entries::unpublish), "entries", Stack, Json("entry"), Notice,
       "Unpublish an entry; `nested=true` unpublishes its live references too").query(&["locale", "nested"]),
    op("GET", "/v3/assets", h!(assets::list), "assets", Stack, Body::None, List("assets"),
       "The stack's files (`query={\"is_dir\": true}`: its folders; `count=true`: `{\"assets\": n}`)").query(ASSET_LIST),
    op("POST", "/v3/assets", h!(assets::create), "assets", Stack, AssetUpload, Created("asset"), "Upload an asset"),
    op("POST", "/v3/assets/folders", h!(assets::create_folder), "assets", Stack, Json("asset"), Created("asset"), "Create a folder: `{\"asset\": {\"name\", \"parent_uid\"}}`"),
    op("GET", "/v3/assets/folders/{uid}", h!(assets::fetch_folder), "assets", Stack, Body::None, One("asset"), "One folder"),
    op("PUT", "/v3/assets/folders/{uid}", h!(assets::update_folder), "assets", Stack, Json("asset"), Updated("asset"), "Rename or move a folder"),
    op("DELETE", "/v3/assets/folders/{uid}", h!(assets::delete_folder), "assets", Stack, Body::None, Notice, "Delete an empty folder"),
    op("GET", "/v3/assets/{uid}", h!(assets::fetch), "assets", Stack, Body::None, One("asset"), "One asset"),
    op("PUT", "/v3/assets/{uid}", h!(assets::update), "assets", Stack, AssetJsonOrUpload, Updated("asset"),
       "Update an asset's details (JSON) or replace its file (multipart)"),
    op("DELETE", "/v3/assets/{uid}", h!(assets::delete), "assets", Stack, Body::None, Notice, "Delete an asset"),
    op("GET", "/v3/assets/{uid}/versions", h!(assets::versions), "assets", Stack, Body::None, List("versions"), "An asset's versions"),
    op("POST", "/v3/assets/{uid}/publish", h!(assets::publish), "assets", Stack, Json("asset"), Notice,
       "Publish an asset: `{\"asset\": {\"environments\": […], \"locales\": […]}}`"),
    op("POST", "/v3/assets/{uid}/unpublish", h!(assets::unpublish), "assets", Stack, Json("asset"), Notice, "Unpublish an asset"),
    op("GET", "/v3/assets/{api_key}/{uid}/{version}/{filename}", h!(assets::download), "assets", Public, Body::None, File,
       "Download one version of an asset's file (its `url`)"),
    op("GET", "/v3/audit-logs", h!(audit::list), "audit log", Stack, Body::None, List("logs"), "The stack's audit log").query(LIST),
    op("GET", "/v3/audit-logs/{uid}", h!(audit::fetch), "audit log", Stack, Body::None, One("log"), "One audit-log item"),
    op("POST", "/v3/bulk/publish", h!(bulk::publish), "entries", Stack, JsonObject, Notice,
       "Publish entries and assets in one transaction (all or none): `{\"entries\": [{uid, content_type, locale}], \"assets\": [{uid}], \"locales\", \"environments\"}`; with `api_version: 3.2` or `scheduled_at`, queued as a job (`{notice, job_id}`) whose items succeed or fail one by one; `nested=true` (or `publish_with_reference`) publishes their references too, five levels down")
        .query(&["nested", "event_type", "approvals", "skip_workflow_stage_check", "publish_all_localized"])
        .headers(&["api_version", "bulk_version", "skip_workflow_stage_check", "approvals"]),
    op("POST", "/v3/bulk/unpublish", h!(bulk::unpublish), "entries", Stack, JsonObject, Notice,
       "Unpublish entries and assets in one transaction (all or none); with `api_version: 3.2` or `scheduled_at`, queued as a job (`{notice, job_id}`); `nested=true` unpublishes their live references too")
        .query(&["nested", "event_type", "approvals", "skip_workflow_stage_check", "publish_all_localized"])
        .headers(&["api_version", "bulk_version", "skip_workflow_stage_check", "approvals"]),
    op("POST", "/v3/bulk/release/items", h!(releases::bulk_add_items), "releases", Stack, JsonObject, Notice,
       "Add items to a release, in each locale of `locale`, with `reference: true` their references too: `{\"release\", \"action\", \"locale\": [...], \"reference\", \"items\": [{uid, content_type_uid, locale, version}]}` → `{notice, job_id}`")
        .headers(&["bulk_version"]),
    op("PUT", "/v3/bulk/release/update_items", h!(releases::bulk_update_items), "releases", Stack, JsonObject, Updated("release"),
       "Set a release's items to their current versions: `{\"release\", \"items\": [\"$all\"] | [{uid, locale}]}`")
        .headers(&["bulk_version"]),
    op("POST", "/v3/bulk/delete", h!(bulk_edit::delete), "entries", Stack, JsonObject, Notice,
       "Delete entries (a locale other than the master: that localization) and assets in one transaction (all or none): `{\"entries\": [{content_type, uid, locale}], \"assets\": [{uid}]}`"),
    op("POST", "/v3/bulk/workflow", h!(bulk_edit::workflow), "entries", Stack, JsonObject, Notice,
       "Move entries to a workflow stage in one transaction (all or none): `{\"entries\": [{content_type, uid, locale}], \"workflow\": {\"workflow_stage\": {uid, comment, due_date, assigned_to}}}`"),
    op("GET", "/v3/bulk/jobs/{uid}", h!(publish_queue::job), "publish queue", Stack, Body::None, Object,
       "A publishing job: `{uid, job_id, type, action, status (scheduled, in_progress, completed, failed, cancelled), scheduled_at, environments, locales, summary: {total, success, failed, pending, cancelled}}`")
        .headers(&["api_version", "bulk_version"]),
    op("GET", "/v3/bulk/jobs/{uid}/items", h!(publish_queue::job_items), "publish queue", Stack, Body::None, Object,
       "A job's items and what became of each: `{items: [{uid, type, content_type_uid, locale, version, status, errors}]}` (`skip`, `limit`, `total_count` with `include_count`)")
        .query(&["skip", "limit", "include_count", "status", "type", "ct"])
        .headers(&["api_version"]),
    op("GET", "/v3/publish-queue", h!(publish_queue::list), "publish queue", Stack, Body::None, List("queue"),
       "Publishing activity of the branch, one row per item of every job and schedule, newest first")
        .query(&["skip", "limit", "include_count", "type", "action", "status", "content_type_uid", "ct", "scheduled"]),
    op("GET", "/v3/publish-queue/{uid}", h!(publish_queue::get), "publish queue", Stack, Body::None, One("queue"), "One row of the publish queue"),
    op("GET", "/v3/publish-queue/{uid}/unschedule", h!(publish_queue::unschedule), "publish queue", Stack, Body::None, Notice,
       "Cancel a scheduled item that has not been carried out"),
    op("GET", "/v3/stacks/branches", h!(branches::list), "branches", Stack, Body::None, List("branches"), "The stack's branches").query(&["skip", "limit", "include_count", "count"]),
    op("POST", "/v3/stacks/branches", h!(branches::create), "branches", StackUser, Json("branch"), Created("branch"),
       "Create a branch from `source` (copies its content; authtoken only)"),
    op("GET", "/v3/stacks/branches/{uid}", h!(branches::fetch), "branches", Stack, Body::None, One("branch"), "One branch"),
    op("DELETE", "/v3/stacks/branches/{uid}", h!(branches::delete), "branches", StackUser, Body::None, Notice,
       "Delete a branch and its content (not `main`, not one an alias points at; authtoken only)"),
    op("GET", "/v3/stacks/branch_aliases", h!(branches::list_aliases), "branches", Stack, Body::None, List("branch_aliases"), "The stack's branch aliases").query(COUNTED),
    op("GET", "/v3/stacks/branch_aliases/{uid}", h!(branches::fetch_alias), "branches", Stack, Body::None, One("branch_alias"), "One alias"),
    op("PUT", "/v3/stacks/branch_aliases/{uid}", h!(branches::assign_alias), "branches", StackUser, Json("branch_alias"), Updated("branch_alias"),
       "Create or re-point an alias: `{\"branch_alias\": {\"target_branch\"}}` (authtoken only)"),
    op("DELETE", "/v3/stacks/branch_aliases/{uid}", h!(branches::delete_alias), "branches", StackUser, Body::None, Notice, "Delete an alias (authtoken only)"),
    op("GET", "/v3/stacks/branches/{uid}/settings", h!(branch_merge::fetch_settings), "branches", Stack, Body::None, One("branch"), "A branch's settings"),
    op("POST", "/v3/stacks/branches/{uid}/settings", h!(branch_merge::update_settings), "branches", StackUser, Json("branch"), Notice,
       "Replace a branch's settings: `{\"branch\": {\"settings\": {…}}}` (authtoken only)"),
    op("GET", "/v3/stacks/branches_compare", h!(branch_merge::compare_all), "branches", Stack, Body::None, Members(&["branches", "diff", "next_url"]),
       "Content types and global fields that differ between two branches").query(COMPARE),
    op("GET", "/v3/stacks/branches_compare/content_types", h!(branch_merge::compare_content_types), "branches", Stack, Body::None, Members(&["branches", "diff", "next_url"]),
       "Content types that differ between two branches").query(COMPARE),
    op("GET", "/v3/stacks/branches_compare/content_types/{uid}", h!(branch_merge::compare_content_type), "branches", Stack, Body::None, Members(&["branches", "diff"]),
       "How one content type differs between two branches").query(COMPARE_ONE),
    op("GET", "/v3/stacks/branches_compare/global_fields", h!(branch_merge::compare_global_fields), "branches", Stack, Body::None, Members(&["branches", "diff", "next_url"]),
       "Global fields that differ between two branches").query(COMPARE),
    op("GET", "/v3/stacks/branches_compare/global_fields/{uid}", h!(branch_merge::compare_global_field), "branches", Stack, Body::None, Members(&["branches", "diff"]),
       "How one global field differs between two branches").query(COMPARE_ONE),
    op("POST", "/v3/stacks/branches_merge", h!(branch_merge::merge), "branches", StackUser, JsonObject, Members(&["uid", "merge_details"]),
       "Merge the compare branch's content types and global fields into the base branch (authtoken only)")
        .query(&["base_branch", "compare_branch", "default_merge_strategy", "merge_comment", "no_revert"]),
    op("GET", "/v3/stacks/branches_queue", h!(branch_merge::queue), "branches", Stack, Body::None, Members(&["queue"]), "Recent merges, newest first")
        .query(&["skip", "limit"]),
    op("GET", "/v3/stacks/branches_queue/{uid}", h!(branch_merge::queue_item), "branches", Stack, Body::None, Members(&["queue"]), "One merge"),
    op("GET", "/v3/workflows", h!(workflows::list), "workflows", Stack, Body::None, List("workflows"), "The stack's workflows").query(COUNTED),
    op("POST", "/v3/workflows", h!(workflows::create), "workflows", Stack, Json("workflow"), Created("workflow"), "Create a workflow (stages, content types, branches)"),
    op("GET", "/v3/workflows/{uid}", h!(workflows::fetch), "workflows", Stack, Body::None, One("workflow"), "One workflow"),
    op("PUT", "/v3/workflows/{uid}", h!(workflows::update), "workflows", Stack, Json("workflow"), Updated("workflow"), "Update a workflow"),
    op("DELETE", "/v3/workflows/{uid}", h!(workflows::delete), "workflows", Stack, Body::None, Updated("workflow"),
       "Delete a workflow (refused while publish rules use it)"),
    op("GET", "/v3/workflows/{uid}/enable", h!(workflows::enable), "workflows", Stack, Body::None, Updated("workflow"), "Enable a workflow"),
    op("GET", "/v3/workflows/{uid}/disable", h!(workflows::disable), "workflows", Stack, Body::None, Updated("workflow"), "Disable a workflow"),
    op("GET", "/v3/workflows/publishing_rules", h!(publish_rules::list_rules), "workflows", Stack, Body::None, List("publishing_rules"), "The stack's publish rules")
        .query(&["content_types", "skip", "limit", "include_count"]),
    op("POST", "/v3/workflows/publishing_rules", h!(publish_rules::create_rule), "workflows", Stack, Json("publishing_rule"), Created("publishing_rule"),
       "Create a publish rule (environment, actions, content types, locales, approvers)"),
    op("GET", "/v3/workflows/publishing_rules/{uid}", h!(publish_rules::fetch_rule), "workflows", Stack, Body::None, One("publishing_rule"), "One publish rule"),
    op("PUT", "/v3/workflows/publishing_rules/{uid}", h!(publish_rules::update_rule), "workflows", Stack, Json("publishing_rule"), Updated("publishing_rule"), "Update a publish rule"),
    op("DELETE", "/v3/workflows/publishing_rules/{uid}", h!(publish_rules::delete_rule), "workflows", Stack, Body::None, Notice, "Delete a publish rule"),
    op("GET", "/v3/workflows/content_type/{ct}", h!(publish_rules::rules_of_content_type), "workflows", Stack, Body::None, List("publishing_rules"),
       "The publish rules that apply to a content type").query(&["action", "locale", "environment"]),
    op("POST", "/v3/content_types/{ct}/entries/{uid}/workflow", h!(entry_workflow::entry_workflow), "workflows", Stack, Json("workflow"), Notice,
       "Set the entry's stage (`workflow_stage`), or request (0), accept (1) or reject (-1) a publish (`publishing_rule`); a management token never accepts or rejects (MT-9)").query(&["locale"]),
    op("GET", "/v3/content_types/{ct}/entries/{uid}/workflow", h!(entry_workflow::entry_workflow_details), "workflows", Stack, Body::None, One("workflow"),
       "The entry's stage, stage history and publish requests").query(&["locale"]),
    op("GET", "/v3/user/assignments", h!(entry_workflow::assignments), "workflows", Stack, Body::None, List("assignments"), "Pending publish requests the caller may decide"),
    op("GET", "/v3/releases", h!(releases::list), "releases", Stack, Body::None, List("releases"), "The branch's releases").query(LIST),
    op("POST", "/v3/releases", h!(releases::create), "releases", Stack, Json("release"), Created("release"), "Create a release"),
    op("GET", "/v3/releases/{uid}", h!(releases::fetch), "releases", Stack, Body::None, One("release"), "One release"),
    op("PUT", "/v3/releases/{uid}", h!(releases::update), "releases", Stack, Json("release"), Updated("release"), "Update (lock, unlock, rename) a release"),
    op("DELETE", "/v3/releases/{uid}", h!(releases::delete), "releases", Stack, Body::None, Notice, "Delete an unlocked release"),
    op("GET", "/v3/releases/{uid}/items", h!(releases::items), "releases", Stack, Body::None, List("items"), "A release's items"),
    op("POST", "/v3/releases/{uid}/items", h!(releases::add_items), "releases", Stack, JsonObject, Updated("release"), "Add items: `{\"items\": […]}`"),
    op("DELETE", "/v3/releases/{uid}/items", h!(releases::remove_items), "releases", Stack, JsonObject, Updated("release"),
       "Remove items: `{\"items\": […]}` or `?all=true`").query(&["all"]),
    op("POST", "/v3/releases/{uid}/item", h!(releases::add_items), "releases", Stack, Json("item"), Updated("release"), "Add one item"),
    op("DELETE", "/v3/releases/{uid}/item", h!(releases::remove_items), "releases", Stack, Json("item"), Updated("release"), "Remove one item"),
    op("POST", "/v3/releases/{uid}/deploy", h!(releases::deploy), "releases", Stack, Json("release"), Notice,
       "Deploy every item to environments in one transaction (all or nothing)"),
    op("POST", "/v3/releases/{uid}/clone", h!(releases::clone), "releases", Stack, Json("release"), Created("release"), "Copy a release with its items"),
    op("GET", "/v3/labels", h!(labels::list_labels), "labels", Stack, Body::None, List("labels"), "The branch's labels").query(COUNTED),
    op("POST", "/v3/labels", h!(labels::create_label), "labels", Stack, Json("label"), Created("label"), "Create a label"),
    op("GET", "/v3/labels/{uid}", h!(labels::fetch_label), "labels", Stack, Body::None, One("label"), "One label"),
    op("PUT", "/v3/labels/{uid}", h!(labels::update_label), "labels", Stack, Json("label"), Updated("label"), "Update a label"),
    op("DELETE", "/v3/labels/{uid}", h!(labels::delete_label), "labels", Stack, Body::None, Notice, "Delete a label (its children lose it as parent)"),
    op("GET", "/v3/taxonomies", h!(taxonomies::list), "taxonomies", Stack, Body::None, List("taxonomies"), "The branch's taxonomies")
        .query(&["locale", "skip", "limit", "include_count", "include_terms_count", "include_referenced_entries_count", "typeahead", "search"]),
    op("POST", "/v3/taxonomies", h!(taxonomies::create), "taxonomies", Stack, Json("taxonomy"), Created("taxonomy"), "Create a taxonomy"),
    op("POST", "/v3/taxonomies/import", h!(taxonomies::import), "taxonomies", Stack, Body::TaxonomyUpload, Created("taxonomy"),
       "Create a taxonomy with its terms from an exported file"),
    op("POST", "/v3/taxonomies/publish", h!(taxonomies::publish), "taxonomies", Stack, JsonObject, Members(&["notice", "job_id"]),
       "Publish taxonomies with their terms: `{\"locales\", \"environments\", \"items\": [{\"uid\", \"term_uid\"}]}`").headers(&["api_version"]),
    op("POST", "/v3/taxonomies/unpublish", h!(taxonomies::unpublish), "taxonomies", Stack, JsonObject, Members(&["notice", "job_id"]),
       "Unpublish taxonomies from locales and environments (the publish body)").headers(&["api_version"]),
    op("GET", "/v3/taxonomies/{uid}", h!(taxonomies::fetch), "taxonomies", Stack, Body::None, One("taxonomy"), "One taxonomy")
        .query(&["locale", "include_terms_count", "include_referenced_terms_count", "include_referenced_entries_count", "include_publish_details"]),
    op("POST", "/v3/taxonomies/{uid}", h!(taxonomies::localize), "taxonomies", Stack, Json("taxonomy"), Created("taxonomy"),
       "Localize a taxonomy: its name and description in `locale`").query(&["locale"]),
    op("PUT", "/v3/taxonomies/{uid}", h!(taxonomies::update), "taxonomies", Stack, Json("taxonomy"), Updated("taxonomy"),
       "Rename or describe a taxonomy (in `locale` when given)").query(&["locale"]),
    op("GET", "/v3/taxonomies/{uid}/locales", h!(taxonomies::locales), "taxonomies", Stack, Body::None, List("taxonomies"),
       "The taxonomy in the master locale and every locale it is localized in").query(&["include_count"]),
    op("DELETE", "/v3/taxonomies/{uid}", h!(taxonomies::delete), "taxonomies", Stack, Body::None, NoContent,
       "Delete a taxonomy with its terms (refused while entries carry its terms; `force` when content types name it)").query(&["force"]),
    op("GET", "/v3/taxonomies/{uid}/export", h!(taxonomies::export), "taxonomies", Stack, Body::None, One("taxonomy"),
       "The taxonomy and its terms as a file for import (`format=csv`: the CSV file)").query(&["format", "locale"]),
    op("GET", "/v3/taxonomies/{uid}/terms", h!(taxonomies::list_terms), "taxonomies", Stack, Body::None, List("terms"),
       "The taxonomy's terms, parents first (`$all` as uid with `typeahead` searches every taxonomy)")
        .query(&["locale", "depth", "typeahead", "search", "skip", "limit", "include_count", "include_children_count",
                 "include_referenced_entries_count", "include_ancestors"]),
    op("POST", "/v3/taxonomies/{uid}/terms", h!(taxonomies::create_term), "taxonomies", Stack, Json("term"), Created("term"), "Create a term (`parent_uid`, `order`)"),
    op("GET", "/v3/taxonomies/{uid}/terms/{term}", h!(taxonomies::fetch_term), "taxonomies", Stack, Body::None, One("term"), "One term")
        .query(&["locale", "include_children_count", "include_referenced_entries_count", "include_ancestors"]),
    op("POST", "/v3/taxonomies/{uid}/terms/{term}", h!(taxonomies::localize_term), "taxonomies", Stack, Json("term"), Created("term"),
       "Localize a term: its name in `locale`").query(&["locale"]),
    op("PUT", "/v3/taxonomies/{uid}/terms/{term}", h!(taxonomies::update_term), "taxonomies", Stack, Json("term"), Updated("term"),
       "Rename a term (in `locale` when given)").query(&["locale"]),
    op("GET", "/v3/taxonomies/{uid}/terms/{term}/locales", h!(taxonomies::term_locales), "taxonomies", Stack, Body::None, List("terms"),
       "The term in the master locale and every locale it is localized in").query(&["include_count"]),
    op("DELETE", "/v3/taxonomies/{uid}/terms/{term}", h!(taxonomies::delete_term), "taxonomies", Stack, Body::None, NoContent,
       "Delete a term (`force` with its descendants; refused while entries carry them)").query(&["force"]),
    op("GET", "/v3/taxonomies/{uid}/terms/{term}/ancestors", h!(taxonomies::ancestors), "taxonomies", Stack, Body::None, List("terms"), "The terms above a term, root first"),
    op("GET", "/v3/taxonomies/{uid}/terms/{term}/descendants", h!(taxonomies::descendants), "taxonomies", Stack, Body::None, List("terms"),
       "The terms below a term, to `depth` levels").query(&["depth", "skip", "limit", "include_count"]),
    op("PUT", "/v3/taxonomies/{uid}/terms/{term}/move", h!(taxonomies::move_term), "taxonomies", Stack, Json("term"), Updated("term"),
       "Move a term (`parent_uid`, `order`); cycles and depths past 10 are refused").query(&["force"]),
    op("GET", "/v3/webhooks", h!(webhooks::list), "webhooks", Stack, Body::None, List("webhooks"), "The stack's webhooks").query(LIST),
    op("POST", "/v3/webhooks", h!(webhooks::create), "webhooks", Stack, Json("webhook"), Created("webhook"),
       "Create a webhook (channels, destinations; deliveries are signed)"),
    op("GET", "/v3/webhooks/{uid}", h!(webhooks::fetch), "webhooks", Stack, Body::None, One("webhook"), "One webhook"),
    op("PUT", "/v3/webhooks/{uid}", h!(webhooks::update), "webhooks", Stack, Json("webhook"), Updated("webhook"), "Update a webhook"),
    op("DELETE", "/v3/webhooks/{uid}", h!(webhooks::delete), "webhooks", Stack, Body::None, Notice, "Delete a webhook"),
    op("GET", "/v3/webhooks/{uid}/executions", h!(webhooks::executions), "webhooks", Stack, Body::None, List("webhooks"),
       "A webhook's deliveries with their attempts").query(LIST),
    op("GET", "/v3/webhooks/{uid}/logs", h!(webhooks::logs), "webhooks", Stack, Body::None, One("webhook"), "One delivery (execution uid) with every attempt"),
    op("POST", "/v3/webhooks/{uid}/retry", h!(webhooks::retry), "webhooks", Stack, JsonObject, Notice,
       "Deliver an execution again (`{\"execution_uid\"}` with the webhook uid, or the execution uid in the path)"),
    op("GET", "/v3/webhooks/{uid}/export", h!(webhooks::export), "webhooks", Stack, Body::None, One("webhook"), "A webhook's definition"),
    op("GET", "/v3/extensions", h!(extensions::list), "extensions", Stack, Body::None, List("extensions"),
       "The branch's extensions; `query={\"type\": \"field\"}` keeps one type").query(&["skip", "limit", "include_count", "count", "query"]),
    op("POST", "/v3/extensions", h!(extensions::create), "extensions", Stack, Json("extension"), Created("extension"),
       "Create an extension: JSON with `src` or `srcdoc`, or multipart `extension[upload]` (becomes `srcdoc`)"),
    op("GET", "/v3/extensions/{uid}", h!(extensions::fetch), "extensions", Stack, Body::None, One("extension"), "One extension"),
    op("PUT", "/v3/extensions/{uid}", h!(extensions::update), "extensions", Stack, Json("extension"), Updated("extension"),
       "Update an extension (JSON or multipart); its type stays"),
    op("DELETE", "/v3/extensions/{uid}", h!(extensions::delete), "extensions", Stack, Body::None, Notice,
       "Delete an extension no content type or global field uses"),
    op("GET", "/v3/content_types/{ct}/entries/{uid}/references", h!(entry_extras::entry_references), "entries", Stack, Body::None, List("references"),
       "The entries whose current version refers to this entry").query(&["locale", "include_publish_details"]),
    op("POST", "/v3/content_types/{ct}/entries/{uid}/versions/{n}/name", h!(entry_extras::name_version), "entries", Stack, Json("entry"), Notice,
       "Name a version (`_version_name`, `locale`, `force` to rename)").query(&["locale"]),
    op("DELETE", "/v3/content_types/{ct}/entries/{uid}/versions/{n}/name", h!(entry_extras::unname_version), "entries", Stack, Json("entry"), Notice,
       "Remove a version's name").query(&["locale"]),
    op("POST", "/v3/content_types/{ct}/entries/{uid}/unlocalize", h!(entry_extras::unlocalize), "entries", Stack, Body::None, Notice,
       "Remove the entry's own version in a non-master locale").query(&["locale"]),
    op("GET", "/v3/metadata", h!(entry_extras::list_metadata), "metadata", Stack, Body::None, List("metadata"),
       "Metadata attached to entries and assets").query(&["skip", "limit", "include_count", "entity_uid"]),
    op("POST", "/v3/metadata", h!(entry_extras::create_metadata), "metadata", Stack, Json("metadata"), Created("metadata"),
       "Attach metadata (for an extension) to an entry or asset"),
    op("GET", "/v3/metadata/{uid}", h!(entry_extras::fetch_metadata), "metadata", Stack, Body::None, One("metadata"), "One metadata object"),
    op("PUT", "/v3/metadata/{uid}", h!(entry_extras::update_metadata), "metadata", Stack, Json("metadata"), Updated("metadata"), "Replace a metadata object's attributes"),
    op("DELETE", "/v3/metadata/{uid}", h!(entry_extras::delete_metadata), "metadata", Stack, Body::None, Notice, "Delete a metadata object"),
    op("POST", "/v3/metadata/{uid}/publish", h!(entry_extras::publish_metadata), "metadata", Stack, Json("metadata"), Updated("metadata"),
       "Publish a metadata object's current attributes: `{\"metadata\": {\"environments\": […], \"locales\": […]}}`"),
    op("POST", "/v3/metadata/{uid}/unpublish", h!(entry_extras::unpublish_metadata), "metadata", Stack, Json("metadata"), Updated("metadata"),
       "Unpublish a metadata object: `{\"metadata\": {\"environments\": […], \"locales\": […]}}`"),
    op("GET", "/v3/assets/{uid}/references", h!(entry_extras::asset_references), "assets", Stack, Body::None, List("references"),
       "The entries whose current version uses the asset").query(&["include_publish_details"]),
    op("GET", "/v3/assets/{api_key}/{uid}", h!(assets::download_latest), "assets", Public, Body::None, File,
       "Download the asset's current file (served under SEC-6)").query(&["version"]),
    op("PUT", "/v3/releases/{uid}/update_items", h!(releases::update_items), "releases", Stack, JsonObject, Updated("release"),
       "Set items to the current versions of their entries and assets: `{\"items\": [\"$all\"]}` or `[{uid, locale}]`"),
    op("PUT", "/v3/releases/{uid}/items/move", h!(releases::move_items), "releases", Stack, JsonObject, Notice,
       "Move items to another release: `{\"release_uid\", \"items\": [{uid, locale}]}`"),
    op("POST", "/v3/releases/{uid}/items/move", h!(releases::move_items), "releases", Stack, JsonObject, Notice,
       "Move items to another release (as PUT)"),
    op("POST", "/v3/webhooks/import", h!(webhooks::import), "webhooks", Stack, ImportFile("webhook"), Created("webhook"),
       "Import a webhook from a JSON file (validated as a create)"),
    op("POST", "/v3/webhooks/{uid}/import", h!(webhooks::import_existing), "webhooks", Stack, ImportFile("webhook"), Updated("webhook"),
       "Replace a webhook from a JSON file (validated as an update)"),
    op("GET", "/v3/openapi.json", h!(crate::openapi::serve), "server", Public, Body::None, Document, "This description"),
    nested("GET", "/cda/v3/content_types", "delivery", Delivery, Body::None, List("content_types"),
       "Delivery API: content types").query(&["environment", "skip", "limit", "include_count"]),
    nested("GET", "/cda/v3/content_types/{ct}", "delivery", Delivery, Body::None, One("content_type"),
       "Delivery API: one content type").query(&["environment"]),
    nested("GET", "/cda/v3/content_types/{ct}/entries", "delivery", Delivery, Body::None, List("entries"),
       "Delivery API: published entries").query(DELIVERY_ENTRIES),
    nested("GET", "/cda/v3/content_types/{ct}/entries/{uid}", "delivery", Delivery, Body::None, One("entry"),
       "Delivery API: one published entry").query(&["environment", "locale"]),
    nested("GET", "/cda/v3/assets", "delivery", Delivery, Body::None, List("assets"), "Delivery API: published assets")
        .query(&["environment", "locale", "include_count"]),
    nested("GET", "/cda/v3/assets/{uid}", "delivery", Delivery, Body::None, One("asset"), "Delivery API: one published asset")
        .query(&["environment", "locale"]),
    nested("GET", "/cda/v3/taxonomies", "delivery", Delivery, Body::None, List("taxonomies"),
       "Delivery API: the taxonomies published in the environment and locale").query(&["environment", "locale", "skip", "limit", "include_count"]),
    nested("GET", "/cda/v3/taxonomies/entries", "delivery", Delivery, Body::None, List("entries"),
       "Delivery API: published entries of every content type, filtered by `query` (taxonomy conditions)").query(DELIVERY_ENTRIES),
    nested("GET", "/cda/v3/taxonomies/{uid}", "delivery", Delivery, Body::None, One("taxonomy"),
       "Delivery API: one published taxonomy").query(&["environment", "locale"]),
    nested("GET", "/cda/v3/taxonomies/{uid}/terms", "delivery", Delivery, Body::None, List("terms"),
       "Delivery API: a published taxonomy's terms, parents first").query(&["environment", "locale", "depth", "skip", "limit", "include_count"]),
    nested("GET", "/cda/v3/taxonomies/{uid}/terms/{term}", "delivery", Delivery, Body::None, One("term"),
       "Delivery API: one term of a published taxonomy").query(&["environment", "locale"]),
];

fn method_filter(method: &str) -> MethodFilter {
    match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "DELETE" => MethodFilter::DELETE,
        "PATCH" => MethodFilter::PATCH,
        other => panic!("route table: unknown method {other}"),
    }
}

/// The rows of [`OPERATIONS`] that have a handler, one method router per path, in the table's
/// order of first appearance. Panics (at start-up, and in every test) when a method of a path
/// is in the table twice.
fn table_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    let mut routes: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for o in OPERATIONS {
        let Some(make) = o.handler else {
            continue; // served by a nested router
        };
        let route = make(method_filter(o.method));
        match routes.iter_mut().find(|(path, _)| *path == o.path) {
            Some((_, methods)) => {
                *methods = std::mem::replace(methods, MethodRouter::new()).merge(route);
            }
            None => routes.push((o.path, route)),
        }
    }
    routes
}

pub fn router(state: AppState) -> Router {
    table_routes()
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(path, methods)
        })
        .nest(
            "/cda",
            cda::router().layer(axum::middleware::from_fn_with_state(
                state.clone(),
                crate::cda_cache::validate,
            )),
        )
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
        .with_state(state)
}

/// The Content Delivery API alone, at `/v3/…`, for a dedicated delivery port.
pub fn delivery_router(state: AppState) -> Router {
    cda::router()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::cda_cache::validate,
        ))
        .route("/healthz", get(crate::ops::healthz))
        .route("/readyz", get(crate::ops::readyz))
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
        .with_state(state)
}

async fn unknown_route(req: axum::extract::Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        code::UNKNOWN_ROUTE,
        format!(
            "There is no {} {} in this API.",
            req.method(),
            req.uri().path()
        ),
    )
}

/// `(201, {"notice": …, "<key>": value})`.
pub(crate) fn created(notice: &str, key: &str, value: Value) -> (StatusCode, axum::Json<Value>) {
    (
        StatusCode::CREATED,
        axum::Json(json!({ "notice": notice, key: value })),
    )
}

/// `(200, {"notice": …, "<key>": value})`.
pub(crate) fn updated(notice: &str, key: &str, value: Value) -> (StatusCode, axum::Json<Value>) {
    (
        StatusCode::OK,
        axum::Json(json!({ "notice": notice, key: value })),
    )
}

/// `(200, {"notice": …})`.
pub(crate) fn notice(notice: &str) -> (StatusCode, axum::Json<Value>) {
    (StatusCode::OK, axum::Json(json!({ "notice": notice })))
}

/// A list envelope: `{"<key>": [...]}` plus `count` when asked for.
pub(crate) fn listed(key: &str, items: Vec<Value>, count: Option<i64>) -> axum::Json<Value> {
    let mut body = json!({ key: items });
    if let Some(n) = count {
        body["count"] = json!(n);
    }
    axum::Json(body)
}
