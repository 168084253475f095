//! Test support: a real Headwater server on `127.0.0.1:0` over a fresh SQLite file or a
//! fresh PostgreSQL database, an HTTP client, and fixtures that build the usual starting
//! points (an organization owner, a stack, a management token).
//!
//! PostgreSQL tests run when `HEADWATER_TEST_POSTGRES_URL` names a server
//! (e.g. `postgres://postgres@127.0.0.1:5432/test`); otherwise they are skipped with a notice.

use headwater_api::admin::{self, OrgChoice};
use headwater_api::tls::TlsConfig;
use headwater_api::{AppState, ServerConfig};
use headwater_core::policy::OrgRole;
use headwater_store::{Backend, Db};
use rand::Rng;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use std::sync::Once;

pub use headwater_store::Backend as TestBackend;

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub backend: Backend,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The database URL, kept for [`TestApp::restart_with`].
    url: String,
    /// The server task; it ends once the server and its background workers have stopped.
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn random_suffix() -> String {
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| char::from(b'a' + rng.gen_range(0..26)))
        .collect()
}

/// The key test servers seal two-factor secrets with (`admin::enable_2fa` in tests takes it).
pub fn seal_key() -> headwater_core::sealing::SealKey {
    headwater_core::sealing::SealKey::from_base64("dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0=")
        .expect("test key")
}

/// Server settings for tests: limits high enough that only tests about limits meet them, and
/// webhooks allowed to loopback receivers (127.0.0.0/8, ::1), where tests run theirs.
pub fn test_config() -> ServerConfig {
    ServerConfig {
        seal_key: seal_key(),
        default_org_read_rps: 100_000,
        default_org_write_rps: 100_000,
        assets_dir: std::env::temp_dir().join(format!("headwater-assets-{}", random_suffix())),
        webhook_allow_cidrs: vec![
            "127.0.0.0/8".parse().expect("cidr"),
            "::1/128".parse().expect("cidr"),
        ],
        ..ServerConfig::default()
    }
}

/// Serves `db` on 127.0.0.1:0 (over HTTPS with `tls`); returns the base URL, a client for it,
/// the shutdown trigger and the task.
async fn serve(
    db: Db,
    config: ServerConfig,
    tls: Option<TlsConfig>,
) -> (
    String,
    reqwest::Client,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(db, config);
    let shutdown = async {
        let _ = rx.await;
    };
    match tls {
        None => {
            let task = tokio::spawn(async move {
                let _ = headwater_api::run(listener, state, shutdown).await;
            });
            (format!("http://{addr}"), reqwest::Client::new(), tx, task)
        }
        Some(tls) => {
            let client = https_client(&tls.cert_pem);
            let task = tokio::spawn(async move {
                let _ = headwater_api::run_tls(listener, state, tls, shutdown).await;
            });
            (format!("https://{addr}"), client, tx, task)
        }
    }
}

/// An HTTPS client that trusts only the given PEM certificate (no built-in roots).
pub fn https_client(cert_pem: &str) -> reqwest::Client {
    let cert = reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("certificate PEM");
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(cert)
        .build()
        .expect("https client")
}

