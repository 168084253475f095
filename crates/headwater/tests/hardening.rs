//! Hardening items (docs/security.md) that need the real `headwater` process: a file-size
//! limit on the server (SEC-8), slow clients and SIGTERM (SEC-9), the modes of the files it
//! creates (SEC-14) and what it writes to its log (SEC-15). Each runs on SQLite and, when
//! `HEADWATER_TEST_POSTGRES_URL` is set, on PostgreSQL.
#![cfg(unix)]

mod common;

use common::{run_ok, scratch, BIN, EMAIL, PASSWORD};
use headwater_store::Backend;
use headwater_testkit::fresh_database_url;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Server {
    child: Child,
    base: String,
    log: PathBuf,
    dir: PathBuf,
    client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A database of `backend` with its first user, and `headwater serve` on it with `args`
/// (and a file-size limit in KiB, as `ulimit -f` sets it). `None` when PostgreSQL is not
/// configured.
async fn start(
    backend: Backend,
    what: &str,
    args: &[&str],
    file_limit_kib: Option<u64>,
    log_filter: &str,
) -> Option<Server> {
    let dir = scratch(what);
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("data/headwater.db").display()),
        Backend::Postgres => fresh_database_url(backend).await?,
    };
    // Migrations and the first user come before any limit is set on the server.
    let _ = run_ok(&["migrate"], &url);
    run_ok(
        &["user", "create", "--email", EMAIL, "--org-name", "Org"],
        &url,
    );
    let log = dir.join("server.log");
    let log_file = std::fs::File::create(&log).expect("log file");
    let mut serve: Vec<String> = vec![
        BIN.into(),
        "--database-url".into(),
        url,
        "--secret-key-file".into(),
        dir.join("data/secret.key").display().to_string(),
        "serve".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--assets-dir".into(),
        dir.join("data/assets").display().to_string(),
    ];
    serve.extend(args.iter().map(|a| a.to_string()));
    let mut cmd = match file_limit_kib {
        Some(kib) => {
            let mut c = Command::new("bash");
            c.arg("-c")
                .arg(format!("ulimit -S -f {kib} && exec \"$@\""))
                .arg("headwater")
                .args(&serve);
            c
        }
        None => {
            let mut c = Command::new(&serve[0]);
            c.args(&serve[1..]);
            c
        }
    };
    let child = cmd
        .env("HEADWATER_LOG", log_filter)
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        .stdin(Stdio::null())
        .spawn()
        .expect("start headwater serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    let base = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(i) = text.find("Headwater CMA listening on http://") {
            let rest = &text[i + "Headwater CMA listening on ".len()..];
            break rest[..rest.find("/v3").expect("/v3")].to_string();
        }
        assert!(
            Instant::now() < deadline,
            "the server did not start: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    Some(Server {
        child,
        base,
        log,
        dir,
        client: reqwest::Client::new(),
    })
}

