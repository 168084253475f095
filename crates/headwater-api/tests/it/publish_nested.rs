//! Nested-reference publishing (`?nested=true`, `publish_with_reference`), bulk add to a release
//! (`/v3/bulk/release/items`, `variant_id`), and the backup branch and nested field merge of a
//! branch merge, and metadata publishing (`/v3/metadata/{uid}/publish`), on both backends.

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    nested_bulk_publish_takes_references_along,
    nested_publish_stops_at_what_is_live_and_at_depth_five,
    nested_references_are_authorized_each,
    nested_jobs_and_single_entry_publishes,
    bulk_add_to_release_with_references,
    merge_makes_a_backup_branch_unless_no_revert,
    merge_combines_groups_and_blocks_field_by_field,
    metadata_is_published_and_unpublished,
);

struct World {
    owner: String,
    api_key: String,
    /// person entries: p1 (mentor p3), p2, p3.
    people: Vec<String>,
    /// The article (author p1, hero asset, a quote block naming p2).
    article: String,
    asset: String,
}

impl World {
    fn req(&self, app: &TestApp, m: Method, path: &str) -> reqwest::RequestBuilder {
        app.as_user(m, path, &self.owner, &self.api_key)
    }

    async fn ok(&self, app: &TestApp, m: Method, path: &str, body: Value) -> Value {
        let (s, b) = send(self.req(app, m.clone(), path).json(&body)).await;
        assert!(s == 200 || s == 201, "{m} {path}: {s} {b}");
        b
    }

