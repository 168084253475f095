//! One-time links (invitations, password resets, ownership transfers): minting the token and
//! delivering the message. With an SMTP relay configured (`--smtp-host`) the message is
//! emailed; without one, the server's log prints it (the operator passes the link on).

use crate::smtp;
use crate::state::AppState;
use headwater_core::secret::{self, NewSecret, SecretKind};

/// How long each kind of link works.
pub const RESET_PASSWORD_TTL: time::Duration = time::Duration::hours(1);
pub const INVITATION_TTL: time::Duration = time::Duration::days(7);
pub const OWNERSHIP_TTL: time::Duration = time::Duration::days(7);

/// A new link token (131 random bits; only its hash is stored) and its expiry.
pub fn mint(ttl: time::Duration) -> (NewSecret, String) {
    let expires = headwater_core::clock::format(time::OffsetDateTime::now_utc() + ttl);
    (secret::generate(SecretKind::LinkToken), expires)
}

/// True when `raw` has the shape and checksum of a link token (others are refused without a
/// lookup).
pub fn well_formed(raw: &str) -> bool {
    secret::well_formed(SecretKind::LinkToken, raw)
}

/// The server's public address for links (`--public-url`), or a placeholder the reader
/// replaces.
pub fn base(state: &AppState) -> String {
    state
        .config()
        .public_url
        .as_deref()
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| "<this server>".to_string())
}

/// Delivers a message carrying a link. A failed delivery is logged, never answered as an
/// error: the link was created, and the sender can send it again (resend, or ask again).
pub async fn deliver(state: &AppState, to: &str, subject: &str, body: String) {
    match &state.config().events.smtp {
        Some(cfg) => {
            let msg = smtp::Message {
                to: vec![to.to_string()],
                subject: subject.to_string(),
                body,
            };
            match smtp::send(cfg, &msg).await {
                Ok(()) => tracing::info!(subject, "link email sent"),
                Err(e) => tracing::warn!(subject, error = %e, "link email failed"),
            }
        }
        None => {
            // No SMTP relay: the operator reads the message here and passes it on.
            tracing::info!(to, subject, message = %body, "no SMTP relay configured; link message printed instead of emailed");
        }
    }
}

/// The message of an organization invitation.
pub fn invitation_message(
    state: &AppState,
    org_name: &str,
    invitation_uid: &str,
    token: &str,
    expires: &str,
) -> String {
    format!(
        "You are invited to the organization \"{org_name}\" on Headwater.\n\n\
         Invitation token: {token}\n\
         Link: {base}/#/activate?token={token}\n\n\
         Accept it with POST /v3/user/activate/{token} before {expires}; for a new account, send \
         {{\"user\": {{\"first_name\", \"last_name\", \"password\", \"password_confirmation\"}}}}. \
         It works once. Invitation {invitation_uid}.\n",
        base = base(state),
    )
}
