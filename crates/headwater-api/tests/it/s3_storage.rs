//! Asset files in an S3-compatible bucket, on both database backends: a real S3 server on
//! 127.0.0.1 (moto, pinned in tests/s3/requirements.txt; scripts/test.sh installs it) takes
//! uploads, serves downloads through Headwater's own URLs, replacements and deletes. moto's
//! request authentication is turned on, so every request Headwater sends must carry a correct
//! Signature Version 4 for an IAM user's key, or moto refuses it.
//!
//! moto is found at `$HEADWATER_TEST_MOTO_SERVER`, `tests/s3/.venv/bin/moto_server` or on
//! PATH; when it is missing these tests fail and say how to install it.

use crate::common::files_under;
use headwater_api::storage::S3Config;
use headwater_core::sigv4::{self, Credentials};
use headwater_testkit::{assert_error, on_both_backends, send, test_config, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

on_both_backends!(assets_live_in_an_s3_bucket);

/// A moto S3 server started for one test and stopped (by its own pid) when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_binary() -> PathBuf {
    if let Ok(p) = std::env::var("HEADWATER_TEST_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/s3/.venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("moto_server"))
            .find(|p| p.exists())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "moto_server not found: the S3 storage tests need a local S3 server. Run scripts/test.sh \
             (it installs it), or: python3 -m venv tests/s3/.venv && \
             tests/s3/.venv/bin/pip install -r tests/s3/requirements.txt \
             (or set HEADWATER_TEST_MOTO_SERVER to a moto_server binary)"
        )
    })
}

async fn start_moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bin = moto_binary();
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    // Wait (polling, with a deadline) until it answers.
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if client.get(&moto.endpoint).send().await.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "moto_server did not answer on {}",
            moto.endpoint
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    moto
}

/// A request to moto signed with Signature Version 4 (`headwater_core::sigv4`).
async fn signed(
    moto: &Moto,
    creds: &Credentials,
    service: &str,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    body: &str,
) -> reqwest::Response {
    let host = moto.endpoint.trim_start_matches("http://").to_string();
    let date = sigv4::amz_date(time::OffsetDateTime::now_utc());
    let sha = sigv4::hex_sha256(body.as_bytes());
    let mut headers = vec![
        ("host", host.as_str()),
        ("x-amz-content-sha256", sha.as_str()),
        ("x-amz-date", date.as_str()),
    ];
    if !body.is_empty() {
        headers.push(("content-type", "application/x-www-form-urlencoded"));
    }
    let auth = sigv4::authorization(
        creds,
        &sigv4::Request {
            method: method.as_str(),
            path,
            query,
            headers: &headers,
            payload_sha256: &sha,
        },
        &date,
        &sigv4::Scope {
            region: "us-east-1",
            service,
        },
    );
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                sigv4::uri_encode(k, false),
                sigv4::uri_encode(v, false)
            )
        })
        .collect();
    let url = if q.is_empty() {
        format!("{}{path}", moto.endpoint)
    } else {
        format!("{}{path}?{}", moto.endpoint, q.join("&"))
    };
    let mut req = reqwest::Client::new()
        .request(method, url)
        .header("authorization", auth);
    for (k, v) in headers.iter().filter(|(k, _)| *k != "host") {
        req = req.header(*k, *v);
    }
    req.body(body.to_string()).send().await.unwrap()
}

fn xml_value(body: &str, tag: &str) -> String {
    body.split(&format!("<{tag}>"))
        .nth(1)
        .and_then(|s| s.split(&format!("</{tag}>")).next())
        .unwrap_or_else(|| panic!("no <{tag}> in {body}"))
        .to_string()
}

/// Creates an IAM user allowed everything, its access key and the bucket, then turns on
/// moto's request authentication: from then on moto recomputes every request's signature and
/// refuses those that do not match. Returns the user's credentials.
async fn enforce_signatures(moto: &Moto, bucket: &str) -> Credentials {
    let setup = Credentials {
        access_key_id: "setup".into(),
        secret_access_key: "setup".into(),
    };
    let iam = |action: &str, extra: &str| {
        format!("Action={action}&Version=2010-05-08&UserName=headwater{extra}")
    };
    let policy = sigv4::uri_encode(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        false,
    );
    for body in [
        iam("CreateUser", ""),
        iam(
            "PutUserPolicy",
            &format!("&PolicyName=all&PolicyDocument={policy}"),
        ),
    ] {
        let r = signed(moto, &setup, "iam", Method::POST, "/", &[], &body).await;
        assert!(
            r.status().is_success(),
            "{body}: {}",
            r.text().await.unwrap()
        );
    }
    let r = signed(
        moto,
        &setup,
        "iam",
        Method::POST,
        "/",
        &[],
        &iam("CreateAccessKey", ""),
    )
    .await;
    let text = r.text().await.unwrap();
    let creds = Credentials {
        access_key_id: xml_value(&text, "AccessKeyId"),
        secret_access_key: xml_value(&text, "SecretAccessKey"),
    };
    let r = signed(
        moto,
        &creds,
        "s3",
        Method::PUT,
        &format!("/{bucket}"),
        &[],
        "",
    )
    .await;
    assert!(
        r.status().is_success(),
        "creating the bucket: {}",
        r.status()
    );
    let r = reqwest::Client::new()
        .post(format!("{}/moto-api/reset-auth", moto.endpoint))
        .body("0")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "turning on moto's authentication");
    // Enforced: the same key with a wrong secret is refused.
    let wrong = Credentials {
        access_key_id: creds.access_key_id.clone(),
        secret_access_key: "not-the-secret".into(),
    };
    let list = [("list-type", "2")];
    let r = signed(
        moto,
        &wrong,
        "s3",
        Method::GET,
        &format!("/{bucket}"),
        &list,
        "",
    )
    .await;
    assert_eq!(r.status().as_u16(), 403, "moto must refuse a bad signature");
    creds
}