    /// The versions live on `production` (en-us) of an entry or asset.
    async fn live(&self, app: &TestApp, path: &str, key: &str) -> Vec<i64> {
        let (s, b) = send(
            self.req(app, Method::GET, path)
                .query(&[("include_publish_details", "true")]),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let mut v: Vec<i64> = b[key]["publish_details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["version"].as_i64().unwrap())
            .collect();
        v.sort();
        v
    }

    async fn person_live(&self, app: &TestApp, i: usize) -> Vec<i64> {
        let p = format!("/v3/content_types/person/entries/{}", self.people[i]);
        self.live(app, &p, "entry").await
    }

    async fn article_live(&self, app: &TestApp) -> Vec<i64> {
        let p = format!("/v3/content_types/article/entries/{}", self.article);
        self.live(app, &p, "entry").await
    }

    async fn asset_live(&self, app: &TestApp) -> Vec<i64> {
        self.live(app, &format!("/v3/assets/{}", self.asset), "asset")
            .await
    }

    fn bulk(&self, entries: Value) -> Value {
        json!({"entries": entries, "locales": ["en-us"], "environments": ["production"]})
    }

    fn article_item(&self) -> Value {
        json!([{"uid": self.article, "content_type": "article", "locale": "en-us"}])
    }
}

fn text(uid: &str) -> Value {
    json!({"uid": uid, "display_name": uid, "data_type": "text"})
}

async fn world(app: &TestApp, name: &str) -> World {
    let email = format!("{name}@example.com");
    let (_, org) = app.owner(&email).await;
    let owner = app.login(&email).await;
    let api_key = app.stack(&owner, &org, name).await;
    let mut w = World {
        owner,
        api_key,
        people: Vec::new(),
        article: String::new(),
        asset: String::new(),
    };
    w.ok(
        app,
        Method::POST,
        "/v3/environments",
        json!({"environment": {"name": "production"}}),
    )
    .await;
    let title =
        json!({"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true});
    w.ok(app, Method::POST, "/v3/content_types", json!({"content_type": {"title": "Person", "uid": "person", "schema": [
        title, {"uid": "mentor", "display_name": "Mentor", "data_type": "reference", "reference_to": ["person"]}]}})).await;
    w.ok(app, Method::POST, "/v3/content_types", json!({"content_type": {"title": "Article", "uid": "article", "schema": [
        title,
        {"uid": "author", "display_name": "Author", "data_type": "reference", "reference_to": ["person"]},
        {"uid": "hero", "display_name": "Hero", "data_type": "file"},
        {"uid": "body", "display_name": "Body", "data_type": "blocks", "blocks": [
            {"uid": "quote", "title": "Quote", "schema": [text("text"),
                {"uid": "by", "display_name": "By", "data_type": "reference", "reference_to": ["person"]}]}]}
    ]}})).await;
    let form = Form::new().part(
        "asset[upload]",
        Part::bytes(b"hero".to_vec())
            .file_name("hero.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let (s, b) = send(w.req(app, Method::POST, "/v3/assets").multipart(form)).await;
    assert_eq!(s, 201, "{b}");
    w.asset = b["asset"]["uid"].as_str().unwrap().to_string();
    let person = |title: &str, mentor: Option<&str>| {
        let mut e = json!({"title": title});
        if let Some(m) = mentor {
            e["mentor"] = json!([{"uid": m, "_content_type_uid": "person"}]);
        }
        json!({ "entry": e })
    };
    let p3 = w
        .ok(
            app,
            Method::POST,
            "/v3/content_types/person/entries",
            person("Three", None),
        )
        .await["entry"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let p1 = w
        .ok(
            app,
            Method::POST,
            "/v3/content_types/person/entries",
            person("One", Some(&p3)),
        )
        .await["entry"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let p2 = w
        .ok(
            app,
            Method::POST,
            "/v3/content_types/person/entries",
            person("Two", None),
        )
        .await["entry"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let article = json!({"entry": {"title": "Hello",
        "author": [{"uid": p1, "_content_type_uid": "person"}],
        "hero": w.asset,
        "body": [{"quote": {"text": "hi", "by": [{"uid": p2, "_content_type_uid": "person"}]}}]}});
    w.article = w
        .ok(
            app,
            Method::POST,
            "/v3/content_types/article/entries",
            article,
        )
        .await["entry"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    w.people = vec![p1, p2, p3];
    w
}

async fn nested_bulk_publish_takes_references_along(app: TestApp) {
    let w = world(&app, "nested_bulk").await;
    // Without nested: the article alone.
    let b = w.bulk(w.article_item());
    w.ok(&app, Method::POST, "/v3/bulk/publish", b.clone())
        .await;
    assert_eq!(w.article_live(&app).await, [1]);
    assert!(w.person_live(&app, 0).await.is_empty());
    assert!(w.asset_live(&app).await.is_empty());
    // With `nested=true` (as the JavaScript client's `is_nested` sends it): the author, its
    // mentor (two levels down), the person quoted inside a modular block, and the hero asset.
    let (s, r) = send(
        w.req(&app, Method::POST, "/v3/bulk/publish")
            .query(&[("nested", "true"), ("event_type", "bulk")])
            .json(&b),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    for i in 0..3 {
        assert_eq!(w.person_live(&app, i).await, [1], "person {i}");
    }
    assert_eq!(w.asset_live(&app).await, [1]);
    // One audit row per item published: article twice, then three people and the asset.
    let logs = w.ok(&app, Method::GET, "/v3/audit-logs", json!({})).await;
    let n = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["event_type"] == "publish")
        .count();
    assert_eq!(n, 6, "{logs}");
    // Unpublish with nested: the references come down too.
    let (s, r) = send(
        w.req(&app, Method::POST, "/v3/bulk/unpublish")
            .query(&[("nested", "true")])
            .json(&b),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert!(w.article_live(&app).await.is_empty());
    for i in 0..3 {
        assert!(w.person_live(&app, i).await.is_empty(), "person {i}");
    }
    assert!(w.asset_live(&app).await.is_empty());
    // `publish_with_reference: true` in the body asks the same.
    let mut body = b.clone();
    body["publish_with_reference"] = json!(true);
    w.ok(&app, Method::POST, "/v3/bulk/publish", body).await;
    assert_eq!(w.person_live(&app, 2).await, [1]);
}

async fn nested_publish_stops_at_what_is_live_and_at_depth_five(app: TestApp) {
    let w = world(&app, "nested_stop").await;
    // p1 is live at its latest version: the nested publish of the article stops there and
    // does not reach p1's mentor p3.
    let p1 = json!([{"uid": w.people[0], "content_type": "person"}]);
    w.ok(&app, Method::POST, "/v3/bulk/publish", w.bulk(p1))
        .await;
    let (s, r) = send(
        w.req(&app, Method::POST, "/v3/bulk/publish")
            .query(&[("nested", "true")])
            .json(&w.bulk(w.article_item())),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(w.person_live(&app, 0).await, [1]);
    assert_eq!(w.person_live(&app, 1).await, [1]);
    assert!(w.person_live(&app, 2).await.is_empty(), "stopped at p1");
    // p1 changes: its new version goes out, and p3 with it.
    w.ok(
        &app,
        Method::PUT,
        &format!("/v3/content_types/person/entries/{}", w.people[0]),
        json!({"entry": {"title": "One, again",
            "mentor": [{"uid": w.people[2], "_content_type_uid": "person"}]}}),
    )
    .await;
    let (s, r) = send(
        w.req(&app, Method::POST, "/v3/bulk/publish")
            .query(&[("nested", "true")])
            .json(&w.bulk(w.article_item())),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(w.person_live(&app, 0).await, [2]);
    assert_eq!(w.person_live(&app, 2).await, [1]);

    // A chain of seven links: the nested publish of the first reaches five levels down.
    w.ok(&app, Method::POST, "/v3/content_types", json!({"content_type": {"title": "Link", "uid": "link", "schema": [
        {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
        {"uid": "next", "display_name": "Next", "data_type": "reference", "reference_to": ["link"]}]}})).await;
    let mut chain: Vec<String> = Vec::new();
    for i in 0..7 {
        let mut e = json!({"title": format!("L{}", 6 - i)});
        if let Some(next) = chain.last() {
            // A bare uid: the field names one content type.
            e["next"] = json!([next]);
        }
        let b = w
            .ok(
                &app,
                Method::POST,
                "/v3/content_types/link/entries",
                json!({ "entry": e }),
            )
            .await;
        chain.push(b["entry"]["uid"].as_str().unwrap().to_string());
    }
    chain.reverse(); // chain[0] -> chain[1] -> … -> chain[6]
    let first = json!([{"uid": chain[0], "content_type": "link"}]);
    let (s, r) = send(
        w.req(&app, Method::POST, "/v3/bulk/publish")
            .query(&[("nested", "true")])
            .json(&w.bulk(first)),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    for (i, uid) in chain.iter().enumerate() {
        let live = w
            .live(
                &app,
                &format!("/v3/content_types/link/entries/{uid}"),
                "entry",
            )
            .await;
        assert_eq!(live.len(), usize::from(i <= 5), "link {i}: {live:?}");
    }
}

async fn nested_references_are_authorized_each(app: TestApp) {
    let w = world(&app, "nested_auth").await;
    // A token that may publish articles and assets, but not people.
    let (s, t) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": "articles", "expires_on": null, "scope": [
                {"module": "entry", "acl": {"read": true, "write": true}, "content_types": ["article"]},
                {"module": "asset", "acl": {"read": true, "write": true}}]}),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    let token = t["token"]["token"].as_str().unwrap().to_string();
    let body = w.bulk(w.article_item());
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/bulk/publish", &token, &w.api_key)
            .query(&[("nested", "true")])
            .json(&body),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let at = format!("entries[0].references.{}", w.people[0]);
    assert!(b["errors"].get(&at).is_some(), "{b}");
    // Nothing went out, the article included.
    assert!(w.article_live(&app).await.is_empty());
    assert!(w.asset_live(&app).await.is_empty());
    // Without nested, the token publishes the article.
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/bulk/publish", &token, &w.api_key)
            .json(&body),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(w.article_live(&app).await, [1]);
}

async fn nested_jobs_and_single_entry_publishes(app: TestApp) {
    let w = world(&app, "nested_jobs").await;
    // An asynchronous bulk job (`api_version: 3.2`, which Contentstack's nested publishing
    // asks for): the item takes its references with it.
    let (s, b) = send(
        w.req(&app, Method::POST, "/v3/bulk/publish")
            .header("api_version", "3.2")
            .query(&[("nested", "true"), ("event_type", "bulk")])
            .json(&w.bulk(w.article_item())),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let job = b["job_id"].as_str().unwrap().to_string();
    let mut done = Value::Null;
    for _ in 0..50 {
        let (s, j) = send(w.req(&app, Method::GET, &format!("/v3/bulk/jobs/{job}"))).await;
        assert_eq!(s, 200, "{j}");
        if j["status"] == "completed" || j["status"] == "failed" {
            done = j;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(w.person_live(&app, 2).await, [1]);
    assert_eq!(w.asset_live(&app).await, [1]);

    // A single entry unpublish with `?nested=true`, then a publish.
    let path = format!("/v3/content_types/article/entries/{}", w.article);
    let spec = json!({"entry": {"environments": ["production"], "locales": ["en-us"]}});
    let (s, b) = send(
        w.req(&app, Method::POST, &format!("{path}/unpublish"))
            .query(&[("nested", "true")])
            .json(&spec),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(w.person_live(&app, 0).await.is_empty());
    assert!(w.asset_live(&app).await.is_empty());
    let (s, b) = send(
        w.req(&app, Method::POST, &format!("{path}/publish"))
            .query(&[("nested", "true")])
            .json(&spec),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(w.article_live(&app).await, [1]);
    assert_eq!(w.person_live(&app, 2).await, [1]);
    assert_eq!(w.asset_live(&app).await, [1]);
}

async fn bulk_add_to_release_with_references(app: TestApp) {
    let w = world(&app, "bulk_release").await;
    let r = w
        .ok(
            &app,
            Method::POST,
            "/v3/releases",
            json!({"release": {"name": "Launch"}}),
        )
        .await;
    let release = r["release"]["uid"].as_str().unwrap().to_string();
    // The JavaScript client's `bulkOperation().addItems({data, bulk_version: '2.0'})`.
    let body = json!({"release": release, "action": "publish", "locale": ["en-us"], "reference": true,
        "items": [{"content_type_uid": "article", "uid": w.article, "version": 1, "locale": "en-us", "title": "Hello"}]});
    let (s, b) = send(
        w.req(&app, Method::POST, "/v3/bulk/release/items")
            .header("bulk_version", "2.0")
            .json(&body),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Your add to release request is in progress.");
    let job = b["job_id"].as_str().unwrap().to_string();
    let (s, j) = send(w.req(&app, Method::GET, &format!("/v3/bulk/jobs/{job}"))).await;
    assert_eq!(s, 200, "{j}");
    assert_eq!(j["status"], "completed", "{j}");
    assert_eq!(j["summary"]["success"], 5, "{j}");
    let items = w
        .ok(
            &app,
            Method::GET,
            &format!("/v3/releases/{release}/items"),
            json!({}),
        )
        .await;
    let mut uids: Vec<String> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["uid"].as_str().unwrap().to_string())
        .collect();
    uids.sort();
    let mut want = vec![w.article.clone(), w.asset.clone()];
    want.extend(w.people.iter().cloned());
    want.sort();
    assert_eq!(uids, want, "{items}");
    let article = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["uid"] == json!(w.article))
        .unwrap();
    assert_eq!(article["version"], 1);
    assert_eq!(article["action"], "publish");
    // The release deploys them all.
    w.ok(
        &app,
        Method::POST,
        &format!("/v3/releases/{release}/deploy"),
        json!({"release": {"environments": ["production"], "locales": ["en-us"]}}),
    )
    .await;
    assert_eq!(w.person_live(&app, 2).await, [1]);
    assert_eq!(w.asset_live(&app).await, [1]);

    // An item naming an entry variant: refused by name (this server has no entry variants).
    let variant = json!({"release": release, "items": [
        {"content_type_uid": "article", "uid": w.article, "locale": "en-us", "variant_id": "cs_variant"}]});
    let (s, b) = send(
        w.req(&app, Method::POST, "/v3/bulk/release/items")
            .json(&variant),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"].get("items[0].variant_id").is_some(), "{b}");
    let (s, b) = send(
        w.req(&app, Method::POST, &format!("/v3/releases/{release}/items"))
            .json(&json!({"items": [{"uid": w.article, "content_type_uid": "article", "variant_id": "cs_variant"}]})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    // No release, or none named: refused.
    let (s, b) = send(
        w.req(&app, Method::POST, "/v3/bulk/release/items")
            .json(&json!({"release": "blt_nope", "items": [{"uid": w.article, "content_type_uid": "article"}]})),
    )
    .await;
    assert_error(s, &b, 422, 141);
    let (s, b) = send(
        w.req(&app, Method::POST, "/v3/bulk/release/items")
            .json(&json!({"items": [{"uid": w.article, "content_type_uid": "article"}]})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    // A read-only token may not change releases.
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "reader").await;
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/bulk/release/items", &ro, &w.api_key)
            .json(&body),
    )
    .await;
    assert_error(s, &b, 403, 162);
    // `PUT /v3/bulk/release/update_items` moves the items to their latest versions.
    w.ok(
        &app,
        Method::PUT,
        &format!("/v3/content_types/article/entries/{}", w.article),
        json!({"entry": {"title": "Hello again"}}),
    )
    .await;
    let b = w
        .ok(
            &app,
            Method::PUT,
            "/v3/bulk/release/update_items",
            json!({"release": release, "items": ["$all"]}),
        )
        .await;
    let article = b["release"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["uid"] == json!(w.article))
        .unwrap()
        .clone();
    assert_eq!(article["version"], 2, "{b}");
}

async fn merge_makes_a_backup_branch_unless_no_revert(app: TestApp) {
    let w = world(&app, "merge_backup").await;
    w.ok(
        &app,
        Method::POST,
        "/v3/stacks/branches",
        json!({"branch": {"uid": "dev", "source": "main"}}),
    )
    .await;
    let (s, b) = send(
        w.req(&app, Method::POST, "/v3/content_types")
            .header("branch", "dev")
            .json(&json!({"content_type": {"title": "News", "uid": "news", "schema": [
                {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let q = "base_branch=main&compare_branch=dev&default_merge_strategy=merge_prefer_base&merge_comment=go";
    let (s, m) = send(
        w.req(
            &app,
            Method::POST,
            &format!("/v3/stacks/branches_merge?{q}"),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["merge_details"]["backup_branch"], "main_bkp_1", "{m}");
    assert_eq!(m["merge_details"]["configuration"]["no_revert"], false);
    // The backup is main as it was: without the merged content type.
    let (s, b) = send(
        w.req(&app, Method::GET, "/v3/content_types/news")
            .header("branch", "main_bkp_1"),
    )
    .await;
    assert_error(s, &b, 422, 118);
    let (s, b) = send(
        w.req(&app, Method::GET, "/v3/content_types/article")
            .header("branch", "main_bkp_1"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(w.req(&app, Method::GET, "/v3/content_types/news")).await;
    assert_eq!(s, 200, "{b}");
    // The queue shows it too.
    let (s, qd) = send(w.req(
        &app,
        Method::GET,
        &format!("/v3/stacks/branches_queue/{}", m["uid"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(s, 200, "{qd}");
    assert!(qd.to_string().contains("main_bkp_1"), "{qd}");

    // With `no_revert=true`: no backup.
    let (s, b) = send(
        w.req(&app, Method::POST, "/v3/content_types")
            .header("branch", "dev")
            .json(&json!({"content_type": {"title": "Events", "uid": "events", "schema": [
                {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, m) = send(
        w.req(
            &app,
            Method::POST,
            &format!("/v3/stacks/branches_merge?{q}&no_revert=true"),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["merge_details"]["backup_branch"], Value::Null, "{m}");
    let branches = w
        .ok(&app, Method::GET, "/v3/stacks/branches", json!({}))
        .await;
    let mut uids: Vec<&str> = branches["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["uid"].as_str().unwrap())
        .collect();
    uids.sort();
    assert_eq!(uids, ["dev", "main", "main_bkp_1"], "{branches}");
}

async fn merge_combines_groups_and_blocks_field_by_field(app: TestApp) {
    let w = world(&app, "merge_nested").await;
    let page = |group: Value, blocks: Value| {
        json!({"content_type": {"title": "Page", "uid": "page", "schema": [
            {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
            {"uid": "seo", "display_name": "SEO", "data_type": "group", "schema": group},
            {"uid": "body", "display_name": "Body", "data_type": "blocks", "blocks": blocks}]}})
    };
    w.ok(
        &app,
        Method::POST,
        "/v3/content_types",
        page(
            json!([text("keywords")]),
            json!([{"uid": "hero", "title": "Hero", "schema": [text("heading")]}]),
        ),
    )
    .await;
    w.ok(
        &app,
        Method::POST,
        "/v3/stacks/branches",
        json!({"branch": {"uid": "dev", "source": "main"}}),
    )
    .await;
    // main adds a field inside the group; dev adds another there, a field inside the hero
    // block, and a new block.
    w.ok(
        &app,
        Method::PUT,
        "/v3/content_types/page",
        page(
            json!([text("keywords"), text("canonical")]),
            json!([{"uid": "hero", "title": "Hero", "schema": [text("heading")]}]),
        ),
    )
    .await;
    let (s, b) = send(
        w.req(&app, Method::PUT, "/v3/content_types/page")
            .header("branch", "dev")
            .json(&page(
                json!([text("keywords"), text("description")]),
                json!([{"uid": "hero", "title": "Hero", "schema": [text("heading"), text("subheading")]},
                       {"uid": "quote", "title": "Quote", "schema": [text("text")]}]),
            )),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let q = "base_branch=main&compare_branch=dev&default_merge_strategy=merge_prefer_base&merge_comment=go&no_revert=true";
    let (s, m) = send(
        w.req(
            &app,
            Method::POST,
            &format!("/v3/stacks/branches_merge?{q}"),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(s, 200, "{m}");
    let ct = w
        .ok(&app, Method::GET, "/v3/content_types/page", json!({}))
        .await;
    let uids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| f["uid"].as_str().unwrap().to_string())
            .collect()
    };
    let schema = &ct["content_type"]["schema"];
    assert_eq!(
        uids(&schema[1]["schema"]),
        ["keywords", "canonical", "description"],
        "{ct}"
    );
    assert_eq!(uids(&schema[2]["blocks"]), ["hero", "quote"], "{ct}");
    assert_eq!(
        uids(&schema[2]["blocks"][0]["schema"]),
        ["heading", "subheading"],
        "{ct}"
    );
}

async fn metadata_is_published_and_unpublished(app: TestApp) {
    let w = world(&app, "meta_publish").await;
    let ext = w
        .ok(&app, Method::POST, "/v3/extensions", json!({"extension": {
            "title": "Presets", "type": "field", "data_type": "json", "src": "https://ext.example.com"}}))
        .await["extension"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let m = w
        .ok(
            &app,
            Method::POST,
            "/v3/metadata",
            json!({"metadata": {
            "entity_uid": w.article, "type": "entry", "_content_type_uid": "article",
            "extension_uid": ext, "presets": [{"uid": "p1", "name": "Big"}]}}),
        )
        .await;
    let uid = m["metadata"]["uid"].as_str().unwrap().to_string();
    let path = format!("/v3/metadata/{uid}");
    // As the Python client's `metadata(uid).publish(data)` sends it.
    let spec = json!({"metadata": {"environments": ["production"], "locales": ["en-us"]}});
    let b = w
        .ok(&app, Method::POST, &format!("{path}/publish"), spec.clone())
        .await;
    assert_eq!(b["notice"], "Metadata published successfully.", "{b}");
    let details = b["metadata"]["publish_details"].as_array().unwrap().clone();
    assert_eq!(details.len(), 1, "{b}");
    assert_eq!(details[0]["locale"], "en-us");
    let b = w.ok(&app, Method::GET, &path, json!({})).await;
    assert_eq!(
        b["metadata"]["publish_details"].as_array().unwrap().len(),
        1,
        "{b}"
    );
    // Unknown environments and locales are named; nothing changes.
    let (s, b) = send(
        w.req(&app, Method::POST, &format!("{path}/publish"))
            .json(&json!({
        "metadata": {"environments": ["moon"], "locales": ["xx-yy"]}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"].get("environments[0]").is_some(), "{b}");
    assert!(b["errors"].get("locales[0]").is_some(), "{b}");
    let (s, b) = send(
        w.req(&app, Method::POST, &format!("{path}/publish"))
            .json(&json!({"metadata": {}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    // Publishing metadata is publishing its entry: a read-only token is refused.
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "reader").await;
    let (s, b) = send(
        app.with_token(Method::POST, &format!("{path}/unpublish"), &ro, &w.api_key)
            .json(&spec),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let b = w
        .ok(&app, Method::POST, &format!("{path}/unpublish"), spec)
        .await;
    assert!(
        b["metadata"]["publish_details"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{b}"
    );
    let (s, b) = send(
        w.req(&app, Method::POST, "/v3/metadata/blt_none/publish")
            .json(&json!({
        "metadata": {"environments": ["production"]}})),
    )
    .await;
    assert_error(s, &b, 422, 141);
}
