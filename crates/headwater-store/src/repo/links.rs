//! One-time link tokens: invitations, password resets and ownership transfers. Only the
//! SHA-256 of a token is stored; a token is claimed once, and only before it expires.

use super::Conn;
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;
use sqlx::any::AnyRow;

/// What a link token does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ResetPassword,
    OrgInvitation,
    OrgOwnership,
    StackOwnership,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ResetPassword => "reset_password",
            Kind::OrgInvitation => "org_invitation",
            Kind::OrgOwnership => "org_ownership",
            Kind::StackOwnership => "stack_ownership",
        }
    }
}

/// A claimed token: what it acts on and who it was sent to.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub subject_uid: String,
    pub email: String,
    pub created_by: String,
}

fn from_row(r: &AnyRow) -> Result<Claimed> {
    Ok(Claimed {
        subject_uid: s(r, "subject_uid")?,
        email: s(r, "email")?,
        created_by: s(r, "created_by")?,
    })
}

/// Stores a token's hash. Earlier unused tokens of the same kind for the same subject and
/// address stop working (a resend replaces the link).
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    c: &mut Conn,
    kind: Kind,
    token_hash: &str,
    subject_uid: &str,
    email: &str,
    created_by: &str,
    expires_at: &str,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM link_tokens WHERE kind = $1 AND subject_uid = $2 AND email = $3 AND used_at IS NULL",
    )
    .bind(kind.as_str())
    .bind(subject_uid)
    .bind(email)
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "INSERT INTO link_tokens (token_hash, kind, subject_uid, email, created_by, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(token_hash)
    .bind(kind.as_str())
    .bind(subject_uid)
    .bind(email)
    .bind(created_by)
    .bind(expires_at)
    .bind(clock::now())
    .execute(c)
    .await?;
    Ok(())
}

/// Marks the token used, if it is of `kind`, unused and unexpired: one statement, so two
/// requests racing with the same token cannot both claim it.
pub async fn claim(c: &mut Conn, kind: Kind, token_hash: &str) -> Result<Option<Claimed>> {
    let now = clock::now();
    let r = sqlx::query(
        "UPDATE link_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(&now)
    .bind(token_hash)
    .bind(kind.as_str())
    .execute(&mut *c)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(None);
    }
    let row =
        sqlx::query("SELECT subject_uid, email, created_by FROM link_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_one(c)
            .await?;
    from_row(&row).map(Some)
}

/// The unused, unexpired token of `kind` a hash names (without claiming it).
pub async fn peek(c: &mut Conn, kind: Kind, token_hash: &str) -> Result<Option<Claimed>> {
    let row = sqlx::query(
        "SELECT subject_uid, email, created_by FROM link_tokens \
         WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(token_hash)
    .bind(kind.as_str())
    .bind(clock::now())
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Ends every unused token of `kind` for `subject_uid` (an invitation revoked, a password
/// changed).
pub async fn revoke_all(c: &mut Conn, kind: Kind, subject_uid: &str) -> Result<u64> {
    let r = sqlx::query(
        "DELETE FROM link_tokens WHERE kind = $1 AND subject_uid = $2 AND used_at IS NULL",
    )
    .bind(kind.as_str())
    .bind(subject_uid)
    .execute(c)
    .await?;
    Ok(r.rows_affected())
}
