//! Scale-out (issue 18), with the real `headwater` process.
//!
//! - `three_instances_behave_as_one`: three `headwater serve` processes on one PostgreSQL
//!   database and the local Redis. Runs when `HEADWATER_TEST_POSTGRES_URL` is set and Redis
//!   answers at `HEADWATER_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`).
//! - `operations_*`: what applies to one instance (metrics, readiness, JSON logs, the
//!   fall-back when Redis is down), on SQLite and, when configured, on PostgreSQL.
#![cfg(unix)]

mod common;

use common::{run_ok, scratch, BIN, EMAIL, PASSWORD};
use headwater_store::Backend;
use headwater_testkit::fresh_database_url;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Server {
    child: Child,
    base: String,
    metrics: Option<String>,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A database of `backend` with its first user (`None` when PostgreSQL is not configured);
/// returns the URL and the organization's uid.
async fn database(backend: Backend, dir: &Path) -> Option<(String, String)> {
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("data/headwater.db").display()),
        Backend::Postgres => fresh_database_url(backend).await?,
    };
    run_ok(&["migrate"], &url);
    let out = run_ok(
        &["user", "create", "--email", EMAIL, "--org-name", "Org"],
        &url,
    );
    let org = out
        .lines()
        .find_map(|l| l.strip_prefix("organization_uid: "))
        .expect("organization uid")
        .trim()
        .to_string();
    Some((url, org))
}

