//! Hardening (docs/security.md): each test is named after the item it proves (`sec_NN_…`) and
//! runs on SQLite and PostgreSQL.

use headwater_store::{Backend, Db};
use headwater_testkit::{assert_error, on_both_backends, send, test_config, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends!(
    sec_06_uploaded_files_never_run_as_the_api_origin,
    sec_07_writes_recover_after_the_database_fails_under_them,
    sec_13_an_unavailable_database_answers_503_and_recovers,
    sec_16_oversized_fields_urls_and_headers_are_refused_with_the_error_body,
);

struct World {
    owner: String,
    api_key: String,
    token: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Blog").await;
    let (token, _) = app.rw_token(&owner, &api_key, "ci").await;
    World {
        owner,
        api_key,
        token,
    }
}

/// A content type `note` with one text field.
async fn note_type(app: &TestApp, w: &World) {
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/content_types", &w.token, &w.api_key)
            .json(
                &json!({"content_type": {"title": "Note", "uid": "note", "schema": [
                {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
                {"uid": "body", "display_name": "Body", "data_type": "text"}]}}),
            ),
    )
    .await;
    assert_eq!(s, 201, "{b}");
}

async fn create_note(app: &TestApp, w: &World, title: &str, body: &str) -> (u16, Value) {
    send(
        app.with_token(
            Method::POST,
            "/v3/content_types/note/entries",
            &w.token,
            &w.api_key,
        )
        .json(&json!({"entry": {"title": title, "body": body}})),
    )
    .await
}

async fn note_count(app: &TestApp, w: &World) -> i64 {
    let (s, b) = send(app.with_token(
        Method::GET,
        "/v3/content_types/note/entries?include_count=true&limit=1",
        &w.token,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    b["count"].as_i64().expect("count")
}

/// A second connection to the test's database, outside the server's pools.
async fn side_db(app: &TestApp) -> Db {
    Db::connect(app.database_url())
        .await
        .expect("side connection")
}

/// SEC-7. The writer recovers by itself from a transaction that failed under it.
/// SQLite: the writer's file fills up (`PRAGMA max_page_count` on the writer's own
/// connection) and every write is refused with 507 and the error body, never 500; with room
/// again, writes succeed without a restart. (A `COMMIT` that fails half-written, the case that
/// left the writer unusable, needs a file-size limit on the process: see
/// `crates/headwater/tests/hardening.rs`.) PostgreSQL: the server's connection is killed in
/// the middle of a write transaction (blocked on a row lock); that request is answered 503,
/// and the next writes succeed on fresh connections.
async fn sec_07_writes_recover_after_the_database_fails_under_them(app: TestApp) {
    let w = world(&app).await;
    note_type(&app, &w).await;
    let filler = "x".repeat(3000);
    let mut stored = 0;
    match app.backend {
        Backend::Sqlite => {
            // On every connection the server writes through.
            app.db
                .writer_pragma("PRAGMA max_page_count = 1")
                .await
                .expect("limit pages");
            let mut refusals = 0;
            for i in 0..200 {
                let (s, b) = create_note(&app, &w, &format!("n{i}"), &filler).await;
                match s {
                    201 => stored += 1,
                    507 => {
                        assert_error(s, &b, 507, 503);
                        refusals += 1;
                        break;
                    }
                    _ => panic!("write on a full database answered {s}: {b}"),
                }
            }
            assert_eq!(refusals, 1, "the database never filled up");
            app.db
                .writer_pragma("PRAGMA max_page_count = 1073741823")
                .await
                .expect("lift the page limit");
        }
        Backend::Postgres => {
            let name = app.database_url().rsplit('/').next().unwrap();
            let name = name.split('?').next().unwrap().to_string();
            let side = side_db(&app).await;
            let mut lock = side.reader().await.expect("side connection");
            sqlx::query("BEGIN").execute(&mut *lock).await.unwrap();
            sqlx::query("SELECT uid FROM stacks WHERE api_key = $1 FOR UPDATE")
                .bind(&w.api_key)
                .fetch_all(&mut *lock)
                .await
                .unwrap();
            // A token create locks the stack row inside its transaction: it waits there.
            let pending = app
                .as_user(
                    Method::POST,
                    "/v3/stacks/management_tokens",
                    &w.owner,
                    &w.api_key,
                )
                .json(&json!({"token": {"name": "blocked", "expires_on": null,
                    "scope": [{"module": "$all", "acl": {"read": true, "write": false}}]}}))
                .send();
            let pending = tokio::spawn(pending);
            let mut killed = false;
            for _ in 0..200 {
                let rows: Vec<(i32,)> = sqlx::query_as(
                    "SELECT pg_terminate_backend(pid)::int FROM pg_stat_activity \
                     WHERE datname = $1 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
                )
                .bind(&name)
                .fetch_all(&mut *side.reader().await.unwrap())
                .await
                .unwrap();
                if !rows.is_empty() {
                    killed = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            assert!(killed, "the write never waited on the lock");
            let r = pending.await.unwrap().expect("answer");
            let s = r.status().as_u16();
            let b: Value = r.json().await.expect("json");
            assert_error(s, &b, 503, 503);
            sqlx::query("ROLLBACK").execute(&mut *lock).await.unwrap();
            drop(lock);
            side.close().await;
        }
    }
    // Writes work again, every one of them, and nothing half-written was left.
    for i in 0..5 {
        let (s, b) = create_note(&app, &w, &format!("after{i}"), "ok").await;
        assert_eq!(s, 201, "write after recovery: {b}");
        stored += 1;
    }
    assert_eq!(note_count(&app, &w).await, stored);
    let (s, b) = send(app.as_user(
        Method::GET,
        "/v3/stacks/management_tokens",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["tokens"].as_array().map(Vec::len), Some(1), "{b}");
}

/// A write is answered 503 with `Retry-After: 1` and the error body.
async fn assert_write_unavailable(app: &TestApp, w: &World) {
    let r = app
        .with_token(
            Method::POST,
            "/v3/content_types/note/entries",
            &w.token,
            &w.api_key,
        )
        .json(&json!({"entry": {"title": "refused"}}))
        .send()
        .await
        .expect("request");
    assert_eq!(
        r.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    let s = r.status().as_u16();
    let b: Value = r.json().await.expect("json");
    assert_error(s, &b, 503, 503);
}

/// SEC-13. PostgreSQL: a database that does not accept connections (SQLSTATE 55000) answers
/// 503 with `Retry-After` and the error body, and the server recovers when it does again.
/// SQLite: a database file locked by another process answers the same 503.
async fn sec_13_an_unavailable_database_answers_503_and_recovers(app: TestApp) {
    let w = world(&app).await;
    note_type(&app, &w).await;
    let side = side_db(&app).await;
    match app.backend {
        Backend::Postgres => {
            let name = app.database_url().rsplit('/').next().unwrap();
            let name = name.split('?').next().unwrap().to_string();
            // ALTER DATABASE cannot run inside the database itself: use the admin database.
            let admin = Db::connect(&std::env::var("HEADWATER_TEST_POSTGRES_URL").unwrap())
                .await
                .expect("admin connection");
            side.close().await;
            admin
                .execute_admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
                .await
                .expect("refuse connections");
            admin
                .execute_admin(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ))
                .await
                .expect("terminate the server's connections");
            assert_write_unavailable(&app, &w).await;
            admin
                .execute_admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
                .await
                .expect("accept connections");
            admin.close().await;
        }
        Backend::Sqlite => {
            // Another process holds the write lock longer than the busy timeout.
            let mut c = side.reader().await.expect("side connection");
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut *c)
                .await
                .expect("lock");
            assert_write_unavailable(&app, &w).await;
            sqlx::query("ROLLBACK")
                .execute(&mut *c)
                .await
                .expect("unlock");
            drop(c);
            side.close().await;
        }
    }
    let (s, b) = create_note(&app, &w, "accepted", "ok").await;
    assert_eq!(s, 201, "after recovery: {b}");
    assert_eq!(note_count(&app, &w).await, 1);
}

fn file_form(bytes: &[u8], name: &str, mime: &str) -> Form {
    Form::new().part(
        "asset[upload]",
        Part::bytes(bytes.to_vec())
            .file_name(name.to_string())
            .mime_str(mime)
            .unwrap(),
    )
}

async fn upload(app: &TestApp, w: &World, form: Form) -> (u16, Value) {
    send(
        app.with_token(Method::POST, "/v3/assets", &w.token, &w.api_key)
            .multipart(form),
    )
    .await
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

/// SEC-6. HTML and SVG uploads come back as attachments under a sandboxing policy; every
/// file and every API answer says `nosniff`; with a separate asset origin, asset URLs name it
/// and the API's host never serves file bytes (it redirects there).
async fn sec_06_uploaded_files_never_run_as_the_api_origin(app: TestApp) {
    let w = world(&app).await;
    let cases: [(&[u8], &str, &str, &str); 4] = [
        (
            b"<script>alert(1)</script>",
            "x.html",
            "text/html",
            "attachment",
        ),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "x.svg",
            "image/svg+xml",
            "attachment",
        ),
        (
            b"<?xml version='1.0'?><x/>",
            "x.xml",
            "text/xml",
            "attachment",
        ),
        (b"\x89PNG\r\n\x1a\n", "x.png", "image/png", "inline"),
    ];
    for (bytes, name, mime, disposition) in cases {
        let (s, b) = upload(&app, &w, file_form(bytes, name, mime)).await;
        assert_eq!(s, 201, "{b}");
        let url = b["asset"]["url"].as_str().expect("url");
        let r = app.client.get(url).send().await.expect("download");
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-type"), mime);
        assert!(
            header(&r, "content-disposition").starts_with(disposition),
            "{name}: {}",
            header(&r, "content-disposition")
        );
        assert_eq!(header(&r, "x-content-type-options"), "nosniff");
        let csp = header(&r, "content-security-policy");
        assert!(
            csp.contains("sandbox") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert_eq!(&r.bytes().await.unwrap()[..], bytes);
    }
    // API answers, errors included, say nosniff too.
    let r = app
        .with_token(Method::GET, "/v3/assets", &w.token, &w.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    let r = app
        .req(Method::GET, "/v3/no-such-route")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");

    // A separate asset origin: another name for this same server (asked for below with
    // that name in `Host`; nothing connects to its port).
    let mut app = app;
    app.restart_with(headwater_api::ServerConfig {
        assets_public_url: Some("http://files.localhost:9".into()),
        ..test_config()
    })
    .await;
    let host = app.base.trim_start_matches("http://").to_string();
    let (s, b) = upload(&app, &w, file_form(b"<p>hi</p>", "p.html", "text/html")).await;
    assert_eq!(s, 201, "{b}");
    let url = b["asset"]["url"].as_str().expect("url").to_string();
    let (s, listed) = send(app.with_token(Method::GET, "/v3/assets", &w.token, &w.api_key)).await;
    assert_eq!(s, 200);
    assert!(
        url.starts_with("http://files.localhost:9/v3/assets/"),
        "{url}"
    );
    assert!(
        listed["assets"].as_array().unwrap().iter().all(|a| a["url"]
            .as_str()
            .unwrap()
            .starts_with("http://files.localhost:9/")),
        "{listed}"
    );
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let path = format!("/v3/{}", url.split_once("/v3/").unwrap().1);
    // Asked of the API's host: redirected to the asset origin, no bytes served.
    let r = no_redirects
        .get(format!("http://{host}{path}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(header(&r, "location"), url);
    // Asked of the asset origin's name: served.
    let r = no_redirects
        .get(format!("http://{host}{path}"))
        .header("host", "files.localhost:9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-disposition").starts_with("attachment"));
    assert_eq!(&r.bytes().await.unwrap()[..], b"<p>hi</p>");
}

/// Sends raw bytes on a new connection and reads the whole answer (the server closes).
async fn raw(app: &TestApp, request: &[u8]) -> (u16, String, Value) {
    let addr = app.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before it has read everything sent.
    let _ = tcp.write_all(request).await;
    let mut out = Vec::new();
    let _ = tcp.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head[9..12].parse().expect("status");
    let body = serde_json::from_str(body)
        .unwrap_or_else(|_| panic!("answer without a JSON body: {text:?}"));
    (status, head.to_ascii_lowercase(), body)
}

/// SEC-16. A multipart text field is capped (the upload is refused and nothing is stored),
/// and refusals made before routing (URL too long, headers too large, not HTTP) carry the
/// Contentstack error body.
async fn sec_16_oversized_fields_urls_and_headers_are_refused_with_the_error_body(app: TestApp) {
    let w = world(&app).await;
    // The file first, then a 5 MiB title: the stored file goes again.
    let form = file_form(b"hello", "a.txt", "text/plain").text("asset[title]", "t".repeat(5 << 20));
    let (s, b) = upload(&app, &w, form).await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["asset[title]"].is_array(), "{b}");
    let (s, b) = send(app.with_token(Method::GET, "/v3/assets", &w.token, &w.api_key)).await;
    assert_eq!(s, 200);
    assert_eq!(b["assets"].as_array().map(Vec::len), Some(0), "{b}");
    // A title under the cap is fine.
    let form = file_form(b"hello", "a.txt", "text/plain").text("asset[title]", "t".repeat(60_000));
    let (s, b) = upload(&app, &w, form).await;
    assert_eq!(s, 201, "{b}");

    let long = format!(
        "GET /v3/content_types?query={} HTTP/1.1\r\nhost: x\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    let (s, head, b) = raw(&app, long.as_bytes()).await;
    assert_error(s, &b, 414, 414);
    assert!(head.contains("content-type: application/json"), "{head}");

    let big = format!(
        "GET /v3/content_types HTTP/1.1\r\nhost: x\r\nx-filler: {}\r\n\r\n",
        "b".repeat(600 * 1024)
    );
    let (s, _, b) = raw(&app, big.as_bytes()).await;
    assert_error(s, &b, 431, 431);

    let (s, _, b) = raw(&app, b"NOT HTTP AT ALL\r\n\r\n").await;
    assert_error(s, &b, 400, 400);

    // The server still answers normally afterwards.
    let (s, _) = send(app.with_token(Method::GET, "/v3/assets", &w.token, &w.api_key)).await;
    assert_eq!(s, 200);
}
