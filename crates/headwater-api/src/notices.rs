//! Management-token expiry notices (MT-14): a periodic scan finds tokens with
//! `is_email_notification_enabled` whose expiry is near or past, records one notice per token,
//! kind and expiry (so a notice is produced once, even with several instances), emits the
//! `management_tokens.expiring` / `management_tokens.expired` webhook event in the same
//! transaction and, when SMTP is configured, emails the stack's owner and admins.

use crate::events::{self, Event};
use crate::smtp;
use crate::state::AppState;
use headwater_core::clock;
use headwater_store::repo::stacks;
use headwater_store::repo::token_notices::{self, Kind};
use headwater_store::StoreError;
use serde_json::json;
use tokio::sync::watch;

/// Email attempts per notice before it is given up (one per scan).
const EMAIL_ATTEMPTS: i64 = 5;
/// Notices handled per scan and kind.
const BATCH: i64 = 200;

pub(crate) async fn scan_loop(state: AppState, mut stop: watch::Receiver<bool>) {
    let interval = state.config().events.notice_interval;
    loop {
        if *stop.borrow() {
            break;
        }
        if let Err(e) = scan_once(&state).await {
            tracing::warn!(error = %e, "the token expiry scan failed");
        }
        if crate::delivery::pause(&mut stop, interval).await {
            break;
        }
    }
}

/// The channel of a notice.
pub fn channel(kind: Kind) -> &'static str {
    match kind {
        Kind::Expiring => "management_tokens.expiring",
        Kind::Expired => "management_tokens.expired",
        Kind::Leaked => "management_tokens.leaked",
    }
}

/// One scan: produce due notices, then send their pending emails.
pub async fn scan_once(state: &AppState) -> Result<(), StoreError> {
    let cfg = &state.config().events;
    let now = time::OffsetDateTime::now_utc();
    let horizon = clock::format(now + time::Duration::days(cfg.notice_days.max(0)));
    let now = clock::format(now);
    for kind in [Kind::Expired, Kind::Expiring] {
        let due = {
            let mut c = state.db().reader().await?;
            token_notices::due(&mut c, kind, &now, &horizon, BATCH).await?
        };
        for t in due {
            let mut tx = state.db().begin().await?;
            if !token_notices::record(
                &mut tx,
                &t.token_uid,
                kind,
                &t.expires_at,
                cfg.smtp.is_some(),
            )
            .await?
            {
                continue; // another instance produced it
            }
            let Some(stack) = stacks::by_uid(&mut tx, &t.stack_uid).await? else {
                continue;
            };
            let token = json!({
                "uid": t.token_uid,
                "name": t.token_name,
                "expires_on": t.expires_on,
                "expires_at": t.expires_at,
            });
            let ev = Event::new(
                channel(kind),
                "management_token",
                kind.as_str(),
                json!({ "token": token, "stack": { "uid": stack.uid, "name": stack.name } }),
            );
            events::emit_for_stack(&mut tx, &stack, "main", ev).await?;
            tx.commit().await?;
            tracing::info!(token = %t.token_uid, kind = kind.as_str(), "token expiry notice produced");
        }
    }
    if let Some(smtp_cfg) = &cfg.smtp {
        send_emails(state, smtp_cfg).await?;
    }
    Ok(())
}

/// Sends the pending notice emails now (after a leak report, rather than at the next scan).
pub(crate) async fn send_pending_emails(state: &AppState) {
    if let Some(cfg) = &state.config().events.smtp {
        if let Err(e) = send_emails(state, cfg).await {
            tracing::warn!(error = %e, "sending token notice emails failed");
        }
    }
}

async fn send_emails(state: &AppState, cfg: &smtp::SmtpConfig) -> Result<(), StoreError> {
    let pending = {
        let mut c = state.db().reader().await?;
        token_notices::pending_emails(&mut c, EMAIL_ATTEMPTS, BATCH).await?
    };
    for n in pending {
        // Claim the attempt first, so two instances do not both send it.
        let mut tx = state.db().begin().await?;
        if !token_notices::claim_email(&mut tx, &n).await? {
            continue;
        }
        let stack = stacks::by_uid(&mut tx, &n.stack_uid).await?;
        let to = token_notices::owner_and_admin_emails(&mut tx, &n.stack_uid).await?;
        tx.commit().await?;
        let Some(stack) = stack else { continue };
        let (subject, what) = match n.kind {
            Kind::Expiring => (
                format!("Management token \"{}\" expires soon", n.token_name),
                format!("will expire at {}", n.expires_at),
            ),
            Kind::Expired => (
                format!("Management token \"{}\" has expired", n.token_name),
                format!("expired at {}", n.expires_at),
            ),
            Kind::Leaked => (
                format!(
                    "Management token \"{}\" was reported leaked and is revoked",
                    n.token_name
                ),
                format!(
                    "was reported as leaked (its secret was submitted to POST /v3/token-revocations) and was revoked at {}",
                    n.expires_at
                ),
            ),
        };
        let advice = if n.kind == Kind::Leaked {
            "Requests with it are refused from now on. Create a new token for the scripts that \
             used it, and find out where its secret was published."
                .to_string()
        } else {
            format!(
                "Requests with it are refused from then on. Create a new token, or extend its \
                 expiry (PUT /v3/stacks/management_tokens/{}), before then.",
                n.token_uid
            )
        };
        let body = format!(
            "The management token \"{}\" (uid {}) of the stack \"{}\" (api_key {}) {what}.\n\n\
             {advice}\n\n\
             You get this message because you own or administer the stack.\n",
            n.token_name, n.token_uid, stack.name, stack.api_key
        );
        let msg = smtp::Message { to, subject, body };
        match smtp::send(cfg, &msg).await {
            Ok(()) => {
                let mut tx = state.db().begin().await?;
                token_notices::email_sent(&mut tx, &n).await?;
                tx.commit().await?;
                tracing::info!(token = %n.token_uid, kind = n.kind.as_str(), "token expiry email sent");
            }
            Err(e) => {
                tracing::warn!(token = %n.token_uid, error = %e, "token expiry email failed; retried at the next scan")
            }
        }
    }
    Ok(())
}