/// `headwater serve` on `url` with `args`, logging to `dir/name.log`.
async fn serve(url: &str, dir: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
    let log = dir.join(format!("{name}.log"));
    let log_file = std::fs::File::create(&log).expect("log file");
    let mut cmd = Command::new(BIN);
    cmd.arg("--database-url")
        .arg(url)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--assets-dir"])
        .arg(dir.join(format!("data/assets-{name}")))
        .args(args)
        .env("HEADWATER_LOG", "info,sqlx=warn")
        .env_remove("HEADWATER_REDIS_URL")
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("start headwater serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (base, metrics) = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let after = |marker: &str| {
            text.find(marker).map(|i| {
                let rest = &text[i + marker.len()..];
                rest[..rest.find('/').expect("/")].to_string()
            })
        };
        if let Some(host) = after("Headwater CMA listening on http://") {
            let wants_metrics = args.contains(&"--metrics-listen");
            let metrics = after("Headwater metrics listening on http://");
            if !wants_metrics || metrics.is_some() {
                break (
                    format!("http://{host}"),
                    metrics.map(|m| format!("http://{m}")),
                );
            }
        }
        assert!(
            Instant::now() < deadline,
            "the server did not start: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    Server {
        child,
        base,
        metrics,
        log,
    }
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = client.request(method, url);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Logs in, creates a stack; returns (authtoken, api_key).
async fn owner_and_stack(client: &reqwest::Client, base: &str, org: &str) -> (String, String) {
    let (s, b) = call(
        client,
        reqwest::Method::POST,
        format!("{base}/v3/user-session"),
        &[],
        Some(json!({"user": {"email": EMAIL, "password": PASSWORD}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let authtoken = b["user"]["authtoken"].as_str().unwrap().to_string();
    let (s, b) = call(
        client,
        reqwest::Method::POST,
        format!("{base}/v3/stacks"),
        &[("authtoken", &authtoken), ("organization_uid", org)],
        Some(json!({"stack": {"name": "Site", "master_locale": "en-us"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    (
        authtoken,
        b["stack"]["api_key"].as_str().unwrap().to_string(),
    )
}

async fn create_token(
    client: &reqwest::Client,
    base: &str,
    authtoken: &str,
    api_key: &str,
    token: Value,
) -> (u16, Value) {
    call(
        client,
        reqwest::Method::POST,
        format!("{base}/v3/stacks/management_tokens"),
        &[("authtoken", authtoken), ("api_key", api_key)],
        Some(json!({ "token": token })),
    )
    .await
}

/// A read-only token; returns (secret, uid).
async fn ro_token(
    client: &reqwest::Client,
    base: &str,
    authtoken: &str,
    api_key: &str,
    name: &str,
) -> (String, String) {
    let (s, b) = create_token(
        client,
        base,
        authtoken,
        api_key,
        json!({"name": name, "scope": [{"module": "$all", "acl": {"read": true}}], "expires_on": null}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    (
        b["token"]["token"].as_str().unwrap().to_string(),
        b["token"]["uid"].as_str().unwrap().to_string(),
    )
}

/// A token read on `base`: the status only.
async fn token_read(client: &reqwest::Client, base: &str, secret: &str, api_key: &str) -> u16 {
    client
        .get(format!("{base}/v3/content_types"))
        .header("authorization", secret)
        .header("api_key", api_key)
        .send()
        .await
        .expect("read")
        .status()
        .as_u16()
}

fn redis_url() -> String {
    std::env::var("HEADWATER_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// True when something accepts connections at the Redis URL's host and port.
async fn redis_answers(url: &str) -> bool {
    let hostport = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_string();
    let Ok(Ok(mut s)) = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(&hostport),
    )
    .await
    else {
        return false;
    };
    let _ = s.write_all(b"PING\r\n").await;
    let mut buf = [0u8; 16];
    matches!(
        tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await,
        Ok(Ok(n)) if buf[..n].starts_with(b"+PONG")
    )
}

/// A webhook receiver on 127.0.0.1 that answers 200 and keeps every body.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    let Ok(n) = s.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        let body = &buf[end + 4..end + 4 + len];
                        if let Ok(v) = serde_json::from_slice::<Value>(body) {
                            keep.lock().unwrap().push(v);
                        }
                        let _ = s
                            .write_all(
                                b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                            )
                            .await;
                        return;
                    }
                }
            });
        }
    });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_behave_as_one() {
    let redis = redis_url();
    if std::env::var("HEADWATER_TEST_POSTGRES_URL").is_err() {
        eprintln!(
            "notice: HEADWATER_TEST_POSTGRES_URL is not set: the three-instance test is skipped"
        );
        return;
    }
    if !redis_answers(&redis).await {
        eprintln!("notice: no Redis at {redis}: the three-instance test is skipped");
        return;
    }
    let dir = scratch("scale-out");
    let (url, org) = database(Backend::Postgres, &dir).await.expect("database");
    let args = [
        "--redis-url",
        redis.as_str(),
        "--instances",
        "3",
        "--org-read-rps",
        "10",
        "--webhook-allow-cidr",
        "127.0.0.0/8",
        "--token-notice-interval",
        "0.3",
    ];
    let mut servers = Vec::new();
    for name in ["a", "b", "c"] {
        servers.push(serve(&url, &dir, name, &args, &[]).await);
    }
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let client = reqwest::Client::new();
    let (owner, api_key) = owner_and_stack(&client, &bases[0], &org).await;

    // 1. A token revoked on one instance is refused on the others within 100 ms.
    let mut worst = Duration::ZERO;
    for round in 0..3 {
        let (secret, uid) =
            ro_token(&client, &bases[0], &owner, &api_key, &format!("r{round}")).await;
        // Fresh cache entries on the other two instances.
        for base in &bases[1..] {
            let s = token_read(&client, base, &secret, &api_key).await;
            assert!(s == 200 || s == 429, "warm-up read: {s}");
        }
        let (s, b) = call(
            &client,
            reqwest::Method::DELETE,
            format!("{}/v3/stacks/management_tokens/{uid}", bases[0]),
            &[("authtoken", &owner), ("api_key", &api_key)],
            None,
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let deleted = Instant::now();
        for base in &bases[1..] {
            // 429 means the token was still accepted (the limit comes after the credential).
            loop {
                let s = token_read(&client, base, &secret, &api_key).await;
                if s == 401 {
                    break;
                }
                assert!(s == 200 || s == 429, "read after delete: {s}");
                assert!(
                    deleted.elapsed() < Duration::from_secs(2),
                    "the deleted token is still accepted by {base}"
                );
            }
            worst = worst.max(deleted.elapsed());
        }
    }
    eprintln!("revocation: refused on the other instances after at most {worst:?}");
    assert!(
        worst <= Duration::from_millis(100),
        "a revoked token was accepted for {worst:?} on another instance"
    );
    // Let the revocation rounds' reads leave the organization's budget.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // 2. The organization's read limit (10/s) holds in total over 5 s.
    let (secret, _) = ro_token(&client, &bases[0], &owner, &api_key, "reader").await;
    let started = Instant::now();
    let run = Duration::from_secs(5);
    let mut tasks = Vec::new();
    for i in 0..6 {
        let base = bases[i % 3].clone();
        let client = client.clone();
        let secret = secret.clone();
        let api_key = api_key.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut limited) = (0u32, 0u32);
            while started.elapsed() < run {
                match token_read(&client, &base, &secret, &api_key).await {
                    200 => ok += 1,
                    429 => limited += 1,
                    s => panic!("read: {s}"),
                }
            }
            (ok, limited)
        }));
    }
    let (mut ok, mut limited) = (0u32, 0u32);
    for t in tasks {
        let (o, l) = t.await.unwrap();
        ok += o;
        limited += l;
    }
    let span = started.elapsed().as_secs_f64();
    // GCRA with a burst of one second's worth: at most rate × (span + 1) requests.
    let expected = 10.0 * (span + 1.0);
    eprintln!("rate limit: {ok} reads allowed and {limited} refused over {span:.2} s through three instances (expected about {expected:.0})");
    assert!(limited > 0, "nothing was refused");
    assert!(
        (f64::from(ok) - expected).abs() <= expected * 0.10,
        "{ok} reads allowed in {span:.2} s at 10/s across three instances: expected {expected:.0} ± 10 %"
    );

    // 3. The token cap holds under creates spread across the instances.
    let (s, b) = call(
        &client,
        reqwest::Method::GET,
        format!("{}/v3/stacks/management_tokens", bases[0]),
        &[("authtoken", &owner), ("api_key", &api_key)],
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let before = b["tokens"].as_array().map(Vec::len).unwrap_or(0);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let base = bases[i % 3].clone();
        let client = client.clone();
        let owner = owner.clone();
        let api_key = api_key.clone();
        tasks.push(tokio::spawn(async move {
            create_token(
                &client,
                &base,
                &owner,
                &api_key,
                json!({"name": format!("cap{i}"), "scope": [{"module": "$all", "acl": {"read": true}}], "expires_on": null}),
            )
            .await
            .0
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            201 => created += 1,
            422 | 409 | 503 => {}
            s => panic!("token create: {s}"),
        }
    }
    let (s, b) = call(
        &client,
        reqwest::Method::GET,
        format!("{}/v3/stacks/management_tokens", bases[2]),
        &[("authtoken", &owner), ("api_key", &api_key)],
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let after = b["tokens"].as_array().map(Vec::len).unwrap_or(0);
    eprintln!("token cap: {before} tokens, {created} of 60 creates accepted, {after} tokens");
    assert_eq!(after, 30, "the stack holds {after} tokens");
    assert_eq!(before + created, 30);

    // 4. With all three running workers, a webhook delivery is sent once, and so is an
    // expiry notice.
    let (hook_url, got) = receiver().await;
    let (s, b) = call(
        &client,
        reqwest::Method::POST,
        format!("{}/v3/webhooks", bases[1]),
        &[("authtoken", &owner), ("api_key", &api_key)],
        Some(json!({"webhook": {
            "name": "once",
            "destinations": [{"target_url": hook_url, "http_basic_auth": "", "http_basic_password": "",
                              "custom_header": [{"header_name": "", "value": ""}]}],
            "channels": ["content_types.entries.create", "management_tokens.expiring"],
            "branches": ["main"],
            "retry_policy": "manual",
            "notifiers": [],
            "disabled": false,
        }})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = call(
        &client,
        reqwest::Method::POST,
        format!("{}/v3/content_types", bases[2]),
        &[("authtoken", &owner), ("api_key", &api_key)],
        Some(json!({"content_type": {"title": "Blog", "uid": "blog", "schema": [
            {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true, "unique": true}
        ]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = call(
        &client,
        reqwest::Method::POST,
        format!("{}/v3/content_types/blog/entries", bases[0]),
        &[("authtoken", &owner), ("api_key", &api_key)],
        Some(json!({"entry": {"title": "Hello"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    // Room for one token that expires in three days, with notices on.
    let (s, b) = call(
        &client,
        reqwest::Method::GET,
        format!("{}/v3/stacks/management_tokens", bases[0]),
        &[("authtoken", &owner), ("api_key", &api_key)],
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let victim = b["tokens"][0]["uid"].as_str().unwrap().to_string();
    let (s, b) = call(
        &client,
        reqwest::Method::DELETE,
        format!("{}/v3/stacks/management_tokens/{victim}", bases[0]),
        &[("authtoken", &owner), ("api_key", &api_key)],
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let soon = time::OffsetDateTime::now_utc() + time::Duration::days(3);
    let soon = soon
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (s, b) = create_token(
        &client,
        &bases[0],
        &owner,
        &api_key,
        json!({"name": "expiring", "scope": [{"module": "$all", "acl": {"read": true}}],
               "expires_on": soon, "is_email_notification_enabled": true}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.lock().unwrap().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "deliveries: {:?}",
            got.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Three workers poll every second and the scan runs every 0.3 s on each: give any
    // duplicate time to arrive.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let got = got.lock().unwrap().clone();
    let count = |module: &str| got.iter().filter(|v| v["module"] == module).count();
    eprintln!("webhooks: {} deliveries received", got.len());
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(count("entry"), 1, "{got:?}");
    assert_eq!(count("management_token"), 1, "{got:?}");
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One instance: `/readyz` names what fails, rate limits fall back to this instance's share
/// when Redis is unreachable (logged once, no 500), `/metrics` on its own address shows the
/// requests, and `--log-format json` writes JSON lines carrying the request id.
async fn operations(backend: Backend) {
    let dir = scratch("operations");
    let Some((url, org)) = database(backend, &dir).await else {
        return;
    };
    let client = reqwest::Client::new();
    // Nothing listens on port 1 of 127.0.0.1: Redis is "down" from the start.
    let server = serve(
        &url,
        &dir,
        "ops",
        &[
            "--metrics-listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--redis-url",
            "redis://127.0.0.1:1",
            "--instances",
            "2",
            "--org-read-rps",
            "10",
        ],
        &[("HEADWATER_LOG", "info,sqlx=warn,tower_http=debug")],
    )
    .await;
    let base = server.base.clone();
    let metrics = server.metrics.clone().expect("metrics address");

    // Liveness, and readiness naming the missing Redis.
    let (s, b) = call(
        &client,
        reqwest::Method::GET,
        format!("{base}/healthz"),
        &[],
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = call(
        &client,
        reqwest::Method::GET,
        format!("{base}/readyz"),
        &[],
        None,
    )
    .await;
    assert_eq!(s, 503, "{b}");
    assert_eq!(b["checks"]["database"], "ok", "{b}");
    assert_eq!(b["checks"]["migrations"], "ok", "{b}");
    assert_eq!(b["checks"]["redis"], "failing", "{b}");

    // Redis unreachable: the organization's 10/s is halved (--instances 2) in process; no
    // request fails with 500.
    let (owner, api_key) = owner_and_stack(&client, &base, &org).await;
    let (secret, _) = ro_token(&client, &base, &owner, &api_key, "reader").await;
    let mut statuses = Vec::new();
    let mut limit_header = None;
    for _ in 0..12 {
        let r = client
            .get(format!("{base}/v3/content_types"))
            .header("authorization", &secret)
            .header("api_key", &api_key)
            .send()
            .await
            .unwrap();
        if limit_header.is_none() {
            limit_header = r
                .headers()
                .get("x-ratelimit-limit")
                .map(|v| v.to_str().unwrap().to_string());
        }
        statuses.push(r.status().as_u16());
    }
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    let allowed = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        (5..=7).contains(&allowed),
        "{allowed} allowed: {statuses:?}"
    );
    assert_eq!(limit_header.as_deref(), Some("5"));

    // The metrics listener: /metrics there, and not on the API's port.
    let (s, _) = call(
        &client,
        reqwest::Method::GET,
        format!("{base}/metrics"),
        &[],
        None,
    )
    .await;
    assert_eq!(s, 404);
    let r = client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = r.text().await.unwrap();
    for want in [
        "headwater_http_requests_total{route=\"/v3/content_types\",method=\"GET\",status=\"200\",credential=\"management_token\"}",
        "headwater_http_requests_total{route=\"/v3/content_types\",method=\"GET\",status=\"429\",credential=\"management_token\"}",
        "headwater_http_requests_total{route=\"/v3/stacks\",method=\"POST\",status=\"201\",credential=\"authtoken\"}",
        "headwater_http_request_duration_seconds_bucket{route=\"/v3/content_types\",method=\"GET\",le=\"0.1\"}",
        "headwater_rate_limited_total{class=\"read\"}",
        "headwater_token_verifications_total{result=\"ok\"}",
        "headwater_token_cache_lookups_total{result=\"hit\"}",
        "headwater_webhook_queue_depth",
        "headwater_db_pool_connections{pool=\"read\",state=\"idle\"}",
        "headwater_db_acquire_wait_seconds_total",
        "headwater_redis_up 0",
    ] {
        assert!(text.contains(want), "/metrics lacks {want}:\n{text}");
    }
    let (s, _) = call(
        &client,
        reqwest::Method::GET,
        format!("{metrics}/readyz"),
        &[],
        None,
    )
    .await;
    assert_eq!(s, 503);

    // JSON log lines, one carrying the request id the client was given.
    let r = client.get(format!("{base}/v3/user")).send().await.unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(&server.log).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.iter().any(|v| v["span"]["request_id"] == id.as_str()),
        "no log line with request id {id}:\n{log}"
    );
    // The fall-back was logged once.
    assert_eq!(log.matches("Redis is unreachable").count(), 1, "{log}");
    drop(server);

    // With a reachable Redis (when there is one), the instance is ready.
    let redis = redis_url();
    if redis_answers(&redis).await {
        let server = serve(&url, &dir, "ops-redis", &["--redis-url", &redis], &[]).await;
        let (s, b) = call(
            &client,
            reqwest::Method::GET,
            format!("{}/readyz", server.base),
            &[],
            None,
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["checks"]["redis"], "ok", "{b}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn operations_on_sqlite() {
    operations(Backend::Sqlite).await;
}

#[tokio::test]
async fn operations_on_postgres() {
    operations(Backend::Postgres).await;
}

/// A TCP relay to Redis that can be cut (every connection closed, new ones refused) and
/// restored, standing for a Redis that goes away and comes back.
struct Relay {
    url: String,
    up: Arc<std::sync::atomic::AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (up2, conns2) = (up.clone(), conns.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(std::sync::atomic::Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns2.lock().unwrap().push(task);
            }
        });
        Relay { url, up, conns }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for t in self.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Reads as fast as possible `n` times; returns (allowed, the last x-ratelimit-limit).
async fn burst(
    client: &reqwest::Client,
    base: &str,
    secret: &str,
    api_key: &str,
    n: usize,
) -> (usize, String) {
    let mut allowed = 0;
    let mut limit = String::new();
    for _ in 0..n {
        let r = client
            .get(format!("{base}/v3/content_types"))
            .header("authorization", secret)
            .header("api_key", api_key)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        assert!(s == 200 || s == 429, "read answered {s}");
        if s == 200 {
            allowed += 1;
        }
        if let Some(v) = r.headers().get("x-ratelimit-limit") {
            limit = v.to_str().unwrap().to_string();
        }
    }
    (allowed, limit)
}

/// Redis lost, then back: limits go local (this instance's share) and then shared again,
/// each change logged once. Needs a local Redis; runs on SQLite and on PostgreSQL.
async fn redis_loss_and_return(backend: Backend) {
    let redis = redis_url();
    if !redis_answers(&redis).await {
        eprintln!("notice: no Redis at {redis}: the Redis fall-back test is skipped");
        return;
    }
    let dir = scratch("redis-loss");
    let Some((url, org)) = database(backend, &dir).await else {
        return;
    };
    let target = redis
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let relay = Relay::start(target).await;
    let server = serve(
        &url,
        &dir,
        "loss",
        &[
            "--redis-url",
            &relay.url,
            "--instances",
            "2",
            "--org-read-rps",
            "10",
        ],
        &[],
    )
    .await;
    let client = reqwest::Client::new();
    let (owner, api_key) = owner_and_stack(&client, &server.base, &org).await;
    let (secret, _) = ro_token(&client, &server.base, &owner, &api_key, "reader").await;

    let (_, limit) = burst(&client, &server.base, &secret, &api_key, 3).await;
    assert_eq!(limit, "10", "shared through Redis");
    relay.cut();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (allowed, limit) = burst(&client, &server.base, &secret, &api_key, 12).await;
    assert_eq!(limit, "5", "half of the limit while Redis is away");
    assert!((5..=7).contains(&allowed), "{allowed} allowed");
    relay.restore();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (_, limit) = burst(&client, &server.base, &secret, &api_key, 1).await;
        if limit == "10" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still counting locally after Redis returned"
        );
    }
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert_eq!(log.matches("Redis is unreachable").count(), 1, "{log}");
    assert_eq!(log.matches("Redis is back").count(), 1, "{log}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn redis_loss_and_return_on_sqlite() {
    redis_loss_and_return(Backend::Sqlite).await;
}

#[tokio::test]
async fn redis_loss_and_return_on_postgres() {
    redis_loss_and_return(Backend::Postgres).await;
}
