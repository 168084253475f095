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
mod stacks;
mod taxonomies;
mod teams;
mod token_controls;
mod token_revocations;
mod webhooks;
mod workflows;

use crate::error::{code, ApiError};
use crate::state::AppState;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(crate::ops::healthz))
        .route("/readyz", get(crate::ops::readyz))
        .route(
            "/v3/user-session",
            post(session::login).delete(session::logout),
        )
        .route("/v3/user", get(session::current_user).put(account::update))
        .route("/v3/user/forgot_password", post(account::forgot_password))
        .route("/v3/user/reset_password", post(account::reset_password))
        .route("/v3/user/activate/{token}", post(account::activate))
        .route("/v3/organizations", get(organizations::list))
        .route("/v3/organizations/{uid}", get(organizations::fetch))
        .route(
            "/v3/organizations/accept_ownership/{token}",
            get(organizations::accept_ownership),
        )
        .route(
            "/v3/organizations/{uid}/stacks",
            get(organizations::org_stacks),
        )
        .route(
            "/v3/organizations/{uid}/roles",
            get(organizations::org_roles),
        )
        .route("/v3/organizations/{uid}/logs", get(organizations::logs))
        .route(
            "/v3/organizations/{uid}/share",
            get(organizations::invitations_list).post(organizations::share),
        )
        .route(
            "/v3/organizations/{uid}/share/{invitation}",
            delete(organizations::revoke),
        )
        .route(
            "/v3/organizations/{uid}/share/{invitation}/resend_invitation",
            get(organizations::resend),
        )
        .route(
            "/v3/organizations/{uid}/{invitation}/resend_invitation",
            get(organizations::resend),
        )
        .route(
            "/v3/organizations/{uid}/transfer-ownership",
            post(organizations::transfer_ownership),
        )
        .route(
            "/v3/organizations/{uid}/teams",
            get(teams::list).post(teams::create),
        )
        .route(
            "/v3/organizations/{uid}/teams/{team}",
            get(teams::fetch).put(teams::update).delete(teams::delete),
        )
        .route(
            "/v3/organizations/{uid}/teams/{team}/users",
            get(teams::users_list).post(teams::users_add),
        )
        .route(
            "/v3/organizations/{uid}/teams/{team}/users/{user}",
            delete(teams::users_remove),
        )
        .route(
            "/v3/organizations/{uid}/teams/{team}/stack_role_mappings",
            get(teams::mappings_list).post(teams::mappings_add),
        )
        .route(
            "/v3/organizations/{uid}/teams/{team}/stack_role_mappings/{api_key}",
            axum::routing::put(teams::mappings_update).delete(teams::mappings_delete),
        )
        .route(
            "/v3/stacks",
            get(stacks::fetch_or_list)
                .post(stacks::create)
                .put(stacks::update)
                .delete(stacks::delete),
        )
        .route("/v3/stacks/users", get(stacks::users))
        .route("/v3/stacks/share", post(stacks::share))
        .route("/v3/stacks/unshare", post(stacks::unshare))
        .route(
            "/v3/stacks/settings",
            get(stacks::settings).post(stacks::update_settings),
        )
        .route("/v3/stacks/settings/reset", post(stacks::reset_settings))
        .route(
            "/v3/stacks/transfer_ownership",
            post(stacks::transfer_ownership),
        )
        .route(
            "/v3/stacks/accept_ownership/{token}",
            get(stacks::accept_ownership),
        )
        .route(
            "/v3/stacks/management_tokens",
            get(management_tokens::list).post(management_tokens::create),
        )
        .route(
            "/v3/stacks/management_tokens/{uid}",
            get(management_tokens::fetch)
                .put(management_tokens::update)
                .delete(management_tokens::delete),
        )
        .route(
            "/v3/stacks/management_tokens/{uid}/rotate",
            post(token_controls::rotate),
        )
        .route(
            "/v3/stacks/management_tokens/{uid}/usage",
            get(token_controls::usage),
        )
        .route("/v3/token-revocations", post(token_revocations::report))
        .route(
            "/v3/stacks/delivery_tokens",
            get(delivery_tokens::list).post(delivery_tokens::create),
        )
        .route(
            "/v3/stacks/delivery_tokens/{uid}",
            get(delivery_tokens::fetch)
                .put(delivery_tokens::update)
                .delete(delivery_tokens::delete),
        )
        .route("/v3/roles", get(roles::list).post(roles::create))
        .route(
            "/v3/roles/{uid}",
            get(roles::fetch).put(roles::update).delete(roles::delete),
        )
        .route(
            "/v3/environments",
            get(environments::list).post(environments::create),
        )
        .route(
            "/v3/environments/{name}",
            get(environments::fetch)
                .put(environments::update)
                .delete(environments::delete),
        )
        .route("/v3/locales", get(locales::list).post(locales::create))
        .route(
            "/v3/locales/{code}",
            get(locales::fetch)
                .put(locales::update)
                .delete(locales::delete),
        )
        .route(
            "/v3/content_types",
            get(schemas::list_content_types).post(schemas::create_content_type),
        )
        .route(
            "/v3/content_types/{uid}",
            get(schemas::fetch_content_type)
                .put(schemas::update_content_type)
                .delete(schemas::delete_content_type),
        )
        .route(
            "/v3/global_fields",
            get(schemas::list_global_fields).post(schemas::create_global_field),
        )
        .route(
            "/v3/global_fields/{uid}",
            get(schemas::fetch_global_field)
                .put(schemas::update_global_field)
                .delete(schemas::delete_global_field),
        )
        .route(
            "/v3/content_types/import",
            post(schemas::import_content_type),
        )
        .route(
            "/v3/content_types/{uid}/export",
            get(schemas::export_content_type),
        )
        .route(
            "/v3/global_fields/import",
            post(schemas::import_global_field),
        )
        .route(
            "/v3/global_fields/{uid}/export",
            get(schemas::export_global_field),
        )
        .route(
            "/v3/content_types/{ct}/entries/import",
            post(entries::import),
        )
        .route(
            "/v3/content_types/{ct}/entries/{uid}/import",
            post(entries::import_existing),
        )
        .route(
            "/v3/content_types/{ct}/entries/{uid}/export",
            get(entries::export),
        )
        .route(
            "/v3/content_types/{ct}/entries",
            get(entries::list).post(entries::create),
        )
        .route(
            "/v3/content_types/{ct}/entries/{uid}",
            get(entries::fetch)
                .put(entries::update)
                .delete(entries::delete),
        )
        .route(
            "/v3/content_types/{ct}/entries/{uid}/versions",
            get(entries::versions),
        )
        .route(
            "/v3/content_types/{ct}/entries/{uid}/locales",
            get(entries::entry_locales),
        )
        .route(
            "/v3/content_types/{ct}/entries/{uid}/publish",
            post(entries::publish),
        )
        .route(
            "/v3/content_types/{ct}/entries/{uid}/unpublish",
            post(entries::unpublish),
        )
        .route("/v3/assets", get(assets::list).post(assets::create))
        .route("/v3/assets/folders", post(assets::create_folder))
        .route(
            "/v3/assets/folders/{uid}",
            get(assets::fetch_folder)
                .put(assets::update_folder)
                .delete(assets::delete_folder),
        )
        .route(
            "/v3/assets/{uid}",
            get(assets::fetch)
                .put(assets::update)
                .delete(assets::delete),
        )
        .route("/v3/assets/{uid}/versions", get(assets::versions))
        .route("/v3/assets/{uid}/publish", post(assets::publish))
        .route("/v3/assets/{uid}/unpublish", post(assets::unpublish))
        .route(
            "/v3/assets/{api_key}/{uid}/{version}/{filename}",
            get(assets::download),
        )
        .route("/v3/audit-logs", get(audit::list))
        .route("/v3/audit-logs/{uid}", get(audit::fetch))
        .route(
            "/v3/stacks/branches",
            get(branches::list).post(branches::create),
        )
        .route(
            "/v3/stacks/branches/{uid}",
            get(branches::fetch).delete(branches::delete),
        )
        .route(
            "/v3/stacks/branches/{uid}/settings",
            get(branch_merge::fetch_settings).post(branch_merge::update_settings),
        )
        .route(
            "/v3/stacks/branches_compare",
            get(branch_merge::compare_all),
        )
        .route(
            "/v3/stacks/branches_compare/content_types",
            get(branch_merge::compare_content_types),
        )
        .route(
            "/v3/stacks/branches_compare/content_types/{uid}",
            get(branch_merge::compare_content_type),
        )
        .route(
            "/v3/stacks/branches_compare/global_fields",
            get(branch_merge::compare_global_fields),
        )
        .route(
            "/v3/stacks/branches_compare/global_fields/{uid}",
            get(branch_merge::compare_global_field),
        )
        .route("/v3/stacks/branches_merge", post(branch_merge::merge))
        .route("/v3/stacks/branches_queue", get(branch_merge::queue))
        .route(
            "/v3/stacks/branches_queue/{uid}",
            get(branch_merge::queue_item),
        )
        .route(
            "/v3/workflows",
            get(workflows::list).post(workflows::create),
        )
        .route(
            "/v3/workflows/publishing_rules",
            get(publish_rules::list_rules).post(publish_rules::create_rule),
        )
        .route(
            "/v3/workflows/publishing_rules/{uid}",
            get(publish_rules::fetch_rule)
                .put(publish_rules::update_rule)
                .delete(publish_rules::delete_rule),
        )
        .route(
            "/v3/workflows/content_type/{ct}",
            get(publish_rules::rules_of_content_type),
        )
        .route(
            "/v3/workflows/{uid}",
            get(workflows::fetch)
                .put(workflows::update)
                .delete(workflows::delete),
        )
        .route("/v3/workflows/{uid}/enable", get(workflows::enable))
        .route("/v3/workflows/{uid}/disable", get(workflows::disable))
        .route(
            "/v3/content_types/{ct}/entries/{uid}/workflow",
            get(entry_workflow::entry_workflow_details).post(entry_workflow::entry_workflow),
        )
        .route("/v3/user/assignments", get(entry_workflow::assignments))
        .route("/v3/stacks/branch_aliases", get(branches::list_aliases))
        .route(
            "/v3/stacks/branch_aliases/{uid}",
            get(branches::fetch_alias)
                .put(branches::assign_alias)
                .delete(branches::delete_alias),
        )
        .route("/v3/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/v3/webhooks/{uid}",
            get(webhooks::fetch)
                .put(webhooks::update)
                .delete(webhooks::delete),
        )
        .route("/v3/webhooks/{uid}/executions", get(webhooks::executions))
        .route("/v3/webhooks/{uid}/logs", get(webhooks::logs))
        .route("/v3/webhooks/{uid}/retry", post(webhooks::retry))
        .route("/v3/webhooks/{uid}/export", get(webhooks::export))
        .route("/v3/webhooks/import", post(webhooks::import))
        .route("/v3/webhooks/{uid}/import", post(webhooks::import_existing))
        .route("/v3/releases", get(releases::list).post(releases::create))
        .route(
            "/v3/releases/{uid}",
            get(releases::fetch)
                .put(releases::update)
                .delete(releases::delete),
        )
        .route(
            "/v3/releases/{uid}/items",
            get(releases::items)
                .post(releases::add_items)
                .delete(releases::remove_items),
        )
        .route(
            "/v3/releases/{uid}/item",
            post(releases::add_items).delete(releases::remove_items),
        )
        .route("/v3/releases/{uid}/deploy", post(releases::deploy))
        .route("/v3/releases/{uid}/clone", post(releases::clone))
        .route(
            "/v3/labels",
            get(labels::list_labels).post(labels::create_label),
        )
        .route(
            "/v3/labels/{uid}",
            get(labels::fetch_label)
                .put(labels::update_label)
                .delete(labels::delete_label),
        )
        .route(
            "/v3/taxonomies",
            get(taxonomies::list).post(taxonomies::create),
        )
        .route("/v3/taxonomies/import", post(taxonomies::import))
        .route(
            "/v3/taxonomies/{uid}",
            get(taxonomies::fetch)
                .put(taxonomies::update)
                .delete(taxonomies::delete),
        )
        .route("/v3/taxonomies/{uid}/export", get(taxonomies::export))
        .route(
            "/v3/taxonomies/{uid}/terms",
            get(taxonomies::list_terms).post(taxonomies::create_term),
        )
        .route(
            "/v3/taxonomies/{uid}/terms/{term}",
            get(taxonomies::fetch_term)
                .put(taxonomies::update_term)
                .delete(taxonomies::delete_term),
        )
        .route(
            "/v3/taxonomies/{uid}/terms/{term}/ancestors",
            get(taxonomies::ancestors),
        )
        .route(
            "/v3/taxonomies/{uid}/terms/{term}/descendants",
            get(taxonomies::descendants),
        )
        .route(
            "/v3/taxonomies/{uid}/terms/{term}/move",
            axum::routing::put(taxonomies::move_term),
        )
        .route(
            "/v3/extensions",
            get(extensions::list).post(extensions::create),
        )
        .route(
            "/v3/extensions/{uid}",
            get(extensions::fetch)
                .put(extensions::update)
                .delete(extensions::delete),
        )
        .route(
            "/v3/content_types/{ct}/entries/{uid}/references",
            get(entry_extras::entry_references),
        )
        .route(
            "/v3/content_types/{ct}/entries/{uid}/versions/{n}/name",
            post(entry_extras::name_version).delete(entry_extras::unname_version),
        )
        .route(
            "/v3/content_types/{ct}/entries/{uid}/unlocalize",
            post(entry_extras::unlocalize),
        )
        .route(
            "/v3/metadata",
            get(entry_extras::list_metadata).post(entry_extras::create_metadata),
        )
        .route(
            "/v3/metadata/{uid}",
            get(entry_extras::fetch_metadata)
                .put(entry_extras::update_metadata)
                .delete(entry_extras::delete_metadata),
        )
        .route(
            "/v3/assets/{uid}/references",
            get(entry_extras::asset_references),
        )
        .route("/v3/assets/{api_key}/{uid}", get(assets::download_latest))
        .route(
            "/v3/releases/{uid}/update_items",
            axum::routing::put(releases::update_items),
        )
        .route(
            "/v3/releases/{uid}/items/move",
            axum::routing::put(releases::move_items).post(releases::move_items),
        )
        .route("/v3/openapi.json", get(crate::openapi::serve))
        .nest("/cda", cda::router())
        .route("/v3/bulk/publish", post(bulk::publish))
        .route("/v3/bulk/unpublish", post(bulk::unpublish))
        .route("/v3/bulk/delete", post(bulk_edit::delete))
        .route("/v3/bulk/workflow", post(bulk_edit::workflow))
        .route("/v3/bulk/jobs/{uid}", get(publish_queue::job))
        .route("/v3/bulk/jobs/{uid}/items", get(publish_queue::job_items))
        .route("/v3/publish-queue", get(publish_queue::list))
        .route("/v3/publish-queue/{uid}", get(publish_queue::get))
        .route(
            "/v3/publish-queue/{uid}/unschedule",
            get(publish_queue::unschedule),
        )
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
        .with_state(state)
}

/// The Content Delivery API alone, at `/v3/…`, for a dedicated delivery port.
pub fn delivery_router(state: AppState) -> Router {
    cda::router()
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
pub(crate) fn created(notice: &str, key: &str, value: Value) -> (StatusCode, Json<Value>) {
    (
        StatusCode::CREATED,
        Json(json!({ "notice": notice, key: value })),
    )
}

/// `(200, {"notice": …, "<key>": value})`.
pub(crate) fn updated(notice: &str, key: &str, value: Value) -> (StatusCode, Json<Value>) {
    (
        StatusCode::OK,
        Json(json!({ "notice": notice, key: value })),
    )
}

/// `(200, {"notice": …})`.
pub(crate) fn notice(notice: &str) -> (StatusCode, Json<Value>) {
    (StatusCode::OK, Json(json!({ "notice": notice })))
}

/// A list envelope: `{"<key>": [...]}` plus `count` when asked for.
pub(crate) fn listed(key: &str, items: Vec<Value>, count: Option<i64>) -> Json<Value> {
    let mut body = json!({ key: items });
    if let Some(n) = count {
        body["count"] = json!(n);
    }
    Json(body)
}
