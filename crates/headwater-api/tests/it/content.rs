//! Content modules over HTTP on both backends: locales, content types, global fields,
//! entries (validation, versions, concurrency, queries, localization) and publishing.

use crate::common::{urlencode, world, World};
use futures::future::join_all;
use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    content_types_and_global_fields_are_validated_and_managed,
    entries_are_validated_versioned_and_deleted,
    concurrent_updates_of_one_version_let_exactly_one_through,
    entry_queries_filter_sort_and_refuse_tricks,
    entries_are_localized_with_fallback_to_the_master_locale,
    entries_are_published_to_environments,
    schema_changes_that_would_orphan_entries_are_refused,
    stacks_are_isolated_from_each_other,
    roles_and_tokens_are_enforced_on_content,
    abandoned_requests_leave_the_database_usable,
    concurrent_publishes_of_one_entry_all_succeed,
);

fn blog_type() -> Value {
    json!({"content_type": {"title": "Blog", "uid": "blog", "schema": [
        {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true, "unique": true},
        {"uid": "body", "display_name": "Body", "data_type": "text"},
        {"uid": "rating", "display_name": "Rating", "data_type": "number", "min": 0, "max": 10},
        {"uid": "featured", "display_name": "Featured", "data_type": "boolean"},
        {"uid": "author", "display_name": "Author", "data_type": "group", "schema": [
            {"uid": "name", "display_name": "Name", "data_type": "text"}]}
    ]}})
}

async fn with_blog(app: &TestApp) -> World {
    let w = world(app).await;
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/content_types", &w.owner, &w.api_key)
            .json(&blog_type()),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    w
}

