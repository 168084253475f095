//! Hardening of content on both backends: bounded entry documents and field-index work
//! (SEC-5), global-field cycles (SEC-10), release items and read rights (SEC-11), NUL
//! characters (SEC-12).

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Map, Value};

on_both_backends!(
    sec_05_oversized_entry_documents_are_refused,
    sec_05_json_fields_are_not_indexed_and_queries_stay_exact,
    sec_05_entry_over_the_value_cap_is_still_found,
    sec_05_other_stacks_write_beside_a_big_entry,
    sec_10_global_field_cycles_are_refused,
    sec_11_release_items_need_read_rights,
    sec_12_nul_characters_are_refused,
);

struct World {
    owner: String,
    org: String,
    api_key: String,
}

async fn world(app: &TestApp, email: &str) -> World {
    let (_, org) = app.owner(email).await;
    let owner = app.login(email).await;
    let api_key = app.stack(&owner, &org, "Site").await;
    World {
        owner,
        org,
        api_key,
    }
}

impl World {
    fn u(&self, app: &TestApp, m: Method, p: &str) -> reqwest::RequestBuilder {
        app.as_user(m, p, &self.owner, &self.api_key)
    }

    async fn content_type(&self, app: &TestApp, uid: &str, extra: Vec<Value>) {
        let mut schema = vec![
            json!({"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}),
        ];
        schema.extend(extra);
        let (s, b) = send(
            self.u(app, Method::POST, "/v3/content_types")
                .json(&json!({"content_type": {"title": uid, "uid": uid, "schema": schema}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
    }

    async fn entry(&self, app: &TestApp, ct: &str, entry: Value) -> String {
        let (s, b) = send(
            self.u(
                app,
                Method::POST,
                &format!("/v3/content_types/{ct}/entries"),
            )
            .json(&json!({ "entry": entry })),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        b["entry"]["uid"].as_str().unwrap().to_string()
    }

    /// The uids (sorted) and count a filtered listing answers.
    async fn query(&self, app: &TestApp, ct: &str, q: Value) -> (Vec<String>, i64) {
        let (s, b) = send(
            self.u(app, Method::GET, &format!("/v3/content_types/{ct}/entries"))
                .query(&[("query", q.to_string()), ("include_count", "true".into())]),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let mut uids: Vec<String> = b["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["uid"].as_str().unwrap().to_string())
            .collect();
        uids.sort();
        (uids, b["count"].as_i64().unwrap())
    }
}

fn wide_object(keys: usize) -> Value {
    let mut m = Map::new();
    for i in 0..keys {
        m.insert(format!("k{i}"), json!(i));
    }
    Value::Object(m)
}

/// Rows the field index holds for an entry.
async fn index_rows_of(app: &TestApp, uid: &str) -> i64 {
    use sqlx::Row;
    let mut c = app.db.reader().await.unwrap();
    sqlx::query(
        "SELECT COUNT(*) AS n FROM entry_values v JOIN entries e ON e.seq = v.seq WHERE e.uid = $1",
    )
    .bind(uid)
    .fetch_one(&mut *c)
    .await
    .unwrap()
    .get("n")
}

fn error_naming<'a>(body: &'a Value, path: &str) -> &'a str {
    body["errors"][path][0]
        .as_str()
        .unwrap_or_else(|| panic!("no error for '{path}': {body}"))
}

async fn sec_05_oversized_entry_documents_are_refused(app: TestApp) {
    let w = world(&app, "owner@example.com").await;
    w.content_type(
        &app,
        "doc",
        vec![json!({"uid": "meta", "display_name": "Meta", "data_type": "json"})],
    )
    .await;
    // The reported entry: a json field of 60,000 keys (about 1 MiB).
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/content_types/doc/entries")
            .json(&json!({"entry": {"title": "big", "meta": wide_object(60_000)}})),
    )
    .await;
    assert_error(s, &b, 422, 119);
    assert!(error_naming(&b, "meta").contains("10000"), "{b}");
    // Just over the key limit, spread over two levels.
    let (s, b) = send(w.u(&app, Method::POST, "/v3/content_types/doc/entries").json(
        &json!({"entry": {"title": "t", "meta": {"a": wide_object(5_000), "b": wide_object(5_000)}}}),
    ))
    .await;
    assert_error(s, &b, 422, 119);
    assert!(error_naming(&b, "meta.b").contains("10000"), "{b}");
    // 33 levels of nesting (the field's own value is level 1); 32 are accepted.
    let nested = |levels: usize| {
        let mut v = json!("leaf");
        for _ in 1..levels {
            v = json!({ "n": v });
        }
        v
    };
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/content_types/doc/entries")
            .json(&json!({"entry": {"title": "deep", "meta": nested(33)}})),
    )
    .await;
    assert_error(s, &b, 422, 119);
    let deepest = format!("meta{}", ".n".repeat(32));
    assert!(error_naming(&b, &deepest).contains("32"), "{b}");
    w.entry(&app, "doc", json!({"title": "ok", "meta": nested(32)}))
        .await;
    // Arrays count as levels too.
    let mut v = json!(1);
    for _ in 0..40 {
        v = json!([v]);
    }
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/content_types/doc/entries")
            .json(&json!({"entry": {"title": "arrays", "meta": v}})),
    )
    .await;
    assert_error(s, &b, 422, 119);
}

async fn sec_05_json_fields_are_not_indexed_and_queries_stay_exact(app: TestApp) {
    let w = world(&app, "owner@example.com").await;
    w.content_type(
        &app,
        "doc",
        vec![
            json!({"uid": "meta", "display_name": "Meta", "data_type": "json"}),
            json!({"uid": "rating", "display_name": "Rating", "data_type": "number"}),
            json!({"uid": "info", "display_name": "Info", "data_type": "group", "schema": [
                {"uid": "extra", "display_name": "Extra", "data_type": "json"},
                {"uid": "name", "display_name": "Name", "data_type": "text"}]}),
        ],
    )
    .await;
    // Entries written before any json field is filled are indexed as before.
    let plain = w
        .entry(&app, "doc", json!({"title": "plain", "rating": 1}))
        .await;
    let mut wide = wide_object(5_000);
    wide["tag"] = json!("blue");
    let big = w
        .entry(
            &app,
            "doc",
            json!({"title": "big", "rating": 5, "meta": wide,
                   "info": {"name": "Ada", "extra": {"colour": "red", "size": 3}}}),
        )
        .await;
    let small = w
        .entry(
            &app,
            "doc",
            json!({"title": "small", "rating": 5, "meta": {"tag": "green", "k7": 7},
                   "info": {"name": "Bob", "extra": {"colour": "blue"}}}),
        )
        .await;
    let scalar = w
        .entry(&app, "doc", json!({"title": "scalar", "meta": "blue"}))
        .await;
    // Only title, rating and info.name of `big` are indexed, and one marker per json field:
    // not its 5,000 keys.
    let rows = index_rows_of(&app, &big).await;
    assert!(
        rows <= 5,
        "the inside of json fields was indexed: {rows} rows"
    );
    // Queries on paths inside json fields answer as a full scan would.
    let one = |u: &String| (vec![u.clone()], 1);
    assert_eq!(
        w.query(&app, "doc", json!({"meta.k42": 42})).await,
        one(&big)
    );
    assert_eq!(w.query(&app, "doc", json!({"meta.k7": 7})).await, {
        let mut v = vec![big.clone(), small.clone()];
        v.sort();
        (v, 2)
    });
    assert_eq!(
        w.query(&app, "doc", json!({"meta.k42": {"$gte": 40}}))
            .await,
        one(&big)
    );
    assert_eq!(
        w.query(&app, "doc", json!({"meta.tag": "blue"})).await,
        one(&big)
    );
    assert_eq!(
        w.query(&app, "doc", json!({"meta": "blue"})).await,
        one(&scalar)
    );
    assert_eq!(
        w.query(&app, "doc", json!({"info.extra.colour": "blue"}))
            .await,
        one(&small)
    );
    assert_eq!(
        w.query(
            &app,
            "doc",
            json!({"$and": [{"rating": 5}, {"info.extra.size": {"$in": [3, 4]}}]})
        )
        .await,
        one(&big)
    );
    assert_eq!(
        w.query(
            &app,
            "doc",
            json!({"$or": [{"title": "plain"}, {"meta.tag": "green"}]})
        )
        .await,
        {
            let mut v = vec![plain.clone(), small.clone()];
            v.sort();
            (v, 2)
        }
    );
    assert_eq!(
        w.query(&app, "doc", json!({"meta.k42": 43})).await,
        (vec![], 0)
    );
    // A branch's copy is indexed the same way (the copy reads the branch's schemas).
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/stacks/branches")
            .json(&json!({"branch": {"uid": "dev", "source": "main"}})),
    )
    .await;
    assert!(s == 201 || s == 200, "{b}");
    let (s, b) = send(
        w.u(&app, Method::GET, "/v3/content_types/doc/entries")
            .header("branch", "dev")
            .query(&[("query", json!({"meta.k42": 42}).to_string())]),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["entries"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["entries"][0]["uid"], json!(big), "{b}");
    {
        use sqlx::Row;
        let mut c = app.db.reader().await.unwrap();
        let per_copy: Vec<i64> = sqlx::query(
            "SELECT COUNT(v.seq) AS n FROM entries e LEFT JOIN entry_values v ON v.seq = e.seq \
             WHERE e.uid = $1 GROUP BY e.stack_uid",
        )
        .bind(&big)
        .fetch_all(&mut *c)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("n"))
        .collect();
        assert_eq!(per_copy.len(), 2, "{per_copy:?}");
        assert!(
            per_copy.iter().all(|n| *n <= 5),
            "a copy indexed the inside of json fields: {per_copy:?}"
        );
    }
    // Indexed paths are still answered from the index, exactly.
    assert_eq!(
        w.query(&app, "doc", json!({"info.name": "Ada"})).await,
        one(&big)
    );
    assert_eq!(
        w.query(&app, "doc", json!({"rating": 1})).await,
        one(&plain)
    );
    // An update that empties the json field keeps the answers right.
    let (s, b) = send(
        w.u(
            &app,
            Method::PUT,
            &format!("/v3/content_types/doc/entries/{big}"),
        )
        .json(&json!({"entry": {"title": "big", "rating": 5, "meta": {"k1": 1}}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        w.query(&app, "doc", json!({"meta.k42": 42})).await,
        (vec![], 0)
    );
    assert_eq!(w.query(&app, "doc", json!({"meta.k1": 1})).await, one(&big));
}

async fn sec_05_entry_over_the_value_cap_is_still_found(app: TestApp) {
    let w = world(&app, "owner@example.com").await;
    // A group of 1,001 text fields: more values than one entry may index.
    let fields: Vec<Value> = (0..1001)
        .map(|i| json!({"uid": format!("f{i}"), "display_name": format!("F{i}"), "data_type": "text"}))
        .collect();
    w.content_type(
        &app,
        "wide",
        vec![json!({"uid": "g", "display_name": "G", "data_type": "group", "schema": fields})],
    )
    .await;
    let mut g = Map::new();
    for i in 0..1001 {
        g.insert(format!("f{i}"), json!(format!("v{i}")));
    }
    let big = w.entry(&app, "wide", json!({"title": "big", "g": g})).await;
    let small = w
        .entry(
            &app,
            "wide",
            json!({"title": "small", "g": {"f500": "other"}}),
        )
        .await;
    // One whole-entry marker instead of 1,002 values.
    assert_eq!(index_rows_of(&app, &big).await, 1);
    assert_eq!(
        w.query(&app, "wide", json!({"g.f500": "v500"})).await,
        (vec![big.clone()], 1)
    );
    assert_eq!(
        w.query(&app, "wide", json!({"title": "big"})).await,
        (vec![big.clone()], 1)
    );
    assert_eq!(
        w.query(&app, "wide", json!({"g.f500": "other"})).await,
        (vec![small], 1)
    );
}

async fn sec_05_other_stacks_write_beside_a_big_entry(app: TestApp) {
    let a = world(&app, "a@example.com").await;
    let b = world(&app, "b@example.com").await;
    let json_field = vec![json!({"uid": "meta", "display_name": "Meta", "data_type": "json"})];
    a.content_type(&app, "doc", json_field.clone()).await;
    b.content_type(&app, "doc", json_field).await;
    // The reported document (60,000 keys in a json field) and the largest accepted one
    // (10,000 keys with the title), beside small writes of another organization's stack.
    let refused = send(
        a.u(&app, Method::POST, "/v3/content_types/doc/entries")
            .json(&json!({"entry": {"title": "huge", "meta": wide_object(60_000)}})),
    );
    let heavy = send(
        a.u(&app, Method::POST, "/v3/content_types/doc/entries")
            .json(&json!({"entry": {"title": "big", "meta": wide_object(9_998)}})),
    );
    let light = async {
        let mut statuses = Vec::new();
        for i in 0..5 {
            let (s, body) = send(
                b.u(&app, Method::POST, "/v3/content_types/doc/entries")
                    .json(&json!({"entry": {"title": format!("t{i}")}})),
            )
            .await;
            statuses.push((s, body));
        }
        statuses
    };
    let ((s1, body1), (s2, body2), lights) = tokio::join!(refused, heavy, light);
    assert_error(s1, &body1, 422, 119);
    assert_eq!(s2, 201, "{body2}");
    for (s, body) in lights {
        assert_eq!(s, 201, "{body}");
    }
    let _ = (&a.org, &b.org);
}

async fn global_field(
    w: &World,
    app: &TestApp,
    method: Method,
    uid: &str,
    schema: Value,
) -> (u16, Value) {
    let path = if method == Method::POST {
        "/v3/global_fields".to_string()
    } else {
        format!("/v3/global_fields/{uid}")
    };
    send(
        w.u(app, method, &path)
            .json(&json!({"global_field": {"title": uid, "uid": uid, "schema": schema}})),
    )
    .await
}

async fn sec_10_global_field_cycles_are_refused(app: TestApp) {
    let w = world(&app, "owner@example.com").await;
    let text = json!({"uid": "t", "display_name": "T", "data_type": "text"});
    let refs = |uid: &str, gf: &str| json!({"uid": uid, "display_name": uid, "data_type": "global_field", "reference_to": gf});
    let (s, b) = global_field(&w, &app, Method::POST, "ga", json!([text])).await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = global_field(&w, &app, Method::POST, "gb", json!([refs("a", "ga")])).await;
    assert_eq!(s, 201, "{b}");
    // gc reaches gb through a group and a modular block.
    let (s, b) = global_field(
        &w,
        &app,
        Method::POST,
        "gc",
        json!([{"uid": "grp", "display_name": "G", "data_type": "group", "schema": [
            {"uid": "blk", "display_name": "B", "data_type": "blocks", "blocks": [
                {"uid": "one", "title": "One", "reference_to": "gb"}]}]}]),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    w.content_type(&app, "page", vec![refs("seo", "gc")]).await;

    // ga → gb → ga.
    let (s, b) = global_field(&w, &app, Method::PUT, "ga", json!([text, refs("b", "gb")])).await;
    assert_error(s, &b, 422, 115);
    assert!(
        error_naming(&b, "schema[1].schema[0].reference_to").contains("ga → gb → ga"),
        "{b}"
    );
    // ga → ga.
    let (s, b) = global_field(&w, &app, Method::PUT, "ga", json!([refs("me", "ga")])).await;
    assert_error(s, &b, 422, 115);
    assert!(
        error_naming(&b, "schema[0].reference_to").contains("ga → ga"),
        "{b}"
    );
    // ga → gc → (group, block) gb → ga.
    let (s, b) = global_field(&w, &app, Method::PUT, "ga", json!([refs("c", "gc")])).await;
    assert_error(s, &b, 422, 115);
    let path = "schema[0].schema[0].schema[0].blocks[0].schema[0].reference_to";
    assert!(error_naming(&b, path).contains("ga → gc → gb → ga"), "{b}");
    // A block inside ga itself that names ga.
    let (s, b) = global_field(
        &w,
        &app,
        Method::PUT,
        "ga",
        json!([{"uid": "blk", "display_name": "B", "data_type": "blocks", "blocks": [
            {"uid": "again", "title": "Again", "reference_to": "ga"}]}]),
    )
    .await;
    assert_error(s, &b, 422, 115);
    assert!(
        error_naming(&b, "schema[0].blocks[0].reference_to").contains("ga → ga"),
        "{b}"
    );

    // Nothing was stored: entries of the content type using them are still written.
    w.entry(
        &app,
        "page",
        json!({"title": "Home", "seo": {"grp": {"blk": [{"one": {"a": {"t": "x"}}}]}}}),
    )
    .await;
    // A reference that forms no cycle (two uses of one field) is still accepted.
    let (s, b) = global_field(
        &w,
        &app,
        Method::PUT,
        "gc",
        json!([refs("x", "gb"), refs("y", "gb"), refs("z", "ga")]),
    )
    .await;
    assert_eq!(s, 200, "{b}");

    // A cycle stored before these checks existed (written to the database directly): the
    // entries of a content type using it are refused with a clear 422 naming the content
    // type, never a 500.
    let cyclic = json!([refs("back", "gc")]).to_string();
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("UPDATE schemas SET schema = $1 WHERE kind = 'global_field' AND uid = 'ga'")
        .bind(&cyclic)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/content_types/page/entries")
            .json(&json!({"entry": {"title": "Again"}})),
    )
    .await;
    assert_error(s, &b, 422, 115);
    assert!(
        b["error_message"].as_str().unwrap().contains("'page'"),
        "{b}"
    );
}

async fn sec_11_release_items_need_read_rights(app: TestApp) {
    let w = world(&app, "owner@example.com").await;
    app.member("releaser@example.com", &w.org).await;
    for ct in ["page", "secret"] {
        w.content_type(&app, ct, vec![]).await;
    }
    let page = w.entry(&app, "page", json!({"title": "Public page"})).await;
    let secret = w
        .entry(&app, "secret", json!({"title": "Merger with Acme"}))
        .await;
    let form = Form::new().part(
        "asset[upload]",
        Part::bytes(&b"x"[..])
            .file_name("plan.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let form = form.text("asset[title]", "Secret plan");
    let (s, b) = send(w.u(&app, Method::POST, "/v3/assets").multipart(form)).await;
    assert_eq!(s, 201, "{b}");
    let asset = b["asset"]["uid"].as_str().unwrap().to_string();
    // Release rights, and read rights on the entries of `page` only.
    let (s, b) = send(w.u(&app, Method::POST, "/v3/roles").json(&json!({"role": {
        "name": "Releaser",
        "rules": [
            {"module": "release", "acl": {"read": true, "create": true, "update": true}},
            {"module": "content_type", "content_types": ["page"],
             "acl": {"read": true, "sub_acl": {"read": true}}}
        ]
    }})))
    .await;
    assert_eq!(s, 201, "{b}");
    let role = b["role"]["uid"].as_str().unwrap().to_string();
    app.share(&w.owner, &w.api_key, "releaser@example.com", &role)
        .await;
    let releaser = app.login("releaser@example.com").await;
    let r = |m, p: &str| app.as_user(m, p, &releaser, &w.api_key);

    let (s, b) =
        send(r(Method::POST, "/v3/releases").json(&json!({"release": {"name": "Q3"}}))).await;
    assert_eq!(s, 201, "{b}");
    let release = b["release"]["uid"].as_str().unwrap().to_string();
    let items = format!("/v3/releases/{release}/items");
    let (s, b) = send(r(Method::POST, &items).json(&json!({"items": [
        {"uid": page, "content_type_uid": "page", "action": "publish"}]})))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["release"]["items"][0]["title"], "Public page");
    // An entry of a content type the role cannot read: refused, its title nowhere.
    let (s, b) = send(r(Method::POST, &items).json(&json!({"items": [
        {"uid": secret, "content_type_uid": "secret", "action": "publish"}]})))
    .await;
    assert_error(s, &b, 403, 162);
    assert!(!b.to_string().contains("Merger"), "{b}");
    // The same for an asset.
    let (s, b) = send(r(Method::POST, &items).json(&json!({"items": [
        {"uid": asset, "action": "publish"}]})))
    .await;
    assert_error(s, &b, 403, 162);
    assert!(!b.to_string().contains("Secret plan"), "{b}");

    // Items the owner added are listed to the role without the titles it may not read.
    let (s, b) = send(w.u(&app, Method::POST, &items).json(&json!({"items": [
        {"uid": secret, "content_type_uid": "secret", "action": "publish"},
        {"uid": asset, "action": "publish"}]})))
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b.to_string().contains("Merger with Acme"), "{b}");
    for path in [
        items.clone(),
        format!("/v3/releases/{release}"),
        "/v3/releases".to_string(),
    ] {
        let (s, b) = send(r(Method::GET, &path)).await;
        assert_eq!(s, 200, "{b}");
        let text = b.to_string();
        assert!(
            !text.contains("Merger") && !text.contains("Secret plan"),
            "{path}: {b}"
        );
        assert!(
            text.contains("Public page") && text.contains(&secret),
            "{path}: {b}"
        );
    }
    // The owner, who reads everything, still sees every title.
    let (_, b) = send(w.u(&app, Method::GET, &items)).await;
    let text = b.to_string();
    assert!(
        text.contains("Merger with Acme") && text.contains("Secret plan"),
        "{b}"
    );
}

async fn sec_12_nul_characters_are_refused(app: TestApp) {
    let w = world(&app, "owner@example.com").await;
    w.content_type(
        &app,
        "page",
        vec![json!({"uid": "meta", "display_name": "Meta", "data_type": "json"})],
    )
    .await;
    let nul = "a\u{0}b";
    // Entry create: a title, a key and a value deep in a json field.
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/content_types/page/entries")
            .json(&json!({"entry": {"title": nul}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["title"].is_array(), "{b}");
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/content_types/page/entries")
            .json(&json!({"entry": {"title": "ok", "meta": {"list": [1, {"x": nul}]}}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["meta.list[1].x"].is_array(), "{b}");
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/content_types/page/entries")
            .json(&json!({"entry": {"title": "ok", "meta": {nul: 1}}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    // Content type and environment create.
    let (s, b) = send(w.u(&app, Method::POST, "/v3/content_types").json(
        &json!({"content_type": {"title": nul, "uid": "other", "schema": [
            {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}]}}),
    ))
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["title"].is_array(), "{b}");
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/environments")
            .json(&json!({"environment": {"name": nul}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["name"].is_array(), "{b}");
    // Asset upload with a NUL in its title.
    let form = Form::new()
        .part(
            "asset[upload]",
            Part::bytes(&b"x"[..])
                .file_name("a.txt")
                .mime_str("text/plain")
                .unwrap(),
        )
        .text("asset[title]", nul.to_string());
    let (s, b) = send(w.u(&app, Method::POST, "/v3/assets").multipart(form)).await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["asset[title]"].is_array(), "{b}");
    // Path segments, query parameters and the query language.
    let (s, b) = send(w.u(&app, Method::GET, "/v3/content_types/pa%00ge/entries")).await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(w.u(&app, Method::GET, "/v3/content_types/page/entries/blt%00x")).await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(w.u(
        &app,
        Method::GET,
        "/v3/content_types/page/entries?locale=en%00",
    ))
    .await;
    assert_error(s, &b, 400, 120);
    assert!(b["errors"]["locale"].is_array(), "{b}");
    let (s, b) = send(
        w.u(&app, Method::GET, "/v3/content_types/page/entries")
            .query(&[("query", json!({"title": nul}).to_string())]),
    )
    .await;
    assert_error(s, &b, 422, 120);
    // Nothing was stored.
    let (s, b) = send(w.u(&app, Method::GET, "/v3/content_types/page/entries")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["entries"].as_array().unwrap().len(), 0, "{b}");
    let (_, b) = send(w.u(&app, Method::GET, "/v3/environments")).await;
    assert_eq!(b["environments"].as_array().unwrap().len(), 0, "{b}");
    let (_, b) = send(w.u(&app, Method::GET, "/v3/assets")).await;
    assert_eq!(b["assets"].as_array().unwrap().len(), 0, "{b}");
}
