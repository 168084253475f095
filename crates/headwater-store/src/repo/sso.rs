//! Single sign-on (OpenID Connect): an organization's provider settings, the identities that
//! signed in through it, the one-time states of sign-ins in progress, and browser sessions.

use super::Conn;
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;
use sqlx::any::AnyRow;

/// An organization's OpenID Connect settings. `client_secret` is the stored (sealed) form.
#[derive(Clone, Debug)]
pub struct SsoConfig {
    pub org_uid: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    pub email_claim: String,
    pub allowed_domains: Vec<String>,
    pub default_role: String,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str = "org_uid, issuer, client_id, client_secret, scopes, email_claim, \
                    allowed_domains, default_role, enabled, created_at, updated_at";

fn config_row(r: &AnyRow) -> Result<SsoConfig> {
    Ok(SsoConfig {
        org_uid: s(r, "org_uid")?,
        issuer: s(r, "issuer")?,
        client_id: s(r, "client_id")?,
        client_secret: s(r, "client_secret")?,
        scopes: json_as(r, "scopes")?,
        email_claim: s(r, "email_claim")?,
        allowed_domains: json_as(r, "allowed_domains")?,
        default_role: s(r, "default_role")?,
        enabled: b(r, "enabled")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

pub async fn config(c: &mut Conn, org_uid: &str) -> Result<Option<SsoConfig>> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM org_sso WHERE org_uid = $1"))
        .bind(org_uid)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(config_row).transpose()
}

/// The enabled configurations (for finding an organization by an email's domain).
pub async fn enabled_configs(c: &mut Conn) -> Result<Vec<SsoConfig>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM org_sso WHERE enabled = 1 ORDER BY created_at, org_uid"
    ))
    .fetch_all(c)
    .await?;
    rows.iter().map(config_row).collect()
}

/// Inserts or replaces the organization's configuration (keeping its creation time).
pub async fn put_config(c: &mut Conn, cfg: &SsoConfig) -> Result<SsoConfig> {
    let now = clock::now();
    let scopes = serde_json::to_string(&cfg.scopes).expect("strings serialize");
    let domains = serde_json::to_string(&cfg.allowed_domains).expect("strings serialize");
    sqlx::query(
        "INSERT INTO org_sso (org_uid, issuer, client_id, client_secret, scopes, email_claim, \
         allowed_domains, default_role, enabled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
         ON CONFLICT (org_uid) DO UPDATE SET issuer = $2, client_id = $3, client_secret = $4, \
         scopes = $5, email_claim = $6, allowed_domains = $7, default_role = $8, enabled = $9, \
         updated_at = $10",
    )
    .bind(&cfg.org_uid)
    .bind(&cfg.issuer)
    .bind(&cfg.client_id)
    .bind(&cfg.client_secret)
    .bind(scopes)
    .bind(&cfg.email_claim)
    .bind(domains)
    .bind(&cfg.default_role)
    .bind(i64::from(cfg.enabled))
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(config(c, &cfg.org_uid).await?.expect("just written"))
}

