//! Single sign-on (OpenID Connect): an organization's settings
//! (`/v3/organizations/{uid}/sso`, its owner only), finding the organization that signs an
//! address in (`/v3/sso/discover`), and the browser flow (`/sso/start`, `/sso/callback`) that
//! ends in a browser session cookie. See `crate::sso` for the provider side.

use crate::auth::{Caller, CSRF_COOKIE, SESSION_COOKIE};
use crate::body::{Fields, JsonBody, Query};
use crate::error::{code, ApiError, ApiResult};
use crate::lookup::orgs::in_org;
use crate::routes::notice;
use crate::sso::{self, ConfigError, ConfigInput, Failure};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use headwater_core::clock;
use headwater_core::policy::{Action, Module, Op, OrgRole};
use headwater_core::secret::{self, SecretKind};
use headwater_store::repo::sso::{SsoConfig, SsoState};
use headwater_store::repo::{audit, orgs, sso as rows, users, Actor};
use serde_json::{json, Value};

/// How long a sign-in may take between `/sso/start` and `/sso/callback`.
const STATE_TTL: time::Duration = time::Duration::minutes(10);

fn none_set() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        code::NOT_FOUND,
        "This organization has no single sign-on settings.",
    )
    .field("sso", "is not set.")
}

/// The callback address to register at the provider, when the server knows its public URL.
fn configured_redirect_uri(state: &AppState) -> Option<String> {
    state
        .config()
        .public_url
        .as_deref()
        .map(|u| format!("{}/sso/callback", u.trim_end_matches('/')))
}

/// `GET /v3/organizations/{uid}/sso` (the owner only).
pub async fn config_get(
    State(state): State<AppState>,
    caller: Caller,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    let (_, org, _) = in_org(&state, &caller, &uid, Action::new(Module::OrgSso, Op::Read)).await?;
    let mut c = state.db().reader().await?;
    let cfg = rows::config(&mut c, &org.uid).await?.ok_or_else(none_set)?;
    Ok(Json(
        json!({ "sso": sso::config_json(&cfg, configured_redirect_uri(&state).as_deref()) }),
    ))
}

fn string_list(map: &serde_json::Map<String, Value>, key: &str) -> ApiResult<Option<Vec<String>>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::invalid(key, "must be a list of strings."))
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(ApiError::invalid(key, "must be a list of strings.")),
    }
}

/// `PUT /v3/organizations/{uid}/sso` (the owner only): the issuer's discovery document is
/// fetched before anything is saved.
pub async fn config_put(
    State(state): State<AppState>,
    caller: Caller,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let (user, org, _) = in_org(
        &state,
        &caller,
        &uid,
        Action::new(Module::OrgSso, Op::Update),
    )
    .await?;
    let map = body.wrapped("sso")?;
    let f = Fields::new(map, "sso");
    let input = ConfigInput {
        issuer: f.req_str("issuer")?.to_string(),
        client_id: f.req_str("client_id")?.to_string(),
        client_secret: f.opt_str("client_secret")?.map(str::to_string),
        scopes: string_list(map, "scopes")?,
        email_claim: f.opt_str("email_claim")?.map(str::to_string),
        allowed_domains: string_list(map, "allowed_domains")?,
        default_role: f.opt_str("default_role")?.map(str::to_string),
        enabled: f.opt_bool("enabled")?,
    };
    let actor = Actor::User(user.uid.clone());
    let saved = sso::save_config(
        state.db(),
        state.oidc(),
        &state.config().seal_key,
        &org.uid,
        input,
        &actor,
    )
    .await
    .map_err(|e| match e {
        ConfigError::Invalid(field, m) => ApiError::invalid(field, m),
        ConfigError::Store(e) => e.into(),
    })?;
    Ok(Json(json!({
        "notice": "Single sign-on settings saved.",
        "sso": sso::config_json(&saved, configured_redirect_uri(&state).as_deref()),
    })))
}

/// `DELETE /v3/organizations/{uid}/sso` (the owner only). Browser sessions already made stay
/// until they expire or sign out; new sign-ins are refused.
pub async fn config_delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (user, org, _) = in_org(
        &state,
        &caller,
        &uid,
        Action::new(Module::OrgSso, Op::Delete),
    )
    .await?;
    let actor = Actor::User(user.uid.clone());
    if !sso::remove_config(state.db(), &org.uid, true, &actor).await? {
        return Err(none_set());
    }
    Ok(notice("Single sign-on settings deleted."))
}

