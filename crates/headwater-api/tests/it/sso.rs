//! Single sign-on (OpenID Connect) against a small provider run inside the test: discovery,
//! JWKS, an authorization endpoint that redirects back with a code, and a token endpoint that
//! checks the client secret and the PKCE verifier and signs ID tokens (ES256) with keys made
//! here. The browser is a client that follows no redirects, so each hop is checked.

use axum::extract::{Query as AxQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use headwater_api::ServerConfig;
use headwater_testkit::{assert_error, send, test_config, TestApp, PASSWORD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const CLIENT_ID: &str = "headwater-test";
const CLIENT_SECRET: &str = "s3cret-of-the-client";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An EC P-256 signing key and its public JWK.
struct Key {
    kid: String,
    der: Vec<u8>,
    jwk: Value,
}

fn new_key(kid: &str) -> Key {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let public = kp.public_key_raw().to_vec();
    assert_eq!(public.len(), 65, "uncompressed P-256 point");
    Key {
        kid: kid.to_string(),
        der: kp.serialize_der(),
        jwk: json!({"kty": "EC", "crv": "P-256", "x": b64(&public[1..33]), "y": b64(&public[33..65]),
                    "kid": kid, "use": "sig", "alg": "ES256"}),
    }
}

/// What the next ID token says (and how it is signed).
#[derive(Default, Clone)]
struct Tweak {
    iss: Option<String>,
    aud: Option<String>,
    exp_offset: Option<i64>,
    nonce: Option<String>,
    /// Sign with this key (its kid in the header) instead of the current one.
    sign_with: Option<usize>,
}

struct Provider {
    issuer: String,
    keys: Vec<Key>,
    /// Indexes of `keys` the JWKS publishes.
    published: Vec<usize>,
    /// Index of the key tokens are signed with.
    current: usize,
    /// The person the next sign-in is: (sub, email).
    person: (String, String),
    tweak: Tweak,
    /// code → (nonce, challenge, redirect_uri)
    codes: HashMap<String, (String, String, String)>,
    jwks_hits: usize,
    /// The authorization endpoint answers with `?error=access_denied`.
    deny: bool,
}

type Shared = Arc<Mutex<Provider>>;

fn form(body: &str) -> HashMap<String, String> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(h, 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    body.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

async fn discovery(AxState(p): AxState<Shared>) -> Response {
    let issuer = p.lock().unwrap().issuer.clone();
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
    .into_response()
}

async fn jwks(AxState(p): AxState<Shared>) -> Response {
    let mut p = p.lock().unwrap();
    p.jwks_hits += 1;
    let keys: Vec<Value> = p.published.iter().map(|i| p.keys[*i].jwk.clone()).collect();
    axum::Json(json!({ "keys": keys })).into_response()
}

async fn authorize(
    AxState(p): AxState<Shared>,
    AxQuery(q): AxQuery<HashMap<String, String>>,
) -> Response {
    let mut p = p.lock().unwrap();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    let state = &q["state"];
    let redirect = &q["redirect_uri"];
    if p.deny {
        return (
            StatusCode::FOUND,
            [(
                "location",
                format!("{redirect}?error=access_denied&state={state}"),
            )],
        )
            .into_response();
    }
    let code = format!("code-{}", p.codes.len() + 1);
    p.codes.insert(
        code.clone(),
        (
            q["nonce"].clone(),
            q["code_challenge"].clone(),
            redirect.clone(),
        ),
    );
    (
        StatusCode::FOUND,
        [("location", format!("{redirect}?code={code}&state={state}"))],
    )
        .into_response()
}

async fn token(AxState(p): AxState<Shared>, headers: HeaderMap, body: String) -> Response {
    let f = form(&body);
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok());
    if basic.as_deref() != Some(&format!("{CLIENT_ID}:{CLIENT_SECRET}")) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let mut p = p.lock().unwrap();
    let Some((nonce, challenge, redirect)) = p.codes.remove(&f["code"]) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    assert_eq!(f["grant_type"], "authorization_code");
    assert_eq!(f["redirect_uri"], redirect);
    assert_eq!(
        b64(&Sha256::digest(f["code_verifier"].as_bytes())),
        challenge,
        "PKCE verifier"
    );
    let t = std::mem::take(&mut p.tweak);
    let claims = json!({
        "iss": t.iss.unwrap_or_else(|| p.issuer.clone()),
        "aud": t.aud.unwrap_or_else(|| CLIENT_ID.to_string()),
        "sub": p.person.0,
        "email": p.person.1,
        "email_verified": true,
        "given_name": "Sam",
        "family_name": "Sign",
        "iat": now(),
        "exp": now() + t.exp_offset.unwrap_or(300),
        "nonce": t.nonce.unwrap_or(nonce),
    });
    let (kid, der) = match t.sign_with {
        // Another key under the current key's kid: a bad signature.
        Some(i) if i >= p.keys.len() => {
            let other = new_key("other");
            (p.keys[p.current].kid.clone(), other.der)
        }
        Some(i) => (p.keys[i].kid.clone(), p.keys[i].der.clone()),
        None => (p.keys[p.current].kid.clone(), p.keys[p.current].der.clone()),
    };
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid);
    let id_token =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&der)).expect("sign");
    axum::Json(json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token}))
        .into_response()
}

