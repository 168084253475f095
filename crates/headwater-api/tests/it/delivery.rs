//! Delivery tokens and the Content Delivery API on both backends.

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    delivery_tokens_are_managed_by_owner_admin_and_developers_and_shown_once,
    the_delivery_api_serves_only_published_content_of_the_tokens_environments,
    filtered_published_lists_follow_publishing,
);

struct World {
    owner: String,
    org: String,
    api_key: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Site").await;
    for env in ["production", "staging"] {
        let (s, _) = send(
            app.as_user(Method::POST, "/v3/environments", &owner, &api_key)
                .json(&json!({"environment": {"name": env}})),
        )
        .await;
        assert_eq!(s, 201);
    }
    World {
        owner,
        org,
        api_key,
    }
}

fn token_body(name: &str, envs: &[&str]) -> Value {
    json!({"token": {"name": name, "description": "site", "scope": [
        {"module": "environment", "environments": envs, "acl": {"read": true}},
        {"module": "branch", "branches": ["main"], "acl": {"read": true}}]}})
}

async fn delivery_token(app: &TestApp, w: &World, envs: &[&str]) -> String {
    let (s, b) = send(
        app.as_user(
            Method::POST,
            "/v3/stacks/delivery_tokens",
            &w.owner,
            &w.api_key,
        )
        .json(&token_body(&format!("t{}", envs.join("-")), envs)),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    b["token"]["token"].as_str().unwrap().to_string()
}

async fn delivery_tokens_are_managed_by_owner_admin_and_developers_and_shown_once(app: TestApp) {
    let w = world(&app).await;
    for (email, role) in [
        ("dev@example.com", "Developer"),
        ("cm@example.com", "Content Manager"),
    ] {
        app.member(email, &w.org).await;
        app.share(&w.owner, &w.api_key, email, role).await;
    }
    let dev = app.login("dev@example.com").await;
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/stacks/delivery_tokens", &dev, &w.api_key)
            .json(&token_body("web", &["production"])),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "Delivery Token created successfully.");
    assert!(b["token"]["token"].as_str().unwrap().starts_with("hwdt_"));
    assert_eq!(
        b["token"]["scope"][0]["environments"][0]["name"],
        "production"
    );
    let uid = b["token"]["uid"].as_str().unwrap().to_string();
    let cm = app.login("cm@example.com").await;
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/stacks/delivery_tokens", &cm, &w.api_key)
            .json(&token_body("cm", &["production"])),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (mt, _) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let (s, b) =
        send(app.with_token(Method::GET, "/v3/stacks/delivery_tokens", &mt, &w.api_key)).await;
    assert_error(s, &b, 403, 162);
    assert!(b["error_message"].as_str().unwrap().contains("MT-8"));

    let (s, b) = send(app.as_user(
        Method::GET,
        "/v3/stacks/delivery_tokens",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200);
    assert!(
        b["tokens"][0].get("token").is_none(),
        "the secret is shown once: {b}"
    );
    let (s, b) = send(
        app.as_user(
            Method::POST,
            "/v3/stacks/delivery_tokens",
            &w.owner,
            &w.api_key,
        )
        .json(&token_body("bad", &["nowhere"])),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let path = format!("/v3/stacks/delivery_tokens/{uid}");
    let (s, b) = send(
        app.as_user(Method::PUT, &path, &w.owner, &w.api_key)
            .json(&token_body("web", &["production", "staging"])),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["token"]["scope"][0]["environments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (s, _) = send(app.as_user(Method::DELETE, &path, &w.owner, &w.api_key)).await;
    assert_eq!(s, 200);
}

async fn the_delivery_api_serves_only_published_content_of_the_tokens_environments(app: TestApp) {
    let w = world(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    send(u(Method::POST, "/v3/content_types").json(
        &json!({"content_type": {"title": "Page", "uid": "page", "schema": [
        {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
        {"uid": "rank", "display_name": "Rank", "data_type": "number"}]}}),
    ))
    .await;
    let mut uids = Vec::new();
    for (title, rank) in [("Home", 1), ("About", 2), ("Draft", 3)] {
        let (s, b) = send(
            u(Method::POST, "/v3/content_types/page/entries")
                .json(&json!({"entry": {"title": title, "rank": rank}})),
        )
        .await;
        assert_eq!(s, 201);
        uids.push(b["entry"]["uid"].as_str().unwrap().to_string());
    }
    let publish = json!({"entry": {"environments": ["production"], "locales": ["en-us"]}});
    for uid in &uids[..2] {
        let (s, _) = send(
            u(
                Method::POST,
                &format!("/v3/content_types/page/entries/{uid}/publish"),
            )
            .json(&publish),
        )
        .await;
        assert_eq!(s, 200);
    }
    // A change after publishing stays unpublished.
    send(
        u(
            Method::PUT,
            &format!("/v3/content_types/page/entries/{}", uids[0]),
        )
        .json(&json!({"entry": {"title": "Home (draft)", "rank": 1}})),
    )
    .await;

    let token = delivery_token(&app, &w, &["production"]).await;
    let cda = |path: &str| {
        app.req(Method::GET, &format!("/cda{path}"))
            .header("api_key", &w.api_key)
            .header("access_token", &token)
    };
    let (s, b) = send(cda(
        "/v3/content_types/page/entries?environment=production&asc=rank&include_count=true",
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let titles: Vec<&str> = b["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Home", "About"]);
    assert_eq!(b["count"], 2);
    assert_eq!(b["entries"][0]["_version"], 1);
    let (s, b) = send(cda(&format!(
        "/v3/content_types/page/entries?environment=production&query={}",
        "%7B%22rank%22%3A%7B%22%24gt%22%3A1%7D%7D"
    )))
    .await;
    assert_eq!((s, b["entries"].as_array().unwrap().len()), (200, 1));
    let (s, b) = send(cda(&format!(
        "/v3/content_types/page/entries/{}?environment=production",
        uids[0]
    )))
    .await;
    assert_eq!((s, b["entry"]["title"].clone()), (200, json!("Home")));
    let (s, b) = send(cda(&format!(
        "/v3/content_types/page/entries/{}?environment=production",
        uids[2]
    )))
    .await;
    assert_error(s, &b, 422, 141);
    let (s, b) = send(cda("/v3/content_types/page/entries?environment=staging")).await;
    assert_error(s, &b, 401, 161);
    let (s, b) = send(cda("/v3/content_types/page/entries")).await;
    assert_error(s, &b, 422, 141);
    assert!(b["errors"]["environment"].is_array());
    let (s, b) = send(
        app.req(
            Method::GET,
            "/cda/v3/content_types/page/entries?environment=production",
        )
        .header("api_key", &w.api_key)
        .header("access_token", "hwdt_bogus"),
    )
    .await;
    assert_error(s, &b, 401, 105);
    // A delivery token is no credential for the management API.
    let (s, b) = send(
        app.req(Method::GET, "/v3/content_types/page/entries")
            .header("api_key", &w.api_key)
            .header("access_token", &token),
    )
    .await;
    assert_error(s, &b, 401, 105);

    // Assets: only published ones, with their published file.
    let form = Form::new().part(
        "asset[upload]",
        Part::bytes(&b"logo"[..])
            .file_name("logo.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let (_, b) = send(u(Method::POST, "/v3/assets").multipart(form)).await;
    let asset = b["asset"]["uid"].as_str().unwrap().to_string();
    let (s, b) = send(cda("/v3/assets?environment=production")).await;
    assert_eq!((s, b["assets"].as_array().unwrap().len()), (200, 0));
    send(
        u(Method::POST, &format!("/v3/assets/{asset}/publish"))
            .json(&json!({"asset": {"environments": ["production"]}})),
    )
    .await;
    let (s, b) = send(cda(&format!("/v3/assets/{asset}?environment=production"))).await;
    assert_eq!(s, 200, "{b}");
    let url = b["asset"]["url"].as_str().unwrap().to_string();
    assert_eq!(
        app.client
            .get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        b"logo"
    );
    let (s, b) = send(cda("/v3/content_types?environment=production")).await;
    assert_eq!((s, b["content_types"].as_array().unwrap().len()), (200, 1));
}

/// Filtered listings of the Content Delivery API equal a full evaluation of the published
/// documents (answered from posting lists in memory) through publishing,
/// edits that are not published, republishing, unpublishing and deletion; pages and totals
/// stay exact.
async fn filtered_published_lists_follow_publishing(app: TestApp) {
    let w = world(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    let (s, b) = send(u(Method::POST, "/v3/content_types").json(
        &json!({"content_type": {"title": "Page", "uid": "page", "schema": [
        {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
        {"uid": "cat", "display_name": "Category", "data_type": "text"},
        {"uid": "rank", "display_name": "Rank", "data_type": "number"}]}}),
    ))
    .await;
    assert_eq!(s, 201, "{b}");
    let entry = |uid: &str, action: &str| format!("/v3/content_types/page/entries/{uid}{action}");
    let publish = json!({"entry": {"environments": ["production"], "locales": ["en-us"]}});
    let mut uids = Vec::new();
    for k in 0..16 {
        let cat = if k % 2 == 0 { "a" } else { "b" };
        let (s, b) = send(
            u(Method::POST, "/v3/content_types/page/entries")
                .json(&json!({"entry": {"title": format!("p{k:02}"), "cat": cat, "rank": k}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        let uid = b["entry"]["uid"].as_str().unwrap().to_string();
        if k < 12 {
            let (s, b) = send(u(Method::POST, &entry(&uid, "/publish")).json(&publish)).await;
            assert_eq!(s, 200, "{b}");
        }
        uids.push(uid);
    }
    let token = delivery_token(&app, &w, &["production"]).await;
    let list = |query: &Value, extra: &str| {
        let url = format!(
            "/cda/v3/content_types/page/entries?environment=production&include_count=true{extra}&query={}",
            crate::common::urlencode(&query.to_string())
        );
        app.req(Method::GET, &url)
            .header("api_key", &w.api_key)
            .header("access_token", &token)
    };
    let q = json!({"cat": "a", "rank": {"$gte": 3}});
    let full = json!({"$or": [q.clone(), {"never_set": {"$exists": true}}]});
    let titles = crate::common::titles;
    let check = |want: Vec<&'static str>| {
        let (q, full) = (q.clone(), full.clone());
        let (list, titles) = (&list, &titles);
        async move {
            let (s, b) = send(list(&full, "&limit=50")).await;
            assert_eq!(s, 200, "{b}");
            let mut slow = titles(&b);
            assert_eq!(b["count"], want.len(), "{slow:?}");
            let (s, f) = send(list(&q, "&limit=50")).await;
            assert_eq!(s, 200, "{f}");
            assert_eq!(titles(&f), slow);
            assert_eq!(f["count"], b["count"]);
            for skip in [0, 1, 3] {
                let (_, page) = send(list(&q, &format!("&limit=2&skip={skip}"))).await;
                let expect: Vec<String> = slow.iter().skip(skip).take(2).cloned().collect();
                assert_eq!(titles(&page), expect, "skip {skip}");
                assert_eq!(page["count"], want.len());
            }
            slow.sort();
            assert_eq!(slow, want);
        }
    };
    let before = app.db.postings().answered();
    // Published: p00..p11; cat a and rank >= 3: p04, p06, p08, p10.
    check(vec!["p04", "p06", "p08", "p10"]).await;
    assert!(
        app.db.postings().answered() > before,
        "not answered from memory"
    );
    // An edit that is not published changes nothing delivered; publishing it does.
    let (s, _) = send(
        u(Method::PUT, &entry(&uids[4], ""))
            .json(&json!({"entry": {"title": "p04", "cat": "b", "rank": 4}})),
    )
    .await;
    assert_eq!(s, 200);
    check(vec!["p04", "p06", "p08", "p10"]).await;
    let (s, _) = send(u(Method::POST, &entry(&uids[4], "/publish")).json(&publish)).await;
    assert_eq!(s, 200);
    check(vec!["p06", "p08", "p10"]).await;
    // Publishing a new entry and unpublishing one.
    let (s, _) = send(u(Method::POST, &entry(&uids[14], "/publish")).json(&publish)).await;
    assert_eq!(s, 200);
    check(vec!["p06", "p08", "p10", "p14"]).await;
    let (s, b) = send(u(Method::POST, &entry(&uids[8], "/unpublish")).json(&publish)).await;
    assert_eq!(s, 200, "{b}");
    check(vec!["p06", "p10", "p14"]).await;
    // Deleting a published entry takes it out.
    let (s, _) = send(u(Method::DELETE, &entry(&uids[10], ""))).await;
    assert_eq!(s, 200);
    check(vec!["p06", "p14"]).await;
}
