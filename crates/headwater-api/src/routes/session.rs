//! Login, logout and the current user (`/v3/user-session`, `/v3/user`).

use crate::auth::{Caller, Principal};
use crate::body::{Fields, JsonBody, Query};
use crate::error::{code, ApiError, ApiResult};
use crate::hashing::{self, HashError};
use crate::lookup::orgs::org_json;
use crate::routes::notice;
use crate::state::AppState;
use crate::state::LoginConfig;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Extension;
use axum::Json;
use headwater_core::policy::{Action, Module, Op, OrgRole};
use headwater_core::secret::{self, SecretKind};
use headwater_core::throttle::{self, Throttle};
use headwater_core::totp;
use headwater_store::repo::orgs::{self, Org};
use headwater_store::repo::users::{self, User};
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

fn bad_login() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code::BAD_LOGIN,
        "Looks like your email or password is invalid. Please try again or reset your password.",
    )
}

pub(crate) fn user_json(user: &User, orgs: &[(Org, OrgRole)], authtoken: Option<&str>) -> Value {
    let mut v = json!({
        "uid": user.uid,
        "email": user.email,
        "username": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "active": user.active,
        "tfa_status": if user.tfa_secret.is_some() { "verified" } else { "not_verified" },
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "org_uid": orgs.iter().filter(|(_, r)| *r == OrgRole::Owner).map(|(o, _)| o.uid.clone()).collect::<Vec<_>>(),
        "shared_org_uid": orgs.iter().filter(|(_, r)| *r != OrgRole::Owner).map(|(o, _)| o.uid.clone()).collect::<Vec<_>>(),
        "organizations": orgs.iter().map(|(o, r)| org_json(o, *r)).collect::<Vec<_>>(),
    });
    if let Some(t) = authtoken {
        v["authtoken"] = json!(t);
    }
    v
}

/// The failed-login counters of this process (SEC-3): per email as typed (normalized), so an
/// unknown email is throttled exactly like a known one; per client address; and per user for
/// wrong two-factor codes. Each is bounded in memory ([`throttle::MAX_KEYS`] keys).
pub struct Throttles {
    account: Throttle,
    address: Throttle,
    tfa: Throttle,
}

impl Throttles {
    pub fn new(config: &LoginConfig) -> Throttles {
        Throttles {
            account: Throttle::new(config.account, throttle::MAX_KEYS),
            address: Throttle::new(config.address, throttle::MAX_KEYS),
            tfa: Throttle::new(config.tfa, throttle::MAX_KEYS),
        }
    }
}

/// The address a login comes from: the socket's peer, IPv6 addresses by their /64 (one
/// machine usually holds a whole /64). `unknown` when the server gives no peer address.
fn address_key(peer: Option<&ConnectInfo<SocketAddr>>) -> String {
    match peer.map(|c| c.0.ip()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".to_string(),
    }
}

fn throttled(wait: Duration) -> ApiError {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        code::LOGIN_THROTTLED,
        format!("Too many failed login attempts. Please try again in {secs} second(s)."),
    )
    .header("retry-after", secs.to_string())
}

pub(crate) fn hashing_error(e: HashError) -> ApiError {
    match e {
        HashError::Busy => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code::UNAVAILABLE,
            "The server is busy checking other logins. Please retry shortly.",
        )
        .header("retry-after", "1"),
        HashError::Failed => ApiError::internal(),
    }
}

/// One login attempt as the throttles count it: counted when it starts, given back when it
/// was not a wrong password (right password, or the server could not decide).
struct Attempt<'a> {
    throttles: &'a Throttles,
    account: String,
    address: String,
}

impl<'a> Attempt<'a> {
    fn start(throttles: &'a Throttles, email: &str, address: String) -> ApiResult<Attempt<'a>> {
        let account = users::normalize_email(email);
        let now = Instant::now();
        throttles
            .address
            .attempt(&address, now)
            .map_err(throttled)?;
        if let Err(wait) = throttles.account.attempt(&account, now) {
            throttles.address.refund(&address);
            return Err(throttled(wait));
        }
        Ok(Attempt {
            throttles,
            account,
            address,
        })
    }

    /// The attempt was not a wrong password.
    fn refund(&self) {
        self.throttles.account.refund(&self.account);
        self.throttles.address.refund(&self.address);
    }

    /// A successful login: the email starts afresh; the address gets its attempt back.
    fn succeeded(&self) {
        self.throttles.account.reset(&self.account);
        self.throttles.address.refund(&self.address);
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn tfa_invalid() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code::TFA_INVALID,
        "Invalid verification code",
    )
}

/// `POST /v3/user-session`.
pub async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let u = Fields::new(body.wrapped("user")?, "user");
    let email = u.req_str("email")?.to_string();
    let pass = u.req_str("password")?.to_string();
    let tfa_token = u.opt_str("tfa_token")?.map(str::to_string);

    // Throttled before any password work: a locked email or address costs no hashing, and
    // the answer is the same whether the email exists or not.
    let throttles = &state.0.login_throttles;
    let attempt = Attempt::start(throttles, &email, address_key(peer.as_ref().map(|e| &e.0)))?;
    let wait = state.config().login.hash_wait;

