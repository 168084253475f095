//! Organizations and their members.

use super::Conn;
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;
use headwater_core::policy::OrgRole;
use sqlx::any::AnyRow;

#[derive(Clone, Debug)]
pub struct Org {
    pub uid: String,
    pub name: String,
    pub owner_uid: String,
    pub sso_strict: bool,
    /// Requests per second; `None` means the server's default.
    pub read_rps: Option<i64>,
    pub write_rps: Option<i64>,
    pub max_management_tokens: Option<i64>,
    /// The longest expiry a management token may be given, in days (MT-20); `None`: no limit.
    pub max_token_lifetime_days: Option<i64>,
    /// Whether a management token may be created or kept without an expiry (MT-20).
    pub allow_never_expiring_tokens: bool,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str = "o.uid, o.name, o.owner_uid, o.sso_strict, o.read_rps, o.write_rps, \
                    o.max_management_tokens, o.max_token_lifetime_days, \
                    o.allow_never_expiring_tokens, o.created_at, o.updated_at";

fn from_row(r: &AnyRow) -> Result<Org> {
    Ok(Org {
        uid: s(r, "uid")?,
        name: s(r, "name")?,
        owner_uid: s(r, "owner_uid")?,
        sso_strict: b(r, "sso_strict")?,
        read_rps: oi(r, "read_rps")?,
        write_rps: oi(r, "write_rps")?,
        max_management_tokens: oi(r, "max_management_tokens")?,
        max_token_lifetime_days: oi(r, "max_token_lifetime_days")?,
        allow_never_expiring_tokens: b(r, "allow_never_expiring_tokens")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

pub fn role_key(role: OrgRole) -> &'static str {
    match role {
        OrgRole::Owner => "owner",
        OrgRole::Admin => "admin",
        OrgRole::Member => "member",
    }
}

pub fn role_from_key(key: &str) -> Option<OrgRole> {
    match key {
        "owner" => Some(OrgRole::Owner),
        "admin" => Some(OrgRole::Admin),
        "member" => Some(OrgRole::Member),
        _ => None,
    }
}

/// Creates an organization owned by `owner_uid` (who becomes its owner member).
pub async fn insert(c: &mut Conn, name: &str, owner_uid: &str) -> Result<Org> {
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    sqlx::query(
        "INSERT INTO organizations (uid, name, owner_uid, sso_strict, created_at, updated_at) \
         VALUES ($1, $2, $3, 0, $4, $4)",
    )
    .bind(&uid)
    .bind(name)
    .bind(owner_uid)
    .bind(&now)
    .execute(&mut *c)
    .await?;
    add_member(c, &uid, owner_uid, OrgRole::Owner).await?;
    Ok(by_uid(c, &uid).await?.expect("just inserted"))
}

pub async fn add_member(c: &mut Conn, org_uid: &str, user_uid: &str, role: OrgRole) -> Result<()> {
    sqlx::query(
        "INSERT INTO org_members (org_uid, user_uid, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(org_uid)
    .bind(user_uid)
    .bind(role_key(role))
    .bind(clock::now())
    .execute(c)
    .await?;
    Ok(())
}

pub async fn by_uid(c: &mut Conn, uid: &str) -> Result<Option<Org>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM organizations o WHERE o.uid = $1"
    ))
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn member_role(c: &mut Conn, org_uid: &str, user_uid: &str) -> Result<Option<OrgRole>> {
    let row = sqlx::query("SELECT role FROM org_members WHERE org_uid = $1 AND user_uid = $2")
        .bind(org_uid)
        .bind(user_uid)
        .fetch_optional(c)
        .await?;
    match row {
        Some(r) => Ok(role_from_key(&s(&r, "role")?)),
        None => Ok(None),
    }
}

/// The organizations a user belongs to, with the user's role in each.
pub async fn of_user(c: &mut Conn, user_uid: &str) -> Result<Vec<(Org, OrgRole)>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS}, m.role AS member_role FROM organizations o \
         JOIN org_members m ON m.org_uid = o.uid WHERE m.user_uid = $1 ORDER BY o.created_at, o.uid"
    ))
    .bind(user_uid)
    .fetch_all(c)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        if let Some(role) = role_from_key(&s(r, "member_role")?) {
            out.push((from_row(r)?, role));
        }
    }
    Ok(out)
}

