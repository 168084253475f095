//! From request headers to a [`Principal`], and from a principal plus an action to a decision
//! by the one policy function.
//!
//! The `authenticate` middleware resolves credentials once per request (and applies management
//! token rate limits); the [`Caller`] and [`StackCtx`] extractors hand the result to handlers,
//! which name their [`Action`] and call `authorize`. No handler decides permissions itself.

use crate::client_addr::{self, ClientAddr};
use crate::error::{code, ApiError, ApiResult};
use crate::state::AppState;
use crate::usage::Outcome;
use axum::extract::ConnectInfo;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use headwater_core::clock;
use headwater_core::policy::{
    decide, decide_origin, Action, BuiltinRole, Module, Op, OrgRole, StackRole, Subject,
    TokenAccess, UserAccess,
};
use headwater_core::ratelimit::{RequestClass, Verdict};
use headwater_core::scope::TokenScope;
use headwater_core::secret::{self, SecretKind};
use headwater_store::repo::branches;
use headwater_store::repo::orgs::Org;
use headwater_store::repo::stacks::Stack;
use headwater_store::repo::tokens::ManagementToken;
use headwater_store::repo::users::User;
use headwater_store::repo::{orgs, stacks, tokens, users, Actor};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

/// Who is making the request, once their credential has been verified.
#[derive(Clone, Debug)]
pub enum Principal {
    /// A person, through an authtoken or a browser session (single sign-on cookie). Both are
    /// the same kind of principal: the one policy function decides for them alike.
    User {
        user: Arc<User>,
        /// The authtoken's hash; empty for a browser session.
        authtoken_hash: String,
        /// The browser session's hash, when the request came with the session cookie.
        browser_session: Option<String>,
    },
    /// A management token, with the stack it belongs to and that stack's organization.
    Token {
        token: Arc<ManagementToken>,
        scope: Arc<TokenScope>,
        stack: Arc<Stack>,
        org: Arc<Org>,
    },
}

impl Principal {
    pub fn actor(&self) -> Actor {
        match self {
            Principal::User { user, .. } => Actor::User(user.uid.clone()),
            Principal::Token { token, .. } => Actor::ManagementToken(token.uid.clone()),
        }
    }

    /// The policy subject for actions outside any stack (organization, session, stack create).
    pub fn subject_without_stack(&self, org: Option<OrgRole>) -> Subject {
        match self {
            Principal::User { .. } => Subject::User(UserAccess {
                org,
                stack: None,
                teams: Vec::new(),
            }),
            Principal::Token { scope, .. } => Subject::ManagementToken(token_access(scope, "main")),
        }
    }
}

fn token_access(scope: &Arc<TokenScope>, branch: &str) -> TokenAccess {
    TokenAccess {
        scope: Arc::clone(scope),
        branch: branch.to_string(),
        via_alias: None,
        alias_targets: Vec::new(),
    }
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn class_of(method: &Method) -> RequestClass {
    if method == Method::GET || method == Method::HEAD {
        RequestClass::Read
    } else {
        RequestClass::Write
    }
}

/// Resolves the request's credential, if it carries one. `authorization` (a management
/// token) wins over `authtoken` when both are sent, as the official JS client does.
async fn resolve(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
    client: Option<IpAddr>,
) -> ApiResult<Option<(Principal, Option<Verdict>)>> {
    if let Some(raw) = header(headers, "authorization") {
        return resolve_token(state, headers, method, raw, client)
            .await
            .map(Some);
    }
    if let Some(raw) = header(headers, "authtoken") {
        if !secret::well_formed(SecretKind::AuthToken, raw) {
            return Err(ApiError::not_logged_in());
        }
        let hash = secret::hash(raw);
        // Read before the cache: a change committed meanwhile makes what is read stale.
        let generation = state.generation().current();
        let now = Instant::now();
        let session = match state.standings().session(&hash, now, generation) {
            Some(s) => s,
            None => {
                let mut c = state.db().reader().await?;
                let session = users::by_authtoken(&mut c, &hash)
                    .await?
                    .filter(|s| s.user.active)
                    .ok_or_else(ApiError::not_logged_in)?;
                drop(c);
                let session = Arc::new(session);
                state
                    .standings()
                    .put_session(&hash, Arc::clone(&session), now, generation);
                session
            }
        };
        check_session(state, &hash, &session)?;
        return Ok(Some((
            Principal::User {
                user: Arc::new(session.user.clone()),
                authtoken_hash: hash,
                browser_session: None,
            },
            None,
        )));
    }
    if let Some(raw) = cookie(headers, SESSION_COOKIE) {
        return resolve_browser(state, headers, method, raw).await;
    }
    Ok(None)
}

/// The browser session cookie (HttpOnly) and the CSRF cookie the app's script reads.
pub const SESSION_COOKIE: &str = "hw_session";
pub const CSRF_COOKIE: &str = "hw_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name`, from any `cookie` header of the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// Marks a request whose session cookie was valid but whose unsafe method lacked the right
/// CSRF header: the [`Caller`] extractor refuses it (403), routes open to anyone ignore it.
#[derive(Clone, Copy, Debug)]
pub struct CsrfRefused;

fn csrf_refused() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        code::NOT_LOGGED_IN,
        "CSRF check failed: a request that changes something with the browser session cookie needs the x-csrf-token header carrying the hw_csrf cookie's value.",
    )
    .field(CSRF_HEADER, "is missing or does not match the session.")
}

