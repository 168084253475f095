//! The API description served at `GET /v3/openapi.json` (OpenAPI 3.1), generated from one
//! table: [`OPERATIONS`], one line per route and method that `routes::router` registers.
//!
//! `tests/it/openapi.rs` keeps the table and the router in step: it reads the route
//! registrations in `routes/mod.rs` (and the routers it nests) and fails, naming the line to
//! add, when a registered route is missing here or this table names one the router lacks; it
//! also sends every operation to a live server, and compares the whole document with the
//! checked-in `openapi.json` (regenerate with `UPDATE_OPENAPI=1`, review the diff).
//!
//! To describe a new route, add one `op(…)` line below: method, path exactly as registered,
//! tag (the module), who may call it ([`Auth`]), its request body ([`Body`]), its answer
//! ([`Reply`]) and a summary; `.query(&[…])` names its query parameters (see
//! [`query_parameter`]).

use crate::wire::Described;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// Who may call an operation, which decides its security requirements and headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// No credential.
    Public,
    /// A user's `authtoken`, no stack.
    User,
    /// A user's `authtoken` with the stack's `api_key` (management tokens are refused, MT-8).
    StackUser,
    /// The stack's `api_key` with an `authtoken` or a management token in `authorization`;
    /// `branch` optional.
    Stack,
    /// Delivery API: `api_key` with a delivery token in `access_token`.
    Delivery,
}

/// The request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    None,
    /// JSON `{"<key>": {…}}`.
    Json(&'static str),
    /// JSON with no wrapper object (e.g. `{"emails": […], "roles": {…}}`).
    JsonObject,
    /// `multipart/form-data` with `asset[upload]` and `asset[…]` fields.
    AssetUpload,
    /// Either `{"asset": {…}}` JSON or an `asset[upload]` multipart form.
    AssetJsonOrUpload,
    /// `multipart/form-data` with a `taxonomy` file (an exported taxonomy).
    TaxonomyUpload,
    /// `multipart/form-data` with one JSON file in the named part (imports).
    ImportFile(&'static str),
}

/// The success answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// 200 `{"<key>": {…}}`.
    One(&'static str),
    /// 200 `{"<key>": […], "count": n}` (`count` with `include_count=true`).
    List(&'static str),
    /// 201 `{"notice": "…", "<key>": {…}}`.
    Created(&'static str),
    /// 200 `{"notice": "…", "<key>": {…}}`.
    Updated(&'static str),
    /// 200 `{"notice": "…"}`.
    Notice,
    /// 200 `{"status": "ok"}` (503 when the database is unreachable).
    Health,
    /// 200 this document.
    Document,
    /// 200 an object without a wrapper key (its members are named in the summary).
    Object,
    /// 200 the file's bytes.
    File,
    /// 204, no body.
    NoContent,
    /// 200 the object itself, unwrapped (exports).
    Raw,
    /// 200 an object with the named members (compare, merge, queue).
    Members(&'static [&'static str]),
    /// The object itself, no wrapper (teams: 200, or 201 when created).
    Bare(&'static str),
}

#[derive(Clone, Copy, Debug)]
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub tag: &'static str,
    pub auth: Auth,
    pub body: Body,
    pub reply: Reply,
    pub summary: &'static str,
    pub query: &'static [&'static str],
    /// Headers beyond those of `auth` (e.g. `organization_uid`).
    pub headers: &'static [&'static str],
}

const fn op(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    auth: Auth,
    body: Body,
    reply: Reply,
    summary: &'static str,
) -> Operation {
    Operation {
        method,
        path,
        tag,
        auth,
        body,
        reply,
        summary,
        query: &[],
        headers: &[],
    }
}

impl Operation {
    const fn query(mut self, names: &'static [&'static str]) -> Operation {
        self.query = names;
        self
    }
    const fn headers(mut self, names: &'static [&'static str]) -> Operation {
        self.headers = names;
        self
    }
}

const LIST: &[&str] = &["skip", "limit", "include_count"];
const COMPARE: &[&str] = &["base_branch", "compare_branch", "skip", "limit"];
const COMPARE_ONE: &[&str] = &["base_branch", "compare_branch", "include_schemas"];
const COUNTED: &[&str] = &["include_count"];
const ENTRY_LIST: &[&str] = &[
    "skip",
    "limit",
    "include_count",
    "count",
    "query",
    "asc",
    "desc",
    "locale",
    "only[BASE][]",
    "except[BASE][]",
    "include_publish_details",
];
const ASSET_LIST: &[&str] = &[
    "skip",
    "limit",
    "include_count",
    "count",
    "query",
    "folder",
    "include_folders",
    "include_publish_details",
    "asc",
    "desc",
    "relative_urls",
];
const DELIVERY_ENTRIES: &[&str] = &[
    "environment",
    "skip",
    "limit",
    "include_count",
    "count",
    "query",
    "asc",
    "desc",
    "locale",
    "only[BASE][]",
    "except[BASE][]",
];

use Auth::*;
use Body::{AssetJsonOrUpload, AssetUpload, ImportFile, Json, JsonObject};
use Reply::*;

