//! Bulk publish and unpublish (`/v3/bulk/publish`, `/v3/bulk/unpublish`) on both backends:
//! all items or none, every item authorized like its single publish, invalid items named.

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    bulk_publish_publishes_entries_and_assets_everywhere_asked,
    invalid_items_are_named_and_nothing_is_published,
    every_item_is_authorized_like_its_single_publish,
);

struct World {
    owner: String,
    api_key: String,
    entries: Vec<String>,
    asset: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Bulk").await;
    let u = |m, p: &str| app.as_user(m, p, &owner, &api_key);
    for env in ["production", "staging"] {
        let (s, b) =
            send(u(Method::POST, "/v3/environments").json(&json!({"environment": {"name": env}})))
                .await;
        assert_eq!(s, 201, "{b}");
    }
    let ct = json!({"content_type": {"title": "News", "uid": "news", "schema": [
        {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}]}});
    let (s, b) = send(u(Method::POST, "/v3/content_types").json(&ct)).await;
    assert_eq!(s, 201, "{b}");
    let mut entries = Vec::new();
    for title in ["One", "Two"] {
        let (s, b) = send(
            u(Method::POST, "/v3/content_types/news/entries")
                .json(&json!({"entry": {"title": title}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        entries.push(b["entry"]["uid"].as_str().unwrap().to_string());
    }
    // A second version of the first entry.
    let (s, b) = send(
        u(
            Method::PUT,
            &format!("/v3/content_types/news/entries/{}", entries[0]),
        )
        .json(&json!({"entry": {"title": "One, again"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let form = Form::new().part(
        "asset[upload]",
        Part::bytes(b"bulk".to_vec())
            .file_name("bulk.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let (s, b) = send(u(Method::POST, "/v3/assets").multipart(form)).await;
    assert_eq!(s, 201, "{b}");
    let asset = b["asset"]["uid"].as_str().unwrap().to_string();
    World {
        owner,
        api_key,
        entries,
        asset,
    }
}

/// (environment name is not returned: environment uid, locale, version) of an item, sorted.
async fn published(app: &TestApp, w: &World, path: &str, key: &str) -> Vec<(String, i64)> {
    let (s, b) = send(app.as_user(Method::GET, path, &w.owner, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    let mut out: Vec<(String, i64)> = b[key]["publish_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["locale"].as_str().unwrap().to_string(),
                d["version"].as_i64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn entry_path(uid: &str) -> String {
    format!("/v3/content_types/news/entries/{uid}")
}

async fn bulk_publish_publishes_entries_and_assets_everywhere_asked(app: TestApp) {
    let w = world(&app).await;
    let body = json!({
        "entries": [
            {"uid": w.entries[0], "content_type": "news", "locale": "en-us", "version": 1},
            {"uid": w.entries[1], "_content_type_uid": "news"}
        ],
        "assets": [{"uid": w.asset}],
        "locales": ["en-us"],
        "environments": ["production", "staging"]
    });
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/bulk/publish", &w.owner, &w.api_key)
            .header("api_version", "3.2")
            .header("skip_workflow_stage_check", "true")
            .json(&body),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["notice"].as_str().unwrap().contains("publish"));
    // The version asked for, else the current one; on both environments.
    let one = ("en-us".to_string(), 1);
    assert_eq!(
        published(&app, &w, &entry_path(&w.entries[0]), "entry").await,
        [one.clone(), one]
    );
    let two = ("en-us".to_string(), 1);
    assert_eq!(
        published(&app, &w, &entry_path(&w.entries[1]), "entry").await,
        [two.clone(), two]
    );
    assert_eq!(
        published(&app, &w, &format!("/v3/assets/{}", w.asset), "asset")
            .await
            .len(),
        2
    );
    // One audit record per item.
    let (_, b) = send(app.as_user(Method::GET, "/v3/audit-logs", &w.owner, &w.api_key)).await;
    let publishes = b["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["event_type"] == "publish")
        .count();
    assert_eq!(publishes, 3, "{b}");

    // Unpublish from one environment only.
    let body = json!({
        "entries": [{"uid": w.entries[0], "content_type": "news", "locale": "en-us"}],
        "assets": [{"uid": w.asset}],
        "locales": ["en-us"],
        "environments": ["staging"]
    });
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/bulk/unpublish", &w.owner, &w.api_key)
            .json(&body),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        published(&app, &w, &entry_path(&w.entries[0]), "entry")
            .await
            .len(),
        1
    );
    assert_eq!(
        published(&app, &w, &entry_path(&w.entries[1]), "entry")
            .await
            .len(),
        2
    );
    assert_eq!(
        published(&app, &w, &format!("/v3/assets/{}", w.asset), "asset")
            .await
            .len(),
        1
    );
}

async fn invalid_items_are_named_and_nothing_is_published(app: TestApp) {
    let w = world(&app).await;
    let body = json!({
        "entries": [
            {"uid": w.entries[0], "content_type": "news"},
            {"uid": "blt0000000000000000", "content_type": "news"},
            {"uid": w.entries[1], "content_type": "nope"},
            {"uid": w.entries[1], "content_type": "news", "version": 9},
            {"content_type": "news"}
        ],
        "assets": [{"uid": "blt_missing"}],
        "locales": ["en-us", "xx-yy"],
        "environments": ["production", "moon"]
    });
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/bulk/publish", &w.owner, &w.api_key)
            .json(&body),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let errors = b["errors"].as_object().unwrap();
    let mut keys: Vec<&str> = errors.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["entries[4].uid"],
        "shape errors are reported before lookups: {b}"
    );

    let body = json!({
        "entries": [
            {"uid": w.entries[0], "content_type": "news"},
            {"uid": "blt0000000000000000", "content_type": "news"},
            {"uid": w.entries[1], "content_type": "nope"},
            {"uid": w.entries[1], "content_type": "news", "version": 9}
        ],
        "assets": [{"uid": "blt_missing"}],
        "locales": ["en-us", "xx-yy"],
        "environments": ["production", "moon"]
    });
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/bulk/publish", &w.owner, &w.api_key)
            .json(&body),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let errors = b["errors"].as_object().unwrap();
    let mut keys: Vec<&str> = errors.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "assets[0].uid",
            "entries[1].uid",
            "entries[2].content_type",
            "entries[3].version",
            "environments[1]",
            "locales[1]"
        ],
        "{b}"
    );
    assert!(b["error_message"]
        .as_str()
        .unwrap()
        .contains("nothing was published"));
    // The valid item was not published either.
    assert!(published(&app, &w, &entry_path(&w.entries[0]), "entry")
        .await
        .is_empty());

    // Missing or malformed settings.
    for (body, field) in [
        (
            json!({"entries": [{"uid": w.entries[0], "content_type": "news"}], "locales": ["en-us"]}),
            "environments",
        ),
        (
            json!({"entries": [{"uid": w.entries[0], "content_type": "news"}], "environments": ["production"]}),
            "locales",
        ),
        (
            json!({"locales": ["en-us"], "environments": ["production"]}),
            "entries",
        ),
        (
            json!({"entries": "all", "locales": ["en-us"], "environments": ["production"]}),
            "entries",
        ),
        (
            json!({"entries": [{"uid": w.entries[0], "content_type": "news", "version": "x"}], "locales": ["en-us"], "environments": ["production"]}),
            "entries[0].version",
        ),
    ] {
        let (s, b) = send(
            app.as_user(Method::POST, "/v3/bulk/publish", &w.owner, &w.api_key)
                .json(&body),
        )
        .await;
        assert_error(s, &b, 422, 120);
        assert!(b["errors"].get(field).is_some(), "{field}: {b}");
    }
    let many: Vec<Value> = (0..101).map(|_| json!({"uid": w.asset})).collect();
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/bulk/publish", &w.owner, &w.api_key)
            .json(&json!({"assets": many, "locales": ["en-us"], "environments": ["production"]})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(
        published(&app, &w, &format!("/v3/assets/{}", w.asset), "asset")
            .await
            .is_empty()
    );
}

async fn every_item_is_authorized_like_its_single_publish(app: TestApp) {
    let w = world(&app).await;
    let body = json!({
        "entries": [{"uid": w.entries[0], "content_type": "news"}],
        "assets": [{"uid": w.asset}],
        "locales": ["en-us"],
        "environments": ["production"]
    });
    // Read-only: refused (MT-7), nothing published.
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "reader").await;
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/bulk/publish", &ro, &w.api_key)
            .json(&body),
    )
    .await;
    assert_error(s, &b, 403, 162);
    // Entries writable, assets read-only: the asset item refuses the whole request.
    let (s, t) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": "entries-only", "expires_on": null, "scope": [
                {"module": "entry", "acl": {"read": true, "write": true}},
                {"module": "asset", "acl": {"read": true, "write": false}}]}),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    let token = t["token"]["token"].as_str().unwrap().to_string();
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/bulk/publish", &token, &w.api_key)
            .json(&body),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert!(published(&app, &w, &entry_path(&w.entries[0]), "entry")
        .await
        .is_empty());
    // The same token publishes the entry alone.
    let entries_only = json!({
        "entries": [{"uid": w.entries[0], "content_type": "news"}],
        "locales": ["en-us"],
        "environments": ["production"]
    });
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/bulk/publish", &token, &w.api_key)
            .json(&entries_only),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        published(&app, &w, &entry_path(&w.entries[0]), "entry").await,
        [("en-us".to_string(), 2)]
    );
    // No credential at all: 401.
    let (s, b) = send(
        app.req(Method::POST, "/v3/bulk/publish")
            .header("api_key", &w.api_key)
            .json(&body),
    )
    .await;
    assert_error(s, &b, 401, 105);
}
