//! Management-token expiry notices: which tokens are due an "expiring" or "expired" notice,
//! and which notices were produced (so each is produced once per token and expiry, even with
//! several instances scanning).

use super::Conn;
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Expiring,
    Expired,
    /// The token's secret was reported leaked and the token revoked (MT-17); the notice's
    /// `expires_at` holds the revocation time.
    Leaked,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Expiring => "expiring",
            Kind::Expired => "expired",
            Kind::Leaked => "leaked",
        }
    }
}

/// A token due a notice.
#[derive(Clone, Debug)]
pub struct Due {
    pub token_uid: String,
    pub token_name: String,
    pub stack_uid: String,
    pub expires_on: Option<String>,
    pub expires_at: String,
}

/// Tokens with notifications enabled that are due a notice of `kind` not yet produced:
/// `expiring` when the expiry falls in `(now, horizon]`, `expired` when it is at or before
/// `now`.
pub async fn due(
    c: &mut Conn,
    kind: Kind,
    now: &str,
    horizon: &str,
    limit: i64,
) -> Result<Vec<Due>> {
    let (low, high) = match kind {
        Kind::Expiring => (now, horizon),
        Kind::Expired => ("", now),
        Kind::Leaked => return Ok(Vec::new()),
    };
    let rows = sqlx::query(
        "SELECT t.uid, t.name, t.stack_uid, t.expires_on, t.expires_at FROM management_tokens t \
         WHERE t.is_email_notification_enabled = 1 AND t.expires_at IS NOT NULL \
         AND t.revoked_at IS NULL \
         AND t.expires_at > $1 AND t.expires_at <= $2 AND NOT EXISTS (SELECT 1 FROM \
         token_notices n WHERE n.token_uid = t.uid AND n.kind = $3 AND n.expires_at = t.expires_at) \
         ORDER BY t.expires_at, t.uid LIMIT $4",
    )
    .bind(low)
    .bind(high)
    .bind(kind.as_str())
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Due {
                token_uid: s(r, "uid")?,
                token_name: s(r, "name")?,
                stack_uid: s(r, "stack_uid")?,
                expires_on: os(r, "expires_on")?,
                expires_at: s(r, "expires_at")?,
            })
        })
        .collect()
}

/// Records a notice; false when it was already recorded (by this or another instance).
pub async fn record(
    c: &mut Conn,
    token_uid: &str,
    kind: Kind,
    expires_at: &str,
    email_pending: bool,
) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO token_notices (token_uid, kind, expires_at, email_pending, email_attempts, \
         created_at) VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT DO NOTHING",
    )
    .bind(token_uid)
    .bind(kind.as_str())
    .bind(expires_at)
    .bind(i64::from(email_pending))
    .bind(clock::now())
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A notice whose email is still to be sent.
#[derive(Clone, Debug)]
pub struct PendingEmail {
    pub token_uid: String,
    pub token_name: String,
    pub stack_uid: String,
    pub kind: Kind,
    pub expires_at: String,
    pub attempts: i64,
}

pub async fn pending_emails(
    c: &mut Conn,
    max_attempts: i64,
    limit: i64,
) -> Result<Vec<PendingEmail>> {
    let rows = sqlx::query(
        "SELECT n.token_uid, n.kind, n.expires_at, n.email_attempts, t.name, t.stack_uid \
         FROM token_notices n JOIN management_tokens t ON t.uid = n.token_uid \
         WHERE n.email_pending = 1 AND n.email_attempts < $1 ORDER BY n.created_at LIMIT $2",
    )
    .bind(max_attempts)
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PendingEmail {
                token_uid: s(r, "token_uid")?,
                token_name: s(r, "name")?,
                stack_uid: s(r, "stack_uid")?,
                kind: match s(r, "kind")?.as_str() {
                    "expired" => Kind::Expired,
                    "leaked" => Kind::Leaked,
                    _ => Kind::Expiring,
                },
                expires_at: s(r, "expires_at")?,
                attempts: i(r, "email_attempts")?,
            })
        })
        .collect()
}

/// Counts an email attempt, unless another worker counted it first; true when this caller
/// may send.
pub async fn claim_email(c: &mut Conn, n: &PendingEmail) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE token_notices SET email_attempts = email_attempts + 1 \
         WHERE token_uid = $1 AND kind = $2 AND expires_at = $3 AND email_attempts = $4 \
         AND email_pending = 1",
    )
    .bind(&n.token_uid)
    .bind(n.kind.as_str())
    .bind(&n.expires_at)
    .bind(n.attempts)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks a notice's email sent.
pub async fn email_sent(c: &mut Conn, n: &PendingEmail) -> Result<()> {
    sqlx::query(
        "UPDATE token_notices SET email_pending = 0 \
         WHERE token_uid = $1 AND kind = $2 AND expires_at = $3",
    )
    .bind(&n.token_uid)
    .bind(n.kind.as_str())
    .bind(&n.expires_at)
    .execute(c)
    .await?;
    Ok(())
}

/// The addresses of a stack's owner and of its members with the built-in admin role.
pub async fn owner_and_admin_emails(c: &mut Conn, stack_uid: &str) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT u.email FROM users u JOIN stacks s ON s.owner_uid = u.uid WHERE s.uid = $1 \
         AND u.active = 1 UNION SELECT u.email FROM users u JOIN stack_members m ON \
         m.user_uid = u.uid JOIN roles r ON r.uid = m.role_uid WHERE m.stack_uid = $1 \
         AND r.builtin = 'admin' AND u.active = 1",
    )
    .bind(stack_uid)
    .fetch_all(c)
    .await?;
    let mut out = rows
        .iter()
        .map(|r| s(r, "email"))
        .collect::<Result<Vec<String>>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}