/// Every route and method the main router registers. Keep in the order of `routes/mod.rs`.
#[rustfmt::skip]
pub const OPERATIONS: &[Operation] = &[
    op("GET", "/healthz", "server", Public, Body::None, Health, "Liveness: the process serves requests"),
    op("GET", "/readyz", "server", Public, Body::None, Health, "Readiness: database, migrations and Redis (when configured)"),
    op("POST", "/v3/user-session", "session", Public, Json("user"), Updated("user"),
       "Log in with email and password (and `tfa_token`); the answer carries the authtoken"),
    op("DELETE", "/v3/user-session", "session", User, Body::None, Notice, "Log out (revokes the authtoken)"),
    op("GET", "/v3/user", "session", User, Body::None, One("user"), "The logged-in user"),
    op("GET", "/v3/organizations", "organizations", User, Body::None, List("organizations"), "The user's organizations"),
    op("GET", "/v3/organizations/{uid}", "organizations", User, Body::None, One("organization"), "One organization"),
    op("PUT", "/v3/user", "session", User, Json("user"), Updated("user"),
       "Update the profile; a password change (`current_password`, `password`) ends the user's other sessions"),
    op("POST", "/v3/user/forgot_password", "session", Public, Json("user"), Notice,
       "Email a password reset link (the same answer for unknown addresses)"),
    op("POST", "/v3/user/reset_password", "session", Public, Json("user"), Notice,
       "Set a new password with a reset token (single use, one hour); ends every session"),
    op("POST", "/v3/user/activate/{token}", "session", Public, JsonObject, Notice,
       "Accept an organization invitation (creating the account when the address has none)"),
    op("GET", "/v3/organizations/accept_ownership/{token}", "organizations", Public, Body::None, Notice,
       "Accept an organization ownership transfer"),
    op("GET", "/v3/organizations/{uid}/stacks", "organizations", User, Body::None, List("stacks"), "The organization's stacks"),
    op("GET", "/v3/organizations/{uid}/roles", "organizations", User, Body::None, List("roles"), "The organization roles"),
    op("GET", "/v3/organizations/{uid}/logs", "organizations", User, Body::None, List("logs"), "The organization's audit log (owner and admins)"),
    op("GET", "/v3/organizations/{uid}/share", "organizations", User, Body::None, List("shares"), "The organization's invitations (owner and admins)"),
    op("POST", "/v3/organizations/{uid}/share", "organizations", User, Json("share"), List("shares"),
       "Invite by email with an organization role and optional stack roles (owner and admins)"),
    op("DELETE", "/v3/organizations/{uid}/share/{invitation}", "organizations", User, Body::None, Notice, "Revoke a pending invitation"),
    op("GET", "/v3/organizations/{uid}/share/{invitation}/resend_invitation", "organizations", User, Body::None, Notice,
       "Send a pending invitation again (a new link; the old one stops working)"),
    op("GET", "/v3/organizations/{uid}/{invitation}/resend_invitation", "organizations", User, Body::None, Notice,
       "Send a pending invitation again (the official JS client's path)"),
    op("POST", "/v3/organizations/{uid}/transfer-ownership", "organizations", User, JsonObject, Notice,
       "Ask another member to take over the organization (the owner only): `{\"transfer_to\": email}`"),
    op("GET", "/v3/organizations/{uid}/teams", "teams", User, Body::None, List("teams"), "The organization's teams"),
    op("POST", "/v3/organizations/{uid}/teams", "teams", User, JsonObject, Bare("The team (201)."), "Create a team"),
    op("GET", "/v3/organizations/{uid}/teams/{team}", "teams", User, Body::None, Bare("The team."), "One team"),
    op("PUT", "/v3/organizations/{uid}/teams/{team}", "teams", User, JsonObject, Bare("The team."), "Update a team"),
    op("DELETE", "/v3/organizations/{uid}/teams/{team}", "teams", User, Body::None, NoContent, "Delete a team"),
    op("GET", "/v3/organizations/{uid}/teams/{team}/users", "teams", User, Body::None, List("users"), "A team's members"),
    op("POST", "/v3/organizations/{uid}/teams/{team}/users", "teams", User, JsonObject, Notice, "Add members: `{\"emails\": [...]}`"),
    op("DELETE", "/v3/organizations/{uid}/teams/{team}/users/{user}", "teams", User, Body::None, NoContent, "Remove a member"),
    op("GET", "/v3/organizations/{uid}/teams/{team}/stack_role_mappings", "teams", User, Body::None, List("stackRoleMappings"),
       "The stack roles the team's members get"),
    op("POST", "/v3/organizations/{uid}/teams/{team}/stack_role_mappings", "teams", User, JsonObject, One("stackRoleMapping"),
       "Map the team to roles of a stack: `{\"stackApiKey\", \"roles\"}`"),
    op("PUT", "/v3/organizations/{uid}/teams/{team}/stack_role_mappings/{api_key}", "teams", User, JsonObject, One("stackRoleMapping"),
       "Replace the team's roles in a stack"),
    op("DELETE", "/v3/organizations/{uid}/teams/{team}/stack_role_mappings/{api_key}", "teams", User, Body::None, NoContent,
       "Remove the team's roles in a stack"),
    op("GET", "/v3/stacks", "stacks", User, Body::None, List("stacks"),
       "The user's stacks, or with an `api_key` header that stack as `{\"stack\": {…}}`")
        .headers(&["api_key", "organization_uid"]).query(&["include_count", "include_collaborators"]),
    op("POST", "/v3/stacks", "stacks", User, Json("stack"), Created("stack"), "Create a stack")
        .headers(&["organization_uid"]).query(&["organization_uid"]),
    op("PUT", "/v3/stacks", "stacks", StackUser, Json("stack"), Updated("stack"), "Update the stack's settings"),
    op("DELETE", "/v3/stacks", "stacks", StackUser, Body::None, Notice, "Delete the stack"),
    op("GET", "/v3/stacks/users", "stacks", StackUser, Body::None, List("users"), "The stack's users and their roles"),
    op("POST", "/v3/stacks/share", "stacks", StackUser, JsonObject, Notice,
       "Share the stack: `{\"emails\": […], \"roles\": {email: [role uid]}}`"),
    op("POST", "/v3/stacks/unshare", "stacks", StackUser, JsonObject, Notice, "Unshare the stack: `{\"email\": …}`"),
    op("GET", "/v3/stacks/settings", "stacks", StackUser, Body::None, One("stack_settings"), "The stack's settings"),
    op("POST", "/v3/stacks/settings", "stacks", StackUser, Json("stack_settings"), Updated("stack_settings"),
       "Set settings groups (each group sent replaces the stored one)"),
    op("POST", "/v3/stacks/settings/reset", "stacks", StackUser, Body::None, Updated("stack_settings"), "Reset the settings"),
    op("POST", "/v3/stacks/transfer_ownership", "stacks", StackUser, JsonObject, Notice,
       "Ask a member of the organization to take over the stack (the owner only)"),
    op("GET", "/v3/stacks/accept_ownership/{token}", "stacks", Public, Body::None, Notice, "Accept a stack ownership transfer")
        .query(&["api_key", "uid"]),
    op("GET", "/v3/stacks/management_tokens", "management tokens", StackUser, Body::None, List("tokens"),
       "The stack's management tokens (secrets are never shown again)").query(COUNTED),
    op("POST", "/v3/stacks/management_tokens", "management tokens", StackUser, Json("token"), Created("token"),
       "Create a management token; the answer shows its secret once"),
    op("GET", "/v3/stacks/management_tokens/{uid}", "management tokens", StackUser, Body::None, One("token"), "One management token"),
    op("PUT", "/v3/stacks/management_tokens/{uid}", "management tokens", StackUser, Json("token"), Updated("token"),
       "Update a management token (name, description, scope, expiry, rate limit)"),
    op("DELETE", "/v3/stacks/management_tokens/{uid}", "management tokens", StackUser, Body::None, Notice, "Delete (revoke) a management token"),
    op("POST", "/v3/stacks/management_tokens/{uid}/rotate", "management tokens", StackUser, JsonObject, Updated("token"),
       "Rotate a token's secret (MT-15): `{\"grace_period_seconds\": 0…604800}`; the old secret works for the grace period; the answer shows the new secret once"),
    op("GET", "/v3/stacks/management_tokens/{uid}/usage", "management tokens", StackUser, Body::None, One("usage"),
       "A token's requests per day (reads, writes, refusals, rate-limited) and last 5 client addresses (MT-19)").query(&["days"]),
    op("POST", "/v3/token-revocations", "management tokens", Public, JsonObject, Notice,
       "Report leaked secrets (MT-17): `{\"tokens\": [\"hwmt_…\", \"hwdt_…\"]}`, at most 1,000; valid ones are revoked; answers 202 whichever were valid"),
    op("GET", "/v3/stacks/delivery_tokens", "delivery tokens", Stack, Body::None, List("tokens"), "The stack's delivery tokens").query(COUNTED),
    op("POST", "/v3/stacks/delivery_tokens", "delivery tokens", Stack, Json("token"), Created("token"),
       "Create a delivery token; the answer shows its secret once"),
    op("GET", "/v3/stacks/delivery_tokens/{uid}", "delivery tokens", Stack, Body::None, One("token"), "One delivery token"),
    op("PUT", "/v3/stacks/delivery_tokens/{uid}", "delivery tokens", Stack, Json("token"), Updated("token"), "Update a delivery token"),
    op("DELETE", "/v3/stacks/delivery_tokens/{uid}", "delivery tokens", Stack, Body::None, Notice, "Delete a delivery token"),
    op("GET", "/v3/roles", "roles", Stack, Body::None, List("roles"), "The stack's roles").query(LIST),
    op("POST", "/v3/roles", "roles", Stack, Json("role"), Created("role"), "Create a custom role"),
    op("GET", "/v3/roles/{uid}", "roles", Stack, Body::None, One("role"), "One role"),
    op("PUT", "/v3/roles/{uid}", "roles", Stack, Json("role"), Updated("role"), "Update a custom role"),
    op("DELETE", "/v3/roles/{uid}", "roles", Stack, Body::None, Notice, "Delete a custom role"),
    op("GET", "/v3/environments", "environments", Stack, Body::None, List("environments"), "The stack's environments")
        .query(&["skip", "limit", "include_count", "count"]),
    op("POST", "/v3/environments", "environments", Stack, Json("environment"), Created("environment"), "Create an environment"),
    op("GET", "/v3/environments/{name}", "environments", Stack, Body::None, One("environment"), "One environment"),
    op("PUT", "/v3/environments/{name}", "environments", Stack, Json("environment"), Updated("environment"), "Update an environment"),
    op("DELETE", "/v3/environments/{name}", "environments", Stack, Body::None, Notice, "Delete an environment"),
    op("GET", "/v3/locales", "locales", Stack, Body::None, List("locales"), "The stack's locales").query(COUNTED),
    op("POST", "/v3/locales", "locales", Stack, Json("locale"), Created("locale"), "Add a locale"),
    op("GET", "/v3/locales/{code}", "locales", Stack, Body::None, One("locale"), "One locale"),
    op("PUT", "/v3/locales/{code}", "locales", Stack, Json("locale"), Updated("locale"), "Update a locale (name, fallback)"),
    op("DELETE", "/v3/locales/{code}", "locales", Stack, Body::None, Notice, "Remove a locale"),
    op("GET", "/v3/content_types", "content types", Stack, Body::None, List("content_types"), "The stack's content types")
        .query(&["skip", "limit", "include_count", "count"]),
    op("POST", "/v3/content_types", "content types", Stack, Json("content_type"), Created("content_type"), "Create a content type"),
    op("GET", "/v3/content_types/{uid}", "content types", Stack, Body::None, One("content_type"), "One content type"),
    op("PUT", "/v3/content_types/{uid}", "content types", Stack, Json("content_type"), Updated("content_type"),
       "Update a content type (changes that would orphan stored entries are refused)"),
    op("DELETE", "/v3/content_types/{uid}", "content types", Stack, Body::None, Notice, "Delete a content type"),
    op("GET", "/v3/global_fields", "global fields", Stack, Body::None, List("global_fields"), "The stack's global fields")
        .query(&["skip", "limit", "include_count", "count"]),
    op("POST", "/v3/global_fields", "global fields", Stack, Json("global_field"), Created("global_field"), "Create a global field"),
    op("GET", "/v3/global_fields/{uid}", "global fields", Stack, Body::None, One("global_field"), "One global field"),
    op("PUT", "/v3/global_fields/{uid}", "global fields", Stack, Json("global_field"), Updated("global_field"), "Update a global field"),
    op("DELETE", "/v3/global_fields/{uid}", "global fields", Stack, Body::None, Notice, "Delete a global field (refused while content types use it)"),
    op("POST", "/v3/content_types/import", "content types", Stack, ImportFile("content_type"), Created("content_type"),
       "Import a content type from a JSON file (validated as a create; `overwrite=true` updates an existing uid)").query(&["overwrite"]),
    op("GET", "/v3/content_types/{uid}/export", "content types", Stack, Body::None, Raw, "A content type as a JSON document")
        .query(&["version"]),
    op("POST", "/v3/global_fields/import", "global fields", Stack, ImportFile("global_field"), Created("global_field"),
       "Import a global field from a JSON file (validated as a create; `overwrite=true` updates an existing uid)").query(&["overwrite"]),
    op("GET", "/v3/global_fields/{uid}/export", "global fields", Stack, Body::None, Raw, "A global field as a JSON document")
        .query(&["version"]),
    op("POST", "/v3/content_types/{ct}/entries/import", "entries", Stack, ImportFile("entry"), Created("entry"),
       "Import an entry from a JSON file (validated as a create; a new uid)").query(&["locale", "overwrite"]),
    op("POST", "/v3/content_types/{ct}/entries/{uid}/import", "entries", Stack, ImportFile("entry"), Updated("entry"),
       "Replace an entry from a JSON file (`overwrite=true` required; a new version)").query(&["locale", "overwrite"]),
    op("GET", "/v3/content_types/{ct}/entries/{uid}/export", "entries", Stack, Body::None, Raw, "An entry as a JSON document")
        .query(&["locale"]),
    op("GET", "/v3/content_types/{ct}/entries", "entries", Stack, Body::None, List("entries"),
       "Entries of a content type; `query` is compiled to parameterized SQL").query(ENTRY_LIST),
    op("POST", "/v3/content_types/{ct}/entries", "entries", Stack, Json("entry"), Created("entry"), "Create an entry (validated)")
        .query(&["locale"]),
    op("GET", "/v3/content_types/{ct}/entries/{uid}", "entries", Stack, Body::None, One("entry"), "One entry")
        .query(&["locale", "version", "only[BASE][]", "except[BASE][]"]),
    op("PUT", "/v3/content_types/{ct}/entries/{uid}", "entries", Stack, Json("entry"), Updated("entry"),
       "Update (or localize, with `locale`) an entry; a stale `_version` gets 409").query(&["locale"]),
    op("DELETE", "/v3/content_types/{ct}/entries/{uid}", "entries", Stack, Body::None, Notice, "Delete an entry")
        .query(&["locale"]),
    op("GET", "/v3/content_types/{ct}/entries/{uid}/versions", "entries", Stack, Body::None, List("versions"), "An entry's versions")
        .query(&["locale"]),
    op("GET", "/v3/content_types/{ct}/entries/{uid}/locales", "entries", Stack, Body::None, List("locales"),
       "The locales an entry is localized in"),
    op("POST", "/v3/content_types/{ct}/entries/{uid}/publish", "entries", Stack, Json("entry"), Notice,
       "Publish an entry: `{\"entry\": {\"environments\": […], \"locales\": […]}}`"),
    op("POST", "/v3/content_types/{ct}/entries/{uid}/unpublish", "entries", Stack, Json("entry"), Notice, "Unpublish an entry"),
    op("GET", "/v3/assets", "assets", Stack, Body::None, List("assets"),
       "The stack's files (`query={\"is_dir\": true}`: its folders; `count=true`: `{\"assets\": n}`)").query(ASSET_LIST),
    op("POST", "/v3/assets", "assets", Stack, AssetUpload, Created("asset"), "Upload an asset"),
    op("POST", "/v3/assets/folders", "assets", Stack, Json("asset"), Created("asset"), "Create a folder: `{\"asset\": {\"name\", \"parent_uid\"}}`"),
    op("GET", "/v3/assets/folders/{uid}", "assets", Stack, Body::None, One("asset"), "One folder"),
    op("PUT", "/v3/assets/folders/{uid}", "assets", Stack, Json("asset"), Updated("asset"), "Rename or move a folder"),
    op("DELETE", "/v3/assets/folders/{uid}", "assets", Stack, Body::None, Notice, "Delete an empty folder"),
    op("GET", "/v3/assets/{uid}", "assets", Stack, Body::None, One("asset"), "One asset"),
    op("PUT", "/v3/assets/{uid}", "assets", Stack, AssetJsonOrUpload, Updated("asset"),
       "Update an asset's details (JSON) or replace its file (multipart)"),
    op("DELETE", "/v3/assets/{uid}", "assets", Stack, Body::None, Notice, "Delete an asset"),
    op("GET", "/v3/assets/{uid}/versions", "assets", Stack, Body::None, List("versions"), "An asset's versions"),
    op("POST", "/v3/assets/{uid}/publish", "assets", Stack, Json("asset"), Notice,
       "Publish an asset: `{\"asset\": {\"environments\": […], \"locales\": […]}}`"),
    op("POST", "/v3/assets/{uid}/unpublish", "assets", Stack, Json("asset"), Notice, "Unpublish an asset"),
    op("GET", "/v3/assets/{api_key}/{uid}/{version}/{filename}", "assets", Public, Body::None, File,
       "Download one version of an asset's file (its `url`)"),
    op("GET", "/v3/audit-logs", "audit log", Stack, Body::None, List("logs"), "The stack's audit log").query(LIST),
    op("GET", "/v3/audit-logs/{uid}", "audit log", Stack, Body::None, One("log"), "One audit-log item"),
    op("POST", "/v3/bulk/publish", "entries", Stack, JsonObject, Notice,
       "Publish entries and assets in one transaction (all or none): `{\"entries\": [{uid, content_type, locale}], \"assets\": [{uid}], \"locales\", \"environments\"}`; with `api_version: 3.2` or `scheduled_at`, queued as a job (`{notice, job_id}`) whose items succeed or fail one by one")
        .headers(&["api_version", "bulk_version", "skip_workflow_stage_check", "approvals"]),
    op("POST", "/v3/bulk/unpublish", "entries", Stack, JsonObject, Notice,
       "Unpublish entries and assets in one transaction (all or none); with `api_version: 3.2` or `scheduled_at`, queued as a job (`{notice, job_id}`)")
        .headers(&["api_version", "bulk_version", "skip_workflow_stage_check", "approvals"]),
    op("POST", "/v3/bulk/delete", "entries", Stack, JsonObject, Notice,
       "Delete entries (a locale other than the master: that localization) and assets in one transaction (all or none): `{\"entries\": [{content_type, uid, locale}], \"assets\": [{uid}]}`"),
    op("POST", "/v3/bulk/workflow", "entries", Stack, JsonObject, Notice,
       "Move entries to a workflow stage in one transaction (all or none): `{\"entries\": [{content_type, uid, locale}], \"workflow\": {\"workflow_stage\": {uid, comment, due_date, assigned_to}}}`"),
    op("GET", "/v3/bulk/jobs/{uid}", "publish queue", Stack, Body::None, Object,
       "A publishing job: `{uid, job_id, type, action, status (scheduled, in_progress, completed, failed, cancelled), scheduled_at, environments, locales, summary: {total, success, failed, pending, cancelled}}`")
        .headers(&["api_version", "bulk_version"]),
    op("GET", "/v3/bulk/jobs/{uid}/items", "publish queue", Stack, Body::None, Object,
       "A job's items and what became of each: `{items: [{uid, type, content_type_uid, locale, version, status, errors}]}` (`skip`, `limit`, `total_count` with `include_count`)")
        .query(&["skip", "limit", "include_count", "status", "type", "ct"])
        .headers(&["api_version"]),
    op("GET", "/v3/publish-queue", "publish queue", Stack, Body::None, List("queue"),
       "Publishing activity of the branch, one row per item of every job and schedule, newest first")
        .query(&["skip", "limit", "include_count", "type", "action", "status", "content_type_uid", "ct", "scheduled"]),
    op("GET", "/v3/publish-queue/{uid}", "publish queue", Stack, Body::None, One("queue"), "One row of the publish queue"),
    op("GET", "/v3/publish-queue/{uid}/unschedule", "publish queue", Stack, Body::None, Notice,
       "Cancel a scheduled item that has not been carried out"),
    op("GET", "/v3/stacks/branches", "branches", Stack, Body::None, List("branches"), "The stack's branches").query(&["skip", "limit", "include_count", "count"]),
    op("POST", "/v3/stacks/branches", "branches", StackUser, Json("branch"), Created("branch"),
       "Create a branch from `source` (copies its content; authtoken only)"),
    op("GET", "/v3/stacks/branches/{uid}", "branches", Stack, Body::None, One("branch"), "One branch"),
    op("DELETE", "/v3/stacks/branches/{uid}", "branches", StackUser, Body::None, Notice,
       "Delete a branch and its content (not `main`, not one an alias points at; authtoken only)"),
    op("GET", "/v3/stacks/branch_aliases", "branches", Stack, Body::None, List("branch_aliases"), "The stack's branch aliases").query(COUNTED),
    op("GET", "/v3/stacks/branch_aliases/{uid}", "branches", Stack, Body::None, One("branch_alias"), "One alias"),
    op("PUT", "/v3/stacks/branch_aliases/{uid}", "branches", StackUser, Json("branch_alias"), Updated("branch_alias"),
       "Create or re-point an alias: `{\"branch_alias\": {\"target_branch\"}}` (authtoken only)"),
    op("DELETE", "/v3/stacks/branch_aliases/{uid}", "branches", StackUser, Body::None, Notice, "Delete an alias (authtoken only)"),
    op("GET", "/v3/stacks/branches/{uid}/settings", "branches", Stack, Body::None, One("branch"), "A branch's settings"),
    op("POST", "/v3/stacks/branches/{uid}/settings", "branches", StackUser, Json("branch"), Notice,
       "Replace a branch's settings: `{\"branch\": {\"settings\": {…}}}` (authtoken only)"),
    op("GET", "/v3/stacks/branches_compare", "branches", Stack, Body::None, Members(&["branches", "diff", "next_url"]),
       "Content types and global fields that differ between two branches").query(COMPARE),
    op("GET", "/v3/stacks/branches_compare/content_types", "branches", Stack, Body::None, Members(&["branches", "diff", "next_url"]),
       "Content types that differ between two branches").query(COMPARE),
    op("GET", "/v3/stacks/branches_compare/content_types/{uid}", "branches", Stack, Body::None, Members(&["branches", "diff"]),
       "How one content type differs between two branches").query(COMPARE_ONE),
    op("GET", "/v3/stacks/branches_compare/global_fields", "branches", Stack, Body::None, Members(&["branches", "diff", "next_url"]),
       "Global fields that differ between two branches").query(COMPARE),
    op("GET", "/v3/stacks/branches_compare/global_fields/{uid}", "branches", Stack, Body::None, Members(&["branches", "diff"]),
       "How one global field differs between two branches").query(COMPARE_ONE),
    op("POST", "/v3/stacks/branches_merge", "branches", StackUser, JsonObject, Members(&["uid", "merge_details"]),
       "Merge the compare branch's content types and global fields into the base branch (authtoken only)")
        .query(&["base_branch", "compare_branch", "default_merge_strategy", "merge_comment", "no_revert"]),
    op("GET", "/v3/stacks/branches_queue", "branches", Stack, Body::None, Members(&["queue"]), "Recent merges, newest first")
        .query(&["skip", "limit"]),
    op("GET", "/v3/stacks/branches_queue/{uid}", "branches", Stack, Body::None, Members(&["queue"]), "One merge"),
    op("GET", "/v3/workflows", "workflows", Stack, Body::None, List("workflows"), "The stack's workflows").query(COUNTED),
    op("POST", "/v3/workflows", "workflows", Stack, Json("workflow"), Created("workflow"), "Create a workflow (stages, content types, branches)"),
    op("GET", "/v3/workflows/{uid}", "workflows", Stack, Body::None, One("workflow"), "One workflow"),
    op("PUT", "/v3/workflows/{uid}", "workflows", Stack, Json("workflow"), Updated("workflow"), "Update a workflow"),
    op("DELETE", "/v3/workflows/{uid}", "workflows", Stack, Body::None, Updated("workflow"),
       "Delete a workflow (refused while publish rules use it)"),
    op("GET", "/v3/workflows/{uid}/enable", "workflows", Stack, Body::None, Updated("workflow"), "Enable a workflow"),
    op("GET", "/v3/workflows/{uid}/disable", "workflows", Stack, Body::None, Updated("workflow"), "Disable a workflow"),
    op("GET", "/v3/workflows/publishing_rules", "workflows", Stack, Body::None, List("publishing_rules"), "The stack's publish rules")
        .query(&["content_types", "skip", "limit", "include_count"]),
    op("POST", "/v3/workflows/publishing_rules", "workflows", Stack, Json("publishing_rule"), Created("publishing_rule"),
       "Create a publish rule (environment, actions, content types, locales, approvers)"),
    op("GET", "/v3/workflows/publishing_rules/{uid}", "workflows", Stack, Body::None, One("publishing_rule"), "One publish rule"),
    op("PUT", "/v3/workflows/publishing_rules/{uid}", "workflows", Stack, Json("publishing_rule"), Updated("publishing_rule"), "Update a publish rule"),
    op("DELETE", "/v3/workflows/publishing_rules/{uid}", "workflows", Stack, Body::None, Notice, "Delete a publish rule"),
    op("GET", "/v3/workflows/content_type/{ct}", "workflows", Stack, Body::None, List("publishing_rules"),
       "The publish rules that apply to a content type").query(&["action", "locale", "environment"]),
    op("POST", "/v3/content_types/{ct}/entries/{uid}/workflow", "workflows", Stack, Json("workflow"), Notice,
       "Set the entry's stage (`workflow_stage`), or request (0), accept (1) or reject (-1) a publish (`publishing_rule`); a management token never accepts or rejects (MT-9)").query(&["locale"]),
    op("GET", "/v3/content_types/{ct}/entries/{uid}/workflow", "workflows", Stack, Body::None, One("workflow"),
       "The entry's stage, stage history and publish requests").query(&["locale"]),
    op("GET", "/v3/user/assignments", "workflows", Stack, Body::None, List("assignments"), "Pending publish requests the caller may decide"),
    op("GET", "/v3/releases", "releases", Stack, Body::None, List("releases"), "The branch's releases").query(LIST),
    op("POST", "/v3/releases", "releases", Stack, Json("release"), Created("release"), "Create a release"),
    op("GET", "/v3/releases/{uid}", "releases", Stack, Body::None, One("release"), "One release"),
    op("PUT", "/v3/releases/{uid}", "releases", Stack, Json("release"), Updated("release"), "Update (lock, unlock, rename) a release"),
    op("DELETE", "/v3/releases/{uid}", "releases", Stack, Body::None, Notice, "Delete an unlocked release"),
    op("GET", "/v3/releases/{uid}/items", "releases", Stack, Body::None, List("items"), "A release's items"),
    op("POST", "/v3/releases/{uid}/items", "releases", Stack, JsonObject, Updated("release"), "Add items: `{\"items\": […]}`"),
    op("DELETE", "/v3/releases/{uid}/items", "releases", Stack, JsonObject, Updated("release"),
       "Remove items: `{\"items\": […]}` or `?all=true`").query(&["all"]),
    op("POST", "/v3/releases/{uid}/item", "releases", Stack, Json("item"), Updated("release"), "Add one item"),
    op("DELETE", "/v3/releases/{uid}/item", "releases", Stack, Json("item"), Updated("release"), "Remove one item"),
    op("POST", "/v3/releases/{uid}/deploy", "releases", Stack, Json("release"), Notice,
       "Deploy every item to environments in one transaction (all or nothing)"),
    op("POST", "/v3/releases/{uid}/clone", "releases", Stack, Json("release"), Created("release"), "Copy a release with its items"),
    op("GET", "/v3/labels", "labels", Stack, Body::None, List("labels"), "The branch's labels").query(COUNTED),
    op("POST", "/v3/labels", "labels", Stack, Json("label"), Created("label"), "Create a label"),
    op("GET", "/v3/labels/{uid}", "labels", Stack, Body::None, One("label"), "One label"),
    op("PUT", "/v3/labels/{uid}", "labels", Stack, Json("label"), Updated("label"), "Update a label"),
    op("DELETE", "/v3/labels/{uid}", "labels", Stack, Body::None, Notice, "Delete a label (its children lose it as parent)"),
    op("GET", "/v3/taxonomies", "taxonomies", Stack, Body::None, List("taxonomies"), "The branch's taxonomies")
        .query(&["skip", "limit", "include_count", "include_terms_count", "include_referenced_entries_count", "typeahead", "search"]),
    op("POST", "/v3/taxonomies", "taxonomies", Stack, Json("taxonomy"), Created("taxonomy"), "Create a taxonomy"),
    op("POST", "/v3/taxonomies/import", "taxonomies", Stack, Body::TaxonomyUpload, Created("taxonomy"),
       "Create a taxonomy with its terms from an exported file"),
    op("GET", "/v3/taxonomies/{uid}", "taxonomies", Stack, Body::None, One("taxonomy"), "One taxonomy")
        .query(&["include_terms_count", "include_referenced_terms_count", "include_referenced_entries_count"]),
    op("PUT", "/v3/taxonomies/{uid}", "taxonomies", Stack, Json("taxonomy"), Updated("taxonomy"), "Rename or describe a taxonomy"),
    op("DELETE", "/v3/taxonomies/{uid}", "taxonomies", Stack, Body::None, NoContent,
       "Delete a taxonomy with its terms (refused while entries carry its terms; `force` when content types name it)").query(&["force"]),
    op("GET", "/v3/taxonomies/{uid}/export", "taxonomies", Stack, Body::None, One("taxonomy"),
       "The taxonomy and its terms as a file for import").query(&["format"]),
    op("GET", "/v3/taxonomies/{uid}/terms", "taxonomies", Stack, Body::None, List("terms"),
       "The taxonomy's terms, parents first (`$all` as uid with `typeahead` searches every taxonomy)")
        .query(&["depth", "typeahead", "search", "skip", "limit", "include_count", "include_children_count",
                 "include_referenced_entries_count", "include_ancestors"]),
    op("POST", "/v3/taxonomies/{uid}/terms", "taxonomies", Stack, Json("term"), Created("term"), "Create a term (`parent_uid`, `order`)"),
    op("GET", "/v3/taxonomies/{uid}/terms/{term}", "taxonomies", Stack, Body::None, One("term"), "One term")
        .query(&["include_children_count", "include_referenced_entries_count", "include_ancestors"]),
    op("PUT", "/v3/taxonomies/{uid}/terms/{term}", "taxonomies", Stack, Json("term"), Updated("term"), "Rename a term"),
    op("DELETE", "/v3/taxonomies/{uid}/terms/{term}", "taxonomies", Stack, Body::None, NoContent,
       "Delete a term (`force` with its descendants; refused while entries carry them)").query(&["force"]),
    op("GET", "/v3/taxonomies/{uid}/terms/{term}/ancestors", "taxonomies", Stack, Body::None, List("terms"), "The terms above a term, root first"),
    op("GET", "/v3/taxonomies/{uid}/terms/{term}/descendants", "taxonomies", Stack, Body::None, List("terms"),
       "The terms below a term, to `depth` levels").query(&["depth", "skip", "limit", "include_count"]),
    op("PUT", "/v3/taxonomies/{uid}/terms/{term}/move", "taxonomies", Stack, Json("term"), Updated("term"),
       "Move a term (`parent_uid`, `order`); cycles and depths past 10 are refused").query(&["force"]),
    op("GET", "/v3/webhooks", "webhooks", Stack, Body::None, List("webhooks"), "The stack's webhooks").query(LIST),
    op("POST", "/v3/webhooks", "webhooks", Stack, Json("webhook"), Created("webhook"),
       "Create a webhook (channels, destinations; deliveries are signed)"),
    op("GET", "/v3/webhooks/{uid}", "webhooks", Stack, Body::None, One("webhook"), "One webhook"),
    op("PUT", "/v3/webhooks/{uid}", "webhooks", Stack, Json("webhook"), Updated("webhook"), "Update a webhook"),
    op("DELETE", "/v3/webhooks/{uid}", "webhooks", Stack, Body::None, Notice, "Delete a webhook"),
    op("GET", "/v3/webhooks/{uid}/executions", "webhooks", Stack, Body::None, List("webhooks"),
       "A webhook's deliveries with their attempts").query(LIST),
    op("GET", "/v3/webhooks/{uid}/logs", "webhooks", Stack, Body::None, One("webhook"), "One delivery (execution uid) with every attempt"),
    op("POST", "/v3/webhooks/{uid}/retry", "webhooks", Stack, JsonObject, Notice,
       "Deliver an execution again (`{\"execution_uid\"}` with the webhook uid, or the execution uid in the path)"),
    op("GET", "/v3/webhooks/{uid}/export", "webhooks", Stack, Body::None, One("webhook"), "A webhook's definition"),
    op("GET", "/v3/extensions", "extensions", Stack, Body::None, List("extensions"),
       "The branch's extensions; `query={\"type\": \"field\"}` keeps one type").query(&["skip", "limit", "include_count", "count", "query"]),
    op("POST", "/v3/extensions", "extensions", Stack, Json("extension"), Created("extension"),
       "Create an extension: JSON with `src` or `srcdoc`, or multipart `extension[upload]` (becomes `srcdoc`)"),
    op("GET", "/v3/extensions/{uid}", "extensions", Stack, Body::None, One("extension"), "One extension"),
    op("PUT", "/v3/extensions/{uid}", "extensions", Stack, Json("extension"), Updated("extension"),
       "Update an extension (JSON or multipart); its type stays"),
    op("DELETE", "/v3/extensions/{uid}", "extensions", Stack, Body::None, Notice,
       "Delete an extension no content type or global field uses"),
    op("GET", "/v3/content_types/{ct}/entries/{uid}/references", "entries", Stack, Body::None, List("references"),
       "The entries whose current version refers to this entry").query(&["locale", "include_publish_details"]),
    op("POST", "/v3/content_types/{ct}/entries/{uid}/versions/{n}/name", "entries", Stack, Json("entry"), Notice,
       "Name a version (`_version_name`, `locale`, `force` to rename)").query(&["locale"]),
    op("DELETE", "/v3/content_types/{ct}/entries/{uid}/versions/{n}/name", "entries", Stack, Json("entry"), Notice,
       "Remove a version's name").query(&["locale"]),
    op("POST", "/v3/content_types/{ct}/entries/{uid}/unlocalize", "entries", Stack, Body::None, Notice,
       "Remove the entry's own version in a non-master locale").query(&["locale"]),
    op("GET", "/v3/metadata", "metadata", Stack, Body::None, List("metadata"),
       "Metadata attached to entries and assets").query(&["skip", "limit", "include_count", "entity_uid"]),
    op("POST", "/v3/metadata", "metadata", Stack, Json("metadata"), Created("metadata"),
       "Attach metadata (for an extension) to an entry or asset"),
    op("GET", "/v3/metadata/{uid}", "metadata", Stack, Body::None, One("metadata"), "One metadata object"),
    op("PUT", "/v3/metadata/{uid}", "metadata", Stack, Json("metadata"), Updated("metadata"), "Replace a metadata object's attributes"),
    op("DELETE", "/v3/metadata/{uid}", "metadata", Stack, Body::None, Notice, "Delete a metadata object"),
    op("GET", "/v3/assets/{uid}/references", "assets", Stack, Body::None, List("references"),
       "The entries whose current version uses the asset").query(&["include_publish_details"]),
    op("GET", "/v3/assets/{api_key}/{uid}", "assets", Public, Body::None, File,
       "Download the asset's current file (served under SEC-6)").query(&["version"]),
    op("PUT", "/v3/releases/{uid}/update_items", "releases", Stack, JsonObject, Updated("release"),
       "Set items to the current versions of their entries and assets: `{\"items\": [\"$all\"]}` or `[{uid, locale}]`"),
    op("PUT", "/v3/releases/{uid}/items/move", "releases", Stack, JsonObject, Notice,
       "Move items to another release: `{\"release_uid\", \"items\": [{uid, locale}]}`"),
    op("POST", "/v3/releases/{uid}/items/move", "releases", Stack, JsonObject, Notice,
       "Move items to another release (as PUT)"),
    op("POST", "/v3/webhooks/import", "webhooks", Stack, ImportFile("webhook"), Created("webhook"),
       "Import a webhook from a JSON file (validated as a create)"),
    op("POST", "/v3/webhooks/{uid}/import", "webhooks", Stack, ImportFile("webhook"), Updated("webhook"),
       "Replace a webhook from a JSON file (validated as an update)"),
    op("GET", "/v3/openapi.json", "server", Public, Body::None, Document, "This description"),
    op("GET", "/cda/v3/content_types", "delivery", Delivery, Body::None, List("content_types"),
       "Delivery API: content types").query(&["environment", "skip", "limit", "include_count"]),
    op("GET", "/cda/v3/content_types/{ct}", "delivery", Delivery, Body::None, One("content_type"),
       "Delivery API: one content type").query(&["environment"]),
    op("GET", "/cda/v3/content_types/{ct}/entries", "delivery", Delivery, Body::None, List("entries"),
       "Delivery API: published entries").query(DELIVERY_ENTRIES),
    op("GET", "/cda/v3/content_types/{ct}/entries/{uid}", "delivery", Delivery, Body::None, One("entry"),
       "Delivery API: one published entry").query(&["environment", "locale"]),
    op("GET", "/cda/v3/assets", "delivery", Delivery, Body::None, List("assets"), "Delivery API: published assets")
        .query(&["environment", "locale", "include_count"]),
    op("GET", "/cda/v3/assets/{uid}", "delivery", Delivery, Body::None, One("asset"), "Delivery API: one published asset")
        .query(&["environment", "locale"]),
];

