//! Management token lookups shared by the token routes and the token controls (rotation, usage).

use crate::auth::StackCtx;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use headwater_store::repo::audit::Event;
use headwater_store::repo::tokens::{self, ManagementToken};
use serde_json::{json, Value};

pub(crate) fn token_json(t: &ManagementToken, api_key: &str, secret: Option<&str>) -> Value {
    let mut v = json!({
        "uid": t.uid,
        "name": t.name,
        "description": t.description,
        "scope": t.scope,
        "expires_on": t.expires_on,
        "is_email_notification_enabled": t.is_email_notification_enabled,
        "rate_limit_enabled": t.rate_limit_enabled,
        "rate_limit": {"read": t.read_rps, "write": t.write_rps},
        "last_used_at": t.last_used_at,
        "allowed_cidrs": t.allowed_cidrs,
        "revoke_on_reuse": t.revoke_on_reuse,
        "rotated_at": t.rotated_at,
        "api_key": api_key,
        "type": "management",
        "created_by": t.created_by,
        "updated_by": t.updated_by,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    });
    if let Some(at) = &t.revoked_at {
        v["revoked_at"] = json!(at);
        v["revoked_reason"] = json!(t.revoked_reason);
    }
    if let Some(s) = secret {
        v["token"] = json!(s);
    }
    v
}

pub(crate) fn token_event<'a>(
    ctx: &'a StackCtx,
    action: &'a str,
    t: &'a ManagementToken,
) -> Event<'a> {
    ctx.audit(action, "management_token", &t.uid, &t.name)
}

pub(crate) async fn load(
    state: &AppState,
    ctx: &StackCtx,
    uid: &str,
) -> ApiResult<ManagementToken> {
    let mut c = state.db().reader().await?;
    tokens::get(&mut c, &ctx.stack.uid, uid)
        .await?
        .ok_or_else(|| ApiError::not_found("management token"))
}
