//! Management-token controls beyond Contentstack's API, for the stack's owner and admins with
//! an authtoken (the policy decides, as for every token-module action; management tokens are
//! refused by MT-8):
//!
//! - `POST /v3/stacks/management_tokens/{uid}/rotate` (MT-15): a new secret for the same token
//!   (uid, scope, limits and expiry unchanged); the old secret keeps working for
//!   `grace_period_seconds` (0 to 7 days, default 0) and is refused after. A use after that is
//!   recorded in the audit log (`reuse_detected`) and, with `revoke_on_reuse`, revokes the token.
//! - `GET /v3/stacks/management_tokens/{uid}/usage` (MT-19): requests per UTC day (reads,
//!   writes, refusals, rate-limited) and the last five distinct client addresses.

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::lookup::tokens::{load, token_event, token_json};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::clock;
use headwater_core::policy::{Action, Module, Op};
use headwater_core::secret::{self, SecretKind};
use headwater_store::repo::audit;
use headwater_store::repo::token_usage::{self, Counts, CLIENTS_KEPT};
use headwater_store::repo::tokens;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The longest grace period of a rotated-out secret: seven days.
pub const MAX_GRACE_SECONDS: i64 = 7 * 24 * 3600;

/// `POST /v3/stacks/management_tokens/{uid}/rotate`, body `{"grace_period_seconds": N}`
/// (optional).
pub async fn rotate(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::ManagementTokens, Op::Update))?;
    let grace = match body.0.get("grace_period_seconds") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_i64() {
            Some(n) if (0..=MAX_GRACE_SECONDS).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    "grace_period_seconds",
                    format!("must be a whole number of seconds from 0 to {MAX_GRACE_SECONDS} (7 days) (rule MT-15)."),
                ))
            }
        },
    };
    let current = load(&state, &ctx, &uid).await?;
    if current.revoked_at.is_some() {
        return Err(ApiError::invalid(
            "uid",
            "this management token is revoked; a revoked token cannot be rotated. Create a new one.",
        ));
    }
    let valid_until =
        clock::format(time::OffsetDateTime::now_utc() + time::Duration::seconds(grace));
    let new_secret = secret::generate(SecretKind::ManagementToken);
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    if !tokens::rotate(
        &mut tx,
        &ctx.stack.uid,
        &uid,
        &new_secret.hash,
        &valid_until,
        &actor,
    )
    .await?
    {
        return Err(ApiError::not_found("management token"));
    }
    let token = tokens::get(&mut tx, &ctx.stack.uid, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("management token"))?;
    audit::record(&mut tx, &actor, token_event(&ctx, "rotate", &token)).await?;
    tx.commit().await?;
    // The old secret now resolves through the rotated-out list, with its grace period, on
    // every instance.
    crate::revocation::announce(&state).await;
    let mut out = token_json(&token, &ctx.stack.api_key, Some(&new_secret.plaintext));
    out["previous_token_valid_until"] = json!(valid_until);
    Ok((
        StatusCode::OK,
        Json(json!({"notice": "Management Token rotated successfully.", "token": out})),
    ))
}

/// `GET /v3/stacks/management_tokens/{uid}/usage?days=N` (default 30, at most 366).
pub async fn usage(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::ManagementTokens, Op::Read))?;
    let days = q.int("days", 30, 366)?.max(1);
    let token = load(&state, &ctx, &uid).await?;
    let (stored_days, stored_clients) = {
        let mut c = state.db().reader().await?;
        (
            token_usage::days(&mut c, &token.uid, days).await?,
            token_usage::clients(&mut c, &token.uid).await?,
        )
    };
    // What this instance counted since its last flush is added, so the answer is current.
    let pending = state.usage().pending(&token.uid).unwrap_or_default();
    let mut by_day: BTreeMap<String, Counts> = stored_days.into_iter().collect();
    for (day, c) in &pending.days {
        by_day.entry(day.clone()).or_default().add(c);
    }
    let mut clients: BTreeMap<String, String> = stored_clients.into_iter().collect();
    for (ip, at) in &pending.clients {
        let at = clock::format(*at);
        let slot = clients.entry(ip.to_string()).or_default();
        if *slot < at {
            *slot = at;
        }
    }
    let mut clients: Vec<(String, String)> = clients.into_iter().collect();
    clients.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    clients.truncate(CLIENTS_KEPT);
    let day_list: Vec<Value> = by_day
        .iter()
        .rev()
        .take(usize::try_from(days).unwrap_or(30))
        .map(|(day, c)| {
            json!({"date": day, "reads": c.reads, "writes": c.writes,
                   "refusals": c.refusals, "rate_limited": c.rate_limited})
        })
        .collect();
    Ok(Json(json!({
        "usage": {
            "token_uid": token.uid,
            "last_used_at": token.last_used_at,
            "days": day_list,
            "clients": clients
                .iter()
                .map(|(ip, at)| json!({"address": ip, "last_seen_at": at}))
                .collect::<Vec<_>>(),
        }
    })))
}
