//! Webhooks over HTTP on both backends: management, signed deliveries to a receiver on
//! 127.0.0.1, retries with backoff, delivery across a restart, and management-token expiry
//! notices as webhook events and emails (to an SMTP sink on 127.0.0.1).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use headwater_api::state::EventsConfig;
use headwater_api::ServerConfig;
use headwater_testkit::{assert_error, send, test_config, TestApp, TestBackend};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Declares `NAME::sqlite` and `NAME::postgres`, each given a server with fast event settings.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(super::TestBackend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(super::TestBackend::Postgres).await;
                }
            }
        )*
    };
}

both!(
    webhooks_are_managed_validated_and_authorized,
    changes_are_delivered_signed_to_subscribed_webhooks,
    a_failing_receiver_gets_the_event_until_it_succeeds_then_on_retry,
    a_restart_between_failure_and_retry_still_delivers,
    token_expiry_notices_are_events_and_emails,
    workflow_stage_changes_and_publish_requests_are_events,
    sec_01_webhook_targets_on_internal_addresses_are_refused,
    sec_01_refused_targets_are_never_contacted_at_send_time,
    sec_02_a_stored_password_stays_with_its_origin,
);

fn fast(events: EventsConfig) -> ServerConfig {
    ServerConfig {
        events,
        ..test_config()
    }
}

fn fast_events() -> EventsConfig {
    EventsConfig {
        poll_interval: Duration::from_millis(50),
        retry_base: Duration::from_millis(200),
        max_attempts: 5,
        request_timeout: Duration::from_secs(5),
        notice_days: 7,
        notice_interval: Duration::from_secs(3600),
        smtp: None,
        ..EventsConfig::default()
    }
}

async fn spawn(backend: TestBackend, events: EventsConfig) -> Option<TestApp> {
    TestApp::spawn_with(backend, fast(events)).await
}

/// What a receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("delivery body is JSON")
    }
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer, in order; 200 once they run out.
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.got.lock().unwrap().push(Received { headers, body });
    let status = r.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

