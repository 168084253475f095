//! HTTPS on both backends: the API over rustls with a generated certificate, plain HTTP to the
//! TLS port refused, clients that do not trust the certificate refused, PEM files and the kept
//! self-signed certificate, and graceful shutdown.

use headwater_api::tls::{SelfSigned, TlsConfig, SELF_SIGNED_CERT_FILE, SELF_SIGNED_KEY_FILE};
use headwater_testkit::{https_client, send, TestApp, TestBackend};
use reqwest::Method;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn names() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into()]
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "headwater-tls-{tag}-{}-{:016x}",
        std::process::id(),
        rand_u64()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}

async fn tls_app(backend: TestBackend) -> Option<(TestApp, TlsConfig)> {
    let (tls, _, _) = TlsConfig::generate(&names()).expect("generate certificate");
    let app = TestApp::spawn_tls(backend, tls.clone()).await?;
    Some((app, tls))
}

macro_rules! on_both_backends_tls {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let pair = super::tls_app(headwater_testkit::TestBackend::Sqlite).await.expect("sqlite app");
                    super::$name(pair.0, pair.1).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(pair) = super::tls_app(headwater_testkit::TestBackend::Postgres).await {
                        super::$name(pair.0, pair.1).await;
                    }
                }
            }
        )*
    };
}

on_both_backends_tls!(
    the_api_answers_over_https_to_a_client_trusting_the_certificate,
    plain_http_to_the_tls_port_fails,
    a_client_that_does_not_trust_the_certificate_is_refused,
);

async fn the_api_answers_over_https_to_a_client_trusting_the_certificate(
    app: TestApp,
    _tls: TlsConfig,
) {
    assert!(app.base.starts_with("https://127.0.0.1:"), "{}", app.base);
    let (status, body) = send(app.req(Method::GET, "/healthz")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");

    // A whole management-token flow: login, stack, token, a write and a read with the token.
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Blog").await;
    let (token, _) = app.rw_token(&owner, &api_key, "CLI").await;
    let (status, body) = send(
        app.with_token(Method::POST, "/v3/environments", &token, &api_key)
            .json(&json!({"environment": {"name": "production", "urls": []}})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) =
        send(app.with_token(Method::GET, "/v3/environments?limit=1", &token, &api_key)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["environments"][0]["name"], "production");

    // Asset URLs name the scheme the server speaks, and download over it.
    let form = reqwest::multipart::Form::new().part(
        "asset[upload]",
        reqwest::multipart::Part::bytes(b"over tls".to_vec())
            .file_name("note.txt")
            .mime_str("text/plain")
            .expect("mime"),
    );
    let (status, body) = send(
        app.with_token(Method::POST, "/v3/assets", &token, &api_key)
            .multipart(form),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let url = body["asset"]["url"].as_str().expect("asset url");
    assert!(url.starts_with(&format!("{}/", app.base)), "{url}");
    let r = app.client.get(url).send().await.expect("download");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), b"over tls");

    // Errors keep their Contentstack body over TLS.
    let (status, body) = send(app.req(Method::GET, "/v3/no-such-thing")).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error_code"].is_number(), "{body}");
}

async fn plain_http_to_the_tls_port_fails(app: TestApp, _tls: TlsConfig) {
    let plain = app.base.replacen("https://", "http://", 1);
    let result = reqwest::Client::new()
        .get(format!("{plain}/healthz"))
        .send()
        .await;
    assert!(
        result.is_err(),
        "plain HTTP got an answer: {:?}",
        result.map(|r| r.status())
    );
    // The server is unharmed.
    let (status, _) = send(app.req(Method::GET, "/healthz")).await;
    assert_eq!(status, 200);
}

async fn a_client_that_does_not_trust_the_certificate_is_refused(app: TestApp, _tls: TlsConfig) {
    // Trusts a different self-signed certificate for the same names.
    let (other, _, _) = TlsConfig::generate(&names()).expect("generate");
    let result = https_client(&other.cert_pem)
        .get(format!("{}/healthz", app.base))
        .send()
        .await;
    let err = result.expect_err("an untrusted certificate was accepted");
    assert!(err.is_connect(), "{err:?}");
}

#[test]
fn certificates_load_from_pem_files_and_the_self_signed_one_is_kept() {
    let dir = temp_dir("files");
    let (first, how) = TlsConfig::self_signed(&dir, &names()).expect("self-signed");
    assert_eq!(how, SelfSigned::Generated);
    let cert = dir.join(SELF_SIGNED_CERT_FILE);
    let key = dir.join(SELF_SIGNED_KEY_FILE);
    assert!(cert.exists() && key.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key)
            .expect("key metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key is readable by others: {mode:o}");
    }
    assert_eq!(
        std::fs::read_to_string(&cert).expect("cert"),
        first.cert_pem,
        "the written certificate is the one served"
    );
    // 32 bytes, colon-separated hex.
    assert_eq!(first.fingerprint_sha256.len(), 32 * 3 - 1);

    // Started again: the same certificate, so clients that trust it keep working.
    let (again, how) = TlsConfig::self_signed(&dir, &names()).expect("self-signed again");
    assert_eq!(how, SelfSigned::Reused);
    assert_eq!(again.fingerprint_sha256, first.fingerprint_sha256);

    // The same files through --tls-cert/--tls-key.
    let from_files = TlsConfig::from_pem_files(&cert, &key).expect("from files");
    assert_eq!(from_files.fingerprint_sha256, first.fingerprint_sha256);

    // A key file that is not a key is refused, and its content is not echoed.
    let bad_key = dir.join("bad-key.pem");
    std::fs::write(&bad_key, "secret-material-not-a-key").expect("write");
    let err = TlsConfig::from_pem_files(&cert, &bad_key).expect_err("bad key accepted");
    assert!(!err.to_string().contains("secret-material"), "{err}");
    // A certificate file without certificates is refused.
    let err = TlsConfig::from_pem_files(&key, &key).expect_err("key as certificate accepted");
    assert!(err.to_string().contains("CERTIFICATE"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_tls_server_with_an_idle_connection_open() {
    let (tls, _, _) = TlsConfig::generate(&names()).expect("generate");
    let client = https_client(&tls.cert_pem);
    let dir = temp_dir("shutdown");
    let url = format!("sqlite://{}", dir.join("headwater.db").display());
    let db = headwater_store::Db::connect(&url).await.expect("db");
    db.migrate().await.expect("migrate");
    let state = headwater_api::AppState::new(db, headwater_testkit::test_config());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let limits = state.config().conn;
    let server = tokio::spawn(headwater_api::serve_router(
        listener,
        headwater_api::app(state),
        Some(tls),
        limits,
        async {
            let _ = rx.await;
        },
    ));
    // A keep-alive connection stays in the client's pool after this request.
    let r = client
        .get(format!("https://{addr}/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let _ = r.bytes().await;

    tx.send(()).expect("signal shutdown");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.is_finished() {
        assert!(Instant::now() < deadline, "the server did not stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.await.expect("join").expect("serve result");
    // Nothing listens any more.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
