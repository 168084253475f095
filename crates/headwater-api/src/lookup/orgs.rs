//! The organization object shared by the organization routes and the session (`GET /v3/user`).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use headwater_core::policy::{Action, OrgRole};
use headwater_store::repo::orgs::{self, Org};
use headwater_store::repo::users::User;
use serde_json::{json, Value};
use std::sync::Arc;

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

/// The uid of an organization role: `<org uid>_owner`, `_admin`, `_member`.
pub(crate) fn org_role_uid(org_uid: &str, role: OrgRole) -> String {
    format!("{org_uid}_{}", orgs::role_key(role))
}

/// An organization role named by its uid (or by its key, `admin` / `member`).
pub(crate) fn org_role_named(org_uid: &str, named: &str) -> Option<OrgRole> {
    let key = named
        .strip_prefix(org_uid)
        .and_then(|rest| rest.strip_prefix('_'))
        .unwrap_or(named);
    orgs::role_from_key(&key.to_ascii_lowercase())
}

pub(crate) fn org_role_json(org: &Org, role: OrgRole) -> Value {
    let (name, description) = match role {
        OrgRole::Owner => ("owner", "The organization's owner: everything, including transferring the organization."),
        OrgRole::Admin => ("admin", "Organization admins manage members, invitations, teams and every stack of the organization."),
        OrgRole::Member => ("member", "Members see the organization and work in the stacks shared with them."),
    };
    json!({
        "uid": org_role_uid(&org.uid, role),
        "name": name,
        "description": description,
        "org_uid": org.uid,
        "owner": role == OrgRole::Owner,
        "admin": role != OrgRole::Member,
        "default": role == OrgRole::Member,
        "users": [],
        "created_at": org.created_at,
        "updated_at": org.updated_at,
    })
}

/// The caller (a user: tokens get MT-8), the organization and the caller's role in it, once
/// the policy has allowed `action` there. An organization the caller is not in answers as
/// missing.
pub(crate) async fn in_org(
    state: &AppState,
    caller: &Caller,
    org_uid: &str,
    action: Action,
) -> ApiResult<(Arc<User>, Org, OrgRole)> {
    let user = caller.user(&action)?.clone();
    let mut c = state.db().reader().await?;
    let role = orgs::member_role(&mut c, org_uid, &user.uid).await?;
    let org = orgs::by_uid(&mut c, org_uid).await?;
    let (Some(org), Some(role)) = (org, role) else {
        return Err(ApiError::not_found("organization"));
    };
    caller.authorize(Some(role), &action)?;
    Ok((user, org, role))
}