/// A request with the browser session cookie and no other credential. An unknown, expired or
/// ended session is no credential at all (the request is anonymous: routes that need a user
/// answer 401, the sign-in routes still work). Unsafe methods need the session's CSRF token
/// in `x-csrf-token` (double submit, checked against the session's stored hash).
async fn resolve_browser(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
    raw: &str,
) -> ApiResult<Option<(Principal, Option<Verdict>)>> {
    if !secret::well_formed(SecretKind::BrowserSession, raw) {
        return Ok(None);
    }
    let hash = secret::hash(raw);
    let mut c = state.db().reader().await?;
    let Some(session) = headwater_store::repo::sso::session(&mut c, &hash).await? else {
        return Ok(None);
    };
    let Some(user) = users::by_uid(&mut c, &session.user_uid)
        .await?
        .filter(|u| u.active)
    else {
        return Ok(None);
    };
    drop(c);
    if !browser_session_live(state, &hash, &session) {
        return Ok(None);
    }
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let sent = header(headers, CSRF_HEADER)
            .filter(|t| secret::well_formed(SecretKind::BrowserSession, t))
            .map(secret::hash);
        if !sent.is_some_and(|h| secret::hashes_equal(&h, &session.csrf_hash)) {
            return Err(csrf_refused());
        }
    }
    Ok(Some((
        Principal::User {
            user: Arc::new(user),
            authtoken_hash: String::new(),
            browser_session: Some(hash),
        },
        None,
    )))
}

/// A browser session's idle timeout and absolute lifetime; records a use now and then.
fn browser_session_live(
    state: &AppState,
    hash: &str,
    session: &headwater_store::repo::sso::BrowserSession,
) -> bool {
    let login = &state.config().login;
    let now = time::OffsetDateTime::now_utc();
    let before = |d: std::time::Duration| {
        time::Duration::try_from(d)
            .ok()
            .and_then(|d| now.checked_sub(d))
            .map(clock::format)
            .unwrap_or_default()
    };
    if session.created_at < before(login.browser_session_max_age)
        || session.last_used_at < before(login.browser_session_idle)
    {
        return false;
    }
    let touch_every = (login.browser_session_idle / 4).min(std::time::Duration::from_secs(60));
    let unless_after = before(touch_every);
    if session.last_used_at < unless_after {
        let db = state.db().clone();
        let hash = hash.to_string();
        tokio::spawn(async move {
            if let Ok(mut tx) = db.begin().await {
                let ok = headwater_store::repo::sso::touch_session(
                    &mut tx,
                    &hash,
                    &clock::now(),
                    &unless_after,
                )
                .await
                .is_ok();
                if ok {
                    let _ = tx.commit().await;
                }
            }
        });
    }
    true
}

