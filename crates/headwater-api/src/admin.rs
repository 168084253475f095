//! Operator actions, shared by the command line and the test kit: creating users and
//! organizations, two-factor setup, SSO strict mode and limits. These are not reachable over
//! HTTP.

use headwater_core::policy::OrgRole;
use headwater_core::sealing::SealKey;
use headwater_core::{password, totp};
use headwater_store::repo::{orgs, stacks, users};
use headwater_store::{Db, StoreError};

#[derive(Debug)]
pub enum AdminError {
    /// The operator's input was refused; the message says why.
    Invalid(String),
    Store(StoreError),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::Invalid(m) => write!(f, "{m}"),
            AdminError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> AdminError {
        AdminError::Store(e)
    }
}

/// Where a new user goes: a new organization they own, or an existing one.
pub enum OrgChoice<'a> {
    New { name: &'a str },
    Existing { uid: &'a str, role: OrgRole },
}

pub struct CreatedUser {
    pub user_uid: String,
    pub org_uid: String,
}

pub async fn create_user(
    db: &Db,
    email: &str,
    password_plain: &str,
    first_name: &str,
    last_name: &str,
    org: OrgChoice<'_>,
) -> Result<CreatedUser, AdminError> {
    if !email.contains('@') || email.trim().len() < 3 {
        return Err(AdminError::Invalid(format!(
            "'{email}' is not an email address"
        )));
    }
    if password_plain.chars().count() < password::MIN_LENGTH {
        return Err(AdminError::Invalid(format!(
            "the password must have at least {} characters",
            password::MIN_LENGTH
        )));
    }
    // The same bounded hasher as logins (SEC-4).
    let hash = crate::hashing::hash(password_plain.to_string(), crate::hashing::DEFAULT_WAIT)
        .await
        .map_err(|e| AdminError::Invalid(format!("password hashing failed: {e:?}")))?;
    let mut tx = db.begin().await?;
    if users::by_email(&mut tx, email).await?.is_some() {
        return Err(AdminError::Invalid(format!(
            "a user with email {email} already exists"
        )));
    }
    let user = users::insert(&mut tx, email, &hash, first_name, last_name).await?;
    let org_uid = match org {
        OrgChoice::New { name } => orgs::insert(&mut tx, name, &user.uid).await?.uid,
        OrgChoice::Existing { uid, role } => {
            if orgs::by_uid(&mut tx, uid).await?.is_none() {
                return Err(AdminError::Invalid(format!(
                    "no organization with uid {uid}"
                )));
            }
            orgs::add_member(&mut tx, uid, &user.uid, role).await?;
            uid.to_string()
        }
    };
    tx.commit().await?;
    Ok(CreatedUser {
        user_uid: user.uid,
        org_uid,
    })
}

/// Turns on TOTP two-factor login for a user and returns the base32 secret to enrol. The
/// database keeps it sealed with `key`, bound to the user (SEC-14).
pub async fn enable_2fa(db: &Db, key: &SealKey, email: &str) -> Result<String, AdminError> {
    let secret = totp::new_secret();
    let mut tx = db.begin().await?;
    let user = users::by_email(&mut tx, email)
        .await?
        .ok_or_else(|| AdminError::Invalid(format!("no user with email {email}")))?;
    users::set_tfa_secret(&mut tx, &user.uid, Some(&key.seal(&secret, &user.uid))).await?;
    tx.commit().await?;
    Ok(secret)
}

/// Seals the two-factor secrets still stored in plain text (written before sealing), in one
/// transaction; returns how many. Run at every start, so a database is sealed once its
/// server has started.
pub async fn seal_tfa_secrets(db: &Db, key: &SealKey) -> Result<u64, AdminError> {
    let mut tx = db.begin().await?;
    let plain = users::plain_tfa_secrets(&mut tx).await?;
    for (uid, secret) in &plain {
        users::set_tfa_secret_keeping_step(&mut tx, uid, &key.seal(secret, uid)).await?;
    }
    tx.commit().await?;
    Ok(plain.len() as u64)
}

/// Turns SSO strict mode on or off. Turning it on also ends the password sessions
/// (authtokens) of every member but the owner, in the same transaction: they could not log
/// in by password any more, so they do not keep the sessions they had (SEC-17). Returns how
/// many authtokens ended.
pub async fn set_sso_strict(db: &Db, org_uid: &str, strict: bool) -> Result<u64, AdminError> {
    let mut tx = db.begin().await?;
    if !orgs::set_sso_strict(&mut tx, org_uid, strict).await? {
        return Err(AdminError::Invalid(format!(
            "no organization with uid {org_uid}"
        )));
    }
    let ended = if strict {
        users::delete_member_authtokens(&mut tx, org_uid).await?
    } else {
        0
    };
    tx.commit().await?;
    // Running instances drop their cached copy of the organization at once.
    db.announce_revocation().await?;
    Ok(ended)
}

pub async fn set_org_limits(
    db: &Db,
    org_uid: &str,
    read_rps: Option<i64>,
    write_rps: Option<i64>,
    max_tokens: Option<i64>,
) -> Result<(), AdminError> {
    for (name, v) in [
        ("read", read_rps),
        ("write", write_rps),
        ("token maximum", max_tokens),
    ] {
        if v.is_some_and(|v| v < 1) {
            return Err(AdminError::Invalid(format!(
                "the {name} must be at least 1"
            )));
        }
    }
    let mut tx = db.begin().await?;
    if !orgs::set_limits(&mut tx, org_uid, read_rps, write_rps, max_tokens).await? {
        return Err(AdminError::Invalid(format!(
            "no organization with uid {org_uid}"
        )));
    }
    tx.commit().await?;
    // Running instances drop their cached copy of the organization at once.
    db.announce_revocation().await?;
    Ok(())
}

/// Sets the organization's management-token lifetime policy (MT-20): the longest expiry in
/// days (`Some(0)` removes the limit; `None` leaves it) and whether tokens may never expire.
pub async fn set_token_lifetime(
    db: &Db,
    org_uid: &str,
    max_days: Option<i64>,
    allow_never: Option<bool>,
) -> Result<(), AdminError> {
    if max_days.is_some_and(|d| !(0..=36_500).contains(&d)) {
        return Err(AdminError::Invalid(
            "the maximum token lifetime is a number of days from 1 to 36500 (0 removes it)".into(),
        ));
    }
    let max_days = max_days.map(|d| (d > 0).then_some(d));
    let mut tx = db.begin().await?;
    if !orgs::set_token_lifetime(&mut tx, org_uid, max_days, allow_never).await? {
        return Err(AdminError::Invalid(format!(
            "no organization with uid {org_uid}"
        )));
    }
    tx.commit().await?;
    Ok(())
}

/// Sets (or with `None` clears) a stack's own management-token maximum.
pub async fn set_stack_token_limit(
    db: &Db,
    api_key: &str,
    max: Option<i64>,
) -> Result<(), AdminError> {
    if max.is_some_and(|m| m < 1) {
        return Err(AdminError::Invalid("the maximum must be at least 1".into()));
    }
    let mut tx = db.begin().await?;
    let stack = stacks::by_api_key(&mut tx, api_key)
        .await?
        .ok_or_else(|| AdminError::Invalid(format!("no stack with api_key {api_key}")))?;
    stacks::set_max_management_tokens(&mut tx, &stack.uid, max).await?;
    tx.commit().await?;
    Ok(())
}

/// An organization's single sign-on settings, if it has any.
pub async fn sso_show(
    db: &Db,
    org_uid: &str,
) -> Result<Option<headwater_store::repo::sso::SsoConfig>, AdminError> {
    let mut c = db.reader().await?;
    Ok(headwater_store::repo::sso::config(&mut c, org_uid).await?)
}

/// Sets an organization's single sign-on settings as its owner would through the API: the
/// issuer's discovery document is fetched first (through the same outbound rules as the
/// server, `allow` being its `--sso-allow-cidr` ranges), the client secret is sealed with
/// `key`.
pub async fn sso_set(
    db: &Db,
    key: &SealKey,
    allow: &[headwater_core::cidr::Cidr],
    org_uid: &str,
    input: crate::sso::ConfigInput,
) -> Result<headwater_store::repo::sso::SsoConfig, AdminError> {
    {
        let mut c = db.reader().await?;
        if orgs::by_uid(&mut c, org_uid).await?.is_none() {
            return Err(AdminError::Invalid(format!(
                "no organization with uid {org_uid}"
            )));
        }
    }
    let oidc = crate::sso::Oidc::new(allow, std::time::Duration::from_secs(30));
    crate::sso::save_config(
        db,
        &oidc,
        key,
        org_uid,
        input,
        &headwater_store::repo::Actor::System,
    )
    .await
    .map_err(|e| match e {
        crate::sso::ConfigError::Invalid(field, m) => AdminError::Invalid(format!("{field}: {m}")),
        crate::sso::ConfigError::Store(e) => AdminError::Store(e),
    })
}

/// Turns an organization's single sign-on off (the settings are kept). False when it had none.
pub async fn sso_disable(db: &Db, org_uid: &str) -> Result<bool, AdminError> {
    Ok(
        crate::sso::remove_config(db, org_uid, false, &headwater_store::repo::Actor::System)
            .await?,
    )
}