/// The schema and description of a query parameter used in [`OPERATIONS`].
pub fn query_parameter(name: &str) -> Option<(Value, &'static str)> {
    let int = json!({"type": "integer", "minimum": 0});
    let boolean = json!({"type": "boolean"});
    let string = json!({"type": "string"});
    Some(match name {
        "skip" => (int, "Items to skip."),
        "limit" => (
            json!({"type": "integer", "minimum": 0, "maximum": 100}),
            "Items to return (at most 100).",
        ),
        "include_count" => (boolean, "Add `count`, the number of items matching."),
        "api_key" => (string, "The stack's API key, as in the link."),
        "uid" => (string, "The new owner's user uid, as in the link."),
        "count" => (boolean, "Answer only the number of items matching."),
        "query" => (
            string,
            "A JSON query (`$eq $ne $in $nin $lt $lte $gt $gte $exists $regex $and $or`; on \
             `taxonomies.<uid>` also `$eq_below $below $eq_above $above` with `levels`).",
        ),
        "include_terms_count" => (boolean, "Add `terms_count`."),
        "include_referenced_terms_count" => (
            boolean,
            "Add `referenced_terms_count` and `referenced_entries_count`.",
        ),
        "include_referenced_entries_count" => (
            boolean,
            "Add `referenced_entries_count`, the entries carrying the term(s).",
        ),
        "include_children_count" => (boolean, "Add `children_count` to each term."),
        "include_ancestors" => (
            boolean,
            "Add `ancestors`: the taxonomy, then the terms above, root first.",
        ),
        "typeahead" => (string, "Keep terms whose name or uid contains this text."),
        "search" => (string, "The same as `typeahead`."),
        "force" => (
            boolean,
            "Delete or move even what depends on it (see the operation).",
        ),
        "format" => (string, "Export format (`json`)."),
        "depth" => (
            json!({"type": "integer", "minimum": 0, "maximum": 10}),
            "Levels of terms to return (0 or absent: all).",
        ),
        "asc" => (string, "Sort ascending by this field."),
        "desc" => (string, "Sort descending by this field."),
        "locale" => (
            string,
            "Locale code; unlocalized entries fall back to the master locale.",
        ),
        "version" => (json!({"type": "integer", "minimum": 1}), "A past version."),
        "only[BASE][]" => (
            json!({"type": "array", "items": {"type": "string"}}),
            "Return only these fields.",
        ),
        "except[BASE][]" => (
            json!({"type": "array", "items": {"type": "string"}}),
            "Leave out these fields.",
        ),
        "include_publish_details" => (boolean, "Add `publish_details`."),
        "folder" => (string, "List the files of this folder only."),
        "include_folders" => (
            boolean,
            "Also list the folders (of `folder`, or every folder).",
        ),
        "include_collaborators" => (boolean, "Add the stack's users."),
        "organization_uid" => (string, "The organization (instead of the header)."),
        "environment" => (string, "The environment whose published content is served."),
        "content_types" => (string, "Comma-separated content type uids."),
        "action" => (string, "`publish` or `unpublish`."),
        "all" => (boolean, "All items."),
        "relative_urls" => (
            boolean,
            "File URLs as paths only, without this server's origin.",
        ),
        "named" => (boolean, "Only the versions that have a name."),
        "entity_uid" => (string, "Only the metadata of this entry or asset."),
        "overwrite" => (boolean, "Replace an existing object of the same uid."),
        "base_branch" => (
            string,
            "The branch merged into (default: the compare branch's source).",
        ),
        "compare_branch" => (string, "The branch compared or merged from (required)."),
        "include_schemas" => (boolean, "Add each side's whole schema."),
        "default_merge_strategy" => (
            string,
            "merge_prefer_base, merge_prefer_compare, overwrite_with_compare, merge_new_only, merge_modified_only_prefer_base, merge_modified_only_prefer_compare or ignore (required).",
        ),
        "merge_comment" => (string, "A comment kept with the merge."),
        "no_revert" => (boolean, "Recorded; Headwater makes no backup branch."),
        "days" => (
            json!({"type": "integer", "minimum": 1, "maximum": 366}),
            "Days of usage to return, newest first (default 30).",
        ),
        "status" => (string, "Only items with this status."),
        "type" => (string, "`entry` or `asset`."),
        "ct" => (string, "Only entries of this content type."),
        "content_type_uid" => (string, "Only entries of this content type."),
        "scheduled" => (
            boolean,
            "Only scheduled items (`true`) or only the others (`false`).",
        ),
        _ => return None,
    })
}