impl TestApp {
    /// A server on the given backend, or `None` (with a notice) when PostgreSQL is not configured.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        TestApp::spawn_with(backend, test_config()).await
    }

    pub async fn spawn_with(backend: Backend, config: ServerConfig) -> Option<TestApp> {
        TestApp::spawn_inner(backend, config, None).await
    }

    /// A server speaking HTTPS with `tls`; `client` trusts exactly `tls`'s certificate.
    pub async fn spawn_tls(backend: Backend, tls: TlsConfig) -> Option<TestApp> {
        let config = ServerConfig {
            tls: true,
            ..test_config()
        };
        TestApp::spawn_inner(backend, config, Some(tls)).await
    }

    async fn spawn_inner(
        backend: Backend,
        config: ServerConfig,
        tls: Option<TlsConfig>,
    ) -> Option<TestApp> {
        let url = fresh_database_url(backend).await?;
        let db = Db::connect(&url).await.expect("connect test database");
        db.migrate().await.expect("migrate test database");
        let (base, client, tx, task) = serve(db.clone(), config, tls).await;
        Some(TestApp {
            base,
            db,
            backend,
            client,
            shutdown: Some(tx),
            url,
            task: Some(task),
        })
    }

    /// Stops the server and its background workers (webhook delivery, expiry notices) and
    /// waits until they have stopped. The database is kept.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
        self.db.close().await;
    }

    /// A restart: stops the server, then starts a new one over the same database (through a
    /// new connection) with `config`. The base URL changes.
    pub async fn restart_with(&mut self, config: ServerConfig) {
        self.stop().await;
        self.client = reqwest::Client::new();
        self.db = Db::connect(&self.url)
            .await
            .expect("reconnect test database");
        self.db.migrate().await.expect("migrate test database");
        let (base, client, tx, task) = serve(self.db.clone(), config, None).await;
        self.client = client;
        self.base = base;
        self.shutdown = Some(tx);
        self.task = Some(task);
    }

    /// A second server over this one's database (its own connections and background
    /// workers), as another instance of a deployment would be.
    pub async fn another(&self, config: ServerConfig) -> TestApp {
        let db = Db::connect(&self.url)
            .await
            .expect("connect test database again");
        let (base, client, tx, task) = serve(db.clone(), config, None).await;
        TestApp {
            base,
            db,
            backend: self.backend,
            client,
            shutdown: Some(tx),
            url: self.url.clone(),
            task: Some(task),
        }
    }

    /// The URL of this server's database (a fresh file or database per test).
    pub fn database_url(&self) -> &str {
        &self.url
    }

    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.base, path))
    }

    /// Creates a user who owns a new organization; returns (user_uid, org_uid).
    pub async fn owner(&self, email: &str) -> (String, String) {
        let c = admin::create_user(
            &self.db,
            email,
            PASSWORD,
            "Test",
            "Owner",
            OrgChoice::New { name: "Test Org" },
        )
        .await
        .expect("create owner");
        (c.user_uid, c.org_uid)
    }

    /// Creates a user in an existing organization.
    pub async fn member(&self, email: &str, org_uid: &str) -> String {
        admin::create_user(
            &self.db,
            email,
            PASSWORD,
            "Test",
            "Member",
            OrgChoice::Existing {
                uid: org_uid,
                role: OrgRole::Member,
            },
        )
        .await
        .expect("create member")
        .user_uid
    }

    /// Logs in and returns the authtoken.
    pub async fn login(&self, email: &str) -> String {
        let r = self
            .req(Method::POST, "/v3/user-session")
            .json(&json!({"user": {"email": email, "password": PASSWORD}}))
            .send()
            .await
            .expect("login request");
        let status = r.status();
        let body: Value = r.json().await.expect("login json");
        assert_eq!(status, 200, "login failed: {body}");
        body["user"]["authtoken"]
            .as_str()
            .expect("authtoken")
            .to_string()
    }

    /// Creates a stack as the given user; returns its API key.
    pub async fn stack(&self, authtoken: &str, org_uid: &str, name: &str) -> String {
        let r = self
            .req(Method::POST, "/v3/stacks")
            .header("authtoken", authtoken)
            .header("organization_uid", org_uid)
            .json(&json!({"stack": {"name": name, "master_locale": "en-us"}}))
            .send()
            .await
            .expect("create stack");
        let (status, body) = parts(r).await;
        assert_eq!(status, 201, "create stack failed: {body}");
        body["stack"]["api_key"]
            .as_str()
            .expect("api_key")
            .to_string()
    }

    /// Shares a stack with a user under one of the built-in roles ("Admin", "Developer",
    /// "Content Manager") or a role uid.
    pub async fn share(&self, authtoken: &str, api_key: &str, email: &str, role: &str) {
        let role_uid = self.role_uid(authtoken, api_key, role).await;
        let (status, body) = parts(
            self.req(Method::POST, "/v3/stacks/share")
                .header("authtoken", authtoken)
                .header("api_key", api_key)
                .json(&json!({"emails": [email], "roles": {email: [role_uid]}}))
                .send()
                .await
                .expect("share"),
        )
        .await;
        assert_eq!(status, 200, "share failed: {body}");
    }

    pub async fn role_uid(&self, authtoken: &str, api_key: &str, name_or_uid: &str) -> String {
        let (_, body) = parts(
            self.req(Method::GET, "/v3/roles")
                .header("authtoken", authtoken)
                .header("api_key", api_key)
                .send()
                .await
                .expect("roles"),
        )
        .await;
        body["roles"]
            .as_array()
            .expect("roles list")
            .iter()
            .find(|r| r["name"] == name_or_uid || r["uid"] == name_or_uid)
            .and_then(|r| r["uid"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| name_or_uid.to_string())
    }

    /// Creates a management token with the given body (inside `{"token": …}`); returns the
    /// whole response.
    pub async fn create_token(&self, authtoken: &str, api_key: &str, token: Value) -> (u16, Value) {
        parts(
            self.req(Method::POST, "/v3/stacks/management_tokens")
                .header("authtoken", authtoken)
                .header("api_key", api_key)
                .json(&json!({ "token": token }))
                .send()
                .await
                .expect("create token"),
        )
        .await
    }

    /// A read-write token on every module; returns (secret, uid).
    pub async fn rw_token(&self, authtoken: &str, api_key: &str, name: &str) -> (String, String) {
        self.token_with(authtoken, api_key, name, true).await
    }

    /// A read-only token on every module; returns (secret, uid).
    pub async fn ro_token(&self, authtoken: &str, api_key: &str, name: &str) -> (String, String) {
        self.token_with(authtoken, api_key, name, false).await
    }

    async fn token_with(
        &self,
        authtoken: &str,
        api_key: &str,
        name: &str,
        write: bool,
    ) -> (String, String) {
        let (status, body) = self
            .create_token(
                authtoken,
                api_key,
                json!({"name": name, "scope": [{"module": "$all", "acl": {"read": true, "write": write}}], "expires_on": null}),
            )
            .await;
        assert_eq!(status, 201, "create token failed: {body}");
        (
            body["token"]["token"].as_str().expect("secret").to_string(),
            body["token"]["uid"].as_str().expect("uid").to_string(),
        )
    }

    /// A request made with a management token on its stack.
    pub fn with_token(
        &self,
        method: Method,
        path: &str,
        token: &str,
        api_key: &str,
    ) -> RequestBuilder {
        self.req(method, path)
            .header("authorization", token)
            .header("api_key", api_key)
    }

    /// A request made with an authtoken on a stack.
    pub fn as_user(
        &self,
        method: Method,
        path: &str,
        authtoken: &str,
        api_key: &str,
    ) -> RequestBuilder {
        self.req(method, path)
            .header("authtoken", authtoken)
            .header("api_key", api_key)
    }
}