/// The enabled settings that sign in `email` (by its domain) or the organization `org_uid`.
async fn find_config(state: &AppState, q: &Query) -> ApiResult<Option<SsoConfig>> {
    let mut c = state.db().reader().await?;
    if let Some(org_uid) = q.get("org_uid").filter(|v| !v.is_empty()) {
        return Ok(rows::config(&mut c, org_uid).await?.filter(|c| c.enabled));
    }
    if let Some(domain) = q.get("email").and_then(sso::email_domain) {
        return Ok(rows::enabled_configs(&mut c)
            .await?
            .into_iter()
            .find(|cfg| cfg.allowed_domains.contains(&domain)));
    }
    Ok(None)
}

/// `GET /v3/sso/discover?email=…` or `?org_uid=…` (anonymous): the organization that signs
/// this address (or this organization) in, and where the browser starts.
pub async fn discover(State(state): State<AppState>, q: Query) -> ApiResult<Json<Value>> {
    let cfg = find_config(&state, &q).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            code::NOT_FOUND,
            "No single sign-on is set up for this address or organization.",
        )
        .field("sso", "is not available.")
    })?;
    let mut c = state.db().reader().await?;
    let org = orgs::by_uid(&mut c, &cfg.org_uid)
        .await?
        .ok_or_else(none_set)?;
    Ok(Json(json!({"sso": {
        "org_uid": org.uid,
        "org_name": org.name,
        "start_url": format!("/sso/start?org_uid={}", org.uid),
    }})))
}

fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(LOCATION, v);
    }
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The browser goes back to the app with the failure's code.
fn fail(f: &Failure) -> Response {
    tracing::warn!(sso_error = f.code(), reason = %f.detail(), "single sign-on refused");
    redirect(&format!("/?sso_error={}", f.code()))
}

/// `{public_url}/sso/callback`; without `--public-url`, the request's own origin when it is
/// a loopback address (a server tried out on one machine).
fn redirect_uri(state: &AppState, headers: &HeaderMap) -> Result<String, Failure> {
    if let Some(u) = configured_redirect_uri(state) {
        return Ok(u);
    }
    let host = crate::auth::header(headers, "host").ok_or(Failure::PublicUrl)?;
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    let loopback = name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(Failure::PublicUrl);
    }
    let scheme = if state.config().tls { "https" } else { "http" };
    Ok(format!("{scheme}://{host}/sso/callback"))
}

/// `GET /sso/start?org_uid=…` (or `?email=…`): to the provider's authorization endpoint with
/// a one-time `state`, a `nonce` and a PKCE S256 challenge.
pub async fn start(State(state): State<AppState>, headers: HeaderMap, q: Query) -> Response {
    match begin(&state, &headers, &q).await {
        Ok(url) => redirect(&url),
        Err(f) => fail(&f),
    }
}

async fn begin(state: &AppState, headers: &HeaderMap, q: &Query) -> Result<String, Failure> {
    let cfg = find_config(state, q)
        .await
        .map_err(|e| server_fault("reading the settings", e))?
        .ok_or(Failure::NotConfigured)?;
    let d = state.oidc().discover(&cfg.issuer, false).await?;
    let redirect_uri = redirect_uri(state, headers)?;
    let st = sso::random_token();
    let nonce = sso::random_token();
    let verifier = sso::random_token();
    let st_hash = secret::hash(&st);
    let expires = time::OffsetDateTime::now_utc() + STATE_TTL;
    let row = SsoState {
        org_uid: cfg.org_uid.clone(),
        nonce: nonce.clone(),
        verifier: state.config().seal_key.seal(&verifier, &st_hash),
        redirect_uri: redirect_uri.clone(),
        expires_at: clock::format(expires),
    };
    let url = sso::authorize_url(
        &d,
        &cfg.client_id,
        &redirect_uri,
        &cfg.scopes,
        &st,
        &nonce,
        &verifier,
    )?;
    let saved = async {
        let mut tx = state.db().begin().await?;
        rows::insert_state(&mut tx, &st_hash, &row).await?;
        tx.commit().await?;
        Ok::<_, headwater_store::StoreError>(())
    }
    .await;
    saved.map_err(|e| server_fault("saving the sign-in state", e.into()))?;
    Ok(url)
}

/// A fault of this server (its database) during a sign-in: logged, answered as a provider
/// error would be (never a 500 page in the browser).
fn server_fault(what: &str, e: ApiError) -> Failure {
    tracing::error!(error = %e.message, "{what} failed during single sign-on");
    Failure::Server(format!("the server could not finish the sign-in ({what})"))
}

/// Secure when the browser reaches the server over TLS.
fn secure(state: &AppState) -> bool {
    state.config().tls
        || state
            .config()
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
}