/// True when the user belongs to at least one SSO strict-mode organization without owning it.
pub async fn strict_sso_member(c: &mut Conn, user_uid: &str) -> Result<bool> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM organizations o JOIN org_members m ON m.org_uid = o.uid \
         WHERE m.user_uid = $1 AND o.sso_strict = 1 AND o.owner_uid <> $1",
    )
    .bind(user_uid)
    .fetch_one(c)
    .await?;
    Ok(i(&row, "n")? > 0)
}

pub async fn set_sso_strict(c: &mut Conn, org_uid: &str, strict: bool) -> Result<bool> {
    let r = sqlx::query("UPDATE organizations SET sso_strict = $1, updated_at = $2 WHERE uid = $3")
        .bind(i64::from(strict))
        .bind(clock::now())
        .bind(org_uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Sets the organization's rate limits and token maximum; `None` leaves a value unchanged.
pub async fn set_limits(
    c: &mut Conn,
    org_uid: &str,
    read_rps: Option<i64>,
    write_rps: Option<i64>,
    max_management_tokens: Option<i64>,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE organizations SET read_rps = COALESCE($1, read_rps), \
         write_rps = COALESCE($2, write_rps), \
         max_management_tokens = COALESCE($3, max_management_tokens), updated_at = $4 WHERE uid = $5",
    )
    .bind(read_rps)
    .bind(write_rps)
    .bind(max_management_tokens)
    .bind(clock::now())
    .bind(org_uid)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Sets the organization's token lifetime policy (MT-20). `max_days`: `None` leaves it,
/// `Some(None)` removes the limit; `allow_never`: `None` leaves it.
pub async fn set_token_lifetime(
    c: &mut Conn,
    org_uid: &str,
    max_days: Option<Option<i64>>,
    allow_never: Option<bool>,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE organizations SET \
         max_token_lifetime_days = CASE WHEN $1 = 1 THEN $2 ELSE max_token_lifetime_days END, \
         allow_never_expiring_tokens = COALESCE($3, allow_never_expiring_tokens), \
         updated_at = $4 WHERE uid = $5",
    )
    .bind(i64::from(max_days.is_some()))
    .bind(max_days.flatten())
    .bind(allow_never.map(i64::from))
    .bind(clock::now())
    .bind(org_uid)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Sets a member's role (adding them when they are not a member).
pub async fn set_member_role(
    c: &mut Conn,
    org_uid: &str,
    user_uid: &str,
    role: OrgRole,
) -> Result<()> {
    sqlx::query("DELETE FROM org_members WHERE org_uid = $1 AND user_uid = $2")
        .bind(org_uid)
        .bind(user_uid)
        .execute(&mut *c)
        .await?;
    add_member(c, org_uid, user_uid, role).await
}

/// Makes `new_owner` the organization's owner; the previous owner stays as an admin.
pub async fn transfer(c: &mut Conn, org: &Org, new_owner: &str) -> Result<()> {
    sqlx::query("UPDATE organizations SET owner_uid = $1, updated_at = $2 WHERE uid = $3")
        .bind(new_owner)
        .bind(clock::now())
        .bind(&org.uid)
        .execute(&mut *c)
        .await?;
    set_member_role(c, &org.uid, &org.owner_uid, OrgRole::Admin).await?;
    set_member_role(c, &org.uid, new_owner, OrgRole::Owner).await
}

/// The members of an organization: (user uid, role).
pub async fn members(c: &mut Conn, org_uid: &str) -> Result<Vec<(String, OrgRole)>> {
    let rows = sqlx::query(
        "SELECT user_uid, role FROM org_members WHERE org_uid = $1 ORDER BY created_at, user_uid",
    )
    .bind(org_uid)
    .fetch_all(c)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        if let Some(role) = role_from_key(&s(r, "role")?) {
            out.push((s(r, "user_uid")?, role));
        }
    }
    Ok(out)
}
