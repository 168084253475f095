//! Entry extras over HTTP on both backends: references, version names, unlocalize, metadata,
//! the workflow stage lock (WF-4), and release items brought up to date and moved between
//! releases.

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    entries_report_who_refers_to_them,
    versions_are_named_renamed_and_unnamed,
    entries_are_unlocalized,
    metadata_attaches_to_entries_and_assets,
    stage_entry_lock_limits_who_edits,
    release_items_are_updated_and_moved,
);

struct World {
    org: String,
    owner: String,
    api_key: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Site").await;
    let w = World {
        org,
        owner,
        api_key,
    };
    let (s, b) = send(
        w.u(app, Method::POST, "/v3/content_types")
            .json(&json!({"content_type": {
        "title": "Author", "uid": "author", "schema": [
            {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = send(
        w.u(app, Method::POST, "/v3/content_types")
            .json(&json!({"content_type": {
        "title": "Post", "uid": "post", "schema": [
            {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
            {"uid": "body", "display_name": "Body", "data_type": "text"},
            {"uid": "author", "display_name": "Author", "data_type": "reference",
             "reference_to": ["author"], "field_metadata": {"ref_multiple": false}}]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    w
}

impl World {
    fn u(&self, app: &TestApp, m: Method, p: &str) -> reqwest::RequestBuilder {
        app.as_user(m, p, &self.owner, &self.api_key)
    }

    async fn entry(&self, app: &TestApp, ct: &str, body: Value) -> String {
        let (s, b) = send(
            self.u(
                app,
                Method::POST,
                &format!("/v3/content_types/{ct}/entries"),
            )
            .json(&json!({ "entry": body })),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        b["entry"]["uid"].as_str().unwrap().to_string()
    }

    async fn person(&self, app: &TestApp, email: &str, role: &str) -> (String, String) {
        let uid = app.member(email, &self.org).await;
        app.share(&self.owner, &self.api_key, email, role).await;
        (uid, app.login(email).await)
    }

    async fn french(&self, app: &TestApp) {
        let (s, b) = send(
            self.u(app, Method::POST, "/v3/locales")
                .json(&json!({"locale": {"code": "fr-fr", "name": "French"}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
    }
}

async fn entries_report_who_refers_to_them(app: TestApp) {
    let w = world(&app).await;
    let ada = w.entry(&app, "author", json!({"title": "Ada"})).await;
    let bob = w.entry(&app, "author", json!({"title": "Bob"})).await;
    let p1 = w
        .entry(
            &app,
            "post",
            json!({"title": "On engines", "author": [{"uid": ada, "_content_type_uid": "author"}]}),
        )
        .await;
    // A text that merely contains the uid is no reference.
    w.entry(&app, "post", json!({"title": "Mentions", "body": ada}))
        .await;
    let refs = |uid: &str| {
        let rb = w.u(
            &app,
            Method::GET,
            &format!("/v3/content_types/author/entries/{uid}/references"),
        );
        async move { send(rb.query(&[("include_publish_details", "true")])).await }
    };
    let (s, b) = refs(&ada).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], 1, "{b}");
    let r = &b["references"][0];
    assert_eq!(r["entry_uid"], p1.as_str());
    assert_eq!(r["content_type_uid"], "post");
    assert_eq!(r["content_type_title"], "Post");
    assert_eq!(r["title"], "On engines");
    assert_eq!(r["locale"], "en-us");
    assert_eq!(r["_version"], 1);
    assert_eq!(r["publish_details"], json!([]));
    let (_, b) = refs(&bob).await;
    assert_eq!(b["references"], json!([]));
    // Retargeting the reference moves it.
    let (s, b) = send(
        w.u(&app, Method::PUT, &format!("/v3/content_types/post/entries/{p1}"))
            .json(&json!({"entry": {"title": "On engines", "author": [{"uid": bob, "_content_type_uid": "author"}]}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(refs(&ada).await.1["count"], 0);
    assert_eq!(refs(&bob).await.1["count"], 1);
    let (s, b) = refs("blt_missing").await;
    assert_error(s, &b, 422, 141);
    // A token limited to authors may ask, but sees no post rows.
    let (s, b) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": "authors", "expires_on": null, "scope": [{"module": "entry",
                "acl": {"read": true}, "content_types": ["author"]}]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let t = b["token"]["token"].as_str().unwrap().to_string();
    let (s, b) = send(app.with_token(
        Method::GET,
        &format!("/v3/content_types/author/entries/{bob}/references"),
        &t,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["references"],
        json!([]),
        "the referring post is not the token's: {b}"
    );
}

async fn versions_are_named_renamed_and_unnamed(app: TestApp) {
    let w = world(&app).await;
    let uid = w.entry(&app, "author", json!({"title": "Ada"})).await;
    let path = format!("/v3/content_types/author/entries/{uid}");
    let (s, _) = send(
        w.u(&app, Method::PUT, &path)
            .json(&json!({"entry": {"title": "Ada L."}})),
    )
    .await;
    assert_eq!(s, 200);
    let name = |n: i64, body: Value| {
        let rb = w.u(&app, Method::POST, &format!("{path}/versions/{n}/name"));
        async move { send(rb.json(&body)).await }
    };
    let (s, b) = name(
        1,
        json!({"entry": {"_version_name": "First draft", "locale": "en-us"}}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Version name assigned successfully");
    let (s, b) = send(w.u(&app, Method::GET, &format!("{path}/versions"))).await;
    assert_eq!(s, 200, "{b}");
    let v = b["versions"].as_array().unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["_version"], 2);
    assert!(v[0].get("_version_name").is_none(), "{b}");
    assert_eq!(v[1]["_version_name"]["title"], "First draft");
    let (_, b) = send(
        w.u(&app, Method::GET, &format!("{path}/versions"))
            .query(&[("named", "true")]),
    )
    .await;
    assert_eq!(b["versions"].as_array().unwrap().len(), 1);

    // Renaming needs force; unknown versions and empty names are refused.
    let (s, b) = name(1, json!({"entry": {"_version_name": "Second thought"}})).await;
    assert_error(s, &b, 422, 120);
    let (s, b) = name(
        1,
        json!({"entry": {"_version_name": "Second thought", "force": true}}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = name(9, json!({"entry": {"_version_name": "Ghost"}})).await;
    assert_error(s, &b, 422, 141);
    let (s, b) = name(2, json!({"entry": {"_version_name": " "}})).await;
    assert_error(s, &b, 422, 120);
    let (_, b) = send(w.u(&app, Method::GET, &format!("{path}/versions"))).await;
    assert_eq!(b["versions"][1]["_version_name"]["title"], "Second thought");

    let (s, b) = send(
        w.u(&app, Method::DELETE, &format!("{path}/versions/1/name"))
            .json(&json!({"entry": {"locale": "en-us"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Version name deleted successfully");
    let (s, b) = send(w.u(&app, Method::DELETE, &format!("{path}/versions/1/name"))).await;
    assert_error(s, &b, 422, 141);

    // A read-only token cannot name versions.
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "ro").await;
    let (s, b) = send(
        app.with_token(
            Method::POST,
            &format!("{path}/versions/1/name"),
            &ro,
            &w.api_key,
        )
        .json(&json!({"entry": {"_version_name": "x"}})),
    )
    .await;
    assert_error(s, &b, 403, 162);
}

async fn entries_are_unlocalized(app: TestApp) {
    let w = world(&app).await;
    w.french(&app).await;
    let uid = w.entry(&app, "author", json!({"title": "Ada"})).await;
    let path = format!("/v3/content_types/author/entries/{uid}");
    let (s, b) = send(
        w.u(&app, Method::PUT, &path)
            .query(&[("locale", "fr-fr")])
            .json(&json!({"entry": {"title": "Ada (fr)"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Entry localized successfully.");
    let unlocalize = |locale: Option<&str>| {
        let mut rb = w.u(&app, Method::POST, &format!("{path}/unlocalize"));
        if let Some(l) = locale {
            rb = rb.query(&[("locale", l)]);
        }
        async move { send(rb).await }
    };
    let (s, b) = unlocalize(Some("en-us")).await;
    assert_error(s, &b, 422, 120);
    let (s, b) = unlocalize(None).await;
    assert_error(s, &b, 422, 120);
    let (s, b) = unlocalize(Some("fr-fr")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Entry unlocalized successfully.");
    // The French reading falls back to the master again; the entry itself stays.
    let (s, b) = send(w.u(&app, Method::GET, &path).query(&[("locale", "fr-fr")])).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["entry"]["title"], "Ada");
    assert_eq!(b["entry"]["locale"], "en-us");
    let (s, b) = unlocalize(Some("fr-fr")).await;
    assert_error(s, &b, 422, 120);
}

async fn metadata_attaches_to_entries_and_assets(app: TestApp) {
    let w = world(&app).await;
    let entry = w.entry(&app, "author", json!({"title": "Ada"})).await;
    let (s, b) = send(w.u(&app, Method::POST, "/v3/extensions").json(&json!({"extension": {
        "title": "Presets", "type": "field", "data_type": "json", "src": "https://ext.example.com"}})))
    .await;
    assert_eq!(s, 201, "{b}");
    let ext = b["extension"]["uid"].as_str().unwrap().to_string();
    let presets = json!([{"uid": "p1", "name": "Big", "options": {}}]);
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/metadata")
            .json(&json!({"metadata": {
        "entity_uid": entry, "type": "entry", "_content_type_uid": "author",
        "extension_uid": ext, "presets": presets}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "Metadata created successfully.");
    let m = &b["metadata"];
    assert_eq!(m["entity_uid"], entry.as_str());
    assert_eq!(m["type"], "entry");
    assert_eq!(m["_content_type_uid"], "author");
    assert_eq!(m["locale"], "en-us");
    assert_eq!(m["presets"], presets);
    let uid = m["uid"].as_str().unwrap().to_string();
    let path = format!("/v3/metadata/{uid}");
    let (s, b) = send(w.u(&app, Method::GET, &path)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["metadata"]["presets"], presets);
    let (s, b) = send(w.u(&app, Method::PUT, &path).json(&json!({"metadata": {
        "presets": [{"uid": "p2", "name": "Small", "options": {}}]}})))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["metadata"]["presets"][0]["name"], "Small");
    let (s, b) = send(
        w.u(&app, Method::PUT, &path)
            .json(&json!({"metadata": {"entity_uid": "other"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    // Refused: unknown entry, unknown extension, bad type.
    for (bad, status, code) in [
        (
            json!({"entity_uid": "blt_none", "type": "entry", "_content_type_uid": "author", "extension_uid": ext}),
            422,
            141,
        ),
        (
            json!({"entity_uid": entry, "type": "entry", "_content_type_uid": "author", "extension_uid": "blt_none"}),
            422,
            120,
        ),
        (
            json!({"entity_uid": entry, "type": "page", "extension_uid": ext}),
            422,
            120,
        ),
    ] {
        let (s, b) = send(
            w.u(&app, Method::POST, "/v3/metadata")
                .json(&json!({ "metadata": bad })),
        )
        .await;
        assert_error(s, &b, status, code);
    }
    // Assets too.
    let f = reqwest::multipart::Form::new().part(
        "asset[upload]",
        reqwest::multipart::Part::bytes(b"x".to_vec())
            .file_name("x.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let (s, b) = send(w.u(&app, Method::POST, "/v3/assets").multipart(f)).await;
    assert_eq!(s, 201, "{b}");
    let asset = b["asset"]["uid"].as_str().unwrap().to_string();
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/metadata")
            .json(&json!({"metadata": {
        "entity_uid": asset, "type": "asset", "extension_uid": ext, "note": "hi"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = send(w.u(&app, Method::GET, "/v3/metadata?include_count=true")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], 2);
    let (_, b) = send(
        w.u(&app, Method::GET, "/v3/metadata")
            .query(&[("entity_uid", asset.as_str())]),
    )
    .await;
    assert_eq!(b["metadata"].as_array().unwrap().len(), 1);
    assert_eq!(b["metadata"][0]["note"], "hi");
    // A token that cannot touch entries cannot attach metadata to one; the assets' stays visible.
    let (s, b) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": "assets", "expires_on": null,
                "scope": [{"module": "asset", "acl": {"read": true, "write": true}}]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let t = b["token"]["token"].as_str().unwrap().to_string();
    let (s, b) = send(app.with_token(Method::GET, &path, &t, &w.api_key)).await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(app.with_token(Method::GET, "/v3/metadata", &t, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["metadata"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["metadata"][0]["type"], "asset");
    // Deleting the entry takes its metadata with it.
    let (s, b) = send(w.u(&app, Method::DELETE, &path)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Metadata deleted successfully.");
    let (s, b) = send(w.u(&app, Method::GET, &path)).await;
    assert_error(s, &b, 422, 141);
}

async fn stage_entry_lock_limits_who_edits(app: TestApp) {
    let w = world(&app).await;
    let (ann, ann_at) = w.person(&app, "ann@example.com", "Content Manager").await;
    let (_, bob_at) = w.person(&app, "bob@example.com", "Content Manager").await;
    let (mt, _) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let acl = |users: Value| json!({"others": {}, "users": {"uids": users}, "roles": {"uids": []}});
    let (s, b) = send(w.u(&app, Method::POST, "/v3/workflows").json(&json!({"workflow": {
        "name": "Editorial", "content_types": ["author"], "branches": ["main"],
        "workflow_stages": [
            {"uid": "draft", "name": "Draft", "entry_lock": "$none", "SYS_ACL": acl(json!(["$all"]))},
            {"uid": "review", "name": "Review", "entry_lock": "$others", "SYS_ACL": acl(json!([ann]))},
            {"uid": "frozen", "name": "Frozen", "entry_lock": "$all", "SYS_ACL": acl(json!(["$all"]))}
        ]}})))
    .await;
    assert_eq!(s, 201, "{b}");
    let uid = w.entry(&app, "author", json!({"title": "Ada"})).await;
    let path = format!("/v3/content_types/author/entries/{uid}");
    let stage = |s: &str| {
        let rb = w.u(&app, Method::POST, &format!("{path}/workflow"));
        let body = json!({"workflow": {"workflow_stage": {"uid": s}}});
        async move { send(rb.query(&[("locale", "en-us")]).json(&body)).await }
    };
    let edit = |rb: reqwest::RequestBuilder, title: &str| {
        let body = json!({"entry": {"title": title}});
        async move { send(rb.json(&body)).await }
    };
    let as_ = |at: &str| app.as_user(Method::PUT, &path, at, &w.api_key);

    assert_eq!(stage("draft").await.0, 200);
    assert_eq!(edit(as_(&bob_at), "by bob").await.0, 200);

    // Review locks it for everyone the stage does not name.
    assert_eq!(stage("review").await.0, 200);
    let (s, b) = edit(as_(&bob_at), "bob again").await;
    assert_error(s, &b, 403, 162);
    assert!(b["error_message"].as_str().unwrap().contains("WF-4"), "{b}");
    let (s, b) = edit(app.with_token(Method::PUT, &path, &mt, &w.api_key), "token").await;
    assert_error(s, &b, 403, 162);
    assert_eq!(edit(as_(&ann_at), "by ann").await.0, 200);
    assert_eq!(edit(as_(&w.owner), "by owner").await.0, 200);
    // Deleting and version names are changes too.
    let (s, b) = send(app.as_user(Method::DELETE, &path, &bob_at, &w.api_key)).await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(
        app.as_user(
            Method::POST,
            &format!("{path}/versions/1/name"),
            &bob_at,
            &w.api_key,
        )
        .json(&json!({"entry": {"_version_name": "x"}})),
    )
    .await;
    assert_error(s, &b, 403, 162);

    // Frozen locks it for all but owners and admins.
    assert_eq!(stage("frozen").await.0, 200);
    let (s, b) = edit(as_(&ann_at), "ann again").await;
    assert_error(s, &b, 403, 162);
    let (s, b) = edit(as_(&w.owner), "owner again").await;
    assert_eq!(s, 200, "{b}");
    // Nothing was written by the refused edits.
    let (_, b) = send(w.u(&app, Method::GET, &path)).await;
    assert_eq!(b["entry"]["title"], "owner again");
}

async fn release_items_are_updated_and_moved(app: TestApp) {
    let w = world(&app).await;
    let a = w.entry(&app, "author", json!({"title": "Ada"})).await;
    let b_uid = w.entry(&app, "author", json!({"title": "Bob"})).await;
    let release = |name: &str| {
        let rb = w.u(&app, Method::POST, "/v3/releases");
        let body = json!({"release": {"name": name}});
        async move {
            let (s, b) = send(rb.json(&body)).await;
            assert_eq!(s, 201, "{b}");
            b["release"]["uid"].as_str().unwrap().to_string()
        }
    };
    let r1 = release("Spring").await;
    let r2 = release("Summer").await;
    let (s, b) = send(
        w.u(&app, Method::POST, &format!("/v3/releases/{r1}/items")).json(&json!({"items": [
            {"uid": a, "version": 1, "locale": "en-us", "content_type_uid": "author", "action": "publish"},
            {"uid": b_uid, "version": 1, "locale": "en-us", "content_type_uid": "author", "action": "publish"}]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    for _ in 0..2 {
        send(
            w.u(
                &app,
                Method::PUT,
                &format!("/v3/content_types/author/entries/{a}"),
            )
            .json(&json!({"entry": {"title": "Ada+"}})),
        )
        .await;
    }
    let items = |r: &str| {
        let rb = w.u(&app, Method::GET, &format!("/v3/releases/{r}/items"));
        async move { send(rb).await.1["items"].as_array().unwrap().clone() }
    };
    let version_of = |items: &[Value], uid: &str| {
        items
            .iter()
            .find(|i| i["uid"] == uid)
            .map(|i| i["version"].clone())
    };
    // Only the named item, then all.
    let (s, b) = send(
        w.u(
            &app,
            Method::PUT,
            &format!("/v3/releases/{r1}/update_items"),
        )
        .json(&json!({"items": [{"uid": b_uid, "locale": "en-us"}]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(version_of(&items(&r1).await, &a), Some(json!(1)));
    let (s, b) = send(
        w.u(
            &app,
            Method::PUT,
            &format!("/v3/releases/{r1}/update_items"),
        )
        .json(&json!({"items": ["$all"]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(version_of(&items(&r1).await, &a), Some(json!(3)));
    let (s, b) = send(
        w.u(
            &app,
            Method::PUT,
            &format!("/v3/releases/{r1}/update_items"),
        )
        .json(&json!({"items": [{"uid": "blt_other"}]})),
    )
    .await;
    assert_error(s, &b, 422, 120);

    // Move Bob to Summer (PUT, as the JS client sends it).
    let (s, b) = send(
        w.u(&app, Method::PUT, &format!("/v3/releases/{r1}/items/move"))
            .json(&json!({"release_uid": r2, "items": [{"uid": b_uid, "locale": "en-us"}]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["notice"].is_string());
    let (i1, i2) = (items(&r1).await, items(&r2).await);
    assert_eq!(i1.len(), 1);
    assert_eq!(i1[0]["uid"], a.as_str());
    assert_eq!(i2.len(), 1);
    assert_eq!(i2[0]["uid"], b_uid.as_str());
    assert_eq!(i2[0]["version"], 1, "a moved item keeps its version");
    // And back with POST (as the Python client sends it); unknown items and targets refused.
    let (s, b) = send(
        w.u(&app, Method::POST, &format!("/v3/releases/{r2}/items/move"))
            .json(&json!({"release_uid": r1, "item": [{"uid": b_uid, "locale": "en-us"}]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(items(&r1).await.len(), 2);
    for bad in [
        json!({"release_uid": r2, "items": [{"uid": "blt_x"}]}),
        json!({"release_uid": "blt_nope", "items": [{"uid": a}]}),
        json!({"release_uid": r1, "items": [{"uid": a}]}),
        json!({"items": [{"uid": a}]}),
    ] {
        let (s, b) = send(
            w.u(&app, Method::PUT, &format!("/v3/releases/{r1}/items/move"))
                .json(&bad),
        )
        .await;
        assert_eq!(s, 422, "{bad}: {b}");
    }
    assert_eq!(items(&r1).await.len(), 2, "refused moves change nothing");
    // A locked target refuses.
    let (s, b) = send(
        w.u(&app, Method::PUT, &format!("/v3/releases/{r2}"))
            .json(&json!({"release": {"locked": true}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(
        w.u(&app, Method::PUT, &format!("/v3/releases/{r1}/items/move"))
            .json(&json!({"release_uid": r2, "items": [{"uid": a}]})),
    )
    .await;
    assert_error(s, &b, 422, 120);
}