fn header_parameter(name: &str) -> Value {
    let (required, description) = match name {
        "api_key" => (
            false,
            "The stack's API key: with it, this stack is answered as `{\"stack\": {…}}`.",
        ),
        "organization_uid" => (
            false,
            "The organization: on create, may be left out when the user has only one; on list, only its stacks.",
        ),
        "branch" => (false, "The branch to act on (default `main`)."),
        _ => (false, ""),
    };
    json!({"name": name, "in": "header", "required": required, "description": description,
           "schema": {"type": "string"}})
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

fn security(auth: Auth) -> Value {
    match auth {
        Public => json!([]),
        User => json!([{"authtoken": []}]),
        StackUser => json!([{"api_key": [], "authtoken": []}]),
        Stack => json!([{"api_key": [], "authtoken": []}, {"api_key": [], "management_token": []}]),
        Delivery => json!([{"api_key": [], "access_token": []}]),
    }
}

fn object_ref() -> Value {
    json!({"$ref": "#/components/schemas/Object"})
}

fn wrapped(key: &str, notice: bool, schema: Value) -> Value {
    let mut props = Map::new();
    let mut required = vec![json!(key)];
    if notice {
        props.insert("notice".into(), json!({"type": "string"}));
        required.insert(0, json!("notice"));
    }
    props.insert(key.into(), schema);
    json!({"type": "object", "required": required, "properties": props})
}

/// The schema of `key`'s object in an operation of `tag`: the typed request or reply schema
/// when the resource is typed (see [`crate::wire::described`]), else the free-form `Object`.
fn schema_of(described: &Described, tag: &str, key: &str, request: bool) -> Value {
    match described.find(tag, key) {
        Some(t) if request => t.request.clone(),
        Some(t) => t.reply.clone(),
        None => object_ref(),
    }
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn request_body(body: Body, tag: &str, described: &Described) -> Option<Value> {
    let upload = json!({"multipart/form-data": {"schema": {"type": "object", "required": ["asset[upload]"],
        "properties": {
            "asset[upload]": {"type": "string", "contentMediaType": "application/octet-stream"},
            "asset[title]": {"type": "string"},
            "asset[description]": {"type": "string"},
            "asset[tags]": {"type": "string", "description": "comma-separated"},
            "asset[parent_uid]": {"type": "string"}}}}});
    let content = match body {
        Body::None => return None,
        Json(key) => json_content(wrapped(key, false, schema_of(described, tag, key, true))),
        JsonObject => json_content(object_ref()),
        AssetUpload => upload,
        Body::TaxonomyUpload => json!({"multipart/form-data": {"schema": {"type": "object",
            "required": ["taxonomy"], "properties": {
                "taxonomy": {"type": "string", "contentMediaType": "application/json"}}}}}),
        ImportFile(part) => {
            json!({"multipart/form-data": {"schema": {"type": "object", "required": [part],
            "properties": {part: {"type": "string", "contentMediaType": "application/json",
                "description": "A JSON file: the object, bare or wrapped in its key."}}}}})
        }
        AssetJsonOrUpload => {
            let mut c = json_content(wrapped("asset", false, object_ref()));
            c.as_object_mut()
                .expect("object")
                .extend(upload.as_object().expect("object").clone());
            c
        }
    };
    Some(json!({"required": true, "content": content}))
}

fn responses(reply: Reply, tag: &str, described: &Described) -> Value {
    if reply == Reply::NoContent {
        return json!({
            "204": {"description": "Done (no body)."},
            "4XX": {"$ref": "#/components/responses/Error"},
            "5XX": {"$ref": "#/components/responses/Error"},
        });
    }
    let of = |key: &str| schema_of(described, tag, key, false);
    let (status, description, content) = match reply {
        One(key) => (
            "200",
            "The object.",
            json_content(wrapped(key, false, of(key))),
        ),
        List(key) => (
            "200",
            "The list (`count` with `include_count=true`).",
            json_content(json!({"type": "object", "required": [key], "properties": {
                key: {"type": "array", "items": of(key)},
                "count": {"type": "integer"}}})),
        ),
        Created(key) => ("201", "Created.", json_content(wrapped(key, true, of(key)))),
        Updated(key) => ("200", "Done.", json_content(wrapped(key, true, of(key)))),
        Notice => (
            "200",
            "Done.",
            json_content(json!({"$ref": "#/components/schemas/Notice"})),
        ),
        Health => (
            "200",
            "Up, database reachable (503 otherwise).",
            json_content(json!({"type": "object", "properties": {"status": {"type": "string"}}})),
        ),
        Document => (
            "200",
            "OpenAPI 3.1 document.",
            json_content(json!({"type": "object"})),
        ),
        Raw => ("200", "The object itself.", json_content(object_ref())),
        Members(names) => (
            "200",
            "The answer.",
            json_content(json!({"type": "object", "required": names,
                "properties": names.iter().map(|n| (n.to_string(), json!({}))).collect::<Map<String, Value>>()})),
        ),
        Object => ("200", "Done.", json_content(json!({"type": "object"}))),
        File => (
            "200",
            "The file, with its content type.",
            json!({"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}),
        ),
        NoContent => unreachable!("answered above"),
        Bare(status) => ("200", status, json_content(object_ref())),
    };
    let mut ok = json!({"description": description});
    if !content.is_null() {
        ok["content"] = content;
    }
    json!({
        status: ok,
        "4XX": {"$ref": "#/components/responses/Error"},
        "5XX": {"$ref": "#/components/responses/Error"},
    })
}

fn operation_id(o: &Operation) -> String {
    let mut id = o.method.to_ascii_lowercase();
    for seg in o.path.split('/').filter(|s| !s.is_empty()) {
        id.push('_');
        id.extend(
            seg.trim_start_matches('{')
                .trim_end_matches('}')
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
        );
    }
    id
}

/// The whole document.
pub fn document() -> Value {
    let described = crate::wire::described();
    let mut paths = Map::new();
    for o in OPERATIONS {
        let mut parameters = path_parameters(o.path);
        for h in o.headers {
            parameters.push(header_parameter(h));
        }
        if o.auth == Stack {
            parameters.push(json!({"$ref": "#/components/parameters/branch"}));
        }
        for q in o.query {
            let (schema, description) =
                query_parameter(q).unwrap_or_else(|| (json!({"type": "string"}), ""));
            parameters.push(json!({"name": q, "in": "query", "required": false,
                                   "description": description, "schema": schema}));
        }
        let here = described.at(o.path);
        let mut item = json!({
            "operationId": operation_id(o),
            "tags": [o.tag],
            "summary": o.summary,
            "security": security(o.auth),
            "parameters": parameters,
            "responses": responses(o.reply, o.tag, &here),
        });
        if let Some(body) = request_body(o.body, o.tag, &here) {
            item["requestBody"] = body;
        }
        let entry = paths.entry(o.path.to_string()).or_insert_with(|| json!({}));
        entry[o.method.to_ascii_lowercase()] = item;
    }
    let mut schemas = json!({
        "Error": {"type": "object", "required": ["error_message", "error_code"], "properties": {
            "error_message": {"type": "string"},
            "error_code": {"type": "integer", "description": "See docs/errors.md."},
            "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                       "description": "Messages per field, named as the field sits in the resource (`name`, `scope[0].module`, `schema[2].data_type`): a request envelope such as `token.` is left out."},
        }},
        "Notice": {"type": "object", "required": ["notice"], "properties": {"notice": {"type": "string"}}},
        "Object": {"type": "object", "additionalProperties": true,
                   "description": "A Contentstack object (see the CMA reference for its fields)."},
    });
    schemas
        .as_object_mut()
        .expect("object")
        .extend(described.definitions);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Headwater Content Management API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Contentstack's Content Management API (v3) as Headwater serves it, and the \
                Content Delivery API at /cda/v3 (also at /v3 on the --cda-listen port). Stack \
                requests carry the stack's `api_key` header and either a user's `authtoken` or a \
                management token sent raw in `authorization`. Every error is \
                `{\"error_message\", \"error_code\", \"errors\"}`; 429 answers carry \
                `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `Retry-After`.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "authtoken": {"type": "apiKey", "in": "header", "name": "authtoken",
                              "description": "A user's session token, from POST /v3/user-session."},
                "management_token": {"type": "apiKey", "in": "header", "name": "authorization",
                                     "description": "A stack management token (`hwmt_…`), sent raw."},
                "api_key": {"type": "apiKey", "in": "header", "name": "api_key",
                            "description": "The stack's API key."},
                "access_token": {"type": "apiKey", "in": "header", "name": "access_token",
                                 "description": "A delivery token (`hwdt_…`)."},
            },
            "parameters": {
                "branch": header_parameter("branch"),
            },
            "schemas": schemas,
            "responses": {
                "Error": {"description": "An error in Contentstack's shape.",
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        },
    })
}

/// `GET /v3/openapi.json`: no credential needed.
pub async fn serve() -> Response {
    static TEXT: OnceLock<String> = OnceLock::new();
    let text = TEXT.get_or_init(|| {
        serde_json::to_string_pretty(&document()).expect("the document serializes")
    });
    ([(CONTENT_TYPE, "application/json")], text.clone()).into_response()
}
