//! Users and their authtokens.

use super::Conn;
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;
use sqlx::any::AnyRow;

#[derive(Clone, Debug)]
pub struct User {
    pub uid: String,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub tfa_secret: Option<String>,
    /// The TOTP time step of the last two-factor code that logged in (each code logs in once).
    pub tfa_last_step: Option<i64>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

fn from_row(r: &AnyRow) -> Result<User> {
    Ok(User {
        uid: s(r, "uid")?,
        email: s(r, "email")?,
        password_hash: s(r, "password_hash")?,
        first_name: s(r, "first_name")?,
        last_name: s(r, "last_name")?,
        tfa_secret: os(r, "tfa_secret")?,
        tfa_last_step: oi(r, "tfa_last_step")?,
        active: b(r, "active")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

const COLS: &str = "uid, email, password_hash, first_name, last_name, tfa_secret, tfa_last_step, \
                    active, created_at, updated_at";

/// Emails are compared case-insensitively; they are stored lowercased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub async fn insert(
    c: &mut Conn,
    email: &str,
    password_hash: &str,
    first_name: &str,
    last_name: &str,
) -> Result<User> {
    let now = clock::now();
    let uid = headwater_core::ids::new_uid();
    sqlx::query(
        "INSERT INTO users (uid, email, password_hash, first_name, last_name, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
    )
    .bind(&uid)
    .bind(normalize_email(email))
    .bind(password_hash)
    .bind(first_name)
    .bind(last_name)
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(by_uid(c, &uid).await?.expect("just inserted"))
}

pub async fn by_uid(c: &mut Conn, uid: &str) -> Result<Option<User>> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM users WHERE uid = $1"))
        .bind(uid)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_email(c: &mut Conn, email: &str) -> Result<Option<User>> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM users WHERE email = $1"))
        .bind(normalize_email(email))
        .fetch_optional(c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn set_tfa_secret(c: &mut Conn, uid: &str, secret: Option<&str>) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE users SET tfa_secret = $1, tfa_last_step = NULL, updated_at = $2 WHERE uid = $3",
    )
    .bind(secret.map(str::to_string))
    .bind(clock::now())
    .bind(uid)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Users whose two-factor secret is stored in plain text (not sealed): (uid, secret).
pub async fn plain_tfa_secrets(c: &mut Conn) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT uid, tfa_secret FROM users WHERE tfa_secret IS NOT NULL AND tfa_secret NOT LIKE 'enc:%'",
    )
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| Ok((s(r, "uid")?, s(r, "tfa_secret")?)))
        .collect()
}

/// Replaces a user's stored two-factor secret by another form of the same secret (sealed),
/// keeping the record of the last code used.
pub async fn set_tfa_secret_keeping_step(c: &mut Conn, uid: &str, stored: &str) -> Result<()> {
    sqlx::query("UPDATE users SET tfa_secret = $1 WHERE uid = $2")
        .bind(stored)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(())
}

/// Records that the two-factor code of time step `step` logged in, unless a code of that step
/// or a later one already did: true when this call claimed it. One statement, so two logins
/// racing with the same code cannot both succeed.
pub async fn use_tfa_step(c: &mut Conn, uid: &str, step: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE users SET tfa_last_step = $1 \
         WHERE uid = $2 AND (tfa_last_step IS NULL OR tfa_last_step < $1)",
    )
    .bind(step)
    .bind(uid)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn set_password(c: &mut Conn, uid: &str, password_hash: &str) -> Result<bool> {
    let r = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE uid = $3")
        .bind(password_hash)
        .bind(clock::now())
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn count(c: &mut Conn) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(c)
        .await?;
    i(&row, "n")
}

/// How many authtokens a user may hold at once; a further login expires the oldest.
pub const MAX_AUTHTOKENS: i64 = 20;