impl Server {
    async fn post(&self, path: &str, headers: &[(&str, &str)], body: Value) -> (u16, Value) {
        let mut r = self.client.post(format!("{}{path}", self.base)).json(&body);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let r = r.send().await.expect("request");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Value {
        let mut r = self.client.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send().await.expect("request").json().await.expect("json")
    }

    /// Logs in, creates a stack and a read-write management token: (authtoken, api_key, token).
    async fn world(&self) -> (String, String, String) {
        let (s, b) = self
            .post(
                "/v3/user-session",
                &[],
                json!({"user": {"email": EMAIL, "password": PASSWORD}}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let auth = b["user"]["authtoken"].as_str().unwrap().to_string();
        let (s, b) = self
            .post(
                "/v3/stacks",
                &[("authtoken", &auth)],
                json!({"stack": {"name": "S", "master_locale": "en-us"}}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let api_key = b["stack"]["api_key"].as_str().unwrap().to_string();
        let (s, b) = self
            .post(
                "/v3/stacks/management_tokens",
                &[("authtoken", &auth), ("api_key", &api_key)],
                json!({"token": {"name": "ci", "expires_on": null,
                    "scope": [{"module": "$all", "acl": {"read": true, "write": true}}]}}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let token = b["token"]["token"].as_str().unwrap().to_string();
        (auth, api_key, token)
    }

    async fn upload(&self, api_key: &str, token: &str, bytes: Vec<u8>) -> (u16, Value) {
        let form = reqwest::multipart::Form::new().part(
            "asset[upload]",
            reqwest::multipart::Part::bytes(bytes)
                .file_name("big.bin")
                .mime_str("application/octet-stream")
                .unwrap(),
        );
        let r = self
            .client
            .post(format!("{}/v3/assets", self.base))
            .header("authorization", token)
            .header("api_key", api_key)
            .multipart(form)
            .send()
            .await
            .expect("upload");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
    }

    /// Waits for the process to exit; false when it is still running after `limit`.
    fn exits_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.child.try_wait().expect("wait").is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// Every regular file below `dir`, with the folders on the way.
fn walk(dir: &Path, files: &mut Vec<PathBuf>, dirs: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            dirs.push(p.clone());
            walk(&p, files, dirs);
        } else {
            files.push(p);
        }
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(headwater_store::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(headwater_store::Backend::Postgres).await;
            }
        }
    )*};
}

/// SEC-7, the commit case (SQLite). The server's file-size limit stops its WAL file from
/// growing, so a `COMMIT` fails half-written, as on a full disk: that write and the ones
/// after it are refused with 507, never 500; once the limit is lifted (`prlimit`, as freeing
/// space would), writes succeed again without a restart, and every acknowledged write is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_07_sqlite_recovers_from_a_commit_on_a_full_disk() {
    let args = ["--org-write-rps", "100000", "--org-read-rps", "100000"];
    let Some(server) = start(Backend::Sqlite, "sec07", &args, Some(2 * 1024), "warn").await else {
        return;
    };
    let (_, api_key, token) = server.world().await;
    let h = [
        ("authorization", token.as_str()),
        ("api_key", api_key.as_str()),
    ];
    let (s, body) = server
        .post(
            "/v3/content_types",
            &h,
            json!({"content_type": {"title": "Note", "uid": "note", "schema": [
                {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
                {"uid": "body", "display_name": "Body", "data_type": "text"}]}}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let filler = "x".repeat(8000);
    let (mut stored, mut refused) = (0, 0);
    for i in 0..2000 {
        let (s, body) = server
            .post(
                "/v3/content_types/note/entries",
                &h,
                json!({"entry": {"title": format!("n{i}"), "body": filler}}),
            )
            .await;
        match s {
            201 => stored += 1,
            507 => {
                assert_eq!(body["error_code"], 503, "{body}");
                refused += 1;
                if refused == 3 {
                    break;
                }
            }
            _ => panic!("a write on a full disk answered {s}: {body}"),
        }
    }
    assert_eq!(refused, 3, "the file-size limit was never reached");
    let ok = Command::new("prlimit")
        .args([
            "--pid",
            &server.child.id().to_string(),
            "--fsize=unlimited:",
        ])
        .status()
        .expect("prlimit");
    assert!(ok.success());
    for i in 0..5 {
        let (s, body) = server
            .post(
                "/v3/content_types/note/entries",
                &h,
                json!({"entry": {"title": format!("after{i}"), "body": "ok"}}),
            )
            .await;
        assert_eq!(s, 201, "a write after space came back: {body}");
        stored += 1;
    }
    let listed = server
        .get(
            "/v3/content_types/note/entries?include_count=true&limit=1",
            &[("authorization", &token), ("api_key", &api_key)],
        )
        .await;
    assert_eq!(listed["count"], json!(stored), "{listed}");
}

both_backends!(
    sec_08_an_upload_the_disk_cannot_hold_is_refused_with_nothing_recorded,
    sec_09_slow_clients_are_cut_off_and_shutdown_has_a_deadline,
    sec_14_the_servers_files_are_owner_only,
    sec_15_credentials_never_reach_the_log,
);

/// SEC-8. With a 8 MiB file-size limit on the server, a 12 MiB upload is answered 507 with
/// the error body, nothing is listed and no file is left; a small upload then works and
/// downloads whole.
async fn sec_08_an_upload_the_disk_cannot_hold_is_refused_with_nothing_recorded(b: Backend) {
    let Some(server) = start(b, "sec08", &[], Some(8 * 1024), "warn").await else {
        return;
    };
    let (_, api_key, token) = server.world().await;
    let (s, body) = server.upload(&api_key, &token, vec![7u8; 12 << 20]).await;
    assert_eq!(s, 507, "{body}");
    assert_eq!(body["error_code"], 503, "{body}");
    assert!(body["error_message"].is_string(), "{body}");
    let listed = server
        .get(
            "/v3/assets",
            &[("authorization", &token), ("api_key", &api_key)],
        )
        .await;
    assert_eq!(
        listed["assets"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    let assets = server.dir.join("data/assets");
    if assets.exists() {
        walk(&assets, &mut files, &mut dirs);
    }
    assert!(files.is_empty(), "files left behind: {files:?}");

    let small: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (s, body) = server.upload(&api_key, &token, small.clone()).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["asset"]["file_size"], json!(small.len().to_string()));
    let url = body["asset"]["url"].as_str().unwrap();
    let got = server
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.len(), small.len());
    assert!(got[..] == small[..]);
}

async fn connect(server: &Server) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .expect("connect")
}

/// True when the server closes `tcp` (or answers and closes) within `limit`.
async fn closed_within(tcp: &mut tokio::net::TcpStream, limit: Duration) -> bool {
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// SEC-9. A client that stops mid-headers, or mid-body, is cut off after the configured
/// timeout; a server with a request stuck in flight exits after SIGTERM within its grace.
async fn sec_09_slow_clients_are_cut_off_and_shutdown_has_a_deadline(b: Backend) {
    let args = [
        "--header-read-timeout",
        "1",
        "--body-idle-timeout",
        "1",
        "--shutdown-grace",
        "2",
    ];
    let Some(server) = start(b, "sec09", &args, None, "warn").await else {
        return;
    };
    let (auth, api_key, _) = server.world().await;
    // Mid-headers.
    let mut tcp = connect(&server).await;
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .await
        .unwrap();
    assert!(
        closed_within(&mut tcp, Duration::from_secs(15)).await,
        "a stalled header kept its connection"
    );
    // Mid-body.
    let mut tcp = connect(&server).await;
    let head = format!(
        "POST /v3/environments HTTP/1.1\r\nhost: x\r\nauthtoken: {auth}\r\napi_key: {api_key}\r\n\
         content-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"environment\":"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    assert!(
        closed_within(&mut tcp, Duration::from_secs(15)).await,
        "a stalled body kept its connection"
    );
    // Nothing was created by the abandoned request.
    let envs = server
        .get(
            "/v3/environments",
            &[("authtoken", &auth), ("api_key", &api_key)],
        )
        .await;
    assert_eq!(
        envs["environments"].as_array().map(Vec::len),
        Some(0),
        "{envs}"
    );
    drop(server);

    // Shutdown: a server whose timeouts are long, with a request stuck mid-body.
    let args = [
        "--header-read-timeout",
        "600",
        "--body-idle-timeout",
        "600",
        "--shutdown-grace",
        "2",
    ];
    let Some(mut server) = start(b, "sec09b", &args, None, "warn").await else {
        return;
    };
    let (auth, api_key, _) = server.world().await;
    let mut stuck = connect(&server).await;
    let head = format!(
        "POST /v3/environments HTTP/1.1\r\nhost: x\r\nauthtoken: {auth}\r\napi_key: {api_key}\r\n\
         content-type: application/json\r\ncontent-length: 1000\r\n\r\n{{"
    );
    stuck.write_all(head.as_bytes()).await.unwrap();
    let mut idle = connect(&server).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.terminate();
    assert!(
        server.exits_within(Duration::from_secs(30)),
        "the server was still running 30 s after SIGTERM"
    );
    drop((stuck, idle));
}

/// SEC-14. The data folder, the SQLite database and its WAL, the secret key file, and stored
/// asset files and their folders are readable by the owner only.
async fn sec_14_the_servers_files_are_owner_only(b: Backend) {
    let Some(server) = start(b, "sec14", &[], None, "warn").await else {
        return;
    };
    let (_, api_key, token) = server.world().await;
    let (s, body) = server.upload(&api_key, &token, b"hello".to_vec()).await;
    assert_eq!(s, 201, "{body}");
    let data = server.dir.join("data");
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    walk(&data, &mut files, &mut dirs);
    dirs.push(data.clone());
    assert!(
        files
            .iter()
            .any(|f| f.components().any(|c| c.as_os_str() == "assets")),
        "{files:?}"
    );
    assert!(files.iter().any(|f| f.ends_with("secret.key")), "{files:?}");
    if b == Backend::Sqlite {
        assert!(
            files.iter().any(|f| f.ends_with("headwater.db")),
            "{files:?}"
        );
        assert!(
            files.iter().any(|f| f.ends_with("headwater.db-wal")),
            "{files:?}"
        );
    }
    for f in &files {
        assert_eq!(mode(f) & 0o077, 0, "{} is {:o}", f.display(), mode(f));
    }
    for d in &dirs {
        assert_eq!(mode(d) & 0o077, 0, "{} is {:o}", d.display(), mode(d));
    }
}

/// SEC-15. At debug level, with a delivery port, a run of requests carrying credentials in
/// headers, bodies and query strings leaves none of them in the log.
async fn sec_15_credentials_never_reach_the_log(b: Backend) {
    let filter = "debug,sqlx=warn,hyper=debug,tower_http=debug";
    let Some(server) = start(b, "sec15", &["--cda-listen", "127.0.0.1:0"], None, filter).await
    else {
        return;
    };
    let (auth, api_key, token) = server.world().await;
    let (s, body) = server
        .post(
            "/v3/environments",
            &[("authorization", &token), ("api_key", &api_key)],
            json!({"environment": {"name": "production", "urls": [{"locale": "en-us", "url": "https://example.com"}]}}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = server
        .post(
            "/v3/stacks/delivery_tokens",
            &[("authtoken", &auth), ("api_key", &api_key)],
            json!({"token": {"name": "site", "scope": [{"module": "environment", "environments": ["production"], "acl": {"read": true}}]}}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let delivery = body["token"]["token"].as_str().unwrap().to_string();
    let text = server.log_text();
    let cda = text
        .split("Headwater delivery API listening on ")
        .nth(1)
        .and_then(|r| r.split("/v3").next())
        .expect("delivery port")
        .to_string();
    for url in [
        format!("{cda}/v3/content_types?environment=production&api_key={api_key}&access_token={delivery}"),
        format!("{}/cda/v3/content_types?environment=production&api_key={api_key}&access_token={delivery}", server.base),
        format!("{}/v3/content_types?authtoken={auth}&management_token={token}", server.base),
    ] {
        let _ = server.client.get(url).send().await.expect("request");
    }
    // The log is written as requests finish; give it a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.log_text();
    assert!(
        log.contains("[redacted]"),
        "query strings are not logged at all?\n{log}"
    );
    for (what, secret) in [
        ("password", PASSWORD),
        ("authtoken", auth.as_str()),
        ("management token", token.as_str()),
        ("delivery token", delivery.as_str()),
    ] {
        assert!(!log.contains(secret), "the {what} is in the log");
    }
}
