//! Leak revocation (MT-17): `POST /v3/token-revocations`, unauthenticated, as GitHub's
//! credential-revocation API. Anyone who finds Headwater secrets (`hwmt_…` management tokens,
//! `hwdt_…` delivery tokens, recognizable by their prefix and checksum) in public may report up
//! to 1,000 at once. Each valid one is revoked at once, its stack's owner and admins are told
//! (a `management_tokens.leaked` / `delivery_tokens.leaked` webhook event, and an email for
//! management tokens when SMTP is configured), and the answer is the same whichever secrets
//! were valid. Reports are rate-limited per client address.

use crate::client_addr::ClientAddr;
use crate::error::{code, ApiError, ApiResult};
use crate::events::{self, Event};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use headwater_core::clock;
use headwater_core::ratelimit::RequestClass;
use headwater_core::secret::{self, SecretKind};
use headwater_store::repo::token_notices::{self, Kind};
use headwater_store::repo::{audit, delivery_tokens, stacks, tokens, Actor, Conn};
use headwater_store::StoreError;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Secrets accepted per report.
pub const MAX_SECRETS: usize = 1000;

/// `POST /v3/token-revocations`, body `{"tokens": ["hwmt_…", "hwdt_…", …]}`.
pub async fn report(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    body: crate::body::JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let client = client.and_then(|Extension(ClientAddr(ip))| ip);
    let key = format!(
        "token-revocations:{}",
        client.map(|ip| ip.to_string()).unwrap_or_default()
    );
    let rps = state.config().token_revocation_rps.max(1);
    let verdict = state
        .limiter()
        .check_all(&[(key.as_str(), rps)], RequestClass::Write)
        .await;
    if !verdict.allowed {
        let retry = verdict.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            code::RATE_LIMITED,
            format!("Too many token revocation reports from this address: the limit is {rps} per second (rule MT-17). Retry after {retry} second(s)."),
        )
        .header("retry-after", retry.to_string()));
    }
    let list = match body.0.get("tokens") {
        Some(Value::Array(a)) => a,
        _ => {
            return Err(ApiError::invalid(
                "tokens",
                format!("is required: an array of at most {MAX_SECRETS} secret strings."),
            ))
        }
    };
    if list.len() > MAX_SECRETS {
        return Err(ApiError::invalid(
            "tokens",
            format!("at most {MAX_SECRETS} secrets per report (rule MT-17); send the rest in another report."),
        ));
    }
    let mut secrets = BTreeSet::new();
    for v in list {
        match v.as_str() {
            Some(s) => {
                secrets.insert(s.trim().to_string());
            }
            None => return Err(ApiError::invalid("tokens", "must contain only strings.")),
        }
    }
    let mut revoked_any = false;
    for raw in &secrets {
        // Every secret gets the same answer; a store failure is logged, never reported.
        match revoke_one(&state, raw).await {
            Ok(r) => revoked_any |= r,
            Err(e) => tracing::warn!(error = %e, "revoking a reported secret failed"),
        }
    }
    if revoked_any {
        // Every instance drops its cached copies at once (MT-17 with several instances).
        crate::revocation::announce(&state).await;
        let state = state.clone();
        tokio::spawn(async move { crate::notices::send_pending_emails(&state).await });
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "notice": format!(
                "Received {} secret(s). Every one that is a valid Headwater token is revoked now, and its stack's owner and admins are notified.",
                secrets.len()
            )
        })),
    ))
}

/// Revokes the token `raw` is the secret of, if any; true when something was revoked.
async fn revoke_one(state: &AppState, raw: &str) -> Result<bool, StoreError> {
    let hash = secret::hash(raw);
    if secret::well_formed(SecretKind::ManagementToken, raw) {
        let token = {
            let mut c = state.db().reader().await?;
            match tokens::by_hash(&mut c, &hash).await? {
                Some(t) => Some(t),
                // A rotated-out secret still in its grace period works: revoke its token too.
                None => tokens::by_old_hash(&mut c, &hash)
                    .await?
                    .filter(|o| o.valid_until > clock::now())
                    .map(|o| o.token),
            }
        };
        let Some(token) = token.filter(|t| t.revoked_at.is_none()) else {
            return Ok(false);
        };
        let mut tx = state.db().begin().await?;
        if !tokens::revoke(&mut tx, &token.uid, "reported leaked").await? {
            return Ok(false);
        }
        let Some(stack) = stacks::by_uid(&mut tx, &token.stack_uid).await? else {
            return Ok(false);
        };
        record(&mut tx, &stack, "management_token", &token.uid, &token.name).await?;
        let now = clock::now();
        token_notices::record(
            &mut tx,
            &token.uid,
            Kind::Leaked,
            &now,
            state.config().events.smtp.is_some(),
        )
        .await?;
        let ev = Event::new(
            crate::notices::channel(Kind::Leaked),
            "management_token",
            "leaked",
            json!({
                "token": {"uid": token.uid, "name": token.name, "revoked_at": now},
                "stack": {"uid": stack.uid, "name": stack.name},
            }),
        );
        events::emit_for_stack(&mut tx, &stack, "main", ev).await?;
        tx.commit().await?;
        tracing::warn!(token = %token.uid, "a management token reported leaked was revoked");
        return Ok(true);
    }
    if secret::well_formed(SecretKind::DeliveryToken, raw) {
        let token = {
            let mut c = state.db().reader().await?;
            delivery_tokens::by_hash(&mut c, &hash).await?
        };
        let Some(token) = token else { return Ok(false) };
        let mut tx = state.db().begin().await?;
        // A delivery token has no revoked state: revoking it deletes it.
        if !delivery_tokens::delete(&mut tx, &token.stack_uid, &token.uid).await? {
            return Ok(false);
        }
        let Some(stack) = stacks::by_uid(&mut tx, &token.stack_uid).await? else {
            return Ok(false);
        };
        record(&mut tx, &stack, "delivery_token", &token.uid, &token.name).await?;
        let ev = Event::new(
            "delivery_tokens.leaked",
            "delivery_token",
            "leaked",
            json!({
                "token": {"uid": token.uid, "name": token.name, "revoked_at": clock::now()},
                "stack": {"uid": stack.uid, "name": stack.name},
            }),
        );
        events::emit_for_stack(&mut tx, &stack, "main", ev).await?;
        tx.commit().await?;
        tracing::warn!(token = %token.uid, "a delivery token reported leaked was deleted");
        return Ok(true);
    }
    Ok(false)
}

async fn record(
    c: &mut Conn,
    stack: &stacks::Stack,
    module: &str,
    uid: &str,
    name: &str,
) -> Result<(), StoreError> {
    audit::record(
        c,
        &Actor::System,
        audit::Event {
            org_uid: Some(&stack.org_uid),
            stack_uid: Some(&stack.uid),
            action: "revoke_leaked",
            module,
            target_uid: Some(uid),
            target_title: Some(name),
        },
    )
    .await
}
