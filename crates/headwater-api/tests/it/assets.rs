//! Assets over HTTP on both backends: multipart upload, download URLs, versions, folders,
//! publishing, limits and authorization.

use headwater_testkit::{assert_error, on_both_backends, send, test_config, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    assets_are_uploaded_downloaded_replaced_and_deleted,
    folders_hold_assets,
    assets_are_published_and_tokens_are_scoped,
    oversized_and_malformed_uploads_are_refused,
);

struct World {
    owner: String,
    api_key: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Media").await;
    World { owner, api_key }
}

fn form(bytes: &'static [u8], name: &str, title: &str) -> Form {
    Form::new()
        .part(
            "asset[upload]",
            Part::bytes(bytes)
                .file_name(name.to_string())
                .mime_str("text/plain")
                .unwrap(),
        )
        .text("asset[title]", title.to_string())
        .text("asset[description]", "a file")
        .text("asset[tags]", "one, two")
}

async fn upload(app: &TestApp, w: &World, f: Form) -> (u16, Value) {
    send(
        app.as_user(Method::POST, "/v3/assets", &w.owner, &w.api_key)
            .multipart(f),
    )
    .await
}

async fn download(app: &TestApp, url: &str) -> (u16, Vec<u8>, String) {
    let r = app.client.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, r.bytes().await.unwrap().to_vec(), ct)
}