async fn resolve_token(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
    raw: &str,
    client: Option<IpAddr>,
) -> ApiResult<(Principal, Option<Verdict>)> {
    let v = verify_management_token(state, raw, header(headers, "api_key")).await?;
    // MT-16: a token bound to address ranges works only from them.
    if let Err(d) = decide_origin(v.allowed_cidrs.as_deref(), client) {
        state.usage().record(&v.token.uid, Outcome::Refused, client);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::NOT_LOGGED_IN,
            format!("{} (rule {})", d.message, d.rule),
        )
        .field("authorization", format!("refused by rule {}", d.rule)));
    }
    let verdict = match rate_limit(state, &v.token, &v.org, class_of(method)).await {
        Ok(verdict) => verdict,
        Err(e) => {
            state
                .usage()
                .record(&v.token.uid, Outcome::RateLimited, client);
            return Err(e);
        }
    };
    if state
        .token_cache()
        .should_touch(&v.token.uid, Instant::now())
    {
        let db = state.db().clone();
        let uid = v.token.uid.clone();
        tokio::spawn(async move {
            if let Ok(mut tx) = db.begin().await {
                let ok = tokens::touch_last_used(&mut tx, &uid, &clock::now(), &minute_ago())
                    .await
                    .is_ok();
                if ok {
                    let _ = tx.commit().await;
                }
            }
        });
    }
    Ok((
        Principal::Token {
            token: v.token,
            scope: v.scope,
            stack: v.stack,
            org: v.org,
        },
        Some(verdict),
    ))
}

/// The credential check of a management token: checksum, lookup by hash (cached for at most
/// one second), expiry, and the stack's API key (MT-1). Every failure is the same 401.
pub async fn verify_management_token(
    state: &AppState,
    raw: &str,
    api_key: Option<&str>,
) -> ApiResult<crate::cache::Verified> {
    let v = verify_uncounted(state, raw, api_key).await;
    let result = if v.is_ok() { "ok" } else { "refused" };
    metrics::counter!("headwater_token_verifications_total", "result" => result).increment(1);
    v
}

async fn verify_uncounted(
    state: &AppState,
    raw: &str,
    api_key: Option<&str>,
) -> ApiResult<crate::cache::Verified> {
    // The checksum gate: junk, typos and other kinds of secret never reach the database.
    if !secret::well_formed(SecretKind::ManagementToken, raw) {
        return Err(ApiError::not_logged_in());
    }
    let hash = secret::hash(raw);
    let now = Instant::now();
    let cached = state
        .token_cache()
        .get(&hash, now)
        // A rotated-out secret's grace period is checked on every request.
        .filter(|v| v.grace_until.as_ref().is_none_or(|g| *g > clock::now()));
    let lookup = if cached.is_some() { "hit" } else { "miss" };
    metrics::counter!("headwater_token_cache_lookups_total", "result" => lookup).increment(1);
    let v = match cached {
        Some(v) => v,
        None => {
            let v = load_verified(state, &hash).await?;
            state.token_cache().put(hash, v.clone(), now);
            v
        }
    };
    if v.token.revoked_at.is_some() {
        return Err(ApiError::not_logged_in());
    }
    // Only a token that can expire pays for reading the clock.
    if v.token.expires_at.is_some() && v.token.expired_at(&clock::now()) {
        return Err(ApiError::not_logged_in());
    }
    // MT-1: a token works only with its own stack's API key.
    if api_key.is_some_and(|k| k != v.stack.api_key) {
        return Err(ApiError::not_logged_in());
    }
    Ok(v)
}

