//! The entry field index on both backends: filtered queries that the index narrows return
//! exactly what a full scan returns, through creates, updates, localization and deletes, and
//! hostile values stay values.

use crate::common::urlencode;
use headwater_testkit::{on_both_backends, send, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    indexed_queries_agree_with_full_scans,
    the_index_follows_updates_locales_and_deletes,
    deleting_a_stack_removes_its_field_index,
    posting_lists_in_memory_follow_every_write,
    posting_lists_see_commits_behind_an_older_open_transaction,
);

struct World {
    owner: String,
    api_key: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Index").await;
    let ct = json!({"content_type": {"title": "Doc", "uid": "doc", "schema": [
        {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
        {"uid": "body", "display_name": "Body", "data_type": "text"},
        {"uid": "rating", "display_name": "Rating", "data_type": "number"},
        {"uid": "featured", "display_name": "Featured", "data_type": "boolean"},
        {"uid": "tags", "display_name": "Tags", "data_type": "text", "multiple": true},
        {"uid": "author", "display_name": "Author", "data_type": "group", "schema": [
            {"uid": "name", "display_name": "Name", "data_type": "text"},
            {"uid": "age", "display_name": "Age", "data_type": "number"}]}
    ]}});
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/content_types", &owner, &api_key)
            .json(&ct),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    World { owner, api_key }
}

async fn create(app: &TestApp, w: &World, entry: Value, locale: Option<&str>) -> String {
    let path = match locale {
        None => "/v3/content_types/doc/entries".to_string(),
        Some(l) => format!("/v3/content_types/doc/entries?locale={l}"),
    };
    let (s, b) = send(
        app.as_user(Method::POST, &path, &w.owner, &w.api_key)
            .json(&json!({ "entry": entry })),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    b["entry"]["uid"].as_str().unwrap().to_string()
}

/// (titles in title order, count) for a query.
async fn run(app: &TestApp, w: &World, query: &Value, extra: &str) -> (Vec<String>, u64) {
    let order = if extra.contains("asc=") || extra.contains("desc=") {
        ""
    } else {
        "&asc=title"
    };
    newest_first(app, w, query, &format!("{order}&limit=100{extra}")).await
}

/// The same query in a form the index cannot narrow (an `$or` with a branch on a field no
/// entry has, tested by `$exists`), so the server evaluates it over every entry.
fn unindexed(query: &Value) -> Value {
    json!({"$or": [query, {"never_set": {"$exists": true}}]})
}

/// Asserts the indexed and the full-scan answers agree and returns them.
async fn agree(app: &TestApp, w: &World, query: Value, extra: &str) -> (Vec<String>, u64) {
    let fast = run(app, w, &query, extra).await;
    let slow = run(app, w, &unindexed(&query), extra).await;
    assert_eq!(
        fast, slow,
        "indexed and full-scan answers differ for {query}{extra}"
    );
    if !extra.contains("asc=") && !extra.contains("desc=") {
        // In `updated_at` order too (which the in-memory posting lists answer on SQLite).
        for order in ["&desc=updated_at", "&asc=updated_at"] {
            let extra = format!("{extra}{order}");
            let fast = run(app, w, &query, &extra).await;
            let slow = run(app, w, &unindexed(&query), &extra).await;
            assert_eq!(
                fast, slow,
                "indexed and full-scan answers differ for {query}{extra}"
            );
        }
    }
    fast
}

async fn indexed_queries_agree_with_full_scans(app: TestApp) {
    let w = world(&app).await;
    let long = "L".repeat(200);
    let docs = vec![
        json!({"title": "a1", "rating": 1, "body": "x", "author": {"name": "Ada", "age": 36}, "featured": true}),
        json!({"title": "a2", "rating": 5, "body": "y", "author": {"name": "Grace", "age": 85}}),
        json!({"title": "a3", "rating": 5.5, "body": "x' OR '1'='1", "tags": ["x", "y"]}),
        json!({"title": "a4", "rating": -3, "body": "'); DROP TABLE entry_values; --"}),
        json!({"title": "a5", "rating": 9007199254740993_i64, "body": format!("{long}first")}),
        json!({"title": "a6", "rating": 10, "body": format!("{long}second"), "featured": false}),
        json!({"title": "a7", "body": "5", "author": {"name": "Ada"}}),
        json!({"title": "a8", "rating": 0, "body": "", "author": {"name": "ada"}}),
        json!({"title": "a9", "rating": 5, "body": "é ü 漢字", "tags": ["x"]}),
    ];
    for d in docs {
        create(&app, &w, d, None).await;
    }
    let cases = vec![
        (json!({"body": "x"}), vec!["a1"]),
        (json!({"rating": 5}), vec!["a2", "a9"]),
        (json!({"rating": {"$gt": 5}}), vec!["a3", "a5", "a6"]),
        (
            json!({"rating": {"$gte": 5, "$lt": 10}}),
            vec!["a2", "a3", "a9"],
        ),
        (json!({"rating": {"$lte": 0}}), vec!["a4", "a8"]),
        (json!({"rating": {"$in": [1, 10, "5"]}}), vec!["a1", "a6"]),
        (
            json!({"body": {"$in": ["x", "5", "nope"]}}),
            vec!["a1", "a7"],
        ),
        (json!({"author.name": "Ada"}), vec!["a1", "a7"]),
        (json!({"author.age": {"$gte": 40}}), vec!["a2"]),
        (json!({"author.name": "Ada", "rating": 1}), vec!["a1"]),
        (
            json!({"$or": [{"rating": 10}, {"author.name": "Grace"}]}),
            vec!["a2", "a6"],
        ),
        (
            json!({"$and": [{"rating": {"$gte": 1}}, {"$or": [{"body": "x"}, {"body": "y"}]}]}),
            vec!["a1", "a2"],
        ),
        (json!({"body": format!("{long}first")}), vec!["a5"]),
        (json!({"body": format!("{long}")}), vec![]),
        (json!({"body": "x' OR '1'='1"}), vec!["a3"]),
        (
            json!({"body": "'); DROP TABLE entry_values; --"}),
            vec!["a4"],
        ),
        (json!({"body": "' OR 1=1 --"}), vec![]),
        (json!({"body": "é ü 漢字"}), vec!["a9"]),
        (json!({"tags": "x"}), vec![]),
        (json!({"featured": true, "rating": 1}), vec!["a1"]),
        (json!({"rating": {"$ne": 5}, "body": "x"}), vec!["a1"]),
        (json!({"rating": 5, "title": {"$nin": ["a2"]}}), vec!["a9"]),
        (json!({"body": 5}), vec![]),
        (json!({"rating": "5"}), vec![]),
        (json!({"nothing": "x"}), vec![]),
        (json!({"title": "a1", "body": "x"}), vec!["a1"]),
    ];
    for (q, want) in cases {
        let (titles, count) = agree(&app, &w, q.clone(), "").await;
        assert_eq!(titles, want, "{q}");
        assert_eq!(count as usize, want.len(), "{q}");
    }
    // Where the backends' own comparisons differ (integers beyond 2^53, text order under the
    // database's collation), the indexed answer still equals the full scan's.
    agree(
        &app,
        &w,
        json!({"rating": {"$gt": 9007199254740992_i64}}),
        "",
    )
    .await;
    agree(
        &app,
        &w,
        json!({"rating": {"$gte": 9007199254740993_i64}}),
        "",
    )
    .await;
    agree(&app, &w, json!({"body": {"$gt": format!("{long}f")}}), "").await;
    // Sorting by a document field, and by a system column, over indexed matches.
    let (titles, count) = agree(&app, &w, json!({"rating": {"$gte": 1}}), "&desc=rating").await;
    assert_eq!(count, 6);
    assert_eq!(titles.len(), 6);
    agree(
        &app,
        &w,
        json!({"body": {"$in": ["x", "y", "5"]}}),
        "&desc=updated_at&skip=1&limit=1",
    )
    .await;
    agree(&app, &w, json!({"author.name": "Ada"}), "&asc=author.name").await;
    // Paging past the matches still counts them; sorting by a field is unchanged.
    let (titles, count) = agree(&app, &w, json!({"rating": {"$gte": 5}}), "&skip=10").await;
    assert!(titles.is_empty());
    assert_eq!(count, 5);
    let (titles, count) = agree(&app, &w, json!({"rating": {"$gte": 5}}), "&skip=1&limit=2").await;
    assert_eq!(titles, ["a3", "a5"]);
    assert_eq!(count, 5);
    // The injection attempts above left every table in place.
    let (titles, count) = agree(&app, &w, json!({"rating": {"$gte": -100}}), "").await;
    assert_eq!(count, 8);
    assert_eq!(titles.len(), 8);
}

async fn the_index_follows_updates_locales_and_deletes(app: TestApp) {
    let w = world(&app).await;
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/locales", &w.owner, &w.api_key)
            .json(&json!({"locale": {"code": "fr-fr", "name": "French"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let one = create(
        &app,
        &w,
        json!({"title": "one", "rating": 1, "author": {"name": "Ada"}}),
        None,
    )
    .await;
    let two = create(&app, &w, json!({"title": "two", "rating": 2}), None).await;
    create(&app, &w, json!({"title": "three", "rating": 3}), None).await;
    let entry_url = |uid: &str, q: &str| format!("/v3/content_types/doc/entries/{uid}{q}");

    // An update moves the entry from its old value to its new one.
    let (s, b) = send(
        app.as_user(Method::PUT, &entry_url(&one, ""), &w.owner, &w.api_key)
            .json(&json!({"entry": {"title": "one", "rating": 7, "author": {"name": "Grace"}}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(agree(&app, &w, json!({"rating": 1}), "").await.1, 0);
    assert_eq!(agree(&app, &w, json!({"rating": 7}), "").await.0, ["one"]);
    assert_eq!(
        agree(&app, &w, json!({"author.name": "Ada"}), "").await.1,
        0
    );
    assert_eq!(
        agree(&app, &w, json!({"author.name": "Grace"}), "").await.0,
        ["one"]
    );
    // A removed field leaves the index too.
    let (s, _) = send(
        app.as_user(Method::PUT, &entry_url(&one, ""), &w.owner, &w.api_key)
            .json(&json!({"entry": {"title": "one", "rating": 7}})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        agree(&app, &w, json!({"author.name": "Grace"}), "").await.1,
        0
    );

    // Localized versions are indexed per locale; unlocalized entries fall back to the master.
    let (s, b) = send(
        app.as_user(
            Method::PUT,
            &entry_url(&two, "?locale=fr-fr"),
            &w.owner,
            &w.api_key,
        )
        .json(&json!({"entry": {"title": "deux", "rating": 20}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(agree(&app, &w, json!({"rating": 20}), "").await.1, 0);
    assert_eq!(
        agree(&app, &w, json!({"rating": 20}), "&locale=fr-fr")
            .await
            .0,
        ["deux"]
    );
    assert_eq!(
        agree(&app, &w, json!({"rating": 2}), "&locale=fr-fr")
            .await
            .1,
        0
    );
    assert_eq!(agree(&app, &w, json!({"rating": 2}), "").await.0, ["two"]);
    assert_eq!(
        agree(&app, &w, json!({"rating": {"$gte": 3}}), "&locale=fr-fr")
            .await
            .0,
        ["deux", "one", "three"]
    );

    // Deleting the localized version, then the entry, takes them out of the answers.
    let (s, _) = send(app.as_user(
        Method::DELETE,
        &entry_url(&two, "?locale=fr-fr"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        agree(&app, &w, json!({"rating": 20}), "&locale=fr-fr")
            .await
            .1,
        0
    );
    assert_eq!(
        agree(&app, &w, json!({"rating": 2}), "&locale=fr-fr")
            .await
            .0,
        ["two"]
    );
    let (s, _) =
        send(app.as_user(Method::DELETE, &entry_url(&two, ""), &w.owner, &w.api_key)).await;
    assert_eq!(s, 200);
    assert_eq!(agree(&app, &w, json!({"rating": 2}), "").await.1, 0);
    // A new entry after a delete gets its own values (a freed key may be reused on SQLite).
    create(&app, &w, json!({"title": "four", "rating": 4}), None).await;
    assert_eq!(
        agree(&app, &w, json!({"rating": {"$lte": 4}}), "").await.0,
        ["four", "three"]
    );

    // Deleting the content type removes its entries and their index; a new type of the same
    // uid starts empty.
    let (s, _) = send(app.as_user(
        Method::DELETE,
        "/v3/content_types/doc?force=true",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert!(s == 200 || s == 422, "{s}");
    if s == 200 {
        let ct = json!({"content_type": {"title": "Doc", "uid": "doc", "schema": [
            {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
            {"uid": "rating", "display_name": "Rating", "data_type": "number"}]}});
        let (s, b) = send(
            app.as_user(Method::POST, "/v3/content_types", &w.owner, &w.api_key)
                .json(&ct),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(
            agree(&app, &w, json!({"rating": {"$gte": 0}}), "").await.1,
            0
        );
    }
}

async fn index_rows(app: &TestApp) -> (i64, i64) {
    use sqlx::Row;
    let mut c = app.db.reader().await.unwrap();
    let v: i64 = sqlx::query("SELECT COUNT(*) AS n FROM entry_values")
        .fetch_one(&mut *c)
        .await
        .unwrap()
        .get("n");
    let f: i64 = sqlx::query("SELECT COUNT(*) AS n FROM entry_fields")
        .fetch_one(&mut *c)
        .await
        .unwrap()
        .get("n");
    (v, f)
}

async fn deleting_a_stack_removes_its_field_index(app: TestApp) {
    let w = world(&app).await;
    create(
        &app,
        &w,
        json!({"title": "one", "rating": 1, "author": {"name": "Ada"}}),
        None,
    )
    .await;
    create(&app, &w, json!({"title": "two", "rating": 2}), None).await;
    // title, rating, author.name; title, rating.
    assert_eq!(index_rows(&app).await, (5, 3));
    let (s, b) = send(app.as_user(Method::DELETE, "/v3/stacks", &w.owner, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(index_rows(&app).await, (0, 0));
}

/// Replaces an entry's document.
async fn update(app: &TestApp, w: &World, uid: &str, doc: Value) {
    let url = format!("/v3/content_types/doc/entries/{uid}");
    let (s, b) = send(
        app.as_user(Method::PUT, &url, &w.owner, &w.api_key)
            .json(&json!({ "entry": doc })),
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

/// Entries `e00`, `e01`, … with the rating and body `of(k)` gives the k-th; their uids.
async fn create_numbered(
    app: &TestApp,
    w: &World,
    n: usize,
    of: impl Fn(usize) -> (usize, &'static str),
) -> Vec<String> {
    let mut uids = Vec::with_capacity(n);
    for k in 0..n {
        let (rating, body) = of(k);
        let doc = json!({"title": format!("e{k:02}"), "rating": rating, "body": body});
        uids.push(create(app, w, doc, None).await);
    }
    uids
}

/// Titles and count of a filtered listing: in the default order (`updated_at` newest first)
/// unless `extra` names another.
async fn newest_first(app: &TestApp, w: &World, query: &Value, extra: &str) -> (Vec<String>, u64) {
    let url = format!(
        "/v3/content_types/doc/entries?include_count=true{extra}&query={}",
        urlencode(&query.to_string())
    );
    let (s, b) = send(app.as_user(Method::GET, &url, &w.owner, &w.api_key)).await;
    assert_eq!(s, 200, "{query}: {b}");
    (crate::common::titles(&b), b["count"].as_u64().unwrap())
}

/// The default order's answers come from the posting lists held in memory; after
/// each kind of write (create, update, a removed field, delete, the content type's deletion)
/// the next answer equals a full scan's, and pages and totals stay exact.
async fn posting_lists_in_memory_follow_every_write(app: TestApp) {
    let w = world(&app).await;
    let uids = create_numbered(&app, &w, 30, |k| {
        (k % 10, if k % 3 == 0 { "tech" } else { "news" })
    })
    .await;
    let q = json!({"body": "tech", "rating": {"$gte": 3}});
    let check = |want: usize| {
        let q = q.clone();
        let app = &app;
        let w = &w;
        async move {
            let full = newest_first(app, w, &unindexed(&q), "&limit=100").await;
            assert_eq!(full.1 as usize, want, "{:?}", full.0);
            let fast = newest_first(app, w, &q, "&limit=100").await;
            assert_eq!(fast, full);
            // Every page of two agrees with the full scan's order.
            for skip in (0..want + 2).step_by(2) {
                let page = newest_first(app, w, &q, &format!("&limit=2&skip={skip}")).await;
                let expect: Vec<String> = full.0.iter().skip(skip).take(2).cloned().collect();
                assert_eq!(page, (expect, want as u64), "skip {skip}");
            }
        }
    };
    let before = app.db.postings().answered();
    // k % 3 == 0 and k % 10 >= 3: 3, 6, 9, 15, 18, 24, 27.
    check(7).await;
    assert!(
        app.db.postings().answered() > before,
        "not answered from memory"
    );
    // A create, an update into and out of the condition, a removed field, a delete.
    create(
        &app,
        &w,
        json!({"title": "new", "rating": 9, "body": "tech"}),
        None,
    )
    .await;
    check(8).await;
    let url = |uid: &str| format!("/v3/content_types/doc/entries/{uid}");
    // Into the condition, out of it, a removed field, and a touch outside it that moves
    // nothing but is re-read: (entry, new document, matches after).
    let updates = [
        (1, json!({"title": "e01", "rating": 5, "body": "tech"}), 9),
        (3, json!({"title": "e03", "rating": 1, "body": "tech"}), 8),
        (6, json!({"title": "e06", "rating": 6}), 7),
        (
            9,
            json!({"title": "e09 again", "rating": 9, "body": "tech"}),
            7,
        ),
    ];
    for (k, doc, want) in updates {
        update(&app, &w, &uids[k], doc).await;
        check(want).await;
    }
    assert_eq!(
        newest_first(&app, &w, &q, "&limit=1").await.0,
        ["e09 again"]
    );
    let (s, _) = send(app.as_user(Method::DELETE, &url(&uids[15]), &w.owner, &w.api_key)).await;
    assert_eq!(s, 200);
    check(6).await;
    // The content type's deletion, and a new one of the same uid: nothing matches.
    let (s, b) = send(app.as_user(
        Method::DELETE,
        "/v3/content_types/doc?force=true",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let ct = json!({"content_type": {"title": "Doc", "uid": "doc", "schema": [
        {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
        {"uid": "body", "display_name": "Body", "data_type": "text"},
        {"uid": "rating", "display_name": "Rating", "data_type": "number"}]}});
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/content_types", &w.owner, &w.api_key)
            .json(&ct),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    check(0).await;
    create(
        &app,
        &w,
        json!({"title": "again", "rating": 4, "body": "tech"}),
        None,
    )
    .await;
    check(1).await;
    // A write that no route makes (another process, an operator's SQL): the change log's
    // triggers see it too. The entry's rating moves out of the condition in the index.
    app.db
        .execute_admin(
            "UPDATE entry_values SET n = 1 WHERE field_id IN \
             (SELECT id FROM entry_fields WHERE path = 'rating')",
        )
        .await
        .unwrap();
    let fast = newest_first(&app, &w, &q, "&limit=100").await;
    assert_eq!(fast, (Vec::<String>::new(), 0));
}

/// PostgreSQL commits concurrent writers out of id order, so the posting lists read the change
/// log by transaction: with an older transaction held open (the snapshots' xmin stays put
/// while it runs), writes that commit meanwhile still show in the next answer from memory.
/// (SQLite has one writer at a time: an open write transaction would hold the API's writes.)
async fn posting_lists_see_commits_behind_an_older_open_transaction(app: TestApp) {
    if app.db.backend() != headwater_store::Backend::Postgres {
        return;
    }
    let w = world(&app).await;
    let uids = create_numbered(&app, &w, 12, |k| {
        (k, if k % 2 == 0 { "tech" } else { "news" })
    })
    .await;
    let q = json!({"body": "tech", "rating": {"$gte": 4}});
    let check = |want: usize| {
        let q = q.clone();
        let app = &app;
        let w = &w;
        async move {
            let before = app.db.postings().answered();
            let fast = newest_first(app, w, &q, "&limit=100").await;
            assert!(
                app.db.postings().answered() > before,
                "not answered from memory"
            );
            let full = newest_first(app, w, &unindexed(&q), "&limit=100").await;
            assert_eq!(fast, full);
            assert_eq!(fast.1 as usize, want, "{:?}", fast.0);
        }
    };
    // 4, 6, 8, 10.
    check(4).await;
    // An older transaction with a write of its own (the first entry's index rows, which no
    // request below touches), left open.
    let mut old = app.db.reader().await.unwrap();
    sqlx::query("BEGIN").execute(&mut *old).await.unwrap();
    sqlx::query(
        "UPDATE entry_values SET t = t WHERE seq = (SELECT seq FROM entries WHERE uid = $1)",
    )
    .bind(&uids[0])
    .execute(&mut *old)
    .await
    .unwrap();
    check(4).await;
    let url = |uid: &str| format!("/v3/content_types/doc/entries/{uid}");
    for (k, doc, want) in [
        (1, json!({"title": "e01", "rating": 7, "body": "tech"}), 5),
        (4, json!({"title": "e04", "rating": 1, "body": "tech"}), 4),
        (3, json!({"title": "e03", "rating": 9, "body": "tech"}), 5),
    ] {
        update(&app, &w, &uids[k], doc).await;
        check(want).await;
    }
    create(
        &app,
        &w,
        json!({"title": "new", "rating": 5, "body": "tech"}),
        None,
    )
    .await;
    check(6).await;
    sqlx::query("ROLLBACK").execute(&mut *old).await.unwrap();
    drop(old);
    let (s, _) = send(app.as_user(Method::DELETE, &url(&uids[6]), &w.owner, &w.api_key)).await;
    assert_eq!(s, 200);
    check(5).await;
    // The log pruned past what was taken in: a change, another one, then everything older
    // than the newest write's transaction pruned. The first change's rows are gone from the
    // log; the engine sees the floor above its position and reloads.
    for (k, doc) in [
        (8, json!({"title": "e08", "rating": 0, "body": "tech"})),
        (5, json!({"title": "e05", "rating": 5, "body": "news"})),
    ] {
        update(&app, &w, &uids[k], doc).await;
    }
    app.db
        .execute_admin("SELECT entry_changes_prune_keeping(0)")
        .await
        .unwrap();
    check(4).await;
}