async fn new_entry(app: &TestApp, w: &World, entry: Value) -> Value {
    let (s, b) = send(
        app.as_user(
            Method::POST,
            "/v3/content_types/blog/entries",
            &w.owner,
            &w.api_key,
        )
        .json(&json!({ "entry": entry })),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    b["entry"].clone()
}

async fn content_types_and_global_fields_are_validated_and_managed(app: TestApp) {
    let w = with_blog(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    let (s, b) = send(u(Method::POST, "/v3/content_types").json(&blog_type())).await;
    assert_error(s, &b, 422, 115);
    assert!(b["errors"]["uid"].is_array());
    let (s, b) = send(u(Method::POST, "/v3/content_types").json(&json!({"content_type": {"title": "Page", "uid": "page",
        "schema": [{"uid": "body", "display_name": "Body", "data_type": "text"}, {"uid": "x", "display_name": "X", "data_type": "colour"}]}}))).await;
    assert_error(s, &b, 422, 115);
    assert!(b["errors"]["schema[1].data_type"].is_array(), "{b}");
    let (s, b) = send(u(Method::GET, "/v3/content_types/nope")).await;
    assert_error(s, &b, 422, 118);

    let (s, b) = send(u(Method::POST, "/v3/global_fields").json(&json!({"global_field": {"title": "SEO", "uid": "seo",
        "schema": [{"uid": "keywords", "display_name": "Keywords", "data_type": "text", "mandatory": true}]}}))).await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = send(u(Method::POST, "/v3/content_types").json(&json!({"content_type": {"title": "Page", "uid": "page", "schema": [
        {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
        {"uid": "seo", "display_name": "SEO", "data_type": "global_field", "reference_to": "seo"}]}}))).await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = send(
        u(Method::POST, "/v3/content_types/page/entries")
            .json(&json!({"entry": {"title": "Home", "seo": {}}})),
    )
    .await;
    assert_error(s, &b, 422, 119);
    assert!(b["errors"]["seo.keywords"].is_array(), "{b}");
    let (s, b) = send(u(Method::DELETE, "/v3/global_fields/seo")).await;
    assert_error(s, &b, 422, 115);
    let (s, b) = send(u(Method::GET, "/v3/content_types?include_count=true")).await;
    assert_eq!((s, b["count"].clone()), (200, json!(2)));
    let (s, b) = send(u(Method::GET, "/v3/content_types/blog")).await;
    assert_eq!(
        (s, b["content_type"]["schema"].as_array().map(Vec::len)),
        (200, Some(5))
    );
    let (s, b) = send(
        u(Method::PUT, "/v3/content_types/blog")
            .json(&json!({"content_type": {"title": "Blog posts"}})),
    )
    .await;
    assert_eq!(
        (
            s,
            b["content_type"]["title"].clone(),
            b["content_type"]["_version"].clone()
        ),
        (200, json!("Blog posts"), json!(2))
    );
    let (s, _) = send(u(Method::DELETE, "/v3/content_types/page")).await;
    assert_eq!(s, 200);
    let (s, _) = send(u(Method::DELETE, "/v3/global_fields/seo")).await;
    assert_eq!(s, 200);
}

async fn entries_are_validated_versioned_and_deleted(app: TestApp) {
    let w = with_blog(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    let (s, b) = send(u(Method::POST, "/v3/content_types/blog/entries").json(&json!({"entry": {"rating": 11, "featured": "yes", "author": {"name": 3}, "colour": "red"}}))).await;
    assert_error(s, &b, 422, 119);
    for field in ["title", "rating", "featured", "author.name", "colour"] {
        assert!(b["errors"][field].is_array(), "no error for {field}: {b}");
    }
    let e = new_entry(
        &app,
        &w,
        json!({"title": "First", "rating": 7, "author": {"name": "Ada"}, "tags": ["a", "b"]}),
    )
    .await;
    let uid = e["uid"].as_str().unwrap().to_string();
    assert_eq!(e["_version"], 1);
    assert_eq!(e["locale"], "en-us");
    assert_eq!(e["tags"], json!(["a", "b"]));
    let (s, b) = send(
        u(Method::POST, "/v3/content_types/blog/entries")
            .json(&json!({"entry": {"title": "First"}})),
    )
    .await;
    assert_error(s, &b, 422, 119);
    assert_eq!(b["errors"]["title"], json!(["is not unique."]));

    let path = format!("/v3/content_types/blog/entries/{uid}");
    let (s, b) = send(
        u(Method::PUT, &path)
            .json(&json!({"entry": {"title": "First, edited", "rating": 8, "_version": 1}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["entry"]["_version"], 2);
    let (s, b) =
        send(u(Method::PUT, &path).json(&json!({"entry": {"title": "Stale", "_version": 1}})))
            .await;
    assert_error(s, &b, 409, 409);
    // The JS client sends back the whole fetched entry: system keys are accepted and ignored.
    let (_, fetched) = send(u(Method::GET, &path)).await;
    let mut round_trip = fetched["entry"].clone();
    round_trip["body"] = json!("Hello");
    let (s, b) = send(u(Method::PUT, &path).json(&json!({ "entry": round_trip }))).await;
    assert_eq!((s, b["entry"]["_version"].clone()), (200, json!(3)), "{b}");

    let (s, b) = send(u(Method::GET, &format!("{path}/versions"))).await;
    assert_eq!(s, 200);
    let versions: Vec<i64> = b["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["_version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![3, 2, 1]);
    let (s, b) = send(u(Method::GET, &format!("{path}?version=1"))).await;
    assert_eq!(
        (
            s,
            b["entry"]["title"].clone(),
            b["entry"]["_version"].clone()
        ),
        (200, json!("First"), json!(1))
    );

    let (s, b) = send(u(Method::DELETE, &path)).await;
    assert_eq!(
        (s, b["notice"].clone()),
        (200, json!("Entry deleted successfully."))
    );
    let (s, b) = send(u(Method::GET, &path)).await;
    assert_error(s, &b, 422, 141);
    let (s, b) = send(u(Method::GET, "/v3/content_types/nope/entries")).await;
    assert_error(s, &b, 422, 118);
}

async fn concurrent_updates_of_one_version_let_exactly_one_through(app: TestApp) {
    let w = with_blog(&app).await;
    let e = new_entry(&app, &w, json!({"title": "Race"})).await;
    let path = format!(
        "/v3/content_types/blog/entries/{}",
        e["uid"].as_str().unwrap()
    );
    let attempts = (0..20).map(|i| {
        send(app.as_user(Method::PUT, &path, &w.owner, &w.api_key).json(
            &json!({"entry": {"title": "Race", "body": format!("writer {i}"), "_version": 1}}),
        ))
    });
    let results = join_all(attempts).await;
    let winners: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert!(results.iter().all(|(s, _)| *s == 200 || *s == 409));
    let (_, stored) = send(app.as_user(Method::GET, &path, &w.owner, &w.api_key)).await;
    assert_eq!(stored["entry"]["_version"], 2);
    assert_eq!(stored["entry"]["body"], winners[0]["entry"]["body"]);
}

async fn entry_queries_filter_sort_and_refuse_tricks(app: TestApp) {
    let w = with_blog(&app).await;
    for (i, (title, rating, featured, author)) in [
        ("Alpha", 1, true, "Ada"),
        ("Beta", 5, false, "Grace"),
        ("Gamma", 9, true, "Ada"),
        ("Delta O'Brien", 5, false, "Linus"),
    ]
    .iter()
    .enumerate()
    {
        new_entry(&app, &w, json!({"title": title, "rating": rating, "featured": featured, "author": {"name": author}, "body": format!("post {i}")})).await;
    }
    let titles = |q: &'static str| {
        let url = format!(
            "/v3/content_types/blog/entries?include_count=true&asc=title&query={}",
            urlencode(q)
        );
        let req = app.as_user(Method::GET, &url, &w.owner, &w.api_key);
        async move {
            let (s, b) = send(req).await;
            assert_eq!(s, 200, "{q}: {b}");
            let t: Vec<String> = b["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["title"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(b["count"].as_u64().unwrap() as usize, t.len());
            t
        }
    };
    assert_eq!(titles(r#"{"title": "Beta"}"#).await, ["Beta"]);
    assert_eq!(
        titles(r#"{"rating": {"$gt": 4}}"#).await,
        ["Beta", "Delta O'Brien", "Gamma"]
    );
    assert_eq!(
        titles(r#"{"rating": {"$gte": 5, "$lt": 9}}"#).await,
        ["Beta", "Delta O'Brien"]
    );
    assert_eq!(
        titles(r#"{"rating": {"$in": [1, 9]}}"#).await,
        ["Alpha", "Gamma"]
    );
    assert_eq!(
        titles(r#"{"rating": {"$nin": [1, 9]}}"#).await,
        ["Beta", "Delta O'Brien"]
    );
    assert_eq!(titles(r#"{"featured": true}"#).await, ["Alpha", "Gamma"]);
    assert_eq!(
        titles(r#"{"author.name": "Ada"}"#).await,
        ["Alpha", "Gamma"]
    );
    assert_eq!(
        titles(r#"{"$or": [{"title": "Alpha"}, {"author.name": "Linus"}]}"#).await,
        ["Alpha", "Delta O'Brien"]
    );
    assert_eq!(
        titles(r#"{"title": {"$regex": "^g", "$options": "i"}}"#).await,
        ["Gamma"]
    );
    assert_eq!(titles(r#"{"title": {"$regex": "ta$"}}"#).await, ["Beta"]);
    assert_eq!(
        titles(r#"{"body": {"$exists": true}, "title": {"$ne": "Alpha"}}"#).await,
        ["Beta", "Delta O'Brien", "Gamma"]
    );
    assert_eq!(
        titles(r#"{"title": "Delta O'Brien"}"#).await,
        ["Delta O'Brien"]
    );
    // Injection attempts find nothing or are refused; never a server error.
    assert!(titles(r#"{"title": "x' OR '1'='1"}"#).await.is_empty());
    assert!(titles(r#"{"title": {"$regex": "%"}}"#).await.is_empty());
    for bad in [
        r#"{"title'); DROP TABLE entries; --": 1}"#,
        r#"{"$where": "1=1"}"#,
        r#"{"$and": [{}, {}]}"#,
        r#"{"a": {"$regex": "(.*)"}}"#,
        "{not json",
    ] {
        let url = format!("/v3/content_types/blog/entries?query={}", urlencode(bad));
        let (s, b) = send(app.as_user(Method::GET, &url, &w.owner, &w.api_key)).await;
        assert_error(s, &b, 422, 120);
    }
    // Sorting, paging and counting.
    let (s, b) = send(app.as_user(
        Method::GET,
        "/v3/content_types/blog/entries?desc=rating&skip=1&limit=2&include_count=true",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["count"], 4);
    assert_eq!(b["entries"].as_array().unwrap().len(), 2);
    assert_eq!(b["entries"][0]["rating"], 5);
    let (_, b) = send(app.as_user(
        Method::GET,
        "/v3/content_types/blog/entries?count=true",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(b["entries"], 4);
    let (_, b) = send(app.as_user(
        Method::GET,
        "/v3/content_types/blog/entries?only[BASE][]=title&limit=1",
        &w.owner,
        &w.api_key,
    ))
    .await;
    let keys: Vec<&String> = b["entries"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["title", "uid"]);
    let (s, _) = send(app.as_user(
        Method::GET,
        "/v3/content_types/blog/entries?skip=1e%2B100&limit=1000",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200);
}

async fn entries_are_localized_with_fallback_to_the_master_locale(app: TestApp) {
    let w = with_blog(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    let (s, b) = send(
        u(Method::POST, "/v3/locales")
            .json(&json!({"locale": {"code": "fr-fr", "name": "French"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["locale"]["fallback_locale"], "en-us");
    let (s, b) =
        send(u(Method::POST, "/v3/locales").json(&json!({"locale": {"code": "fr-fr"}}))).await;
    assert_error(s, &b, 422, 247);
    let (_, b) = send(u(Method::GET, "/v3/locales")).await;
    assert_eq!(b["locales"].as_array().unwrap().len(), 2);

    let hello = new_entry(&app, &w, json!({"title": "Hello"})).await;
    new_entry(&app, &w, json!({"title": "Only English"})).await;
    let path = format!(
        "/v3/content_types/blog/entries/{}",
        hello["uid"].as_str().unwrap()
    );
    let (s, b) = send(
        u(Method::PUT, &format!("{path}?locale=fr-fr"))
            .json(&json!({"entry": {"title": "Bonjour"}})),
    )
    .await;
    assert_eq!(
        (
            s,
            b["entry"]["locale"].clone(),
            b["entry"]["_version"].clone()
        ),
        (200, json!("fr-fr"), json!(1)),
        "{b}"
    );
    assert_eq!(b["notice"], "Entry localized successfully.");
    let (_, b) = send(u(Method::GET, &format!("{path}/locales"))).await;
    assert_eq!(
        b["locales"],
        json!([{"code": "en-us", "localized": true}, {"code": "fr-fr", "localized": true}])
    );
    let (_, b) = send(
        u(Method::PUT, &format!("{path}?locale=fr-fr"))
            .json(&json!({"entry": {"title": "Bonjour"}})),
    )
    .await;
    assert_eq!(b["notice"], "Entry updated successfully.");
    let (_, b) = send(u(Method::GET, &format!("{path}?locale=fr-fr"))).await;
    assert_eq!(b["entry"]["title"], "Bonjour");
    let (_, b) = send(u(Method::GET, &path)).await;
    assert_eq!(b["entry"]["title"], "Hello");
    let (_, b) = send(u(
        Method::GET,
        "/v3/content_types/blog/entries?locale=fr-fr&asc=title",
    ))
    .await;
    let pairs: Vec<(String, String)> = b["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["title"].as_str().unwrap().to_string(),
                e["locale"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("Bonjour".into(), "fr-fr".into()),
            ("Only English".into(), "en-us".into())
        ]
    );
    let (s, b) = send(u(Method::GET, &format!("{path}?locale=xx-xx"))).await;
    assert_error(s, &b, 422, 120);
    let (s, _) = send(u(Method::DELETE, &format!("{path}?locale=fr-fr"))).await;
    assert_eq!(s, 200);
    let (_, b) = send(u(Method::GET, &format!("{path}?locale=fr-fr"))).await;
    assert_eq!(
        (b["entry"]["title"].clone(), b["entry"]["locale"].clone()),
        (json!("Hello"), json!("en-us"))
    );
    let (s, b) = send(u(Method::DELETE, "/v3/locales/en-us")).await;
    assert_error(s, &b, 422, 120);
}

async fn entries_are_published_to_environments(app: TestApp) {
    let w = with_blog(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    send(u(Method::POST, "/v3/environments").json(&json!({"environment": {"name": "production"}})))
        .await;
    let e = new_entry(&app, &w, json!({"title": "News"})).await;
    let path = format!(
        "/v3/content_types/blog/entries/{}",
        e["uid"].as_str().unwrap()
    );
    let body =
        json!({"entry": {"environments": ["production"], "locales": ["en-us"]}, "locale": "en-us"});
    let (s, b) = send(u(Method::POST, &format!("{path}/publish")).json(&body)).await;
    assert_eq!(
        (s, b["notice"].clone()),
        (200, json!("The requested action has been performed.")),
        "{b}"
    );
    let (_, b) = send(u(Method::GET, &path)).await;
    let details = b["entry"]["publish_details"].as_array().unwrap();
    assert_eq!(details.len(), 1);
    assert_eq!(details[0]["locale"], "en-us");
    assert_eq!(details[0]["version"], 1);
    let (_, b) = send(u(
        Method::GET,
        "/v3/content_types/blog/entries?include_publish_details=true",
    ))
    .await;
    assert_eq!(
        b["entries"][0]["publish_details"].as_array().unwrap().len(),
        1
    );

    let (s, b) = send(
        u(Method::POST, &format!("{path}/publish"))
            .json(&json!({"entry": {"environments": ["staging"]}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "reader").await;
    let (s, b) = send(
        app.with_token(Method::POST, &format!("{path}/publish"), &ro, &w.api_key)
            .json(&body),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert!(b["error_message"].as_str().unwrap().contains("MT-7"));
    let (rw, _) = app.rw_token(&w.owner, &w.api_key, "writer").await;
    let (s, _) = send(
        app.with_token(Method::POST, &format!("{path}/unpublish"), &rw, &w.api_key)
            .json(&body),
    )
    .await;
    assert_eq!(s, 200);
    let (_, b) = send(u(Method::GET, &path)).await;
    assert_eq!(b["entry"]["publish_details"], json!([]));
}

async fn schema_changes_that_would_orphan_entries_are_refused(app: TestApp) {
    let w = with_blog(&app).await;
    new_entry(&app, &w, json!({"title": "Kept", "rating": 3})).await;
    let mut ct = blog_type();
    let schema = ct["content_type"]["schema"].as_array_mut().unwrap();
    schema.retain(|f| f["uid"] != "rating");
    let (s, b) = send(
        app.as_user(Method::PUT, "/v3/content_types/blog", &w.owner, &w.api_key)
            .json(&ct),
    )
    .await;
    assert_error(s, &b, 422, 115);
    assert!(
        b["errors"]["schema"][0]
            .as_str()
            .unwrap()
            .contains("rating"),
        "{b}"
    );
    let mut ct = blog_type();
    ct["content_type"]["schema"][2]["data_type"] = json!("text");
    let (s, _) = send(
        app.as_user(Method::PUT, "/v3/content_types/blog", &w.owner, &w.api_key)
            .json(&ct),
    )
    .await;
    assert_eq!(s, 422);
    let mut ct = blog_type();
    ct["content_type"]["schema"]
        .as_array_mut()
        .unwrap()
        .push(json!({"uid": "summary", "display_name": "Summary", "data_type": "text"}));
    let (s, b) = send(
        app.as_user(Method::PUT, "/v3/content_types/blog", &w.owner, &w.api_key)
            .json(&ct),
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

async fn stacks_are_isolated_from_each_other(app: TestApp) {
    let a = with_blog(&app).await;
    let b_key = app.stack(&a.owner, &a.org, "Other").await;
    let entry = new_entry(&app, &a, json!({"title": "Secret"})).await;
    let path = format!(
        "/v3/content_types/blog/entries/{}",
        entry["uid"].as_str().unwrap()
    );
    let (token_b, _) = app.rw_token(&a.owner, &b_key, "b").await;
    // B's token with A's key: refused outright.
    let (s, b) = send(app.with_token(Method::GET, &path, &token_b, &a.api_key)).await;
    assert_error(s, &b, 401, 105);
    // B's token on its own stack does not see A's content type, entries or environments.
    for p in [
        path.as_str(),
        "/v3/content_types/blog",
        "/v3/content_types/blog/entries",
    ] {
        let (s, b) = send(app.with_token(Method::GET, p, &token_b, &b_key)).await;
        assert_error(s, &b, 422, 118);
    }
    let (s, b) = send(app.with_token(Method::DELETE, &path, &token_b, &b_key)).await;
    assert_eq!(s, 422, "{b}");
    send(
        app.as_user(Method::POST, "/v3/environments", &a.owner, &a.api_key)
            .json(&json!({"environment": {"name": "production"}})),
    )
    .await;
    let (s, _) =
        send(app.with_token(Method::GET, "/v3/environments/production", &token_b, &b_key)).await;
    assert_eq!(s, 422);
    let (_, b) = send(app.as_user(Method::GET, &path, &a.owner, &a.api_key)).await;
    assert_eq!(b["entry"]["title"], "Secret", "A's entry is unchanged");
}

async fn roles_and_tokens_are_enforced_on_content(app: TestApp) {
    let w = with_blog(&app).await;
    app.member("cm@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "cm@example.com", "Content Manager")
        .await;
    let cm = app.login("cm@example.com").await;
    let (s, _) = send(
        app.as_user(
            Method::POST,
            "/v3/content_types/blog/entries",
            &cm,
            &w.api_key,
        )
        .json(&json!({"entry": {"title": "By CM"}})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/content_types", &cm, &w.api_key)
            .json(&json!({"content_type": {"title": "X", "uid": "x", "schema": []}})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/locales", &cm, &w.api_key)
            .json(&json!({"locale": {"code": "de-de"}})),
    )
    .await;
    assert_error(s, &b, 403, 162);

    let (rw, token_uid) = app.rw_token(&w.owner, &w.api_key, "importer").await;
    let (s, b) = send(
        app.with_token(
            Method::POST,
            "/v3/content_types/blog/entries",
            &rw,
            &w.api_key,
        )
        .json(&json!({"entry": {"title": "By token"}})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(b["entry"]["created_by"], token_uid.as_str());
    let (s, b) = app
        .create_token(&w.owner, &w.api_key, json!({"name": "types only", "scope": [{"module": "content_type", "acl": {"read": true, "write": true}}]}))
        .await;
    assert_eq!(s, 201);
    let types_only = b["token"]["token"].as_str().unwrap().to_string();
    let (s, _) = send(app.with_token(
        Method::GET,
        "/v3/content_types/blog",
        &types_only,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200);
    let (s, b) = send(app.with_token(
        Method::GET,
        "/v3/content_types/blog/entries",
        &types_only,
        &w.api_key,
    ))
    .await;
    assert_error(s, &b, 403, 162);
    assert!(b["error_message"].as_str().unwrap().contains("MT-4"));
}

/// Clients that give up mid-request must not leave a database connection inside a transaction:
/// afterwards every write still succeeds.
async fn abandoned_requests_leave_the_database_usable(app: TestApp) {
    let w = with_blog(&app).await;
    // Give up after anything from 50 µs to 6 ms, so that some requests are abandoned while
    // their transaction is being opened, some while it runs, some while it commits.
    for round in 0..10u64 {
        let attempts = (0..120u64).map(|i| {
            let client = app.client.clone();
            let url = format!("{}/v3/content_types/blog/entries", app.base);
            let (owner, key) = (w.owner.clone(), w.api_key.clone());
            async move {
                let request = client
                    .post(url)
                    .header("authtoken", owner)
                    .header("api_key", key)
                    .json(&json!({"entry": {"title": format!("abandoned {round}-{i}")}}))
                    .send();
                let _ =
                    tokio::time::timeout(std::time::Duration::from_micros(50 * (i + 1)), request)
                        .await;
            }
        });
        join_all(attempts).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for i in 0..20 {
        let (s, b) = send(
            app.as_user(
                Method::POST,
                "/v3/content_types/blog/entries",
                &w.owner,
                &w.api_key,
            )
            .json(&json!({"entry": {"title": format!("after {i}")}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
    }
}

/// Publishing the same entry from many clients at once always succeeds (no key collisions).
async fn concurrent_publishes_of_one_entry_all_succeed(app: TestApp) {
    let w = with_blog(&app).await;
    send(
        app.as_user(Method::POST, "/v3/environments", &w.owner, &w.api_key)
            .json(&json!({"environment": {"name": "production"}})),
    )
    .await;
    let e = new_entry(&app, &w, json!({"title": "Hot"})).await;
    let path = format!(
        "/v3/content_types/blog/entries/{}/publish",
        e["uid"].as_str().unwrap()
    );
    let body = json!({"entry": {"environments": ["production"], "locales": ["en-us"]}});
    let results = join_all((0..30).map(|_| {
        send(
            app.as_user(Method::POST, &path, &w.owner, &w.api_key)
                .json(&body),
        )
    }))
    .await;
    for (s, b) in &results {
        assert_eq!(*s, 200, "{b}");
    }
}