/// Loads the token a secret's hash names: its current secret, or one a rotation replaced that
/// is still in its grace period. A rotated-out secret used after its grace period is reuse
/// (MT-15): recorded in the audit log and, when the token asks for it, the token is revoked.
async fn load_verified(state: &AppState, hash: &str) -> ApiResult<crate::cache::Verified> {
    let mut c = state.db().reader().await?;
    let (token, grace_until) = match tokens::by_hash(&mut c, hash).await? {
        Some(t) => (t, None),
        None => {
            let old = tokens::by_old_hash(&mut c, hash)
                .await?
                .ok_or_else(ApiError::not_logged_in)?;
            if old.valid_until <= clock::now() {
                drop(c);
                if old.token.revoked_at.is_none()
                    && state
                        .token_cache()
                        .should_report_reuse(hash, Instant::now())
                {
                    reuse_detected(state, &old.token).await?;
                }
                return Err(ApiError::not_logged_in());
            }
            (old.token, Some(old.valid_until))
        }
    };
    let stack = stacks::by_uid(&mut c, &token.stack_uid)
        .await?
        .ok_or_else(ApiError::not_logged_in)?;
    let org = orgs::by_uid(&mut c, &stack.org_uid)
        .await?
        .ok_or_else(ApiError::not_logged_in)?;
    Ok(crate::cache::Verified {
        // Stored scopes were validated on write; an unreadable one grants nothing.
        scope: Arc::new(TokenScope::parse(&token.scope).unwrap_or_default()),
        // Stored ranges were validated on write; an unreadable one admits nobody.
        allowed_cidrs: token.allowed_cidrs.as_ref().map(|list| {
            list.iter()
                .filter_map(|c| c.parse().ok())
                .collect::<Vec<_>>()
                .into()
        }),
        token: Arc::new(token),
        stack: Arc::new(stack),
        org: Arc::new(org),
        grace_until,
    })
}

/// MT-15: a secret replaced by a rotation was used after its grace period.
async fn reuse_detected(state: &AppState, token: &ManagementToken) -> ApiResult<()> {
    let stack = {
        let mut c = state.db().reader().await?;
        stacks::by_uid(&mut c, &token.stack_uid).await?
    };
    let Some(stack) = stack else { return Ok(()) };
    let actor = headwater_store::repo::Actor::ManagementToken(token.uid.clone());
    let event = |action| headwater_store::repo::audit::Event {
        org_uid: Some(&stack.org_uid),
        stack_uid: Some(&stack.uid),
        action,
        module: "management_token",
        target_uid: Some(&token.uid),
        target_title: Some(&token.name),
    };
    let mut tx = state.db().begin().await?;
    headwater_store::repo::audit::record(&mut tx, &actor, event("reuse_detected")).await?;
    let revoked = token.revoke_on_reuse
        && tokens::revoke(&mut tx, &token.uid, "reuse of a rotated-out secret").await?;
    if revoked {
        headwater_store::repo::audit::record(&mut tx, &actor, event("revoke")).await?;
    }
    tx.commit().await?;
    tracing::warn!(token = %token.uid, revoked, "a rotated-out management token secret was reused after its grace period");
    if revoked {
        crate::revocation::announce(state).await;
    }
    Ok(())
}

/// SEC-17: an authtoken unused for the idle timeout, or older than the maximum age, is
/// refused like an unknown one. A use is recorded at most once per minute (more often only
/// when the idle timeout is shorter than four minutes), in the background.
fn check_session(state: &AppState, hash: &str, session: &users::Session) -> ApiResult<()> {
    let login = &state.config().login;
    let now = time::OffsetDateTime::now_utc();
    // The instant `d` ago, formatted as stored; "" (before every timestamp) when out of range.
    let before = |d: std::time::Duration| {
        time::Duration::try_from(d)
            .ok()
            .and_then(|d| now.checked_sub(d))
            .map(clock::format)
            .unwrap_or_default()
    };
    if session.created_at < before(login.session_max_age)
        || session.last_used_at < before(login.session_idle)
    {
        return Err(ApiError::not_logged_in());
    }
    let touch_every = (login.session_idle / 4).min(std::time::Duration::from_secs(60));
    let unless_after = before(touch_every);
    // The session may come from the standing cache, whose `last_used_at` does not move: one
    // touch per `touch_every` and instance is enough.
    if session.last_used_at < unless_after
        && state
            .standings()
            .should_touch(hash, Instant::now(), touch_every)
    {
        let db = state.db().clone();
        let hash = hash.to_string();
        tokio::spawn(async move {
            if let Ok(mut tx) = db.begin().await {
                let ok = users::touch_authtoken(&mut tx, &hash, &clock::now(), &unless_after)
                    .await
                    .is_ok();
                if ok {
                    let _ = tx.commit().await;
                }
            }
        });
    }
    Ok(())
}

fn minute_ago() -> String {
    clock::format(time::OffsetDateTime::now_utc() - time::Duration::minutes(1))
}