/// Stores a new authtoken (its hash) and expires the user's oldest beyond the cap.
pub async fn add_authtoken(c: &mut Conn, user_uid: &str, token_hash: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO authtokens (token_hash, user_uid, created_at, last_used_at) \
         VALUES ($1, $2, $3, $3)",
    )
    .bind(token_hash)
    .bind(user_uid)
    .bind(clock::now())
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "DELETE FROM authtokens WHERE user_uid = $1 AND token_hash NOT IN \
         (SELECT token_hash FROM authtokens WHERE user_uid = $1 \
          ORDER BY created_at DESC, token_hash DESC LIMIT $2)",
    )
    .bind(user_uid)
    .bind(MAX_AUTHTOKENS)
    .execute(c)
    .await?;
    Ok(())
}

/// An authtoken's user and its times.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    pub created_at: String,
    /// When the authtoken was last used (written at most about once a minute); its creation
    /// time for authtokens from before this was recorded.
    pub last_used_at: String,
}

/// The user an authtoken belongs to, with the authtoken's times.
pub async fn by_authtoken(c: &mut Conn, token_hash: &str) -> Result<Option<Session>> {
    let row = sqlx::query(&format!(
        "SELECT {}, a.created_at AS session_created_at, \
         COALESCE(a.last_used_at, a.created_at) AS session_last_used_at \
         FROM users u JOIN authtokens a ON a.user_uid = u.uid WHERE a.token_hash = $1",
        COLS.split(", ")
            .map(|c| format!("u.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .bind(token_hash)
    .fetch_optional(c)
    .await?;
    row.as_ref()
        .map(|r| {
            Ok(Session {
                user: from_row(r)?,
                created_at: s(r, "session_created_at")?,
                last_used_at: s(r, "session_last_used_at")?,
            })
        })
        .transpose()
}

/// Records a use of an authtoken, unless one was recorded after `unless_after` (so a busy
/// session writes about once per interval, not on every request).
pub async fn touch_authtoken(
    c: &mut Conn,
    token_hash: &str,
    now: &str,
    unless_after: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE authtokens SET last_used_at = $1 \
         WHERE token_hash = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(now)
    .bind(token_hash)
    .bind(unless_after)
    .execute(c)
    .await?;
    Ok(())
}

/// Ends every authtoken of the members of an organization other than its owner (SSO strict
/// mode turned on: their password sessions end with it). Returns how many ended.
pub async fn delete_member_authtokens(c: &mut Conn, org_uid: &str) -> Result<u64> {
    let r = sqlx::query(
        "DELETE FROM authtokens WHERE user_uid IN \
         (SELECT m.user_uid FROM org_members m JOIN organizations o ON o.uid = m.org_uid \
          WHERE m.org_uid = $1 AND m.user_uid <> o.owner_uid)",
    )
    .bind(org_uid)
    .execute(c)
    .await?;
    Ok(r.rows_affected())
}

/// Ends every authtoken of one user.
pub async fn delete_user_authtokens(c: &mut Conn, user_uid: &str) -> Result<u64> {
    let r = sqlx::query("DELETE FROM authtokens WHERE user_uid = $1")
        .bind(user_uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

pub async fn delete_authtoken(c: &mut Conn, token_hash: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM authtokens WHERE token_hash = $1")
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Sets a user's name.
pub async fn update_profile(
    c: &mut Conn,
    uid: &str,
    first_name: &str,
    last_name: &str,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE users SET first_name = $1, last_name = $2, updated_at = $3 WHERE uid = $4",
    )
    .bind(first_name)
    .bind(last_name)
    .bind(clock::now())
    .bind(uid)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Ends every authtoken of a user except `keep` (a password change keeps the session that
/// made it). Returns how many ended.
pub async fn delete_other_authtokens(c: &mut Conn, user_uid: &str, keep: &str) -> Result<u64> {
    let r = sqlx::query("DELETE FROM authtokens WHERE user_uid = $1 AND token_hash <> $2")
        .bind(user_uid)
        .bind(keep)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}
