//! Management tokens. Only the SHA-256 of a token's secret is stored.

use super::{Actor, Conn};
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;
use sqlx::any::AnyRow;

#[derive(Clone, Debug, PartialEq)]
pub struct ManagementToken {
    pub uid: String,
    pub stack_uid: String,
    pub name: String,
    pub description: String,
    pub scope: serde_json::Value,
    /// As the client gave it (a date or a timestamp), `None` for never.
    pub expires_on: Option<String>,
    /// The instant the token stops working, normalized.
    pub expires_at: Option<String>,
    pub is_email_notification_enabled: bool,
    pub rate_limit_enabled: bool,
    pub read_rps: Option<i64>,
    pub write_rps: Option<i64>,
    pub last_used_at: Option<String>,
    /// Client address ranges the token works from (MT-16); `None` for anywhere.
    pub allowed_cidrs: Option<Vec<String>>,
    /// Revoke the token when a secret rotated out of it is used after its grace period (MT-15).
    pub revoke_on_reuse: bool,
    /// When the token was revoked (leak report, reuse); it is refused from then on.
    pub revoked_at: Option<String>,
    pub revoked_reason: Option<String>,
    /// When its secret was last replaced.
    pub rotated_at: Option<String>,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

impl ManagementToken {
    /// True when the token no longer works at `now` (formatted timestamp).
    pub fn expired_at(&self, now: &str) -> bool {
        self.expires_at.as_deref().is_some_and(|e| e <= now)
    }
}

const COLS: &str = "uid, stack_uid, name, description, scope, expires_on, expires_at, \
    is_email_notification_enabled, rate_limit_enabled, read_rps, write_rps, last_used_at, \
    allowed_cidrs, revoke_on_reuse, revoked_at, revoked_reason, rotated_at, \
    created_by, updated_by, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<ManagementToken> {
    Ok(ManagementToken {
        uid: s(r, "uid")?,
        stack_uid: s(r, "stack_uid")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        scope: json(r, "scope")?,
        expires_on: os(r, "expires_on")?,
        expires_at: os(r, "expires_at")?,
        is_email_notification_enabled: b(r, "is_email_notification_enabled")?,
        rate_limit_enabled: b(r, "rate_limit_enabled")?,
        read_rps: oi(r, "read_rps")?,
        write_rps: oi(r, "write_rps")?,
        last_used_at: os(r, "last_used_at")?,
        allowed_cidrs: ojson_as(r, "allowed_cidrs")?,
        revoke_on_reuse: b(r, "revoke_on_reuse")?,
        revoked_at: os(r, "revoked_at")?,
        revoked_reason: os(r, "revoked_reason")?,
        rotated_at: os(r, "rotated_at")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

/// The editable fields of a token.
#[derive(Clone, Debug)]
pub struct TokenFields {
    pub name: String,
    pub description: String,
    pub scope: serde_json::Value,
    pub expires_on: Option<String>,
    pub expires_at: Option<String>,
    pub is_email_notification_enabled: bool,
    pub rate_limit_enabled: bool,
    pub read_rps: Option<i64>,
    pub write_rps: Option<i64>,
    pub allowed_cidrs: Option<Vec<String>>,
    pub revoke_on_reuse: bool,
}

impl TokenFields {
    fn cidrs_text(&self) -> Option<String> {
        self.allowed_cidrs
            .as_ref()
            .map(|c| serde_json::to_string(c).unwrap_or_default())
    }
}

/// What happens when a stack already holds its maximum number of tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenFull {
    /// Refuse the new token (Headwater's default).
    Refuse,
    /// Delete the oldest tokens to make room (Contentstack's API-reference behaviour).
    ExpireOldest,
}

/// The outcome of a capped create.
#[derive(Debug)]
pub enum Created {
    Token(Box<ManagementToken>),
    /// The stack is at its maximum; nothing was written.
    Full {
        max: i64,
    },
}

/// The per-stack maximum and what to do when it is reached.
#[derive(Clone, Copy, Debug)]
pub struct Cap {
    pub max: i64,
    pub when_full: WhenFull,
}

/// Creates a token if the stack holds fewer than `cap.max`. Must run in a write transaction: the
/// stack row is locked (PostgreSQL) or the writer lock is held (SQLite) while counting, so
/// concurrent creates cannot overshoot.
pub async fn create_capped(
    c: &mut Conn,
    stack_uid: &str,
    fields: &TokenFields,
    token_hash: &str,
    cap: Cap,
    actor: &Actor,
) -> Result<Created> {
    let Cap { max, when_full } = cap;
    super::stacks::lock(c, stack_uid).await?;
    let n = count(c, stack_uid).await?;
    if n >= max {
        match when_full {
            WhenFull::Refuse => return Ok(Created::Full { max }),
            WhenFull::ExpireOldest => {
                let excess = n - max + 1;
                sqlx::query(
                    "DELETE FROM management_tokens WHERE uid IN (SELECT uid FROM management_tokens \
                     WHERE stack_uid = $1 ORDER BY created_at, uid LIMIT $2)",
                )
                .bind(stack_uid)
                .bind(excess)
                .execute(&mut *c)
                .await?;
            }
        }
    }
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    sqlx::query(
        "INSERT INTO management_tokens (uid, stack_uid, name, description, scope, expires_on, \
         expires_at, is_email_notification_enabled, rate_limit_enabled, read_rps, write_rps, \
         token_hash, created_by, updated_by, created_at, updated_at, allowed_cidrs, \
         revoke_on_reuse) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $14, $15, $16)",
    )
    .bind(&uid)
    .bind(stack_uid)
    .bind(&fields.name)
    .bind(&fields.description)
    .bind(fields.scope.to_string())
    .bind(fields.expires_on.clone())
    .bind(fields.expires_at.clone())
    .bind(i64::from(fields.is_email_notification_enabled))
    .bind(i64::from(fields.rate_limit_enabled))
    .bind(fields.read_rps)
    .bind(fields.write_rps)
    .bind(token_hash)
    .bind(actor.uid())
    .bind(&now)
    .bind(fields.cidrs_text())
    .bind(i64::from(fields.revoke_on_reuse))
    .execute(&mut *c)
    .await?;
    Ok(Created::Token(Box::new(
        get(c, stack_uid, &uid).await?.expect("just inserted"),
    )))
}

pub async fn count(c: &mut Conn, stack_uid: &str) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM management_tokens WHERE stack_uid = $1")
        .bind(stack_uid)
        .fetch_one(c)
        .await?;
    i(&row, "n")
}

pub async fn list(c: &mut Conn, stack_uid: &str) -> Result<Vec<ManagementToken>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM management_tokens WHERE stack_uid = $1 ORDER BY created_at, uid"
    ))
    .bind(stack_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Option<ManagementToken>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM management_tokens WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(stack_uid)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The token whose secret hashes to `token_hash`.
pub async fn by_hash(c: &mut Conn, token_hash: &str) -> Result<Option<ManagementToken>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM management_tokens WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn update(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    fields: &TokenFields,
    actor: &Actor,
) -> Result<Option<ManagementToken>> {
    sqlx::query(
        "UPDATE management_tokens SET name = $1, description = $2, scope = $3, expires_on = $4, \
         expires_at = $5, is_email_notification_enabled = $6, rate_limit_enabled = $7, \
         read_rps = $8, write_rps = $9, updated_by = $10, updated_at = $11, \
         allowed_cidrs = $14, revoke_on_reuse = $15 WHERE stack_uid = $12 AND uid = $13",
    )
    .bind(&fields.name)
    .bind(&fields.description)
    .bind(fields.scope.to_string())
    .bind(fields.expires_on.clone())
    .bind(fields.expires_at.clone())
    .bind(i64::from(fields.is_email_notification_enabled))
    .bind(i64::from(fields.rate_limit_enabled))
    .bind(fields.read_rps)
    .bind(fields.write_rps)
    .bind(actor.uid())
    .bind(clock::now())
    .bind(stack_uid)
    .bind(uid)
    .bind(fields.cidrs_text())
    .bind(i64::from(fields.revoke_on_reuse))
    .execute(&mut *c)
    .await?;
    get(c, stack_uid, uid).await
}

/// A secret a rotation replaced, with the token it belonged to.
#[derive(Clone, Debug)]
pub struct OldSecret {
    pub token: ManagementToken,
    /// The end of its grace period: it works until then, and a use after it is reuse.
    pub valid_until: String,
}

/// The token a rotated-out secret belonged to, if `token_hash` is one.
pub async fn by_old_hash(c: &mut Conn, token_hash: &str) -> Result<Option<OldSecret>> {
    let row = sqlx::query(
        "SELECT token_uid, valid_until FROM management_token_old_secrets WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *c)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let valid_until = s(&row, "valid_until")?;
    let token = sqlx::query(&format!(
        "SELECT {COLS} FROM management_tokens WHERE uid = $1"
    ))
    .bind(s(&row, "token_uid")?)
    .fetch_optional(&mut *c)
    .await?;
    token
        .map(|r| {
            Ok(OldSecret {
                token: from_row(&r)?,
                valid_until,
            })
        })
        .transpose()
}

/// Replaces a token's secret with `new_hash`; the old one keeps working until `valid_until`.
/// False when the token does not exist (or is revoked).
pub async fn rotate(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    new_hash: &str,
    valid_until: &str,
    actor: &Actor,
) -> Result<bool> {
    let now = clock::now();
    let r = sqlx::query(
        "INSERT INTO management_token_old_secrets (token_hash, token_uid, valid_until, created_at) \
         SELECT token_hash, uid, $1, $2 FROM management_tokens \
         WHERE stack_uid = $3 AND uid = $4 AND revoked_at IS NULL",
    )
    .bind(valid_until)
    .bind(&now)
    .bind(stack_uid)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE management_tokens SET token_hash = $1, rotated_at = $2, updated_by = $3, \
         updated_at = $2 WHERE stack_uid = $4 AND uid = $5",
    )
    .bind(new_hash)
    .bind(&now)
    .bind(actor.uid())
    .bind(stack_uid)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    Ok(true)
}

/// Revokes a token (it is refused from then on); false when it was already revoked.
pub async fn revoke(c: &mut Conn, uid: &str, reason: &str) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE management_tokens SET revoked_at = $1, revoked_reason = $2 \
         WHERE uid = $3 AND revoked_at IS NULL",
    )
    .bind(clock::now())
    .bind(reason)
    .bind(uid)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn delete(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM management_tokens WHERE stack_uid = $1 AND uid = $2")
        .bind(stack_uid)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Records use, at most once per minute per token (the condition keeps it cheap).
pub async fn touch_last_used(c: &mut Conn, uid: &str, now: &str, not_since: &str) -> Result<()> {
    sqlx::query(
        "UPDATE management_tokens SET last_used_at = $1 WHERE uid = $2 \
         AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(now)
    .bind(uid)
    .bind(not_since)
    .execute(c)
    .await?;
    Ok(())
}

/// Every stored token row as one string per row, for tests that check what is at rest.
#[doc(hidden)]
pub async fn dump_for_tests(c: &mut Conn) -> Result<Vec<String>> {
    let rows = sqlx::query(&format!("SELECT {COLS}, token_hash FROM management_tokens"))
        .fetch_all(c)
        .await?;
    rows.iter()
        .map(|r| Ok(format!("{:?} {}", from_row(r)?, s(r, "token_hash")?)))
        .collect()
}