/// The organization's limit for a request class, falling back to the server's default.
pub fn org_limit(state: &AppState, org: &Org, class: RequestClass) -> u32 {
    let (own, default) = match class {
        RequestClass::Read => (org.read_rps, state.config().default_org_read_rps),
        RequestClass::Write => (org.write_rps, state.config().default_org_write_rps),
    };
    own.and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

/// MT-12: every token request counts against the token's own limit (when it has one) and its
/// organization's (in Redis when configured, so across instances). Over either: 429 with the
/// rate-limit headers.
async fn rate_limit(
    state: &AppState,
    token: &ManagementToken,
    org: &Org,
    class: RequestClass,
) -> ApiResult<Verdict> {
    let org_rps = org_limit(state, org, class);
    let token_rps = if token.rate_limit_enabled {
        match class {
            RequestClass::Read => token.read_rps,
            RequestClass::Write => token.write_rps,
        }
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v > 0)
        .map(|v| v.min(org_rps))
    } else {
        None
    };
    let token_key = format!("mt:{}", token.uid);
    let org_key = format!("org:{}", org.uid);
    let mut limits = vec![(org_key.as_str(), org_rps)];
    if let Some(t) = token_rps {
        limits.insert(0, (token_key.as_str(), t));
    }
    let verdict = state.limiter().check_all(&limits, class).await;
    if verdict.allowed {
        return Ok(verdict);
    }
    let retry = verdict.retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let which = match class {
        RequestClass::Read => "read",
        RequestClass::Write => "write",
    };
    metrics::counter!("headwater_rate_limited_total", "class" => which).increment(1);
    Err(ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        code::RATE_LIMITED,
        format!(
            "Too many {which} requests: the limit is {} per second for this management token. Retry after {retry} second(s).",
            verdict.limit
        ),
    )
    .header("x-ratelimit-limit", verdict.limit.to_string())
    .header("x-ratelimit-remaining", "0")
    .header("retry-after", retry.to_string()))
}

/// Middleware: resolve credentials once, make the principal available to extractors, and add
/// the rate-limit headers to responses of token requests.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let client = client_addr::resolve(peer, req.headers(), &state.config().trusted_proxies);
    req.extensions_mut().insert(ClientAddr(client));
    match resolve(&state, req.headers(), &method, client).await {
        Ok(Some((principal, verdict))) => {
            let token_uid = match &principal {
                Principal::Token { token, .. } => Some(token.uid.clone()),
                Principal::User { .. } => None,
            };
            req.extensions_mut().insert(principal);
            let mut resp = next.run(req).await;
            if let Some(uid) = token_uid {
                // MT-19: an in-memory tally; written to the database by the usage flusher.
                let outcome = match resp.status() {
                    StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => Outcome::Refused,
                    StatusCode::TOO_MANY_REQUESTS => Outcome::RateLimited,
                    _ if class_of(&method) == RequestClass::Read => Outcome::Read,
                    _ => Outcome::Write,
                };
                state.usage().record(&uid, outcome, client);
            }
            if let Some(v) = verdict {
                let h = resp.headers_mut();
                h.insert("x-ratelimit-limit", HeaderValue::from(v.limit));
                h.insert("x-ratelimit-remaining", HeaderValue::from(v.remaining));
            }
            resp
        }
        Ok(None) => next.run(req).await,
        Err(e) if e.status == StatusCode::FORBIDDEN && e.code == code::NOT_LOGGED_IN => {
            // The CSRF check: routes that need a caller refuse; open ones go on.
            req.extensions_mut().insert(CsrfRefused);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

/// Any authenticated caller.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if parts.extensions.get::<CsrfRefused>().is_some() {
            return Err(csrf_refused());
        }
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(ApiError::not_logged_in)
    }
}

impl Caller {
    /// Decides an action that concerns no stack, for a caller whose role in the organization
    /// concerned is `org`.
    pub fn authorize(&self, org: Option<OrgRole>, action: &Action) -> ApiResult<()> {
        decide(&self.0.subject_without_stack(org), action).map_err(ApiError::forbidden)
    }

    /// The user behind an authtoken, after the policy has allowed the action (tokens get the
    /// policy's refusal).
    pub fn user(&self, action: &Action) -> ApiResult<&Arc<User>> {
        match &self.0 {
            Principal::User { user, .. } => Ok(user),
            Principal::Token { .. } => {
                self.authorize(None, action)?;
                Err(ApiError::not_logged_in())
            }
        }
    }
}