fn cookie(state: &AppState, name: &str, value: &str, http_only: bool, max_age: i64) -> String {
    format!(
        "{name}={value}; Path=/; SameSite=Lax; Max-Age={max_age}{}{}",
        if http_only { "; HttpOnly" } else { "" },
        if secure(state) { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` values that remove the browser session's cookies.
pub(crate) fn cleared_cookies(state: &AppState) -> [String; 2] {
    [
        cookie(state, SESSION_COOKIE, "", true, 0),
        cookie(state, CSRF_COOKIE, "", false, 0),
    ]
}

/// `GET /sso/callback?code=…&state=…`: the provider sends the browser back here.
pub async fn callback(State(state): State<AppState>, q: Query) -> Response {
    let (org_uid, outcome) = finish(&state, &q).await;
    match outcome {
        Ok(done) => {
            let max_age = state.config().login.browser_session_max_age.as_secs() as i64;
            let mut resp = redirect("/");
            for c in [
                cookie(&state, SESSION_COOKIE, &done.session, true, max_age),
                cookie(&state, CSRF_COOKIE, &done.csrf, false, max_age),
            ] {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    resp.headers_mut().append(SET_COOKIE, v);
                }
            }
            tracing::info!(user = %done.user_uid, org = %org_uid.unwrap_or_default(), "single sign-on");
            resp
        }
        Err((f, who)) => {
            if let Some(org) = &org_uid {
                record_refusal(&state, org, &f, who.as_deref()).await;
            }
            fail(&f)
        }
    }
}

struct Done {
    session: String,
    csrf: String,
    user_uid: String,
}

async fn record_refusal(state: &AppState, org_uid: &str, f: &Failure, who: Option<&str>) {
    let write = async {
        let mut tx = state.db().begin().await?;
        audit::record(
            &mut tx,
            &Actor::System,
            audit::Event {
                org_uid: Some(org_uid),
                stack_uid: None,
                action: "sso_login_refused",
                module: "organization_sso",
                target_uid: who,
                target_title: Some(f.code()),
            },
        )
        .await?;
        tx.commit().await
    };
    if let Err(e) = write.await {
        tracing::warn!(error = %e, "recording a refused single sign-on failed");
    }
}

type Refusal = (Failure, Option<String>);

/// The callback's work: the organization concerned (once the state names it) and the new
/// session, or the refusal with whom it concerned (the email or subject, once known).
async fn finish(state: &AppState, q: &Query) -> (Option<String>, Result<Done, Refusal>) {
    let Some(st) = q.get("state").filter(|s| !s.is_empty() && s.len() <= 200) else {
        return (None, Err((Failure::State, None)));
    };
    let st_hash = secret::hash(st);
    let taken = async {
        let mut tx = state.db().begin().await?;
        let row = rows::take_state(&mut tx, &st_hash).await?;
        tx.commit().await?;
        Ok::<_, headwater_store::StoreError>(row)
    }
    .await;
    let row = match taken {
        Ok(Some(row)) => row,
        Ok(None) => return (None, Err((Failure::State, None))),
        Err(e) => {
            return (
                None,
                Err((server_fault("reading the sign-in state", e.into()), None)),
            )
        }
    };
    let org_uid = row.org_uid.clone();
    let outcome = finish_for(state, q, &st_hash, row).await;
    (Some(org_uid), outcome)
}

async fn finish_for(
    state: &AppState,
    q: &Query,
    st_hash: &str,
    row: SsoState,
) -> Result<Done, Refusal> {
    let plain = |f: Failure| (f, None);
    if row.expires_at < clock::now() {
        return Err(plain(Failure::State));
    }
    if let Some(err) = q.get("error") {
        let short: String = err.chars().take(100).collect();
        return Err(plain(Failure::Provider(format!(
            "the provider answered the sign-in with '{short}'"
        ))));
    }
    let code = q
        .get("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| plain(Failure::Provider("the callback has no code".into())))?;
    let cfg = {
        let mut c = state
            .db()
            .reader()
            .await
            .map_err(|e| plain(server_fault("reading the settings", e.into())))?;
        rows::config(&mut c, &row.org_uid)
            .await
            .map_err(|e| plain(server_fault("reading the settings", e.into())))?
            .filter(|c| c.enabled)
            .ok_or_else(|| plain(Failure::NotConfigured))?
    };
    let key = &state.config().seal_key;
    let (client_secret, verifier) = match (
        key.open(&cfg.client_secret, &cfg.org_uid),
        key.open(&row.verifier, st_hash),
    ) {
        (Ok(s), Ok(v)) => (s, v),
        _ => {
            tracing::error!(org = %cfg.org_uid, "the SSO client secret or sign-in state does not open: is this the server's usual secret key?");
            return Err(plain(Failure::Provider(
                "the server cannot read the organization's client secret".into(),
            )));
        }
    };
    let d = state
        .oidc()
        .discover(&cfg.issuer, false)
        .await
        .map_err(plain)?;
    let id_token = state
        .oidc()
        .exchange(
            &d,
            &cfg.client_id,
            &client_secret,
            code,
            &row.redirect_uri,
            &verifier,
        )
        .await
        .map_err(plain)?;
    let claims = state
        .oidc()
        .verify(&d, &cfg.client_id, &id_token, &row.nonce)
        .await
        .map_err(plain)?;
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or_else(|| plain(Failure::Token("no usable sub claim".into())))?
        .to_string();
    let who = Some(subject.clone());
    let email = claims
        .get(&cfg.email_claim)
        .and_then(Value::as_str)
        .map(users::normalize_email)
        .filter(|e| e.contains('@') && e.len() <= 254)
        .ok_or_else(|| {
            (
                Failure::Email(format!(
                    "the ID token has no email in '{}'",
                    cfg.email_claim
                )),
                who.clone(),
            )
        })?;
    let who = Some(email.clone());
    if claims.get("email_verified").and_then(Value::as_bool) == Some(false) {
        return Err((
            Failure::Email("the provider says the email is not verified".into()),
            who,
        ));
    }
    let domain = sso::email_domain(&email).unwrap_or_default();
    if !cfg.allowed_domains.is_empty() && !cfg.allowed_domains.contains(&domain) {
        return Err((Failure::DomainNotAllowed, who));
    }
    let name = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .map(|s| s.chars().take(100).collect::<String>())
            .unwrap_or_default()
    };
    let person = Person {
        issuer: d.issuer.clone(),
        subject,
        email,
        first_name: name("given_name"),
        last_name: name("family_name"),
    };
    sign_in(state, &cfg, &person).await.map_err(|f| (f, who))
}

struct Person {
    issuer: String,
    subject: String,
    email: String,
    first_name: String,
    last_name: String,
}

/// Finds the person by (issuer, subject), or links an existing member of the organization
/// with the same email, or provisions a new user without a password; makes sure they are a
/// member; creates the browser session. One transaction with the audit record.
async fn sign_in(state: &AppState, cfg: &SsoConfig, p: &Person) -> Result<Done, Failure> {
    let role = orgs::role_from_key(&cfg.default_role)
        .filter(|r| *r != OrgRole::Owner)
        .unwrap_or(OrgRole::Member);
    let fault = |e: headwater_store::StoreError| server_fault("signing the person in", e.into());
    let mut tx = state.db().begin().await.map_err(fault)?;
    let user = match rows::identity_user(&mut tx, &p.issuer, &p.subject)
        .await
        .map_err(fault)?
    {
        Some(uid) => {
            rows::touch_identity(&mut tx, &p.issuer, &p.subject)
                .await
                .map_err(fault)?;
            users::by_uid(&mut tx, &uid)
                .await
                .map_err(fault)?
                .ok_or_else(|| Failure::Provider("the linked account is gone".into()))?
        }
        None => {
            let user = match users::by_email(&mut tx, &p.email).await.map_err(fault)? {
                Some(existing) => {
                    // An account with this email but no link: linked only when it is already a
                    // member of this organization (whose provider vouches for the address);
                    // anyone else's account is never taken over through a provider.
                    if orgs::member_role(&mut tx, &cfg.org_uid, &existing.uid)
                        .await
                        .map_err(fault)?
                        .is_none()
                    {
                        return Err(Failure::AccountExists);
                    }
                    existing
                }
                // No password: this person signs in through the provider only.
                None => users::insert(&mut tx, &p.email, "", &p.first_name, &p.last_name)
                    .await
                    .map_err(fault)?,
            };
            rows::link_identity(&mut tx, &p.issuer, &p.subject, &user.uid, &cfg.org_uid)
                .await
                .map_err(fault)?;
            user
        }
    };
    if !user.active {
        return Err(Failure::Inactive);
    }
    let joined = orgs::member_role(&mut tx, &cfg.org_uid, &user.uid)
        .await
        .map_err(fault)?
        .is_none();
    if joined {
        orgs::add_member(&mut tx, &cfg.org_uid, &user.uid, role)
            .await
            .map_err(fault)?;
    }
    let session = secret::generate(SecretKind::BrowserSession);
    let csrf = secret::generate(SecretKind::BrowserSession);
    rows::insert_session(
        &mut tx,
        &session.hash,
        &csrf.hash,
        &user.uid,
        Some(&cfg.org_uid),
    )
    .await
    .map_err(fault)?;
    let actor = Actor::User(user.uid.clone());
    audit::record(
        &mut tx,
        &actor,
        audit::Event {
            org_uid: Some(&cfg.org_uid),
            stack_uid: None,
            action: if joined {
                "sso_login_provisioned"
            } else {
                "sso_login"
            },
            module: "organization_sso",
            target_uid: Some(&user.uid),
            target_title: Some(&user.email),
        },
    )
    .await
    .map_err(fault)?;
    tx.commit().await.map_err(fault)?;
    Ok(Done {
        session: session.plaintext,
        csrf: csrf.plaintext,
        user_uid: user.uid,
    })
}