async fn assets_are_uploaded_downloaded_replaced_and_deleted(app: TestApp) {
    let w = world(&app).await;
    let (s, b) = upload(&app, &w, form(b"hello world", "hello.txt", "Greeting")).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "Asset created successfully.");
    let a = &b["asset"];
    assert_eq!(a["title"], "Greeting");
    assert_eq!(a["filename"], "hello.txt");
    assert_eq!(a["file_size"], "11");
    assert_eq!(a["content_type"], "text/plain");
    assert_eq!(a["tags"], json!(["one", "two"]));
    let uid = a["uid"].as_str().unwrap().to_string();
    let url1 = a["url"].as_str().unwrap().to_string();
    let (s, bytes, ct) = download(&app, &url1).await;
    assert_eq!(
        (s, bytes.as_slice(), ct.as_str()),
        (200, &b"hello world"[..], "text/plain")
    );

    // Replace the file: a new version; the old version's URL still serves the old bytes.
    let replace = Form::new().part(
        "asset[upload]",
        Part::bytes(&b"HELLO AGAIN"[..])
            .file_name("hello.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let (s, b) = send(
        app.as_user(
            Method::PUT,
            &format!("/v3/assets/{uid}"),
            &w.owner,
            &w.api_key,
        )
        .multipart(replace),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["asset"]["_version"], 2);
    let url2 = b["asset"]["url"].as_str().unwrap().to_string();
    assert_ne!(url1, url2);
    assert_eq!(download(&app, &url2).await.1, b"HELLO AGAIN");
    assert_eq!(download(&app, &url1).await.1, b"hello world");
    let (_, b) = send(app.as_user(
        Method::GET,
        &format!("/v3/assets/{uid}/versions"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(b["versions"].as_array().unwrap().len(), 2);

    // Metadata by JSON.
    let (s, b) = send(
        app.as_user(
            Method::PUT,
            &format!("/v3/assets/{uid}"),
            &w.owner,
            &w.api_key,
        )
        .json(&json!({"asset": {"title": "Renamed", "tags": ["x"]}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            b["asset"]["title"].clone(),
            b["asset"]["tags"].clone(),
            b["asset"]["_version"].clone()
        ),
        (json!("Renamed"), json!(["x"]), json!(2))
    );

    let (_, b) = send(app.as_user(
        Method::GET,
        "/v3/assets?include_count=true",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(b["count"], 1);
    let (_, b) =
        send(app.as_user(Method::GET, "/v3/assets?count=true", &w.owner, &w.api_key)).await;
    assert_eq!(b["assets"], 1);

    let (s, b) = send(app.as_user(
        Method::DELETE,
        &format!("/v3/assets/{uid}"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(
        (s, b["notice"].clone()),
        (200, json!("Asset deleted successfully."))
    );
    let (s, b) = send(app.as_user(
        Method::GET,
        &format!("/v3/assets/{uid}"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_error(s, &b, 422, 141);
    assert_ne!(download(&app, &url2).await.0, 200);
}

async fn folders_hold_assets(app: TestApp) {
    let w = world(&app).await;
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/assets/folders", &w.owner, &w.api_key)
            .json(&json!({"asset": {"name": "Images"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["asset"]["is_dir"], true);
    let folder = b["asset"]["uid"].as_str().unwrap().to_string();
    let f = form(b"png bytes", "a.png", "A").text("asset[parent_uid]", folder.clone());
    let (s, b) = upload(&app, &w, f).await;
    assert_eq!((s, b["asset"]["parent_uid"].clone()), (201, json!(folder)));
    upload(&app, &w, form(b"root file", "b.txt", "B")).await;
    let (_, b) = send(app.as_user(
        Method::GET,
        &format!("/v3/assets?folder={folder}&include_count=true"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(b["count"], 1);
    let (s, b) = send(app.as_user(
        Method::DELETE,
        &format!("/v3/assets/folders/{folder}"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_error(s, &b, 422, 120);
    let bad = form(b"x", "c.txt", "C").text("asset[parent_uid]", "bltnotafolder000000");
    let (s, b) = upload(&app, &w, bad).await;
    assert_error(s, &b, 422, 120);
}

async fn assets_are_published_and_tokens_are_scoped(app: TestApp) {
    let w = world(&app).await;
    send(
        app.as_user(Method::POST, "/v3/environments", &w.owner, &w.api_key)
            .json(&json!({"environment": {"name": "production"}})),
    )
    .await;
    let (_, b) = upload(&app, &w, form(b"data", "d.txt", "D")).await;
    let uid = b["asset"]["uid"].as_str().unwrap().to_string();
    let body = json!({"asset": {"environments": ["production"], "locales": ["en-us"]}});
    let (s, _) = send(
        app.as_user(
            Method::POST,
            &format!("/v3/assets/{uid}/publish"),
            &w.owner,
            &w.api_key,
        )
        .json(&body),
    )
    .await;
    assert_eq!(s, 200);
    let (_, b) = send(app.as_user(
        Method::GET,
        &format!("/v3/assets/{uid}"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(b["asset"]["publish_details"].as_array().unwrap().len(), 1);

    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "reader").await;
    let (s, _) =
        send(app.with_token(Method::GET, &format!("/v3/assets/{uid}"), &ro, &w.api_key)).await;
    assert_eq!(s, 200);
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/assets", &ro, &w.api_key)
            .multipart(form(b"no", "n.txt", "N")),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(
        app.with_token(
            Method::POST,
            &format!("/v3/assets/{uid}/unpublish"),
            &ro,
            &w.api_key,
        )
        .json(&body),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (rw, token_uid) = app.rw_token(&w.owner, &w.api_key, "writer").await;
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/assets", &rw, &w.api_key)
            .multipart(form(b"yes", "y.txt", "Y")),
    )
    .await;
    assert_eq!(
        (s, b["asset"]["created_by"].clone()),
        (201, json!(token_uid))
    );
    let (s, _) = send(
        app.with_token(
            Method::POST,
            &format!("/v3/assets/{uid}/unpublish"),
            &rw,
            &w.api_key,
        )
        .json(&body),
    )
    .await;
    assert_eq!(s, 200);
}

async fn oversized_and_malformed_uploads_are_refused(app: TestApp) {
    let config = headwater_api::ServerConfig {
        max_upload_bytes: 1024,
        ..test_config()
    };
    let small = TestApp::spawn_with(app.backend, config).await.unwrap();
    let w = world(&small).await;
    static BIG: [u8; 4096] = [7u8; 4096];
    let (s, b) = upload(&small, &w, form(&BIG, "big.bin", "Big")).await;
    assert_error(s, &b, 413, 101);
    let (_, b) =
        send(small.as_user(Method::GET, "/v3/assets?count=true", &w.owner, &w.api_key)).await;
    assert_eq!(b["assets"], 0, "nothing stored");
    let (s, b) = upload(&small, &w, Form::new().text("asset[title]", "no file")).await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(
        small
            .as_user(Method::POST, "/v3/assets", &w.owner, &w.api_key)
            .json(&json!({"asset": {}})),
    )
    .await;
    assert_error(s, &b, 400, 100);
}