/// A request on one stack (named by the `api_key` header), with the caller's standing in it.
pub struct StackCtx {
    pub principal: Principal,
    pub stack: Arc<Stack>,
    pub subject: Subject,
    /// The branch the request targets (the `branch` header resolved to a branch uid; `main`
    /// by default).
    pub branch: String,
    /// The branch's content space: the key of the stack's content rows on that branch.
    pub space: String,
}

/// A user's standing in the stack named by `api_key` (organization role, stack role, team
/// roles), refused like an unknown key when the policy does not let them read the stack.
async fn user_standing(
    state: &AppState,
    user: &User,
    api_key: &str,
) -> ApiResult<crate::cache::CachedStanding> {
    let mut c = state.db().reader().await?;
    let stack = stacks::by_api_key(&mut c, api_key)
        .await?
        .ok_or_else(invalid_api_key)?;
    let org = orgs::member_role(&mut c, &stack.org_uid, &user.uid).await?;
    let as_role = |m: stacks::Membership| match m.builtin.as_deref().and_then(BuiltinRole::from_key)
    {
        Some(b) => StackRole::Builtin(b),
        None => StackRole::Custom(m.rules.as_array().cloned().unwrap_or_default()),
    };
    let role = if stack.owner_uid == user.uid {
        Some(StackRole::Owner)
    } else {
        stacks::membership(&mut c, &stack.uid, &user.uid)
            .await?
            .map(as_role)
    };
    // The roles the user's teams are mapped to in this stack (members of the
    // stack's organization only: leaving it ends them).
    let teams = if org.is_some() && role != Some(StackRole::Owner) {
        headwater_store::repo::teams::stack_roles_of_user(&mut c, &stack.uid, &user.uid)
            .await?
            .into_iter()
            .map(as_role)
            .collect()
    } else {
        Vec::new()
    };
    let subject = Subject::User(UserAccess {
        org,
        stack: role,
        teams,
    });
    // Someone the policy does not let read the stack learns nothing about it, not
    // even that it exists: the same answer as an unknown api_key.
    if decide(&subject, &Action::new(Module::Stack, Op::Read)).is_err() {
        return Err(invalid_api_key());
    }
    Ok(crate::cache::CachedStanding {
        stack: Arc::new(stack),
        subject,
    })
}

/// Where a request's `branch` header (a branch uid or an alias; `main` when absent) leads.
pub struct Target {
    pub branch: String,
    pub via_alias: Option<String>,
    pub space: String,
}

impl Target {
    pub async fn resolve(
        state: &AppState,
        stack_uid: &str,
        named: Option<&str>,
    ) -> ApiResult<Target> {
        let name = named.unwrap_or(branches::MAIN);
        if name == branches::MAIN {
            // Every stack has `main`, and an alias cannot be called `main`: no lookup.
            return Ok(Target {
                branch: branches::MAIN.to_string(),
                via_alias: None,
                space: stack_uid.to_string(),
            });
        }
        let mut c = state.db().reader().await?;
        let found = branches::resolve(&mut c, stack_uid, name).await?;
        let found = found.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code::BRANCH_NOT_FOUND,
                format!("The branch '{name}' doesn't exist in this stack."),
            )
            .field("branch", "is not valid.")
        })?;
        Ok(Target {
            branch: found.branch.uid,
            via_alias: found.via_alias,
            space: found.branch.space_uid,
        })
    }
}

fn missing_api_key() -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        code::INVALID_API_KEY,
        "The api_key header is required for this request.",
    )
    .field("api_key", "is required.")
}

fn invalid_api_key() -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        code::INVALID_API_KEY,
        "The api_key header does not name a stack you can access.",
    )
    .field("api_key", "is not valid.")
}

impl FromRequestParts<AppState> for StackCtx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        StackCtx::resolve(state, principal, &parts.headers).await
    }
}

