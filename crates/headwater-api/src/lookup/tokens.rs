//! Management token lookups shared by the token routes and the token controls (rotation, usage).

use crate::auth::StackCtx;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::management_tokens::{ManagementTokenOut, TokenRateLimitOut};
use headwater_store::repo::audit::Event;
use headwater_store::repo::tokens::{self, ManagementToken};
use serde_json::Value;

pub(crate) fn token_json(t: &ManagementToken, api_key: &str, secret: Option<&str>) -> Value {
    let out = ManagementTokenOut {
        uid: t.uid.clone(),
        name: t.name.clone(),
        description: t.description.clone(),
        scope: t.scope.clone(),
        expires_on: t.expires_on.clone(),
        is_email_notification_enabled: t.is_email_notification_enabled,
        rate_limit_enabled: t.rate_limit_enabled,
        rate_limit: TokenRateLimitOut {
            read: t.read_rps,
            write: t.write_rps,
        },
        last_used_at: t.last_used_at.clone(),
        allowed_cidrs: t.allowed_cidrs.clone(),
        revoke_on_reuse: t.revoke_on_reuse,
        rotated_at: t.rotated_at.clone(),
        api_key: api_key.to_string(),
        kind: "management".to_string(),
        created_by: t.created_by.clone(),
        updated_by: t.updated_by.clone(),
        created_at: t.created_at.clone(),
        updated_at: t.updated_at.clone(),
        revoked_at: t.revoked_at.clone(),
        revoked_reason: t.revoked_at.as_ref().map(|_| t.revoked_reason.clone()),
        token: secret.map(str::to_string),
    };
    serde_json::to_value(out).expect("a management token serializes")
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
