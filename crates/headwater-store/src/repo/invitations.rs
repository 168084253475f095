//! Organization invitations: an address, an organization role and optional stack roles,
//! accepted through a link token.

use super::Conn;
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;
use sqlx::any::AnyRow;

#[derive(Clone, Debug)]
pub struct Invitation {
    pub uid: String,
    pub org_uid: String,
    pub email: String,
    pub org_role: String,
    /// `[{"api_key": …, "stack_uid": …, "roles": [role uid, …]}, …]`
    pub stack_roles: serde_json::Value,
    pub status: String,
    pub invited_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str =
    "uid, org_uid, email, org_role, stack_roles, status, invited_by, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<Invitation> {
    Ok(Invitation {
        uid: s(r, "uid")?,
        org_uid: s(r, "org_uid")?,
        email: s(r, "email")?,
        org_role: s(r, "org_role")?,
        stack_roles: json(r, "stack_roles")?,
        status: s(r, "status")?,
        invited_by: s(r, "invited_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

/// Creates a pending invitation, replacing a pending one for the same address.
pub async fn insert(
    c: &mut Conn,
    org_uid: &str,
    email: &str,
    org_role: &str,
    stack_roles: &serde_json::Value,
    invited_by: &str,
) -> Result<Invitation> {
    sqlx::query(
        "UPDATE org_invitations SET status = 'revoked', updated_at = $1 \
         WHERE org_uid = $2 AND email = $3 AND status = 'pending'",
    )
    .bind(clock::now())
    .bind(org_uid)
    .bind(email)
    .execute(&mut *c)
    .await?;
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    sqlx::query(
        "INSERT INTO org_invitations (uid, org_uid, email, org_role, stack_roles, status, invited_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $7)",
    )
    .bind(&uid)
    .bind(org_uid)
    .bind(email)
    .bind(org_role)
    .bind(stack_roles.to_string())
    .bind(invited_by)
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(get(c, &uid).await?.expect("just inserted"))
}

pub async fn get(c: &mut Conn, uid: &str) -> Result<Option<Invitation>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM org_invitations WHERE uid = $1"
    ))
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// An organization's invitations, newest first.
pub async fn list(c: &mut Conn, org_uid: &str) -> Result<Vec<Invitation>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM org_invitations WHERE org_uid = $1 ORDER BY created_at DESC, uid"
    ))
    .bind(org_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Moves a pending invitation to `status`; false when it was not pending.
pub async fn finish(c: &mut Conn, uid: &str, status: &str) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE org_invitations SET status = $1, updated_at = $2 WHERE uid = $3 AND status = 'pending'",
    )
    .bind(status)
    .bind(clock::now())
    .bind(uid)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}