impl StackCtx {
    /// Loads the stack named by `api_key` and the caller's standing in it.
    pub async fn resolve(
        state: &AppState,
        principal: Principal,
        headers: &HeaderMap,
    ) -> ApiResult<StackCtx> {
        let api_key = header(headers, "api_key").ok_or_else(missing_api_key)?;
        let named = header(headers, "branch");
        match &principal {
            Principal::Token { scope, stack, .. } => {
                // resolve_token already refused a key of another stack.
                let target = Target::resolve(state, &stack.uid, named).await?;
                let mut access = token_access(scope, &target.branch);
                access.via_alias = target.via_alias;
                if scope.branch_aliases().next().is_some() {
                    // The policy checks the request's branch against where the scope's aliases
                    // point now, so re-pointing an alias moves the token's reach with it.
                    let mut c = state.db().reader().await?;
                    access.alias_targets = branches::aliases(&mut c, &stack.uid)
                        .await?
                        .into_iter()
                        .map(|a| (a.uid, a.target_branch))
                        .collect();
                }
                Ok(StackCtx {
                    stack: stack.clone(),
                    principal: principal.clone(),
                    subject: Subject::ManagementToken(access),
                    branch: target.branch,
                    space: target.space,
                })
            }
            Principal::User {
                user,
                authtoken_hash,
                browser_session,
            } => {
                let generation = state.generation().current();
                let now = Instant::now();
                // A standing is keyed by the credential's hash (the authtoken's, or the browser
                // session's); jobs act as a user without either: nothing to key it by.
                let authtoken_hash = if authtoken_hash.is_empty() {
                    browser_session.as_ref().unwrap_or(authtoken_hash)
                } else {
                    authtoken_hash
                };
                let cacheable = !authtoken_hash.is_empty();
                let cached = if cacheable {
                    state
                        .standings()
                        .standing(authtoken_hash, api_key, now, generation)
                } else {
                    None
                };
                let standing = match cached {
                    Some(s) => s,
                    None => {
                        let s = user_standing(state, user, api_key).await?;
                        if cacheable {
                            state.standings().put_standing(
                                authtoken_hash,
                                api_key,
                                s.clone(),
                                now,
                                generation,
                            );
                        }
                        s
                    }
                };
                let target = Target::resolve(state, &standing.stack.uid, named).await?;
                Ok(StackCtx {
                    stack: standing.stack,
                    subject: standing.subject,
                    principal: principal.clone(),
                    branch: target.branch,
                    space: target.space,
                })
            }
        }
    }

    /// The standing, now, of whoever asked for a job (`actor_kind`, `actor_uid` as
    /// [`Actor`] stores them) in a stack and branch: the request context a publishing job
    /// acts in. A token that is gone, revoked or expired, or a user who can no longer read the
    /// stack, is refused as their request would be.
    pub async fn acting_as(
        state: &AppState,
        stack_uid: &str,
        branch: &str,
        actor_kind: &str,
        actor_uid: &str,
    ) -> ApiResult<StackCtx> {
        let mut c = state.db().reader().await?;
        let stack = stacks::by_uid(&mut c, stack_uid)
            .await?
            .ok_or_else(invalid_api_key)?;
        let principal = match actor_kind {
            "management_token" => {
                let token = tokens::get(&mut c, stack_uid, actor_uid)
                    .await?
                    .filter(|t| t.revoked_at.is_none())
                    .filter(|t| t.expires_at.is_none() || !t.expired_at(&clock::now()))
                    .ok_or_else(ApiError::not_logged_in)?;
                let org = orgs::by_uid(&mut c, &stack.org_uid)
                    .await?
                    .ok_or_else(ApiError::not_logged_in)?;
                Principal::Token {
                    scope: Arc::new(TokenScope::parse(&token.scope).unwrap_or_default()),
                    token: Arc::new(token),
                    stack: Arc::new(stack.clone()),
                    org: Arc::new(org),
                }
            }
            _ => {
                let user = users::by_uid(&mut c, actor_uid)
                    .await?
                    .filter(|u| u.active)
                    .ok_or_else(ApiError::not_logged_in)?;
                Principal::User {
                    user: Arc::new(user),
                    authtoken_hash: String::new(),
                    browser_session: None,
                }
            }
        };
        drop(c);
        let mut headers = HeaderMap::new();
        let value = |v: &str| HeaderValue::from_str(v).map_err(|_| ApiError::not_logged_in());
        headers.insert("api_key", value(&stack.api_key)?);
        headers.insert("branch", value(branch)?);
        StackCtx::resolve(state, principal, &headers).await
    }