async fn provider() -> Shared {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let p = Arc::new(Mutex::new(Provider {
        issuer,
        keys: vec![new_key("k1")],
        published: vec![0],
        current: 0,
        person: ("sub-1".into(), "sam@example.com".into()),
        tweak: Tweak::default(),
        codes: HashMap::new(),
        jwks_hits: 0,
        deny: false,
    }));
    let app = axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .with_state(p.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    p
}

fn issuer(p: &Shared) -> String {
    p.lock().unwrap().issuer.clone()
}

/// Loopback providers allowed; the key set may be fetched again after one second.
fn sso_config() -> ServerConfig {
    ServerConfig {
        sso_allow_cidrs: vec!["127.0.0.0/8".parse().unwrap()],
        sso_jwks_refresh_interval: std::time::Duration::from_secs(1),
        ..test_config()
    }
}

macro_rules! sso_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = headwater_testkit::TestApp::spawn_with(
                        headwater_testkit::TestBackend::Sqlite, super::sso_config()).await.expect("sqlite app");
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = headwater_testkit::TestApp::spawn_with(
                        headwater_testkit::TestBackend::Postgres, super::sso_config()).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

sso_tests!(
    settings_are_the_owners_and_checked_against_the_issuer,
    first_sign_in_provisions_and_a_returning_person_is_matched_by_subject,
    bad_id_tokens_and_replayed_states_are_refused_with_their_code,
    a_rotated_key_is_fetched_once_then_unknown_keys_are_rate_limited,
    the_session_cookie_needs_csrf_for_changes_and_expires,
    strict_mode_members_sign_in_through_the_provider_only,
);

/// The owner sets up single sign-on for their organization (default: any domain, member).
async fn setup(app: &TestApp, p: &Shared, extra: Value) -> (String, String) {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let mut sso =
        json!({"issuer": issuer(p), "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET});
    for (k, v) in extra.as_object().unwrap() {
        sso[k] = v.clone();
    }
    let (s, b) = send(
        app.req(Method::PUT, &format!("/v3/organizations/{org}/sso"))
            .header("authtoken", &owner)
            .json(&json!({ "sso": sso })),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    (org, owner)
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The end of a browser sign-in: where the server sent the browser, and the cookies it set.
struct Landing {
    location: String,
    cookies: HashMap<String, String>,
    set_cookie: Vec<String>,
    callback: String,
}

impl Landing {
    fn error(&self) -> Option<&str> {
        self.location.strip_prefix("/?sso_error=")
    }
    fn session(&self) -> &str {
        &self.cookies["hw_session"]
    }
    fn csrf(&self) -> &str {
        &self.cookies["hw_csrf"]
    }
}

fn location(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), 302, "expected a redirect");
    r.headers()["location"].to_str().unwrap().to_string()
}

async fn sign_in(app: &TestApp, org: &str) -> Landing {
    let b = browser();
    let r = b
        .get(format!("{}/sso/start?org_uid={org}", app.base))
        .send()
        .await
        .unwrap();
    let to_provider = location(&r);
    if let Some(e) = to_provider.strip_prefix("/?sso_error=") {
        panic!("start refused: {e}");
    }
    let url = reqwest::Url::parse(&to_provider).unwrap();
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    for k in ["state", "nonce", "code_challenge", "redirect_uri"] {
        assert!(
            q.contains_key(k),
            "authorization request lacks {k}: {to_provider}"
        );
    }
    assert_eq!(q["redirect_uri"], format!("{}/sso/callback", app.base));
    let r = b.get(url).send().await.unwrap();
    let callback = location(&r);
    let r = b.get(&callback).send().await.unwrap();
    let set_cookie: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let cookies = set_cookie
        .iter()
        .filter_map(|c| c.split(';').next())
        .filter_map(|c| c.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Landing {
        location: location(&r),
        cookies,
        set_cookie,
        callback,
    }
}

fn with_cookie(app: &TestApp, method: Method, path: &str, l: &Landing) -> reqwest::RequestBuilder {
    app.req(method, path).header(
        "cookie",
        format!("hw_session={}; hw_csrf={}", l.session(), l.csrf()),
    )
}

async fn me(app: &TestApp, l: &Landing) -> (u16, Value) {
    send(with_cookie(app, Method::GET, "/v3/user", l)).await
}

async fn logs(app: &TestApp, owner: &str, org: &str) -> Vec<(String, String)> {
    let (s, b) = send(
        app.req(
            Method::GET,
            &format!("/v3/organizations/{org}/logs?limit=100"),
        )
        .header("authtoken", owner),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    b["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event_type"].as_str().unwrap_or_default().to_string(),
                e["metadata"]["title"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

async fn settings_are_the_owners_and_checked_against_the_issuer(app: TestApp) {
    let p = provider().await;
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    app.member("mia@example.com", &org).await;
    let member = app.login("mia@example.com").await;
    let path = format!("/v3/organizations/{org}/sso");

    let (s, b) = send(app.req(Method::GET, &path).header("authtoken", &owner)).await;
    assert_error(s, &b, 404, 141);

    // An issuer that does not answer, and one whose document names another issuer.
    for bad in ["http://127.0.0.1:9".to_string(), format!("{}/", issuer(&p))] {
        let (s, b) = send(app.req(Method::PUT, &path).header("authtoken", &owner).json(
            &json!({"sso": {"issuer": bad, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}}),
        ))
        .await;
        assert_error(s, &b, 422, 120);
        assert!(b["errors"]["issuer"].is_array(), "{b}");
    }
    // The client secret is required the first time.
    let (s, b) = send(
        app.req(Method::PUT, &path)
            .header("authtoken", &owner)
            .json(&json!({"sso": {"issuer": issuer(&p), "client_id": CLIENT_ID}})),
    )
    .await;
    assert_error(s, &b, 422, 120);

    // Members cannot read or change it.
    let (s, b) = send(app.req(Method::PUT, &path).header("authtoken", &member).json(
        &json!({"sso": {"issuer": issuer(&p), "client_id": CLIENT_ID, "client_secret": "x"}}),
    ))
    .await;
    assert_eq!(s, 403, "{b}");
    let (s, _) = send(app.req(Method::GET, &path).header("authtoken", &member)).await;
    assert_eq!(s, 403);

    let (s, b) = send(
        app.req(Method::PUT, &path)
            .header("authtoken", &owner)
            .json(&json!({"sso": {
        "issuer": issuer(&p), "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "allowed_domains": ["Example.com"], "default_role": "admin"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let sso = &b["sso"];
    assert_eq!(sso["client_secret_set"], true);
    assert!(sso.get("client_secret").is_none(), "{b}");
    assert!(
        !b.to_string().contains(CLIENT_SECRET),
        "the secret is never shown"
    );
    assert_eq!(sso["scopes"], json!(["openid", "email", "profile"]));
    assert_eq!(sso["allowed_domains"], json!(["example.com"]));
    assert_eq!(sso["default_role"], "admin");
    assert_eq!(sso["enabled"], true);

    // Sealed at rest: the stored secret is not the plain text.
    let mut c = app.db.reader().await.unwrap();
    let stored = headwater_store::repo::sso::config(&mut c, &org)
        .await
        .unwrap()
        .unwrap();
    drop(c);
    assert!(stored.client_secret.starts_with("enc:v1:"));

    // Updating without the secret keeps it.
    let (s, b) = send(app.req(Method::PUT, &path).header("authtoken", &owner).json(
        &json!({"sso": {"issuer": issuer(&p), "client_id": CLIENT_ID, "default_role": "member"}}),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["sso"]["client_secret_set"], true);
    assert_eq!(b["sso"]["allowed_domains"], json!(["example.com"]));

    // Discovery for the app's sign-in screen.
    let (s, b) = send(app.req(Method::GET, "/v3/sso/discover?email=Ann%40example.com")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["sso"]["org_uid"], org);
    assert_eq!(b["sso"]["start_url"], format!("/sso/start?org_uid={org}"));
    let (s, _) = send(app.req(Method::GET, "/v3/sso/discover?email=ann%40elsewhere.org")).await;
    assert_eq!(s, 404);

    let (s, b) = send(app.req(Method::DELETE, &path).header("authtoken", &owner)).await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = send(app.req(Method::GET, &format!("/v3/sso/discover?org_uid={org}"))).await;
    assert_eq!(s, 404);
    let events: Vec<String> = logs(&app, &owner, &org)
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    for e in ["sso_create", "sso_update", "sso_delete"] {
        assert!(events.iter().any(|x| x == e), "no {e} in {events:?}");
    }
    // Without settings, a sign-in goes back to the app with a code.
    let r = browser()
        .get(format!("{}/sso/start?org_uid={org}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/?sso_error=not_configured");
}

async fn first_sign_in_provisions_and_a_returning_person_is_matched_by_subject(app: TestApp) {
    let p = provider().await;
    let (org, owner) = setup(&app, &p, json!({"allowed_domains": ["example.com"]})).await;

    let l = sign_in(&app, &org).await;
    assert_eq!(l.location, "/", "{:?}", l.error());
    let session_cookie = l
        .set_cookie
        .iter()
        .find(|c| c.starts_with("hw_session="))
        .unwrap();
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(
        !session_cookie.contains("Secure"),
        "plain HTTP: {session_cookie}"
    );
    let csrf_cookie = l
        .set_cookie
        .iter()
        .find(|c| c.starts_with("hw_csrf="))
        .unwrap();
    assert!(
        !csrf_cookie.contains("HttpOnly"),
        "the app reads it: {csrf_cookie}"
    );

    let (s, b) = me(&app, &l).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["user"]["email"], "sam@example.com");
    assert!(b["user"].get("authtoken").is_none(), "{b}");
    let uid = b["user"]["uid"].as_str().unwrap().to_string();
    let org_role = b["user"]["organizations"][0]["org_roles"][0]["name"].clone();
    assert_eq!(org_role, "member");
    // Provisioned without a password: password sign-in never works for them.
    let (s, _) = send(
        app.req(Method::POST, "/v3/user-session")
            .json(&json!({"user": {"email": "sam@example.com", "password": ""}})),
    )
    .await;
    assert_ne!(s, 200);

    // The state is used once: the same callback again is refused.
    let r = browser().get(&l.callback).send().await.unwrap();
    assert_eq!(location(&r), "/?sso_error=state");

    // The same subject with a changed email is the same person.
    p.lock().unwrap().person = ("sub-1".into(), "samuel@example.com".into());
    let again = sign_in(&app, &org).await;
    assert_eq!(again.location, "/");
    let (_, b) = me(&app, &again).await;
    assert_eq!(b["user"]["uid"], uid.as_str());

    // An address of another domain is refused.
    p.lock().unwrap().person = ("sub-2".into(), "eve@elsewhere.org".into());
    assert_eq!(
        sign_in(&app, &org).await.error(),
        Some("domain_not_allowed")
    );

    // An existing account outside the organization is not taken over through the provider.
    app.owner("outsider@example.com").await;
    p.lock().unwrap().person = ("sub-3".into(), "outsider@example.com".into());
    assert_eq!(sign_in(&app, &org).await.error(), Some("account_exists"));

    // An existing member with the same email is linked.
    app.member("mia@example.com", &org).await;
    p.lock().unwrap().person = ("sub-4".into(), "mia@example.com".into());
    let mia = sign_in(&app, &org).await;
    assert_eq!(mia.location, "/");

    // The provider refusing the sign-in.
    p.lock().unwrap().deny = true;
    assert_eq!(sign_in(&app, &org).await.error(), Some("provider_error"));

    let events = logs(&app, &owner, &org).await;
    let has = |e: &str, t: &str| {
        events
            .iter()
            .any(|(a, b)| a == e && (t.is_empty() || b == t))
    };
    assert!(
        has("sso_login_provisioned", "sam@example.com"),
        "{events:?}"
    );
    assert!(has("sso_login", "sam@example.com"), "{events:?}");
    assert!(has("sso_login_refused", "domain_not_allowed"), "{events:?}");
    assert!(has("sso_login_refused", "account_exists"), "{events:?}");
    assert!(has("sso_login_refused", "provider_error"), "{events:?}");
}

async fn bad_id_tokens_and_replayed_states_are_refused_with_their_code(app: TestApp) {
    let p = provider().await;
    let (org, owner) = setup(&app, &p, json!({})).await;
    let cases: Vec<(Tweak, &str)> = vec![
        (
            Tweak {
                iss: Some("http://impostor.example".into()),
                ..Tweak::default()
            },
            "issuer",
        ),
        (
            Tweak {
                aud: Some("someone-else".into()),
                ..Tweak::default()
            },
            "audience",
        ),
        (
            Tweak {
                exp_offset: Some(-3600),
                ..Tweak::default()
            },
            "expired",
        ),
        (
            Tweak {
                sign_with: Some(99),
                ..Tweak::default()
            },
            "signature",
        ),
        (
            Tweak {
                nonce: Some("not-the-nonce".into()),
                ..Tweak::default()
            },
            "nonce",
        ),
    ];
    for (tweak, code) in cases {
        p.lock().unwrap().tweak = tweak;
        let l = sign_in(&app, &org).await;
        assert_eq!(l.error(), Some(code), "location {}", l.location);
        assert!(l.cookies.is_empty(), "no session on a refusal");
    }
    // A state nobody issued.
    let r = browser()
        .get(format!("{}/sso/callback?code=x&state=forged", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/?sso_error=state");
    // Nothing above made a user.
    let (s, _) = send(
        app.req(Method::POST, "/v3/user-session")
            .json(&json!({"user": {"email": "sam@example.com", "password": PASSWORD}})),
    )
    .await;
    assert_eq!(s, 422);
    let events = logs(&app, &owner, &org).await;
    for code in ["issuer", "audience", "expired", "signature", "nonce"] {
        assert!(
            events
                .iter()
                .any(|(a, t)| a == "sso_login_refused" && t == code),
            "no refusal {code} in {events:?}"
        );
    }
    // And a good token still works.
    assert_eq!(sign_in(&app, &org).await.location, "/");
}

async fn a_rotated_key_is_fetched_once_then_unknown_keys_are_rate_limited(app: TestApp) {
    let p = provider().await;
    let (org, _) = setup(&app, &p, json!({})).await;
    assert_eq!(sign_in(&app, &org).await.location, "/");
    assert_eq!(p.lock().unwrap().jwks_hits, 1, "the key set is cached");
    assert_eq!(sign_in(&app, &org).await.location, "/");
    assert_eq!(p.lock().unwrap().jwks_hits, 1, "the key set is cached");

    // The provider rotates to a new key; the server's cached set lacks it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    {
        let mut g = p.lock().unwrap();
        g.keys.push(new_key("k2"));
        g.published = vec![0, 1];
        g.current = 1;
    }
    assert_eq!(sign_in(&app, &org).await.location, "/");
    assert_eq!(
        p.lock().unwrap().jwks_hits,
        2,
        "fetched once for the new kid"
    );

    // A kid the provider never published: refused, and the set is not fetched again at once.
    {
        let mut g = p.lock().unwrap();
        g.keys.push(new_key("k3"));
        g.tweak = Tweak {
            sign_with: Some(2),
            ..Tweak::default()
        };
    }
    assert_eq!(sign_in(&app, &org).await.error(), Some("signature"));
    assert_eq!(p.lock().unwrap().jwks_hits, 2, "rate-limited");
}

async fn the_session_cookie_needs_csrf_for_changes_and_expires(app: TestApp) {
    let p = provider().await;
    let (org, _) = setup(&app, &p, json!({})).await;
    let l = sign_in(&app, &org).await;
    let profile = json!({"user": {"first_name": "Samantha"}});

    let (s, b) = send(with_cookie(&app, Method::PUT, "/v3/user", &l).json(&profile)).await;
    assert_error(s, &b, 403, 105);
    assert!(b["error_message"].as_str().unwrap().contains("CSRF"), "{b}");
    let (s, b) = send(
        with_cookie(&app, Method::PUT, "/v3/user", &l)
            .header("x-csrf-token", l.session())
            .json(&profile),
    )
    .await;
    assert_error(s, &b, 403, 105);
    let (s, b) = send(
        with_cookie(&app, Method::PUT, "/v3/user", &l)
            .header("x-csrf-token", l.csrf())
            .json(&profile),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // The organization is readable with the cookie: the same policy as an authtoken.
    let (s, b) = send(with_cookie(
        &app,
        Method::GET,
        &format!("/v3/organizations/{org}"),
        &l,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    // A stale cookie does not stand in the way of signing in by password.
    let (s, _) = send(
        app.req(Method::POST, "/v3/user-session")
            .header("cookie", "hw_session=hwbs_stale")
            .json(&json!({"user": {"email": "owner@example.com", "password": PASSWORD}})),
    )
    .await;
    assert_eq!(s, 200);

    // Signing out needs the CSRF token too, ends the session and clears the cookies.
    let (s, _) = send(with_cookie(&app, Method::DELETE, "/v3/user-session", &l)).await;
    assert_eq!(s, 403);
    let r = with_cookie(&app, Method::DELETE, "/v3/user-session", &l)
        .header("x-csrf-token", l.csrf())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cleared: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("hw_session=;") && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    let (s, b) = me(&app, &l).await;
    assert_error(s, &b, 401, 105);

    // Idle timeout (2 hours) and absolute lifetime (12 hours).
    let ago = |h: i64| {
        headwater_core::clock::format(time::OffsetDateTime::now_utc() - time::Duration::hours(h))
    };
    for (created, used, live) in [
        (ago(1), ago(1), true),
        (ago(3), ago(3), false),
        (ago(13), ago(0), false),
    ] {
        let l = sign_in(&app, &org).await;
        let hash = headwater_core::secret::hash(l.session());
        let mut tx = app.db.begin().await.unwrap();
        assert!(
            headwater_store::repo::sso::set_session_times(&mut tx, &hash, &created, &used)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let (s, _) = me(&app, &l).await;
        assert_eq!(s == 200, live, "created {created}, used {used}: {s}");
    }
}

async fn strict_mode_members_sign_in_through_the_provider_only(app: TestApp) {
    let p = provider().await;
    let (org, _) = setup(&app, &p, json!({})).await;
    app.member("mia@example.com", &org).await;
    let password_session = app.login("mia@example.com").await;
    p.lock().unwrap().person = ("sub-mia".into(), "mia@example.com".into());
    let l = sign_in(&app, &org).await;
    assert_eq!(l.location, "/");

    let ended = headwater_api::admin::set_sso_strict(&app.db, &org, true)
        .await
        .unwrap();
    assert!(ended >= 1);
    // The password session ended; password sign-in is refused (151); no authtoken.
    let (s, _) = send(
        app.req(Method::GET, "/v3/user")
            .header("authtoken", &password_session),
    )
    .await;
    assert_eq!(s, 401);
    let (s, b) = send(
        app.req(Method::POST, "/v3/user-session")
            .json(&json!({"user": {"email": "mia@example.com", "password": PASSWORD}})),
    )
    .await;
    assert_error(s, &b, 403, 151);
    // The SSO session keeps working, and a new one can be made.
    let (s, b) = me(&app, &l).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["user"].get("authtoken").is_none());
    assert_eq!(sign_in(&app, &org).await.location, "/");
    // The owner keeps password sign-in (break-glass).
    app.login("owner@example.com").await;
}