pub async fn delete_config(c: &mut Conn, org_uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM org_sso WHERE org_uid = $1")
        .bind(org_uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The user an identity (issuer, subject) is linked to.
pub async fn identity_user(c: &mut Conn, issuer: &str, subject: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT user_uid FROM sso_identities WHERE issuer = $1 AND subject = $2")
        .bind(issuer)
        .bind(subject)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(|r| s(r, "user_uid")).transpose()
}

pub async fn link_identity(
    c: &mut Conn,
    issuer: &str,
    subject: &str,
    user_uid: &str,
    org_uid: &str,
) -> Result<()> {
    let now = clock::now();
    sqlx::query(
        "INSERT INTO sso_identities (issuer, subject, user_uid, org_uid, created_at, last_login_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(issuer)
    .bind(subject)
    .bind(user_uid)
    .bind(org_uid)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn touch_identity(c: &mut Conn, issuer: &str, subject: &str) -> Result<()> {
    sqlx::query("UPDATE sso_identities SET last_login_at = $1 WHERE issuer = $2 AND subject = $3")
        .bind(clock::now())
        .bind(issuer)
        .bind(subject)
        .execute(c)
        .await?;
    Ok(())
}

/// A sign-in in progress.
#[derive(Clone, Debug)]
pub struct SsoState {
    pub org_uid: String,
    pub nonce: String,
    /// Sealed, bound to the state's hash.
    pub verifier: String,
    pub redirect_uri: String,
    pub expires_at: String,
}

pub async fn insert_state(c: &mut Conn, state_hash: &str, st: &SsoState) -> Result<()> {
    // Expired states of abandoned sign-ins go as new ones come.
    sqlx::query("DELETE FROM sso_states WHERE expires_at < $1")
        .bind(clock::now())
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO sso_states (state_hash, org_uid, nonce, verifier, redirect_uri, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(state_hash)
    .bind(&st.org_uid)
    .bind(&st.nonce)
    .bind(&st.verifier)
    .bind(&st.redirect_uri)
    .bind(&st.expires_at)
    .execute(c)
    .await?;
    Ok(())
}

/// Takes a state (it is deleted: a state is used once, expired or not). `None` when it is
/// unknown or another request took it first.
pub async fn take_state(c: &mut Conn, state_hash: &str) -> Result<Option<SsoState>> {
    let row = sqlx::query(
        "SELECT org_uid, nonce, verifier, redirect_uri, expires_at FROM sso_states \
         WHERE state_hash = $1",
    )
    .bind(state_hash)
    .fetch_optional(&mut *c)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let deleted = sqlx::query("DELETE FROM sso_states WHERE state_hash = $1")
        .bind(state_hash)
        .execute(c)
        .await?;
    if deleted.rows_affected() != 1 {
        return Ok(None);
    }
    Ok(Some(SsoState {
        org_uid: s(&r, "org_uid")?,
        nonce: s(&r, "nonce")?,
        verifier: s(&r, "verifier")?,
        redirect_uri: s(&r, "redirect_uri")?,
        expires_at: s(&r, "expires_at")?,
    }))
}

/// A browser session: its user and times.
#[derive(Clone, Debug)]
pub struct BrowserSession {
    pub user_uid: String,
    pub csrf_hash: String,
    pub org_uid: Option<String>,
    pub created_at: String,
    pub last_used_at: String,
}

pub async fn insert_session(
    c: &mut Conn,
    session_hash: &str,
    csrf_hash: &str,
    user_uid: &str,
    org_uid: Option<&str>,
) -> Result<()> {
    let now = clock::now();
    sqlx::query(
        "INSERT INTO browser_sessions (session_hash, csrf_hash, user_uid, org_uid, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(session_hash)
    .bind(csrf_hash)
    .bind(user_uid)
    .bind(org_uid.map(str::to_string))
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn session(c: &mut Conn, session_hash: &str) -> Result<Option<BrowserSession>> {
    let row = sqlx::query(
        "SELECT user_uid, csrf_hash, org_uid, created_at, last_used_at FROM browser_sessions \
         WHERE session_hash = $1",
    )
    .bind(session_hash)
    .fetch_optional(c)
    .await?;
    row.as_ref()
        .map(|r| {
            Ok(BrowserSession {
                user_uid: s(r, "user_uid")?,
                csrf_hash: s(r, "csrf_hash")?,
                org_uid: os(r, "org_uid")?,
                created_at: s(r, "created_at")?,
                last_used_at: s(r, "last_used_at")?,
            })
        })
        .transpose()
}

/// Records a use of a session unless one was recorded after `unless_after`.
pub async fn touch_session(
    c: &mut Conn,
    session_hash: &str,
    now: &str,
    unless_after: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE browser_sessions SET last_used_at = $1 WHERE session_hash = $2 AND last_used_at < $3",
    )
    .bind(now)
    .bind(session_hash)
    .bind(unless_after)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn delete_session(c: &mut Conn, session_hash: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM browser_sessions WHERE session_hash = $1")
        .bind(session_hash)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Sets a session's times (tests of the idle and absolute lifetimes).
pub async fn set_session_times(
    c: &mut Conn,
    session_hash: &str,
    created_at: &str,
    last_used_at: &str,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE browser_sessions SET created_at = $1, last_used_at = $2 WHERE session_hash = $3",
    )
    .bind(created_at)
    .bind(last_used_at)
    .bind(session_hash)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}