    pub fn authorize(&self, action: &Action) -> ApiResult<()> {
        decide(&self.subject, action).map_err(ApiError::forbidden)
    }

    /// The first decision of a publish or unpublish whose environments the body names: the
    /// handler must decide again with them ([`Action::to_environments`]) before publishing.
    pub fn authorize_publish_somewhere(&self, action: Action) -> ApiResult<()> {
        self.authorize(&action.environments_later())
    }

    pub fn actor(&self) -> Actor {
        self.principal.actor()
    }

    /// The audit record of a change to something of this stack.
    pub fn audit<'a>(
        &'a self,
        action: &'a str,
        module: &'a str,
        target_uid: &'a str,
        target_title: &'a str,
    ) -> headwater_store::repo::audit::Event<'a> {
        headwater_store::repo::audit::Event {
            org_uid: Some(&self.stack.org_uid),
            stack_uid: Some(&self.stack.uid),
            action,
            module,
            target_uid: Some(target_uid),
            target_title: Some(target_title),
        }
    }
}

/// A Content Delivery API request: a delivery token (`access_token`) for the stack named by
/// `api_key`, reading one environment (`environment`, query parameter or header).
pub struct DeliveryCtx {
    pub stack: Arc<Stack>,
    pub environment_uid: String,
    pub environment_name: String,
    pub subject: Subject,
    /// The branch read (the `branch` header; `main` by default) and its content space.
    pub branch: String,
    pub space: String,
}

impl FromRequestParts<AppState> for DeliveryCtx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use headwater_store::repo::{delivery_tokens, environments};
        let query = crate::body::Query::from_request_parts(parts, state).await?;
        let raw = header(&parts.headers, "access_token")
            .or_else(|| query.get("access_token"))
            .ok_or_else(ApiError::not_logged_in)?;
        if !secret::well_formed(SecretKind::DeliveryToken, raw) {
            return Err(ApiError::not_logged_in());
        }
        let api_key = header(&parts.headers, "api_key")
            .or_else(|| query.get("api_key"))
            .ok_or_else(missing_api_key)?;
        let mut c = state.db().reader().await?;
        let token = delivery_tokens::by_hash(&mut c, &secret::hash(raw))
            .await?
            .ok_or_else(ApiError::not_logged_in)?;
        let stack = stacks::by_uid(&mut c, &token.stack_uid)
            .await?
            .filter(|s| s.api_key == api_key)
            .ok_or_else(ApiError::not_logged_in)?;
        let name = query
            .get("environment")
            .or_else(|| header(&parts.headers, "environment"))
            .filter(|e| !e.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    code::NOT_FOUND,
                    "Failed to fetch entries. Please try again with valid parameters.",
                )
                .field("environment", "is required.")
            })?
            .to_string();
        let env = environments::by_name(&mut c, &stack.uid, &name).await?;
        let no_env = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                code::ENVIRONMENT,
                "Environment doesn't exists or insufficient permission to access it.",
            )
            .field("environment", "is not valid.")
        };
        let env = env.ok_or_else(no_env)?;
        drop(c);
        let target = Target::resolve(state, &stack.uid, header(&parts.headers, "branch")).await?;
        let subject = Subject::DeliveryToken(headwater_core::policy::DeliveryAccess {
            environments: token.environments.clone(),
            environment: env.uid.clone(),
            branches: token.branches(),
            branch: target.branch.clone(),
        });
        Ok(DeliveryCtx {
            stack: Arc::new(stack),
            environment_uid: env.uid,
            environment_name: env.name,
            subject,
            branch: target.branch,
            space: target.space,
        })
    }
}

impl DeliveryCtx {
    /// Environment refusals answer 161 as Contentstack's delivery API does.
    pub fn authorize(&self, action: &Action) -> ApiResult<()> {
        decide(&self.subject, action).map_err(|d| {
            if d.message.contains("environment") {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    code::ENVIRONMENT,
                    "Environment doesn't exists or insufficient permission to access it.",
                )
                .field("environment", "is not valid.")
            } else {
                ApiError::forbidden(d)
            }
        })
    }
}