/// The object keys in the bucket, listed with a signed request.
async fn keys(moto: &Moto, creds: &Credentials, bucket: &str) -> Vec<String> {
    let list = [("list-type", "2")];
    let r = signed(
        moto,
        creds,
        "s3",
        Method::GET,
        &format!("/{bucket}"),
        &list,
        "",
    )
    .await;
    assert!(r.status().is_success(), "listing: {}", r.status());
    let body = r.text().await.unwrap();
    body.split("<Key>")
        .skip(1)
        .map(|s| s.split("</Key>").next().unwrap().to_string())
        .collect()
}

fn form(bytes: Vec<u8>, name: &str) -> Form {
    Form::new().part(
        "asset[upload]",
        Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str("text/plain")
            .unwrap(),
    )
}

async fn download(app: &TestApp, url: &str) -> (u16, Vec<u8>, Option<String>) {
    let r = app.client.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let len = r
        .headers()
        .get("content-length")
        .map(|v| v.to_str().unwrap().to_string());
    (status, r.bytes().await.unwrap().to_vec(), len)
}

async fn assets_live_in_an_s3_bucket(app: TestApp) {
    let moto = start_moto().await;
    let bucket = "headwater-assets";
    let creds = enforce_signatures(&moto, bucket).await;

    let config = headwater_api::ServerConfig {
        max_upload_bytes: 1024,
        s3: Some(S3Config {
            endpoint: moto.endpoint.clone(),
            bucket: bucket.into(),
            region: "us-east-1".into(),
            path_style: true,
            credentials: creds.clone(),
            session_token: None,
        }),
        ..test_config()
    };
    let assets_dir = config.assets_dir.clone();
    let storage = headwater_api::storage::Storage::from_config(&config).unwrap();
    storage.check().await.expect("the bucket answers");
    let s3 = TestApp::spawn_with(app.backend, config).await.unwrap();
    let (_, org) = s3.owner("owner@example.com").await;
    let owner = s3.login("owner@example.com").await;
    let api_key = s3.stack(&owner, &org, "Media").await;
    let u = |m, p: &str| s3.as_user(m, p, &owner, &api_key);

    // Upload: the object is in the bucket, nothing stays on local disk.
    let (s, b) = send(
        u(Method::POST, "/v3/assets").multipart(form(b"hello s3".to_vec(), "héllo wörld (1).txt")),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let uid = b["asset"]["uid"].as_str().unwrap().to_string();
    let url1 = b["asset"]["url"].as_str().unwrap().to_string();
    let stored = keys(&moto, &creds, bucket).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored[0].contains(&uid), "{stored:?}");
    assert!(
        files_under(&assets_dir).is_empty(),
        "{:?}",
        files_under(&assets_dir)
    );
    // Download through Headwater's URL, streamed from the bucket.
    assert_eq!(
        download(&s3, &url1).await,
        (200, b"hello s3".to_vec(), Some("8".to_string()))
    );

    // Replace: a second object; both versions' URLs serve their own bytes.
    let big = vec![b'x'; 1000];
    let (s, b) =
        send(u(Method::PUT, &format!("/v3/assets/{uid}")).multipart(form(big.clone(), "big.txt")))
            .await;
    assert_eq!(s, 200, "{b}");
    let url2 = b["asset"]["url"].as_str().unwrap().to_string();
    assert_eq!(keys(&moto, &creds, bucket).await.len(), 2);
    assert_eq!(download(&s3, &url2).await.1, big);
    assert_eq!(download(&s3, &url1).await.1, b"hello s3");

    // Too large: refused, nothing reaches the bucket, no spool file is left.
    let (s, b) =
        send(u(Method::POST, "/v3/assets").multipart(form(vec![7u8; 4096], "huge.bin"))).await;
    assert_error(s, &b, 413, 101);
    assert_eq!(keys(&moto, &creds, bucket).await.len(), 2);
    assert!(
        files_under(&assets_dir).is_empty(),
        "{:?}",
        files_under(&assets_dir)
    );

    // Delete: the rows and both objects go; the URLs stop answering.
    let (s, b) = send(u(Method::DELETE, &format!("/v3/assets/{uid}"))).await;
    assert_eq!(s, 200, "{b}");
    assert!(keys(&moto, &creds, bucket).await.is_empty());
    let (s, body, _) = download(&s3, &url1).await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_error(s, &body, 422, 141);
}