/// The URL of a new, empty database: a SQLite file in a new temporary folder (created by
/// `Db::connect`), or a new PostgreSQL database on `HEADWATER_TEST_POSTGRES_URL`'s server
/// (`None`, with a notice, when that is not set).
pub async fn fresh_database_url(backend: Backend) -> Option<String> {
    Some(match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("headwater-test-{}", random_suffix()));
            format!("sqlite://{}", dir.join("headwater.db").display())
        }
        Backend::Postgres => {
            let Ok(admin_url) = std::env::var("HEADWATER_TEST_POSTGRES_URL") else {
                static NOTICE: Once = Once::new();
                NOTICE.call_once(|| {
                        eprintln!("notice: PostgreSQL tests skipped: set HEADWATER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test to run them");
                    });
                return None;
            };
            let name = format!("hwt_{}", random_suffix());
            let admin = Db::connect(&admin_url)
                .await
                .expect("HEADWATER_TEST_POSTGRES_URL is reachable");
            admin
                .execute_admin(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await;
            let (head, query) = match admin_url.split_once('?') {
                Some((h, q)) => (h.to_string(), format!("?{q}")),
                None => (admin_url.clone(), String::new()),
            };
            let root = head.rsplit_once('/').map(|(r, _)| r).unwrap_or(&head);
            format!("{root}/{name}{query}")
        }
    })
}

/// Status and JSON body of a response (an empty or non-JSON body fails the test).
pub async fn parts(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("response body");
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text:?}"));
    (status, body)
}

/// Sends and returns status and JSON body.
pub async fn send(rb: RequestBuilder) -> (u16, Value) {
    parts(rb.send().await.expect("request")).await
}

/// Asserts a Contentstack error body with the given status and error code.
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_code: i64) {
    assert_eq!(status, want_status, "unexpected status; body: {body}");
    assert_eq!(
        body["error_code"],
        json!(want_code),
        "unexpected error_code; body: {body}"
    );
    assert!(
        body["error_message"].is_string(),
        "error_message missing: {body}"
    );
    assert!(
        body["errors"].is_object() || body["errors"].is_array(),
        "errors missing: {body}"
    );
}

/// Declares a test function once per backend: `NAME::sqlite` and `NAME::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::TestApp::spawn($crate::TestBackend::Sqlite).await.expect("sqlite app");
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::TestApp::spawn($crate::TestBackend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}