/// A webhook receiver on 127.0.0.1 answering the scripted statuses; returns its URL.
async fn receiver(script: &[u16]) -> (Receiver, String) {
    let r = Receiver {
        got: Arc::default(),
        script: Arc::new(Mutex::new(script.iter().copied().collect())),
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .route("/hook2", axum::routing::post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (r, url)
}

/// Polls `check` until it returns `Some`, failing the test after `secs` seconds.
async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn hex_hmac(secret: &str, ts: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct World {
    owner: String,
    org: String,
    api_key: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Site").await;
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/content_types", &owner, &api_key)
            .json(&json!({"content_type": {"title": "Blog", "uid": "blog", "schema": [
                {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true, "unique": true},
                {"uid": "body", "display_name": "Body", "data_type": "text"}
            ]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    World {
        owner,
        org,
        api_key,
    }
}

async fn create_webhook(app: &TestApp, w: &World, webhook: Value) -> Value {
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/webhooks", &w.owner, &w.api_key)
            .json(&json!({ "webhook": webhook })),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "The webhook was created successfully");
    b["webhook"].clone()
}

fn hook(name: &str, url: &str, channels: &[&str]) -> Value {
    json!({
        "name": name,
        "destinations": [{"target_url": url, "http_basic_auth": "", "http_basic_password": "",
                          "custom_header": [{"header_name": "", "value": ""}]}],
        "channels": channels,
        "branches": ["main"],
        "retry_policy": "manual",
        "notifiers": [],
        "disabled": false,
    })
}

async fn executions(app: &TestApp, w: &World, webhook_uid: &str) -> Vec<Value> {
    let (s, b) = send(app.as_user(
        Method::GET,
        &format!("/v3/webhooks/{webhook_uid}/executions?include_count=true"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let list = b["webhooks"].as_array().expect("executions").clone();
    assert_eq!(b["count"], json!(list.len()), "{b}");
    list
}

async fn new_entry(app: &TestApp, w: &World, title: &str) -> Value {
    let (s, b) = send(
        app.as_user(
            Method::POST,
            "/v3/content_types/blog/entries",
            &w.owner,
            &w.api_key,
        )
        .json(&json!({"entry": {"title": title, "body": "text"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    b["entry"].clone()
}

async fn webhooks_are_managed_validated_and_authorized(backend: TestBackend) {
    let Some(app) = spawn(backend, fast_events()).await else {
        return;
    };
    let w = world(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    let mut body = hook("Deploy", "http://127.0.0.1:9/hook", &["assets.create"]);
    body["destinations"][0]["http_basic_auth"] = json!("deployer");
    body["destinations"][0]["http_basic_password"] = json!("s3cret");
    body["concise_payload"] = json!(true);
    let created = create_webhook(&app, &w, body).await;
    let uid = created["uid"].as_str().unwrap().to_string();
    assert_eq!(created["name"], "Deploy");
    assert_eq!(created["channels"], json!(["assets.create"]));
    assert_eq!(created["branches"], json!(["main"]));
    assert_eq!(created["concise_payload"], true);
    assert_eq!(created["org_uid"], json!(w.org));
    assert_eq!(
        created["destinations"][0]["http_basic_password"],
        "********"
    );
    assert_eq!(created["destinations"][0]["custom_header"], json!([]));
    assert!(created["signing_secret"].as_str().unwrap().len() >= 32);

    let (s, b) = send(u(Method::GET, &format!("/v3/webhooks/{uid}"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["webhook"]["signing_secret"], created["signing_secret"]);
    let (s, b) = send(u(Method::GET, "/v3/webhooks?include_count=true")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], 1);
    assert_eq!(b["webhooks"][0]["uid"], json!(uid));
    assert!(b["webhooks"][0].get("signing_secret").is_none());
    let (s, b) = send(u(Method::GET, &format!("/v3/webhooks/{uid}/export"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["name"], "Deploy");
    assert!(b.get("signing_secret").is_none());

    // Update: the SDK sends back what it fetched, masked password included.
    let mut back = b.clone();
    back["name"] = json!("Deploy site");
    back["disabled"] = json!(true);
    let (s, b) =
        send(u(Method::PUT, &format!("/v3/webhooks/{uid}")).json(&json!({"webhook": back}))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["webhook"]["name"], "Deploy site");
    assert_eq!(b["webhook"]["disabled"], true);
    let mut c = app.db.reader().await.unwrap();
    let stored =
        headwater_store::repo::webhooks::list(&mut c, &stack_uid(&app, &w).await, 0, 10, true)
            .await
            .unwrap()
            .0;
    drop(c);
    assert_eq!(stored[0].destinations[0]["http_basic_password"], "s3cret");

    // Validation.
    for bad in [
        "ftp://127.0.0.1/x",
        "javascript:alert(1)",
        "127.0.0.1/hook",
        "http://user:pw@127.0.0.1/hook",
        "",
    ] {
        let (s, b) = send(
            u(Method::POST, "/v3/webhooks")
                .json(&json!({"webhook": hook("x", bad, &["assets.create"])})),
        )
        .await;
        assert_error(s, &b, 422, 120);
        assert!(b["errors"]["destinations[0].target_url"].is_array(), "{b}");
    }
    let mut no_dest = hook("x", "http://127.0.0.1/h", &[]);
    no_dest["destinations"] = json!([]);
    let (s, b) = send(u(Method::POST, "/v3/webhooks").json(&json!({"webhook": no_dest}))).await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(
        u(Method::POST, "/v3/webhooks")
            .json(&json!({"webhook": hook("x", "http://127.0.0.1/h", &["bad channel!"])})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let mut reserved = hook("x", "http://127.0.0.1/h", &[]);
    reserved["destinations"][0]["custom_header"] =
        json!([{"header_name": "X-Headwater-Signature", "value": "forged"}]);
    let (s, b) = send(u(Method::POST, "/v3/webhooks").json(&json!({"webhook": reserved}))).await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(u(Method::GET, "/v3/webhooks/nope")).await;
    assert_error(s, &b, 422, 141);
    let (s, b) = send(u(Method::GET, "/v3/webhooks/nope/logs")).await;
    assert_error(s, &b, 422, 141);

    // The policy: content managers and read-only tokens cannot manage webhooks.
    app.member("cm@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "cm@example.com", "Content Manager")
        .await;
    let cm = app.login("cm@example.com").await;
    let (s, b) = send(app.as_user(Method::GET, "/v3/webhooks", &cm, &w.api_key)).await;
    assert_error(s, &b, 403, 162);
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "ro").await;
    let (s, b) = send(app.with_token(Method::GET, "/v3/webhooks", &ro, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/webhooks", &ro, &w.api_key)
            .json(&json!({"webhook": hook("x", "http://127.0.0.1/h", &[])})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(app.with_token(
        Method::DELETE,
        &format!("/v3/webhooks/{uid}"),
        &ro,
        &w.api_key,
    ))
    .await;
    assert_error(s, &b, 403, 162);

    let (s, b) = send(u(Method::DELETE, &format!("/v3/webhooks/{uid}"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "The Webhook was deleted successfully");
    let (s, b) = send(u(Method::GET, &format!("/v3/webhooks/{uid}"))).await;
    assert_error(s, &b, 422, 141);
}

async fn stack_uid(app: &TestApp, w: &World) -> String {
    let mut c = app.db.reader().await.unwrap();
    headwater_store::repo::stacks::by_api_key(&mut c, &w.api_key)
        .await
        .unwrap()
        .unwrap()
        .uid
}

async fn changes_are_delivered_signed_to_subscribed_webhooks(backend: TestBackend) {
    let Some(app) = spawn(backend, fast_events()).await else {
        return;
    };
    let w = world(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    let (rx, url) = receiver(&[]).await;
    let mut body = hook(
        "All entries",
        &url,
        &[
            "content_types.entries.create",
            "content_types.blog.entries.update",
            "content_types.entries.delete",
            "content_types.entries.environments.production.publish.success",
            "assets.create",
        ],
    );
    body["destinations"][0]["http_basic_auth"] = json!("deployer");
    body["destinations"][0]["http_basic_password"] = json!("s3cret");
    body["destinations"][0]["custom_header"] = json!([{"header_name": "X-Team", "value": "web"}]);
    let full = create_webhook(&app, &w, body).await;
    let secret = full["signing_secret"].as_str().unwrap().to_string();
    let mut concise = hook("Concise", &url, &["content_types.entries.create"]);
    concise["concise_payload"] = json!(true);
    let concise = create_webhook(&app, &w, concise).await;
    let mut disabled = hook("Disabled", &url, &["content_types.entries.create"]);
    disabled["disabled"] = json!(true);
    let disabled = create_webhook(&app, &w, disabled).await;
    let mut other_branch = hook("Dev branch", &url, &["content_types.entries.create"]);
    other_branch["branches"] = json!(["development"]);
    let other_branch = create_webhook(&app, &w, other_branch).await;

    let entry = new_entry(&app, &w, "First").await;
    let euid = entry["uid"].as_str().unwrap();
    // A change that fails (duplicate unique title) rolls back and enqueues nothing.
    let (s, _) = send(
        u(Method::POST, "/v3/content_types/blog/entries")
            .json(&json!({"entry": {"title": "First"}})),
    )
    .await;
    assert_eq!(s, 422);
    let (s, b) = send(
        u(
            Method::PUT,
            &format!("/v3/content_types/blog/entries/{euid}"),
        )
        .json(&json!({"entry": {"title": "First, edited"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    send(u(Method::POST, "/v3/environments").json(&json!({"environment": {"name": "production"}})))
        .await;
    let (s, b) = send(
        u(
            Method::POST,
            &format!("/v3/content_types/blog/entries/{euid}/publish"),
        )
        .json(&json!({"entry": {"environments": ["production"], "locales": ["en-us"]}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let part = reqwest::multipart::Part::bytes(&b"hello"[..])
        .file_name("a.txt")
        .mime_str("text/plain")
        .unwrap();
    let (s, b) = send(
        u(Method::POST, "/v3/assets")
            .multipart(reqwest::multipart::Form::new().part("asset[upload]", part)),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let asset_uid = b["asset"]["uid"].as_str().unwrap().to_string();
    let (s, b) = send(u(
        Method::DELETE,
        &format!("/v3/content_types/blog/entries/{euid}"),
    ))
    .await;
    assert_eq!(s, 200, "{b}");

    // Full webhook: create, update, publish, asset create, delete. Concise: create.
    let got = eventually(20, "six deliveries", || {
        let rx = rx.clone();
        async move { (rx.got().len() >= 6).then(|| rx.got()) }
    })
    .await;
    let full_uid = full["uid"].as_str().unwrap();
    let mut events: Vec<(String, String)> = Vec::new();
    for r in &got {
        let delivery = r.header("x-headwater-delivery").to_string();
        let channel = r.header("x-headwater-event").to_string();
        let v = r.json();
        assert_eq!(v["api_key"], json!(w.api_key));
        assert_eq!(v["data"]["branch"]["uid"], "main");
        assert!(v["triggered_at"].as_str().unwrap().ends_with('Z'));
        if v["data"]["entry"]["body"].is_null() && v["module"] == "entry" && v["event"] == "create"
        {
            // The concise webhook's copy: identifying fields only.
            assert_eq!(v["data"]["entry"]["uid"], json!(euid));
            assert_eq!(v["data"]["entry"]["title"], "First");
            assert_eq!(r.header("authorization"), "");
            events.push(("concise".into(), channel));
            continue;
        }
        // Signed with the webhook's secret over "{timestamp}.{body}".
        let ts = r.header("x-headwater-timestamp");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!((now - ts.parse::<i64>().unwrap()).abs() < 300);
        assert_eq!(
            r.header("x-headwater-signature"),
            format!("sha256={}", hex_hmac(&secret, ts, &r.body))
        );
        assert_ne!(
            r.header("x-headwater-signature"),
            format!("sha256={}", hex_hmac("another secret", ts, &r.body))
        );
        // Basic auth and the custom header.
        assert_eq!(r.header("authorization"), "Basic ZGVwbG95ZXI6czNjcmV0");
        assert_eq!(r.header("x-team"), "web");
        assert_eq!(r.header("content-type"), "application/json");
        assert!(!delivery.is_empty());
        events.push((
            format!(
                "{}.{}",
                v["module"].as_str().unwrap(),
                v["event"].as_str().unwrap()
            ),
            channel,
        ));
        match v["event"].as_str().unwrap() {
            "publish" => {
                assert_eq!(v["data"]["environments"], json!(["production"]));
                assert_eq!(v["data"]["locales"], json!(["en-us"]));
            }
            "update" => assert_eq!(v["data"]["entry"]["title"], "First, edited"),
            _ => {}
        }
        if v["module"] == "asset" {
            assert_eq!(v["data"]["asset"]["uid"], json!(asset_uid));
        } else {
            assert_eq!(v["data"]["entry"]["uid"], json!(euid));
            assert_eq!(v["data"]["content_type"]["uid"], "blog");
        }
    }
    events.sort();
    assert_eq!(
        events,
        vec![
            ("asset.create".to_string(), "assets.create".to_string()),
            ("concise".into(), "content_types.blog.entries.create".into()),
            (
                "entry.create".into(),
                "content_types.blog.entries.create".into()
            ),
            (
                "entry.delete".into(),
                "content_types.blog.entries.delete".into()
            ),
            (
                "entry.publish".into(),
                "content_types.blog.entries.publish".into()
            ),
            (
                "entry.update".into(),
                "content_types.blog.entries.update".into()
            ),
        ]
    );
    // Executions: exactly what was sent; nothing for the disabled webhook, the other branch,
    // or the rolled-back change.
    let full_runs = executions(&app, &w, full_uid).await;
    assert_eq!(full_runs.len(), 5);
    for run in &full_runs {
        assert_eq!(run["status"], 200, "{run}");
        assert_eq!(run["state"], "success");
        assert_eq!(run["webhooks"], json!([full_uid]));
        assert_eq!(run["request_details"].as_array().unwrap().len(), 1);
        assert_eq!(run["destination"]["http_basic_password"], "********");
    }
    assert_eq!(
        executions(&app, &w, concise["uid"].as_str().unwrap())
            .await
            .len(),
        1
    );
    assert!(executions(&app, &w, disabled["uid"].as_str().unwrap())
        .await
        .is_empty());
    assert!(executions(&app, &w, other_branch["uid"].as_str().unwrap())
        .await
        .is_empty());
    assert_eq!(rx.got().len(), 6);
}

async fn a_failing_receiver_gets_the_event_until_it_succeeds_then_on_retry(backend: TestBackend) {
    let Some(app) = spawn(backend, fast_events()).await else {
        return;
    };
    let w = world(&app).await;
    let (rx, url) = receiver(&[500, 503]).await;
    let webhook = create_webhook(
        &app,
        &w,
        hook("Flaky", &url, &["content_types.entries.create"]),
    )
    .await;
    let wuid = webhook["uid"].as_str().unwrap();
    new_entry(&app, &w, "Hello").await;
    let run = eventually(20, "a successful delivery", || async {
        executions(&app, &w, wuid)
            .await
            .into_iter()
            .find(|r| r["state"] == "success")
    })
    .await;
    // Two failures, then exactly one more delivery: the same event, the same delivery id.
    let got = rx.got();
    assert_eq!(got.len(), 3);
    let id = got[0].header("x-headwater-delivery").to_string();
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.header("x-headwater-delivery"), id);
        assert_eq!(r.header("x-headwater-attempt"), (i + 1).to_string());
        assert_eq!(r.body, got[0].body);
    }
    assert_eq!(run["uid"], json!(id));
    let statuses: Vec<i64> = run["request_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["response"]["statusCode"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, vec![500, 503, 200]);
    assert_eq!(run["retry_count"], 2);
    assert_eq!(executions(&app, &w, wuid).await.len(), 1);

    // The logs of one execution.
    let (s, b) = send(app.as_user(
        Method::GET,
        &format!("/v3/webhooks/{id}/logs"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["webhook"]["request_details"].as_array().unwrap().len(), 3);

    // Manual retries: the JS client's form, then the API docs' form.
    let (s, b) = send(
        app.as_user(
            Method::POST,
            &format!("/v3/webhooks/{wuid}/retry"),
            &w.owner,
            &w.api_key,
        )
        .json(&json!({"execution_uid": id})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Webhook retry scheduled");
    eventually(20, "the retried delivery", || async {
        (rx.got().len() == 4).then_some(())
    })
    .await;
    eventually(20, "the retry to be logged", || async {
        let run = executions(&app, &w, wuid).await.remove(0);
        (run["request_details"].as_array().unwrap().len() == 4 && run["state"] == "success")
            .then_some(())
    })
    .await;
    let (s, b) = send(app.as_user(
        Method::POST,
        &format!("/v3/webhooks/{id}/retry"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    eventually(20, "the second retried delivery", || async {
        (rx.got().len() == 5).then_some(())
    })
    .await;
    let (s, b) = send(
        app.as_user(
            Method::POST,
            &format!("/v3/webhooks/{wuid}/retry"),
            &w.owner,
            &w.api_key,
        )
        .json(&json!({"execution_uid": "unknown"})),
    )
    .await;
    assert_error(s, &b, 422, 141);
}

async fn a_restart_between_failure_and_retry_still_delivers(backend: TestBackend) {
    // The first server retries only after 3 s, so it is stopped before the retry is due.
    let slow = EventsConfig {
        retry_base: Duration::from_secs(3),
        ..fast_events()
    };
    let Some(mut app) = spawn(backend, slow).await else {
        return;
    };
    let w = world(&app).await;
    let (rx, url) = receiver(&[500]).await;
    let webhook = create_webhook(
        &app,
        &w,
        hook("Restart", &url, &["content_types.entries.create"]),
    )
    .await;
    let wuid = webhook["uid"].as_str().unwrap().to_string();
    new_entry(&app, &w, "Survives").await;
    eventually(20, "the failed first attempt to be logged", || async {
        let runs = executions(&app, &w, &wuid).await;
        runs.first()
            .filter(|r| r["attempts"] == 1 && r["state"] == "pending")
            .map(|_| ())
    })
    .await;
    app.stop().await;
    assert_eq!(
        rx.got().len(),
        1,
        "the retry was not yet due when the server stopped"
    );
    app.restart_with(fast(fast_events())).await;
    let run = eventually(20, "delivery after the restart", || async {
        executions(&app, &w, &wuid)
            .await
            .into_iter()
            .find(|r| r["state"] == "success")
    })
    .await;
    let got = rx.got();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].header("x-headwater-delivery"),
        got[1].header("x-headwater-delivery")
    );
    assert_eq!(got[1].header("x-headwater-attempt"), "2");
    assert_eq!(run["request_details"].as_array().unwrap().len(), 2);
}

/// An SMTP sink on 127.0.0.1: accepts every message; returns what it got as (recipients, data).
/// Messages an SMTP sink got: (recipients, data).
type Mails = Arc<Mutex<Vec<(Vec<String>, String)>>>;

async fn smtp_sink() -> (Mails, u16) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails: Mails = Arc::default();
    let store = mails.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut rcpts = Vec::new();
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_ascii_uppercase();
                    if cmd.starts_with("EHLO") {
                        w.write_all(b"250-sink\r\n250 8BITMIME\r\n").await.unwrap();
                    } else if cmd.starts_with("RCPT TO:") {
                        let addr = line.trim_end()[8..].trim_matches(|c| c == '<' || c == '>');
                        rcpts.push(addr.to_string());
                        w.write_all(b"250 OK\r\n").await.unwrap();
                    } else if cmd == "DATA" {
                        w.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        loop {
                            let mut l = String::new();
                            r.read_line(&mut l).await.unwrap();
                            if l == ".\r\n" {
                                break;
                            }
                            data.push_str(&l);
                        }
                        store
                            .lock()
                            .unwrap()
                            .push((std::mem::take(&mut rcpts), data));
                        w.write_all(b"250 queued\r\n").await.unwrap();
                    } else if cmd == "QUIT" {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        w.write_all(b"250 OK\r\n").await.unwrap();
                    }
                }
            });
        }
    });
    (mails, port)
}

async fn token_expiry_notices_are_events_and_emails(backend: TestBackend) {
    let (mails, port) = smtp_sink().await;
    let events = EventsConfig {
        notice_interval: Duration::from_millis(200),
        smtp: Some(headwater_api::smtp::SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            from: "headwater@example.com".into(),
        }),
        ..fast_events()
    };
    let Some(app) = spawn(backend, events).await else {
        return;
    };
    let w = world(&app).await;
    app.member("admin@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "admin@example.com", "Admin")
        .await;
    app.member("dev@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "dev@example.com", "Developer")
        .await;
    let (rx, url) = receiver(&[]).await;
    create_webhook(
        &app,
        &w,
        hook(
            "Token notices",
            &url,
            &["management_tokens.expiring", "management_tokens.expired"],
        ),
    )
    .await;
    let at = |secs: i64| {
        headwater_core::clock::format(
            time::OffsetDateTime::now_utc() + time::Duration::seconds(secs),
        )
    };
    let scope = json!([{"module": "$all", "acl": {"read": true}}]);
    let make = |name: &str, expires_on: String, notify: bool| {
        let scope = scope.clone();
        let name = name.to_string();
        let app = &app;
        let w = &w;
        async move {
            let (s, b) = app
                .create_token(
                    &w.owner,
                    &w.api_key,
                    json!({"name": name, "scope": scope,
                    "expires_on": expires_on, "is_email_notification_enabled": notify}),
                )
                .await;
            assert_eq!(s, 201, "{b}");
            b["token"]["uid"].as_str().unwrap().to_string()
        }
    };
    let soon = make("soon", at(3 * 86_400), true).await;
    let brief = make("brief", at(3), true).await;
    make("quiet", at(3 * 86_400), false).await;
    make("later", at(30 * 86_400), true).await;

    // "soon" and "brief" get "expiring"; "brief" then gets "expired". Nothing else.
    let got = eventually(30, "three notices", || async {
        (rx.got().len() >= 3).then(|| rx.got())
    })
    .await;
    let mut seen: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            let v = r.json();
            assert_eq!(v["module"], "management_token");
            assert_eq!(v["api_key"], json!(w.api_key));
            assert_eq!(
                r.header("x-headwater-event"),
                format!("management_tokens.{}", v["event"].as_str().unwrap())
            );
            (
                v["data"]["token"]["uid"].as_str().unwrap().to_string(),
                v["event"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let mut want = vec![
        (soon.clone(), "expiring".to_string()),
        (brief.clone(), "expiring".to_string()),
        (brief.clone(), "expired".to_string()),
    ];
    want.sort();
    assert_eq!(seen, want);

    // One email per notice, to the owner and the admin (not the developer).
    let sent = eventually(30, "three emails", || async {
        let m = mails.lock().unwrap().clone();
        (m.len() >= 3).then_some(m)
    })
    .await;
    assert_eq!(sent.len(), 3);
    for (rcpts, data) in &sent {
        let mut r = rcpts.clone();
        r.sort();
        assert_eq!(r, vec!["admin@example.com", "owner@example.com"]);
        assert!(data.contains("Subject: Management token"), "{data}");
        assert!(data.contains("From: <headwater@example.com>"), "{data}");
    }
    assert!(sent
        .iter()
        .any(|(_, d)| d.contains("\"brief\" has expired")));
    assert!(sent
        .iter()
        .any(|(_, d)| d.contains("\"soon\" expires soon")));
    // The notices are recorded: no scan sends them again.
    let mut c = app.db.reader().await.unwrap();
    let n = headwater_store::repo::token_notices::due(
        &mut c,
        headwater_store::repo::token_notices::Kind::Expiring,
        &headwater_core::clock::now(),
        &at(7 * 86_400),
        100,
    )
    .await
    .unwrap();
    assert!(n.is_empty(), "{n:?}");
}

async fn workflow_stage_changes_and_publish_requests_are_events(backend: TestBackend) {
    let Some(app) = spawn(backend, fast_events()).await else {
        return;
    };
    let w = world(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    let (_, me) = send(u(Method::GET, "/v3/user")).await;
    let owner_uid = me["user"]["uid"].as_str().unwrap().to_string();
    let (got, url) = receiver(&[]).await;
    let mut body = hook(
        "workflow",
        &url,
        &[
            "content_types.entries.workflow_stage_change",
            "content_types.blog.entries.publish_request",
        ],
    );
    body["concise_payload"] = json!(false);
    create_webhook(&app, &w, body).await;
    let (s, _) = send(
        u(Method::POST, "/v3/environments").json(&json!({"environment": {"name": "production"}})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, b) = send(u(Method::POST, "/v3/workflows").json(&json!({"workflow": {
        "name": "Editorial", "content_types": ["blog"],
        "workflow_stages": [{"uid": "draft", "name": "Draft"}]}})))
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = send(u(Method::POST, "/v3/workflows/publishing_rules").json(
        &json!({"publishing_rule": {
            "environment": "production", "actions": ["publish"], "content_types": ["blog"],
            "approvers": {"users": [owner_uid]}}}),
    ))
    .await;
    assert_eq!(s, 201, "{b}");
    let rule = b["publishing_rule"]["uid"].as_str().unwrap().to_string();
    let entry = new_entry(&app, &w, "Hello").await;
    let uid = entry["uid"].as_str().unwrap();
    let wf = format!("/v3/content_types/blog/entries/{uid}/workflow?locale=en-us");
    let (s, b) = send(
        u(Method::POST, &wf)
            .json(&json!({"workflow": {"workflow_stage": {"uid": "draft", "comment": "start"}}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // A token's publish becomes a request; the owner, the rule's approver, accepts it.
    let (mt, _) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let (s, b) = send(
        app.with_token(
            Method::POST,
            &format!("/v3/content_types/blog/entries/{uid}/publish"),
            &mt,
            &w.api_key,
        )
        .json(&json!({"entry": {"environments": ["production"], "locales": ["en-us"]}})),
    )
    .await;
    assert_eq!(s, 202, "{b}");
    let (s, b) = send(
        u(Method::POST, &wf).json(&json!({"workflow": {"publishing_rule": {
        "uid": rule, "action": "publish", "status": 1, "comment": "fine"}}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");

    let deliveries = eventually(10, "three workflow deliveries", || {
        let got = got.clone();
        async move { (got.got().len() >= 3).then(|| got.got()) }
    })
    .await;
    // Deliveries are independent (at least once, not ordered): compare them sorted.
    let mut seen: Vec<(String, String)> = deliveries
        .iter()
        .map(|d| {
            let v = d.json();
            let status = v["data"]["publish_request"]["status"]
                .as_str()
                .unwrap_or("")
                .to_string();
            (v["event"].as_str().unwrap().to_string(), status)
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("publish_request".to_string(), "approved".to_string()),
            ("publish_request".to_string(), "pending".to_string()),
            ("workflow_stage_change".to_string(), String::new()),
        ]
    );
    let stage = deliveries
        .iter()
        .map(Received::json)
        .find(|v| v["event"] == "workflow_stage_change")
        .unwrap();
    assert_eq!(stage["data"]["entry"]["_workflow"]["uid"], "draft");
    // Publish request events carry the request as the entry's workflow shows it.
    let (_, details) = send(u(Method::GET, &wf)).await;
    let requests = &details["workflow"]["publish_requests"];
    for d in deliveries.iter().map(Received::json) {
        if d["event"] == "publish_request" {
            let r = &d["data"]["publish_request"];
            assert_eq!(r["environment_name"], "production", "{d}");
            assert!(
                requests
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["uid"] == r["uid"]),
                "{d}"
            );
        }
    }
    assert_eq!(stage["data"]["entry"]["uid"], uid);
}

/// Fast event settings without the test default's loopback allowance: the server's own
/// defaults for webhook targets.
fn no_internal_targets() -> ServerConfig {
    ServerConfig {
        webhook_allow_cidrs: Vec::new(),
        ..fast(fast_events())
    }
}

async fn sec_01_webhook_targets_on_internal_addresses_are_refused(backend: TestBackend) {
    let Some(app) = TestApp::spawn_with(backend, no_internal_targets()).await else {
        return;
    };
    let w = world(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    let (rx, url) = receiver(&[]).await;
    let port = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/hook");
    let targets = [
        url.clone(),
        format!("http://[::1]:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        format!("http://LOCALHOST.:{port}/hook"),
        format!("http://0.0.0.0:{port}/hook"),
        format!("http://2130706433:{port}/hook"),
        format!("http://0x7f000001:{port}/hook"),
        format!("http://127.1:{port}/hook"),
        format!("http://0177.0.0.1:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        format!("http://[::ffff:7f00:1]:{port}/hook"),
        // Headwater itself.
        format!("{}/v3/user-session", app.base),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://[fd00:ec2::254]/latest/meta-data/".to_string(),
        "http://10.0.0.1/hook".to_string(),
        "http://172.16.0.1/hook".to_string(),
        "http://192.168.1.1/hook".to_string(),
        "http://100.64.0.1/hook".to_string(),
        "https://224.0.0.1/hook".to_string(),
        "http://255.255.255.255/hook".to_string(),
        "http://[fe80::1]/hook".to_string(),
    ];
    for target in &targets {
        let (s, b) = send(u(Method::POST, "/v3/webhooks").json(
            &json!({"webhook": hook("internal", target, &["content_types.entries.create"])}),
        ))
        .await;
        assert_error(s, &b, 422, 120);
        let msg = b["errors"]["destinations[0].target_url"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{target}: {b}"));
        assert!(
            msg.contains("internal address") && msg.contains("--webhook-allow-cidr"),
            "{target}: {msg}"
        );
    }
    // The kind of address is named.
    let (_, b) = send(
        u(Method::POST, "/v3/webhooks")
            .json(&json!({"webhook": hook("x", "http://169.254.169.254/", &["assets.create"])})),
    )
    .await;
    let msg = b["errors"]["destinations[0].target_url"][0].to_string();
    assert!(msg.contains("169.254.169.254 is a link-local"), "{msg}");
    let (_, b) = send(u(Method::POST, "/v3/webhooks").json(
        &json!({"webhook": hook("x", &format!("http://localhost:{port}/hook"), &["assets.create"])}),
    ))
    .await;
    let msg = b["errors"]["destinations[0].target_url"][0].to_string();
    assert!(msg.contains("localhost resolves to"), "{msg}");
    assert!(msg.contains("loopback"), "{msg}");
    // A refused destination among allowed ones is named by its position.
    let mut two = hook("two", "http://10.1.2.3/", &["assets.create"]);
    two["destinations"] = json!([
        {"target_url": "http://192.168.0.10/"},
        {"target_url": "http://127.0.0.1:9/"}
    ]);
    let (s, b) = send(u(Method::POST, "/v3/webhooks").json(&json!({ "webhook": two }))).await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["destinations[0].target_url"].is_array(), "{b}");

    // Nothing was saved, and so nothing is delivered.
    let (s, b) = send(u(Method::GET, "/v3/webhooks?include_count=true")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], 0, "{b}");
    new_entry(&app, &w, "Nobody hears this").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.got().is_empty());
}

async fn sec_01_refused_targets_are_never_contacted_at_send_time(backend: TestBackend) {
    // Saved while the server allows loopback receivers (the test default) …
    let Some(mut app) = spawn(backend, fast_events()).await else {
        return;
    };
    let w = world(&app).await;
    let (rx, url) = receiver(&[]).await;
    let by_name = url.replace("127.0.0.1", "localhost");
    let channels = ["content_types.entries.create"];
    let literal = create_webhook(&app, &w, hook("literal", &url, &channels)).await;
    let named = create_webhook(&app, &w, hook("named", &by_name, &channels)).await;
    // … delivered by a server that does not. The IP host is refused before sending; the
    // name is resolved, and its loopback addresses refused, when connecting.
    app.restart_with(no_internal_targets()).await;
    new_entry(&app, &w, "Not for loopback").await;
    for (webhook, why) in [
        (&literal, "127.0.0.1 is a loopback address"),
        (&named, "localhost resolves to"),
    ] {
        let wuid = webhook["uid"].as_str().unwrap();
        let run = eventually(20, "the refused delivery to be logged", || async {
            executions(&app, &w, wuid)
                .await
                .into_iter()
                .find(|r| r["state"] != "pending")
        })
        .await;
        // Failed at once, not retried: the target cannot become allowed by waiting.
        assert_eq!(run["state"], "failed", "{run}");
        assert_eq!(run["status"], 0, "{run}");
        assert_eq!(run["attempts"], 1, "{run}");
        let attempt = &run["request_details"][0];
        let error = attempt["error"].as_str().unwrap_or_default();
        assert!(error.starts_with("refused, not sent: "), "{run}");
        assert!(error.contains(why) && error.contains("loopback"), "{run}");
        assert_eq!(attempt["response"]["statusCode"], 0, "{run}");
        assert_eq!(attempt["response"]["body"], "", "{run}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.got().is_empty(), "the receiver was contacted");
    // Saving the webhook again (even unchanged) is refused on this server.
    let wuid = literal["uid"].as_str().unwrap();
    let (s, b) = send(
        app.as_user(
            Method::PUT,
            &format!("/v3/webhooks/{wuid}"),
            &w.owner,
            &w.api_key,
        )
        .json(&json!({"webhook": {"name": "renamed", "destinations": literal["destinations"]}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["destinations[0].target_url"].is_array(), "{b}");
}

async fn sec_02_a_stored_password_stays_with_its_origin(backend: TestBackend) {
    let Some(app) = spawn(backend, fast_events()).await else {
        return;
    };
    let w = world(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    let (rx_a, url_a) = receiver(&[]).await;
    let (rx_b, url_b) = receiver(&[]).await;
    let mut body = hook("Deploy", &url_a, &["content_types.entries.create"]);
    body["destinations"][0]["http_basic_auth"] = json!("deployer");
    body["destinations"][0]["http_basic_password"] = json!("s3cret");
    let created = create_webhook(&app, &w, body).await;
    let uid = created["uid"].as_str().unwrap().to_string();
    let path = format!("/v3/webhooks/{uid}");
    let stored = || async {
        let (s, b) = send(u(Method::GET, &path)).await;
        assert_eq!(s, 200, "{b}");
        let mut c = app.db.reader().await.unwrap();
        let sid = headwater_store::repo::stacks::by_api_key(&mut c, &w.api_key)
            .await
            .unwrap()
            .unwrap()
            .uid;
        let h = headwater_store::repo::webhooks::get(&mut c, &sid, &uid)
            .await
            .unwrap()
            .unwrap();
        (b["webhook"].clone(), h.destinations[0].clone())
    };
    let (fetched, before) = stored().await;
    assert_eq!(
        fetched["destinations"][0]["http_basic_password"],
        "********"
    );

    // Another origin with the masked password echoed back: refused, nothing changed.
    let mut moved = fetched.clone();
    moved["destinations"][0]["target_url"] = json!(url_b);
    moved["name"] = json!("Moved");
    let (s, b) = send(u(Method::PUT, &path).json(&json!({ "webhook": moved }))).await;
    assert_error(s, &b, 422, 120);
    let msg = b["errors"]["destinations[0].http_basic_password"][0]
        .as_str()
        .unwrap_or_else(|| panic!("{b}"));
    assert!(msg.contains("must be sent again"), "{msg}");
    let (after, stored_dest) = stored().await;
    assert_eq!(after["name"], "Deploy");
    assert_eq!(stored_dest, before);
    assert_eq!(stored_dest["target_url"], json!(url_a));
    assert_eq!(stored_dest["http_basic_password"], "s3cret");
    // Other schemes and hosts of the same address are other origins too.
    for other in [
        url_a.replace("http://", "https://"),
        url_a.replace("127.0.0.1", "localhost"),
    ] {
        let mut m = fetched.clone();
        m["destinations"][0]["target_url"] = json!(other);
        let (s, b) = send(u(Method::PUT, &path).json(&json!({ "webhook": m }))).await;
        assert_error(s, &b, 422, 120);
        assert!(
            b["errors"]["destinations[0].http_basic_password"].is_array(),
            "{other}: {b}"
        );
    }

    // The same origin, another path, masked password: the stored password is kept.
    let mut same = fetched.clone();
    same["destinations"][0]["target_url"] = json!(url_a.replace("/hook", "/hook2"));
    let (s, b) = send(u(Method::PUT, &path).json(&json!({ "webhook": same }))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(stored().await.1["http_basic_password"], "s3cret");
    new_entry(&app, &w, "Same origin").await;
    let got = eventually(20, "the delivery to the same origin", || async {
        rx_a.got().first().cloned()
    })
    .await;
    // deployer:s3cret
    assert_eq!(got.header("authorization"), "Basic ZGVwbG95ZXI6czNjcmV0");

    // Another origin with the password sent again: accepted, and delivered with it.
    let mut moved = fetched.clone();
    moved["destinations"][0]["target_url"] = json!(url_b);
    moved["destinations"][0]["http_basic_password"] = json!("n3w");
    let (s, b) = send(u(Method::PUT, &path).json(&json!({ "webhook": moved }))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["webhook"]["destinations"][0]["target_url"], json!(url_b));
    new_entry(&app, &w, "New origin").await;
    let got = eventually(20, "the delivery to the new origin", || async {
        rx_b.got().first().cloned()
    })
    .await;
    // deployer:n3w
    assert_eq!(got.header("authorization"), "Basic ZGVwbG95ZXI6bjN3");
    assert_eq!(rx_a.got().len(), 1);
}
