//! Organizations (`/v3/organizations`): read-only over the API; the operator manages them
//! with the command line.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::routes::listed;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use headwater_core::policy::{Action, Module, Op, OrgRole};
use headwater_store::repo::orgs::{self, Org};
use serde_json::{json, Value};

pub(crate) fn org_json(org: &Org, role: OrgRole) -> Value {
    json!({
        "uid": org.uid,
        "name": org.name,
        "owner_uid": org.owner_uid,
        "is_owner": role == OrgRole::Owner,
        "enabled": true,
        "org_roles": [{"name": orgs::role_key(role), "admin": matches!(role, OrgRole::Owner | OrgRole::Admin)}],
        "settings": {
            "sso": {"strict": org.sso_strict},
            "management_tokens": {
                "max_lifetime_days": org.max_token_lifetime_days,
                "allow_never_expiring": org.allow_never_expiring_tokens,
            },
        },
        "rate_limit": {"read": org.read_rps, "write": org.write_rps},
        "created_at": org.created_at,
        "updated_at": org.updated_at,
    })
}

/// `GET /v3/organizations`: the caller's organizations.
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let user = caller.user(&Action::new(Module::Organization, Op::Read))?;
    let mut c = state.db().reader().await?;
    let all = orgs::of_user(&mut c, &user.uid).await?;
    let n = all.len() as i64;
    Ok(listed(
        "organizations",
        all.iter().map(|(o, r)| org_json(o, *r)).collect(),
        Some(n),
    ))
}

/// `GET /v3/organizations/{uid}`.
pub async fn fetch(
    State(state): State<AppState>,
    caller: Caller,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    let action = Action::new(Module::Organization, Op::Read);
    let user = caller.user(&action)?;
    let mut c = state.db().reader().await?;
    let role = orgs::member_role(&mut c, &uid, &user.uid).await?;
    caller.authorize(role, &action)?;
    let org = orgs::by_uid(&mut c, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    Ok(Json(json!({
        "organization": org_json(&org, role.unwrap_or(OrgRole::Member))
    })))
}
