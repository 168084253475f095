//! Publishing on both backends, whichever way it happens (a single entry or asset publish, a
//! bulk publish, a release deploy, an accepted publish request): the per-environment publish
//! webhook events fire on every path, a version that does not exist is refused the same way
//! everywhere, `version` is read one way, and a publish request has one shape.

use headwater_api::state::EventsConfig;
use headwater_api::ServerConfig;
use headwater_testkit::{assert_error, send, test_config, TestApp, TestBackend};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Declares `NAME::sqlite` and `NAME::postgres`, each given a server with fast event settings.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::run(super::TestBackend::Sqlite, super::$name).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::run(super::TestBackend::Postgres, super::$name).await;
                }
            }
        )*
    };
}

both!(
    every_publish_path_sends_the_environment_publish_events,
    every_publish_path_refuses_a_missing_version_the_same_way,
    version_is_read_one_way_on_every_path,
    a_publish_request_has_one_shape,
);

async fn run<F, Fut>(backend: TestBackend, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let config = ServerConfig {
        events: EventsConfig {
            poll_interval: Duration::from_millis(50),
            retry_base: Duration::from_millis(200),
            max_attempts: 5,
            request_timeout: Duration::from_secs(5),
            notice_days: 7,
            notice_interval: Duration::from_secs(3600),
            smtp: None,
            ..EventsConfig::default()
        },
        ..test_config()
    };
    // No PostgreSQL configured: the PostgreSQL half is skipped, as `on_both_backends!` does.
    if let Some(app) = TestApp::spawn_with(backend, config).await {
        test(app).await;
    }
}

struct World {
    owner: String,
    owner_uid: String,
    api_key: String,
}

impl World {
    fn u(&self, app: &TestApp, m: Method, p: &str) -> reqwest::RequestBuilder {
        app.as_user(m, p, &self.owner, &self.api_key)
    }

