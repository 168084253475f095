//! What the read caches promise: delivery answers carry validators (`ETag`, `304` on
//! `If-None-Match`, a `Cache-Control` a CDN can use) and change as soon as what they show
//! changes; a user's cached standing (authtoken session, roles, membership) never outlives a
//! change of it, on this instance at once and on another one within the cache's lifetime;
//! a management read of an entry (kept on SQLite until the next commit) shows every commit at
//! once, whoever made it.

use crate::common::world;
use headwater_testkit::{assert_error, on_both_backends, send, test_config, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(
    delivery_answers_carry_validators_and_revalidate_with_304,
    kept_answers_skip_routing_only_without_management_credentials,
    a_publish_changes_the_etag_of_the_entry_and_of_lists,
    a_deleted_delivery_token_or_an_unpublish_shows_on_the_next_read,
    standings_follow_role_membership_and_logout_at_once,
    another_instance_drops_a_cached_standing,
    management_entry_reads_show_every_commit_at_once,
);

struct Site {
    owner: String,
    api_key: String,
    entry: String,
    token: String,
    token_uid: String,
}

async fn site(app: &TestApp) -> Site {
    let w = world(app).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    let (s, b) = send(
        u(Method::POST, "/v3/environments").json(&json!({"environment": {"name": "production"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = send(u(Method::POST, "/v3/content_types").json(
        &json!({"content_type": {"title": "Page", "uid": "page", "schema": [
            {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
            {"uid": "rank", "display_name": "Rank", "data_type": "number"}]}}),
    ))
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = send(
        u(Method::POST, "/v3/content_types/page/entries")
            .json(&json!({"entry": {"title": "Home", "rank": 1}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let entry = b["entry"]["uid"].as_str().unwrap().to_string();
    publish(app, &w.owner, &w.api_key, &entry).await;
    let (s, b) = send(u(Method::POST, "/v3/stacks/delivery_tokens").json(
        &json!({"token": {"name": "web", "description": "", "scope": [
            {"module": "environment", "environments": ["production"], "acl": {"read": true}},
            {"module": "branch", "branches": ["main"], "acl": {"read": true}}]}}),
    ))
    .await;
    assert_eq!(s, 201, "{b}");
    Site {
        owner: w.owner,
        api_key: w.api_key,
        entry,
        token: b["token"]["token"].as_str().unwrap().to_string(),
        token_uid: b["token"]["uid"].as_str().unwrap().to_string(),
    }
}

async fn publish(app: &TestApp, owner: &str, api_key: &str, entry: &str) {
    let (s, b) = send(
        app.as_user(
            Method::POST,
            &format!("/v3/content_types/page/entries/{entry}/publish"),
            owner,
            api_key,
        )
        .json(&json!({"entry": {"environments": ["production"], "locales": ["en-us"]}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

/// A delivery GET: (status, ETag, Cache-Control, Vary, body text).
async fn cda(
    app: &TestApp,
    site: &Site,
    path: &str,
    if_none_match: Option<&str>,
) -> (u16, Option<String>, Option<String>, Option<String>, String) {
    let mut rb = app
        .req(Method::GET, &format!("/cda{path}"))
        .header("api_key", &site.api_key)
        .header("access_token", &site.token);
    if let Some(tag) = if_none_match {
        rb = rb.header("if-none-match", tag);
    }
    let r = rb.send().await.unwrap();
    let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
    let (etag, cc, vary) = (h("etag"), h("cache-control"), h("vary"));
    let status = r.status().as_u16();
    (status, etag, cc, vary, r.text().await.unwrap())
}

fn one(site: &Site) -> String {
    format!(
        "/v3/content_types/page/entries/{}?environment=production",
        site.entry
    )
}

const LIST: &str = "/v3/content_types/page/entries?environment=production&include_count=true&query=%7B%22rank%22%3A%7B%22%24gte%22%3A1%7D%7D";

async fn delivery_answers_carry_validators_and_revalidate_with_304(app: TestApp) {
    let site = site(&app).await;
    for path in [one(&site), LIST.to_string()] {
        let (s, etag, cc, vary, body) = cda(&app, &site, &path, None).await;
        assert_eq!(s, 200, "{body}");
        let etag = etag.expect("an ETag on every 200");
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        let cc = cc.expect("a Cache-Control");
        assert!(cc.contains("public") && cc.contains("max-age=0"), "{cc}");
        assert!(cc.contains("must-revalidate"), "{cc}");
        let vary = vary.expect("a Vary");
        for h in ["api_key", "access_token", "environment", "branch"] {
            assert!(vary.contains(h), "{vary}");
        }
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(v.get("entry").is_some() || v["count"] == 1, "{v}");

        // The same answer again: the same tag.
        let (s, again, _, _, body2) = cda(&app, &site, &path, None).await;
        assert_eq!((s, again.as_deref()), (200, Some(etag.as_str())));
        assert_eq!(body, body2);

        // Revalidation with the current tag (alone, weak, or in a list): 304 and no body.
        for tag in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"other\", {etag}"),
        ] {
            let (s, e, cc, _, body) = cda(&app, &site, &path, Some(&tag)).await;
            assert_eq!(s, 304, "{tag}");
            assert_eq!(e.as_deref(), Some(etag.as_str()));
            assert!(cc.is_some());
            assert!(body.is_empty(), "{body}");
        }
        // Another tag: the whole answer.
        let (s, e, _, _, body) = cda(&app, &site, &path, Some("\"stale\"")).await;
        assert_eq!((s, e.as_deref()), (200, Some(etag.as_str())));
        assert!(!body.is_empty());
    }
    // Refusals carry no validators and are never answered 304.
    let (s, etag, _, _, body) = cda(
        &app,
        &site,
        "/v3/content_types/page/entries/nope?environment=production",
        Some("*"),
    )
    .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_error(s, &v, 422, 141);
    assert!(etag.is_none());
}

/// A kept answer is given before routing (no credential resolution, no route lookup) only to
/// requests that carry no management credential: a bad `authtoken` beside a good delivery
/// token is still refused, as on every route. Answers given before routing are counted under
/// the route that produced them.
async fn kept_answers_skip_routing_only_without_management_credentials(app: TestApp) {
    let site = site(&app).await;
    let path = one(&site);
    let (s, etag, _, _, body) = cda(&app, &site, &path, None).await;
    assert_eq!(s, 200, "{body}");
    let etag = etag.unwrap();
    let (s, _, _, _, _) = cda(&app, &site, &path, Some(&etag)).await;
    assert_eq!(s, 304);
    for (name, value) in [
        ("authtoken", "hwat_not-a-real-one"),
        ("authorization", "hwmt_not-a-real-one"),
    ] {
        let r = app
            .req(Method::GET, &format!("/cda{path}"))
            .header("api_key", &site.api_key)
            .header("access_token", &site.token)
            .header(name, value)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert!(status == 401 || status == 412, "{name}: {status} {v}");
        assert!(v.get("error_code").is_some(), "{name}: {v}");
    }
    let text = headwater_api::ops::handle().render();
    let want = "headwater_http_requests_total{route=\"/cda/v3/content_types/{ct}/entries/{uid}\",method=\"GET\",status=\"304\",credential=\"delivery_token\"}";
    assert!(text.contains(want), "/metrics lacks {want}:\n{text}");
}

async fn a_publish_changes_the_etag_of_the_entry_and_of_lists(app: TestApp) {
    let site = site(&app).await;
    let (_, entry_tag, _, _, _) = cda(&app, &site, &one(&site), None).await;
    let (_, list_tag, _, _, _) = cda(&app, &site, LIST, None).await;
    let (entry_tag, list_tag) = (entry_tag.unwrap(), list_tag.unwrap());

    // An update alone publishes nothing: the delivered answers stay the same.
    let (s, b) = send(
        app.as_user(
            Method::PUT,
            &format!("/v3/content_types/page/entries/{}", site.entry),
            &site.owner,
            &site.api_key,
        )
        .json(&json!({"entry": {"title": "Home, again", "rank": 2}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, ..) = cda(&app, &site, &one(&site), Some(&entry_tag)).await;
    assert_eq!(s, 304);
    let (s, ..) = cda(&app, &site, LIST, Some(&list_tag)).await;
    assert_eq!(s, 304);

    // Publishing it changes both, on the very next read.
    publish(&app, &site.owner, &site.api_key, &site.entry).await;
    let (s, new_tag, _, _, body) = cda(&app, &site, &one(&site), Some(&entry_tag)).await;
    assert_eq!(s, 200, "{body}");
    assert_ne!(new_tag.as_deref(), Some(entry_tag.as_str()));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["entry"]["title"], "Home, again");
    assert_eq!(v["entry"]["_version"], 2);
    let (s, new_list_tag, _, _, body) = cda(&app, &site, LIST, Some(&list_tag)).await;
    assert_eq!(s, 200, "{body}");
    assert_ne!(new_list_tag.as_deref(), Some(list_tag.as_str()));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["entries"][0]["rank"], 2);
    // And the new tag revalidates.
    let (s, ..) = cda(&app, &site, &one(&site), new_tag.as_deref()).await;
    assert_eq!(s, 304);
}

async fn a_deleted_delivery_token_or_an_unpublish_shows_on_the_next_read(app: TestApp) {
    let site = site(&app).await;
    let (s, ..) = cda(&app, &site, &one(&site), None).await;
    assert_eq!(s, 200);
    let (s, b) = send(
        app.as_user(
            Method::POST,
            &format!("/v3/content_types/page/entries/{}/unpublish", site.entry),
            &site.owner,
            &site.api_key,
        )
        .json(&json!({"entry": {"environments": ["production"], "locales": ["en-us"]}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, _, _, _, body) = cda(&app, &site, &one(&site), None).await;
    assert_error(s, &serde_json::from_str(&body).unwrap(), 422, 141);
    let (s, _, _, _, body) = cda(&app, &site, LIST, None).await;
    assert_eq!(s, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["count"], 0);

    let (s, _) = send(app.as_user(
        Method::DELETE,
        &format!("/v3/stacks/delivery_tokens/{}", site.token_uid),
        &site.owner,
        &site.api_key,
    ))
    .await;
    assert_eq!(s, 200);
    let (s, _, _, _, body) = cda(&app, &site, LIST, None).await;
    assert_error(s, &serde_json::from_str(&body).unwrap(), 401, 105);
}

async fn standings_follow_role_membership_and_logout_at_once(app: TestApp) {
    let w = world(&app).await;
    app.member("dev@example.com", &w.org).await;
    // A custom role that may only read environments.
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/roles", &w.owner, &w.api_key).json(&json!({"role": {
            "name": "Reader",
            "rules": [{"module": "environment", "environments": ["$all"], "acl": {"read": true}}]
        }})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let role = b["role"]["uid"].as_str().unwrap().to_string();
    app.share(&w.owner, &w.api_key, "dev@example.com", &role)
        .await;
    let dev = app.login("dev@example.com").await;
    let read = |who: &str| app.as_user(Method::GET, "/v3/environments", who, &w.api_key);
    let write = |who: &str, name: &str| {
        app.as_user(Method::POST, "/v3/environments", who, &w.api_key)
            .json(&json!({"environment": {"name": name}}))
    };
    // Read several times: the standing is cached now.
    for _ in 0..3 {
        assert_eq!(send(read(&dev)).await.0, 200);
    }
    let (s, b) = send(write(&dev, "one")).await;
    assert_error(s, &b, 403, 162);

    // The role's rules change: so does the very next decision.
    let (s, b) = send(
        app.as_user(
            Method::PUT,
            &format!("/v3/roles/{role}"),
            &w.owner,
            &w.api_key,
        )
        .json(&json!({"role": {"rules": [
            {"module": "environment", "acl": {"read": true, "create": true}}
        ]}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(write(&dev, "two")).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(send(read(&dev)).await.0, 200);

    // Unshared: the next read is refused as for a stranger.
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/stacks/unshare", &w.owner, &w.api_key)
            .json(&json!({"email": "dev@example.com"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(read(&dev)).await;
    assert_error(s, &b, 412, 109);

    // Logged out: the authtoken is refused on the next request.
    assert_eq!(send(read(&w.owner)).await.0, 200);
    let (s, _) = send(
        app.req(Method::DELETE, "/v3/user-session")
            .header("authtoken", &w.owner),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = send(read(&w.owner)).await;
    assert_error(s, &b, 401, 105);
}

async fn another_instance_drops_a_cached_standing(app: TestApp) {
    let w = world(&app).await;
    app.member("dev@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "dev@example.com", "Developer")
        .await;
    let dev = app.login("dev@example.com").await;
    let mut other = app.another(test_config()).await;
    let read = |a: &TestApp| a.as_user(Method::GET, "/v3/environments", &dev, &w.api_key);
    assert_eq!(send(read(&other)).await.0, 200);
    assert_eq!(send(read(&other)).await.0, 200);
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/stacks/unshare", &w.owner, &w.api_key)
            .json(&json!({"email": "dev@example.com"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // PostgreSQL instances hear of it at once; a second SQLite process within the cache's
    // one-second lifetime. Either way it is refused well before this loop gives up.
    let mut refused = false;
    for _ in 0..50 {
        let (s, b) = send(read(&other)).await;
        if s == 412 {
            assert_error(s, &b, 412, 109);
            refused = true;
            break;
        }
        assert_eq!(s, 200, "{b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "the other instance kept the old standing");
    other.stop().await;
}

/// On SQLite an entry read is kept until the next commit to the file (`direct::read_kept`): a
/// write through this instance, through another instance on the same database, or by another
/// program on the file shows on the very next read. On PostgreSQL every read goes to the
/// database; the same promises hold.
async fn management_entry_reads_show_every_commit_at_once(app: TestApp) {
    let site = site(&app).await;
    let path = format!("/v3/content_types/page/entries/{}", site.entry);
    let mut other = app.another(test_config()).await;
    let title_on = |a: &TestApp| {
        let rb = a.as_user(Method::GET, &path, &site.owner, &site.api_key);
        async move {
            let (s, b) = send(rb).await;
            assert_eq!(s, 200, "{b}");
            b["entry"]["title"].as_str().unwrap().to_string()
        }
    };
    let hits = || app.db.direct().map(|d| d.kept_hits());
    let before = hits();
    assert_eq!(title_on(&app).await, "Home");
    assert_eq!(title_on(&app).await, "Home");
    assert_eq!(title_on(&other).await, "Home");
    if let (Some(before), Some(after)) = (before, hits()) {
        assert!(
            after > before,
            "a second read with no commit between is kept"
        );
    }

    // Through this instance, read on both.
    let update = |a: &TestApp, title: &str| {
        a.as_user(Method::PUT, &path, &site.owner, &site.api_key)
            .json(&json!({"entry": {"title": title}}))
    };
    let (s, b) = send(update(&app, "First")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(title_on(&app).await, "First");
    assert_eq!(title_on(&other).await, "First");
    // Through the other instance.
    let (s, b) = send(update(&other, "Second")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(title_on(&app).await, "Second");
    assert_eq!(title_on(&other).await, "Second");

    // By another program on the database itself.
    match app.backend {
        headwater_store::Backend::Sqlite => {
            let file = app.database_url().trim_start_matches("sqlite://");
            let file = file.split('?').next().unwrap();
            let out = std::process::Command::new("python3")
                .args([
                    "-c",
                    "import sqlite3, sys\n\
                     c = sqlite3.connect(sys.argv[1], timeout=30)\n\
                     c.execute(\"UPDATE entries SET title = 'Outside' WHERE uid = ?\", (sys.argv[2],))\n\
                     c.commit()",
                    file,
                    &site.entry,
                ])
                .output()
                .expect("python3 runs");
            assert!(out.status.success(), "{out:?}");
        }
        _ => {
            let side = headwater_store::Db::connect(app.database_url())
                .await
                .expect("side connection");
            side.execute_admin(&format!(
                "UPDATE entries SET title = 'Outside' WHERE uid = '{}'",
                site.entry
            ))
            .await
            .expect("update outside the server");
            side.close().await;
        }
    }
    assert_eq!(title_on(&app).await, "Outside");
    assert_eq!(title_on(&other).await, "Outside");

    // A delete: gone on the next read, on both.
    let (s, b) = send(app.as_user(Method::DELETE, &path, &site.owner, &site.api_key)).await;
    assert_eq!(s, 200, "{b}");
    for a in [&app, &other] {
        let (s, b) = send(a.as_user(Method::GET, &path, &site.owner, &site.api_key)).await;
        assert_error(s, &b, 422, 141);
    }
    other.stop().await;
}