    let found = async {
        let mut c = state.db().reader().await?;
        Ok::<_, ApiError>(users::by_email(&mut c, &email).await?)
    }
    .await;
    let user = match found {
        Ok(u) => u,
        Err(e) => {
            attempt.refund();
            return Err(e);
        }
    };
    let Some(user) = user else {
        // Same work and same answer as a wrong password: emails cannot be enumerated.
        if let Err(e) = hashing::verify_dummy(pass, wait).await {
            attempt.refund();
            return Err(hashing_error(e));
        }
        return Err(bad_login());
    };
    // A person provisioned by single sign-on has no password: the same work as for a wrong
    // one, and never a match.
    let no_password = user.password_hash.is_empty();
    let stored = if no_password {
        headwater_core::password::dummy_hash().to_string()
    } else {
        user.password_hash.clone()
    };
    let ok = match hashing::verify(pass, stored, wait).await {
        Ok(ok) => ok,
        Err(e) => {
            attempt.refund();
            return Err(hashing_error(e));
        }
    };
    if !ok || no_password || !user.active {
        return Err(bad_login());
    }
    // The password was right: whatever follows, this was not a guess that failed.
    attempt.refund();

    let mut c = state.db().reader().await?;
    if orgs::strict_sso_member(&mut c, &user.uid).await? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            code::SSO_REQUIRED,
            "Your organization enforces single sign-on (SSO strict mode), so password login is disabled. Sign in through your identity provider; for scripts and integrations, use a management token (rule MT-13).",
        ));
    }
    let mut tfa_step = None;
    if let Some(stored) = &user.tfa_secret {
        let Some(code_given) = tfa_token.as_deref() else {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code::TFA_REQUIRED,
                "Please login using the Two-Factor verification Token",
            )
            .with("tfa_type", json!("totp_authenticator")));
        };
        // A few codes per user, then a growing lockout: six digits cannot be walked.
        throttles
            .tfa
            .attempt(&user.uid, Instant::now())
            .map_err(throttled)?;
        // Sealed at rest (SEC-14): a secret that does not open with this server's key is a
        // configuration fault (another --secret-key-file), not a wrong code.
        let secret = state
            .config()
            .seal_key
            .open(stored, &user.uid)
            .map_err(|e| {
                tracing::error!(error = %e, user = %user.uid, "two-factor secret cannot be opened: is this the server's usual secret key?");
                ApiError::internal()
            })?;
        let step = totp::verify_step(&secret, code_given, unix_now())
            // Each code logs in once: a step at or before the last one used is refused.
            .filter(|s| user.tfa_last_step.is_none_or(|last| *s as i64 > last));
        match step {
            Some(s) => tfa_step = Some(s as i64),
            None => return Err(tfa_invalid()),
        }
    }
    let memberships = orgs::of_user(&mut c, &user.uid).await?;
    drop(c);

    let token = secret::generate(SecretKind::AuthToken);
    let mut tx = state.db().begin().await?;
    if let Some(step) = tfa_step {
        // The step is claimed in the same transaction as the session: of two logins racing
        // with one code, only one gets a session.
        if !users::use_tfa_step(&mut tx, &user.uid, step).await? {
            return Err(tfa_invalid());
        }
    }
    users::add_authtoken(&mut tx, &user.uid, &token.hash).await?;
    tx.commit().await?;
    attempt.succeeded();
    if tfa_step.is_some() {
        throttles.tfa.reset(&user.uid);
    }
    tracing::info!(user = %user.uid, "login");
    Ok(Json(json!({
        "notice": "Login Successful.",
        "user": user_json(&user, &memberships, Some(&token.plaintext)),
    })))
}

/// `DELETE /v3/user-session`: invalidates the authtoken sent, and only that one; with the
/// browser session cookie, ends that session and clears its cookies.
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    caller.user(&Action::new(Module::UserSession, Op::Delete))?;
    let Principal::User {
        authtoken_hash,
        browser_session,
        ..
    } = &caller.0
    else {
        return Err(ApiError::not_logged_in());
    };
    let mut tx = state.db().begin().await?;
    if let Some(session) = browser_session {
        headwater_store::repo::sso::delete_session(&mut tx, session).await?;
        tx.commit().await?;
        let mut resp = notice("You've logged out successfully!").into_response();
        for c in crate::routes::sso::cleared_cookies(&state) {
            if let Ok(v) = axum::http::HeaderValue::from_str(&c) {
                resp.headers_mut().append(axum::http::header::SET_COOKIE, v);
            }
        }
        return Ok(resp);
    }
    users::delete_authtoken(&mut tx, authtoken_hash).await?;
    tx.commit().await?;
    Ok(notice("You've logged out successfully!").into_response())
}

/// `GET /v3/user`.
pub async fn current_user(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    _q: Query,
) -> ApiResult<Json<Value>> {
    let user = caller.user(&Action::new(Module::UserSession, Op::Read))?;
    let mut c = state.db().reader().await?;
    let memberships = orgs::of_user(&mut c, &user.uid).await?;
    // The caller already holds this authtoken; the official JS client expects it back.
    let authtoken = crate::auth::header(&headers, "authtoken");
    Ok(Json(
        json!({ "user": user_json(user, &memberships, authtoken) }),
    ))
}