    async fn entry(&self, app: &TestApp, ct: &str, title: &str) -> String {
        let (s, b) = send(
            self.u(
                app,
                Method::POST,
                &format!("/v3/content_types/{ct}/entries"),
            )
            .json(&json!({"entry": {"title": title}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        b["entry"]["uid"].as_str().unwrap().to_string()
    }

    async fn asset(&self, app: &TestApp, name: &str) -> String {
        let form = Form::new().part(
            "asset[upload]",
            Part::bytes(name.as_bytes().to_vec())
                .file_name(format!("{name}.txt"))
                .mime_str("text/plain")
                .unwrap(),
        );
        let (s, b) = send(self.u(app, Method::POST, "/v3/assets").multipart(form)).await;
        assert_eq!(s, 201, "{b}");
        b["asset"]["uid"].as_str().unwrap().to_string()
    }

    async fn release(&self, app: &TestApp, items: Value) -> String {
        let (s, b) = send(
            self.u(app, Method::POST, "/v3/releases")
                .json(&json!({"release": {"name": "Launch"}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        let rel = b["release"]["uid"].as_str().unwrap().to_string();
        let (s, b) = send(
            self.u(app, Method::POST, &format!("/v3/releases/{rel}/items"))
                .json(&json!({ "items": items })),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        rel
    }

    /// A publish rule: publishing `ct` to production needs the owner's approval.
    async fn rule(&self, app: &TestApp, ct: &str) -> String {
        let (s, b) = send(
            self.u(app, Method::POST, "/v3/workflows/publishing_rules")
                .json(&json!({"publishing_rule": {
                    "environment": "production", "actions": ["publish"], "content_types": [ct],
                    "approvers": {"users": [self.owner_uid]}}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        b["publishing_rule"]["uid"].as_str().unwrap().to_string()
    }
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Site").await;
    let (_, me) = send(app.as_user(Method::GET, "/v3/user", &owner, &api_key)).await;
    let w = World {
        owner_uid: me["user"]["uid"].as_str().unwrap().to_string(),
        owner,
        api_key,
    };
    let (s, b) = send(
        w.u(app, Method::POST, "/v3/environments")
            .json(&json!({"environment": {"name": "production"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    for ct in ["page", "gated"] {
        let (s, b) = send(w.u(app, Method::POST, "/v3/content_types").json(
            &json!({"content_type": {"title": ct, "uid": ct, "schema": [
                {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}]}}),
        ))
        .await;
        assert_eq!(s, 201, "{b}");
    }
    w
}

/// A webhook receiver on 127.0.0.1 keeping the bodies it gets; returns its URL.
async fn receiver() -> (Arc<Mutex<Vec<Value>>>, String) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let store = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                let v: Value = serde_json::from_slice(&body).expect("delivery body is JSON");
                store.lock().unwrap().push(v);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (got, url)
}

fn to_production() -> Value {
    json!({"environments": ["production"], "locales": ["en-us"]})
}

async fn every_publish_path_sends_the_environment_publish_events(app: TestApp) {
    let w = world(&app).await;
    let (got, url) = receiver().await;
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/webhooks")
            .json(&json!({"webhook": {
        "name": "live", "branches": ["main"], "retry_policy": "manual", "notifiers": [],
        "disabled": false, "concise_payload": true,
        "destinations": [{"target_url": url, "http_basic_auth": "", "http_basic_password": "",
                          "custom_header": [{"header_name": "", "value": ""}]}],
        "channels": ["content_types.entries.environments.production.publish.success",
                     "assets.environments.production.publish.success"]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");

    let single = w.entry(&app, "page", "Single").await;
    let bulk = w.entry(&app, "page", "Bulk").await;
    let released = w.entry(&app, "page", "Released").await;
    let requested = w.entry(&app, "gated", "Requested").await;
    let single_asset = w.asset(&app, "single").await;
    let bulk_asset = w.asset(&app, "bulk").await;
    let released_asset = w.asset(&app, "released").await;

    // Single entry and asset publishes.
    let (s, b) = send(
        w.u(
            &app,
            Method::POST,
            &format!("/v3/content_types/page/entries/{single}/publish"),
        )
        .json(&json!({ "entry": to_production() })),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(
        w.u(
            &app,
            Method::POST,
            &format!("/v3/assets/{single_asset}/publish"),
        )
        .json(&json!({ "asset": to_production() })),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // Bulk.
    let (s, b) = send(w.u(&app, Method::POST, "/v3/bulk/publish").json(&json!({
        "entries": [{"uid": bulk, "content_type": "page", "locale": "en-us"}],
        "assets": [{"uid": bulk_asset}],
        "locales": ["en-us"], "environments": ["production"]})))
    .await;
    assert_eq!(s, 200, "{b}");
    // Release deploy.
    let rel = w
        .release(
            &app,
            json!([{"uid": released, "content_type_uid": "page"}, {"uid": released_asset}]),
        )
        .await;
    let (s, b) = send(
        w.u(&app, Method::POST, &format!("/v3/releases/{rel}/deploy"))
            .json(&json!({"release": {"environments": ["production"]}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // A publish request, sent by a token and accepted by the rule's approver.
    let rule = w.rule(&app, "gated").await;
    let (mt, _) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let (s, b) = send(
        app.with_token(
            Method::POST,
            &format!("/v3/content_types/gated/entries/{requested}/publish"),
            &mt,
            &w.api_key,
        )
        .json(&json!({ "entry": to_production() })),
    )
    .await;
    assert_eq!(s, 202, "{b}");
    let (s, b) = send(
        w.u(
            &app,
            Method::POST,
            &format!("/v3/content_types/gated/entries/{requested}/workflow?locale=en-us"),
        )
        .json(&json!({"workflow": {"publishing_rule": {
            "uid": rule, "action": "publish", "status": 1, "comment": "fine"}}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");

    let mut want: Vec<(String, String)> = [
        ("entry", &single),
        ("entry", &bulk),
        ("entry", &released),
        ("entry", &requested),
        ("asset", &single_asset),
        ("asset", &bulk_asset),
        ("asset", &released_asset),
    ]
    .iter()
    .map(|(m, u)| (m.to_string(), u.to_string()))
    .collect();
    want.sort();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let mut seen: Vec<(String, String)> = got
            .lock()
            .unwrap()
            .iter()
            .map(|v| {
                let module = v["module"].as_str().unwrap_or("").to_string();
                let uid = v["data"][&module]["uid"].as_str().unwrap_or("").to_string();
                (module, uid)
            })
            .collect();
        seen.sort();
        seen.dedup(); // delivery is at least once
        if seen.len() >= want.len() || tokio::time::Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(seen, want, "one publish event per item and path");
    for v in got.lock().unwrap().iter() {
        assert_eq!(v["event"], "publish", "{v}");
        assert_eq!(v["data"]["environments"], json!(["production"]), "{v}");
    }
}

/// Asserts the refusal of a version that does not exist: 422, code 120, the version's path.
fn assert_missing_version(s: u16, b: &Value, key: &str, what: &str) {
    assert_error(s, b, 422, 120);
    let msgs = b["errors"][key]
        .as_array()
        .unwrap_or_else(|| panic!("errors[{key}] in {b}"));
    let m = msgs[0].as_str().unwrap();
    assert!(
        m.starts_with(&format!("version 9 of {what} '")) && m.ends_with("' doesn't exist."),
        "{key}: {b}"
    );
}

async fn every_publish_path_refuses_a_missing_version_the_same_way(app: TestApp) {
    let w = world(&app).await;
    let entry = w.entry(&app, "page", "Home").await;
    let asset = w.asset(&app, "logo").await;
    let entry_path = format!("/v3/content_types/page/entries/{entry}");
    let at_nine = |mut v: Value| {
        v["version"] = json!(9);
        v
    };

    let (s, b) = send(
        w.u(&app, Method::POST, &format!("{entry_path}/publish"))
            .json(&at_nine(json!({ "entry": to_production() }))),
    )
    .await;
    assert_missing_version(s, &b, "version", "entry");
    let (s, b) = send(
        w.u(&app, Method::POST, &format!("/v3/assets/{asset}/publish"))
            .json(&at_nine(json!({ "asset": to_production() }))),
    )
    .await;
    assert_missing_version(s, &b, "version", "asset");
    let (s, b) = send(w.u(&app, Method::POST, "/v3/bulk/publish").json(&json!({
        "entries": [{"uid": entry, "content_type": "page", "version": 9}],
        "assets": [{"uid": asset, "version": 9}],
        "locales": ["en-us"], "environments": ["production"]})))
    .await;
    assert_missing_version(s, &b, "entries[0].version", "entry");
    assert_missing_version(s, &b, "assets[0].version", "asset");
    let rel = w
        .release(
            &app,
            json!([{"uid": entry, "content_type_uid": "page", "version": 9},
                   {"uid": asset, "version": 9}]),
        )
        .await;
    let (s, b) = send(
        w.u(&app, Method::POST, &format!("/v3/releases/{rel}/deploy"))
            .json(&json!({"release": {"environments": ["production"]}})),
    )
    .await;
    assert_missing_version(s, &b, "items[0].version", "entry");
    assert_missing_version(s, &b, "items[1].version", "asset");

    // Nothing went live.
    for p in [entry_path, format!("/v3/assets/{asset}")] {
        let (s, b) = send(w.u(&app, Method::GET, &p)).await;
        assert_eq!(s, 200, "{b}");
        let item = if b.get("entry").is_some() {
            &b["entry"]
        } else {
            &b["asset"]
        };
        assert_eq!(item["publish_details"], json!([]), "{b}");
    }
}

async fn version_is_read_one_way_on_every_path(app: TestApp) {
    let w = world(&app).await;
    let entry = w.entry(&app, "page", "Home").await;
    let asset = w.asset(&app, "logo").await;
    let entry_path = format!("/v3/content_types/page/entries/{entry}");
    let asset_path = format!("/v3/assets/{asset}");
    // A whole number of at least 1, as a number or a string of digits, is a version everywhere.
    for v in [json!(1), json!("1")] {
        let (s, b) = send(
            w.u(&app, Method::POST, &format!("{entry_path}/publish"))
                .json(&json!({"entry": to_production(), "version": v})),
        )
        .await;
        assert_eq!(s, 200, "{v}: {b}");
        let (s, b) = send(
            w.u(&app, Method::POST, &format!("{asset_path}/publish"))
                .json(&json!({"asset": to_production(), "version": v})),
        )
        .await;
        assert_eq!(s, 200, "{v}: {b}");
        let (s, b) = send(w.u(&app, Method::POST, "/v3/bulk/publish").json(&json!({
            "entries": [{"uid": entry, "content_type": "page", "version": v}],
            "assets": [{"uid": asset, "version": v}],
            "locales": ["en-us"], "environments": ["production"]})))
        .await;
        assert_eq!(s, 200, "{v}: {b}");
    }
    let rel = w
        .release(
            &app,
            json!([{"uid": entry, "content_type_uid": "page", "version": "1"}]),
        )
        .await;
    let (_, b) = send(w.u(&app, Method::GET, &format!("/v3/releases/{rel}"))).await;
    assert_eq!(b["release"]["items"][0]["version"], 1, "{b}");

    // Anything else is refused on every path, at the version's own path.
    for v in [
        json!(0),
        json!(-1),
        json!(1.5),
        json!("x"),
        json!("1.0"),
        json!(true),
    ] {
        let (s, b) = send(
            w.u(&app, Method::POST, &format!("{entry_path}/publish"))
                .json(&json!({"entry": to_production(), "version": v})),
        )
        .await;
        assert_error(s, &b, 422, 120);
        assert!(b["errors"]["version"].is_array(), "entry {v}: {b}");
        let (s, b) = send(
            w.u(&app, Method::POST, &format!("{asset_path}/publish"))
                .json(&json!({"asset": to_production(), "version": v})),
        )
        .await;
        assert_error(s, &b, 422, 120);
        assert!(b["errors"]["version"].is_array(), "asset {v}: {b}");
        let (s, b) = send(w.u(&app, Method::POST, "/v3/bulk/publish").json(&json!({
            "entries": [{"uid": entry, "content_type": "page", "version": v}],
            "assets": [{"uid": asset, "version": v}],
            "locales": ["en-us"], "environments": ["production"]})))
        .await;
        assert_error(s, &b, 422, 120);
        assert!(
            b["errors"]["entries[0].version"].is_array(),
            "bulk {v}: {b}"
        );
        assert!(b["errors"]["assets[0].version"].is_array(), "bulk {v}: {b}");
        let (s, b) = send(
            w.u(&app, Method::POST, &format!("/v3/releases/{rel}/items"))
                .json(
                    &json!({"items": [{"uid": entry, "content_type_uid": "page", "version": v}]}),
                ),
        )
        .await;
        assert_error(s, &b, 422, 120);
        assert!(
            b["errors"]["items[0].version"].is_array(),
            "release {v}: {b}"
        );
    }
}

async fn a_publish_request_has_one_shape(app: TestApp) {
    let w = world(&app).await;
    let entry = w.entry(&app, "gated", "Home").await;
    w.rule(&app, "gated").await;
    let (mt, _) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let path = format!("/v3/content_types/gated/entries/{entry}");
    let (s, b) = send(
        app.with_token(Method::POST, &format!("{path}/publish"), &mt, &w.api_key)
            .json(&json!({ "entry": to_production() })),
    )
    .await;
    assert_eq!(s, 202, "{b}");
    let sent = b["publish_requests"].as_array().unwrap().clone();
    assert_eq!(sent.len(), 1, "{b}");
    let (s, b) = send(w.u(&app, Method::GET, &format!("{path}/workflow?locale=en-us"))).await;
    assert_eq!(s, 200, "{b}");
    let listed = b["workflow"]["publish_requests"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        sent, listed,
        "the 202 and GET …/workflow show one request shape"
    );
    assert_eq!(sent[0]["environment_name"], "production");
    assert_eq!(sent[0]["status"], "pending");
}
