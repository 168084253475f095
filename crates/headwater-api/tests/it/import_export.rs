//! Import (a multipart JSON file) and export of content types, global fields, webhooks and
//! entries, on both backends: an import validates exactly like the create it stands for and a
//! refused file changes nothing; `overwrite=true` replaces; an export imports back unchanged.
//! Also the `field_metadata` defaults of reference fields (the csdx import reads them).

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    schema_import_validates_like_create_and_honours_overwrite,
    schema_export_imports_back_into_another_stack,
    reference_fields_get_field_metadata_defaults,
    webhook_import_creates_or_replaces,
    entry_export_and_import,
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
    World {
        owner,
        org,
        api_key,
    }
}

/// A multipart form with one JSON file in part `name`.
fn file(name: &str, bytes: Vec<u8>) -> Form {
    Form::new().part(
        name.to_string(),
        Part::bytes(bytes)
            .file_name(format!("{name}.json"))
            .mime_str("application/json")
            .unwrap(),
    )
}

fn json_file(name: &str, v: &Value) -> Form {
    file(name, serde_json::to_vec(v).unwrap())
}

impl World {
    fn req(&self, app: &TestApp, m: Method, path: &str) -> reqwest::RequestBuilder {
        app.as_user(m, path, &self.owner, &self.api_key)
    }

    async fn import(&self, app: &TestApp, path: &str, form: Form) -> (u16, Value) {
        send(self.req(app, Method::POST, path).multipart(form)).await
    }

    async fn get(&self, app: &TestApp, path: &str) -> Value {
        let (s, b) = send(self.req(app, Method::GET, path)).await;
        assert_eq!(s, 200, "{path}: {b}");
        b
    }
}

fn page(title: &str) -> Value {
    json!({"uid": "page", "title": title, "schema": [
        {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true, "unique": true},
        {"uid": "body", "display_name": "Body", "data_type": "text"}
    ]})
}

async fn schema_import_validates_like_create_and_honours_overwrite(app: TestApp) {
    let w = world(&app).await;
    // A bare global field file, then a content type file wrapped as the JSON create body is.
    let (s, b) = w
        .import(
            &app,
            "/v3/global_fields/import",
            json_file(
                "global_field",
                &json!({"uid": "seo", "title": "SEO", "schema": [
                    {"uid": "meta", "display_name": "Meta", "data_type": "text"}]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "Global Field imported successfully.");
    assert_eq!(b["global_field"]["uid"], "seo");
    let (s, b) = w
        .import(
            &app,
            "/v3/content_types/import",
            json_file("content_type", &json!({"content_type": page("Page")})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "Content Type imported successfully.");
    assert_eq!(b["content_type"]["uid"], "page");
    assert_eq!(b["content_type"]["_version"], 1);

    // The same uid again: refused as a create is (115, uid not unique), nothing changed.
    let (s, b) = w
        .import(
            &app,
            "/v3/content_types/import",
            json_file("content_type", &page("Changed")),
        )
        .await;
    assert_error(s, &b, 422, 115);
    assert!(b["errors"]["uid"].is_array(), "{b}");
    let ct = w.get(&app, "/v3/content_types/page").await;
    assert_eq!(ct["content_type"]["title"], "Page");

    // A schema create would refuse is refused with create's errors, with or without overwrite.
    let mut bad = page("Bad");
    bad["schema"][1]["data_type"] = json!("nonsense");
    for path in [
        "/v3/content_types/import",
        "/v3/content_types/import?overwrite=true",
    ] {
        let (s, b) = w.import(&app, path, json_file("content_type", &bad)).await;
        assert_error(s, &b, 422, 115);
        assert!(b["errors"]["schema[1].data_type"].is_array(), "{b}");
    }
    // A file that is not JSON, and a form without the file.
    let (s, b) = w
        .import(
            &app,
            "/v3/content_types/import?overwrite=true",
            file("content_type", b"{\"uid\": \"page\", ".to_vec()),
        )
        .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["content_type"].is_array(), "{b}");
    let (s, b) = send(
        w.req(&app, Method::POST, "/v3/content_types/import")
            .multipart(Form::new().text("a", "1").text("b", "2")),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["content_type"].is_array(), "{b}");
    // Nothing changed by any refusal.
    let ct = w.get(&app, "/v3/content_types/page").await;
    assert_eq!(ct["content_type"]["title"], "Page");
    assert_eq!(ct["content_type"]["_version"], 1);
    let all = w.get(&app, "/v3/content_types?include_count=true").await;
    assert_eq!(all["count"], 1, "{all}");

    // overwrite=true replaces, as PUT would.
    let (s, b) = w
        .import(
            &app,
            "/v3/content_types/import?overwrite=true",
            json_file("content_type", &page("Page v2")),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["content_type"]["title"], "Page v2");
    assert_eq!(b["content_type"]["_version"], 2);
    // overwrite of a uid that does not exist yet creates it.
    let mut other = page("Other");
    other["uid"] = json!("other");
    let (s, b) = w
        .import(
            &app,
            "/v3/content_types/import?overwrite=true",
            json_file("content_type", &other),
        )
        .await;
    assert_eq!(s, 201, "{b}");

    // A read-only management token cannot import (MT-7); an unauthenticated request neither.
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "ro").await;
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/global_fields/import", &ro, &w.api_key)
            .multipart(json_file(
                "global_field",
                &json!({"uid": "x", "title": "X", "schema": []}),
            )),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert!(b["error_message"].as_str().unwrap().contains("MT-7"), "{b}");
}

async fn schema_export_imports_back_into_another_stack(app: TestApp) {
    let w = world(&app).await;
    let (s, b) = send(w.req(&app, Method::POST, "/v3/global_fields").json(
        &json!({"global_field": {"uid": "seo", "title": "SEO", "schema": [
                {"uid": "meta", "display_name": "Meta", "data_type": "text"}]}}),
    ))
    .await;
    assert_eq!(s, 201, "{b}");
    let mut ct = page("Page");
    ct["schema"]
        .as_array_mut()
        .unwrap()
        .push(json!({"uid": "seo", "display_name": "SEO", "data_type": "global_field", "reference_to": "seo"}));
    let (s, b) = send(
        w.req(&app, Method::POST, "/v3/content_types")
            .json(&json!({ "content_type": ct })),
    )
    .await;
    assert_eq!(s, 201, "{b}");

    // Exports answer the object itself, unwrapped.
    let gf = w.get(&app, "/v3/global_fields/seo/export").await;
    assert_eq!(gf["uid"], "seo");
    assert!(gf.get("global_field").is_none(), "{gf}");
    let exported = w.get(&app, "/v3/content_types/page/export").await;
    assert_eq!(exported["uid"], "page");
    assert_eq!(exported["schema"].as_array().unwrap().len(), 3);
    let (s, b) = send(w.req(&app, Method::GET, "/v3/content_types/page/export?version=7")).await;
    assert_error(s, &b, 422, 141);
    let (s, b) = send(w.req(&app, Method::GET, "/v3/content_types/nope/export")).await;
    assert_error(s, &b, 422, 118);

    // Into another stack: the global field first, then the content type that uses it.
    let other = app.stack(&w.owner, &w.org, "Copy").await;
    let into = |path: &str, form: Form| {
        send(
            app.as_user(Method::POST, path, &w.owner, &other)
                .multipart(form),
        )
    };
    let (s, b) = into(
        "/v3/content_types/import",
        json_file("content_type", &exported),
    )
    .await;
    // The global field is missing there yet: refused like a create naming it.
    assert_error(s, &b, 422, 115);
    let (s, b) = into("/v3/global_fields/import", json_file("global_field", &gf)).await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = into(
        "/v3/content_types/import",
        json_file("content_type", &exported),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, copy) = send(app.as_user(
        Method::GET,
        "/v3/content_types/page/export",
        &w.owner,
        &other,
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(copy["schema"], exported["schema"]);
    assert_eq!(copy["title"], exported["title"]);
}

async fn reference_fields_get_field_metadata_defaults(app: TestApp) {
    let w = world(&app).await;
    let mut ct = page("Page");
    ct["schema"].as_array_mut().unwrap().extend([
        json!({"uid": "related", "display_name": "Related", "data_type": "reference", "reference_to": ["page"]}),
        json!({"uid": "many", "display_name": "Many", "data_type": "reference", "reference_to": ["page"], "multiple": true,
               "field_metadata": {"description": "kept"}}),
    ]);
    let (s, b) = send(
        w.req(&app, Method::POST, "/v3/content_types")
            .json(&json!({ "content_type": ct })),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    for path in [
        "/v3/content_types/page",
        "/v3/content_types",
        "/v3/content_types/page/export",
    ] {
        let b = w.get(&app, path).await;
        let schema = if let Some(ct) = b.get("content_type") {
            ct["schema"].clone()
        } else if let Some(all) = b.get("content_types") {
            all[0]["schema"].clone()
        } else {
            b["schema"].clone()
        };
        assert_eq!(
            schema[2]["field_metadata"],
            json!({"ref_multiple": false, "ref_multiple_content_types": true}),
            "{path}: {b}"
        );
        assert_eq!(
            schema[3]["field_metadata"],
            json!({"description": "kept", "ref_multiple": true, "ref_multiple_content_types": true}),
            "{path}: {b}"
        );
        assert!(schema[0].get("field_metadata").is_none(), "{path}: {b}");
    }
}

async fn webhook_import_creates_or_replaces(app: TestApp) {
    let w = world(&app).await;
    let hook = json!({"webhook": {"name": "Imported", "destinations": [{"target_url": "http://127.0.0.1:9/hook"}],
        "channels": ["assets.create"], "retry_policy": "manual", "disabled": false}});
    let (s, b) = w
        .import(&app, "/v3/webhooks/import", json_file("webhook", &hook))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "The Webhook was imported successfully");
    assert_eq!(b["webhook"]["name"], "Imported");
    let uid = b["webhook"]["uid"].as_str().unwrap().to_string();

    // Export and import back over the same webhook, renamed; the Python client names the
    // part `entry`, which is taken as the only file sent.
    let mut exported = w.get(&app, &format!("/v3/webhooks/{uid}/export")).await;
    assert_eq!(exported["name"], "Imported");
    exported["name"] = json!("Renamed");
    let (s, b) = w
        .import(
            &app,
            &format!("/v3/webhooks/{uid}/import"),
            json_file("entry", &exported),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["webhook"]["uid"], uid.as_str());
    let fetched = w.get(&app, &format!("/v3/webhooks/{uid}")).await;
    assert_eq!(fetched["webhook"]["name"], "Renamed");

    // The Python client sends `Content-Type: multipart/form-data` without its boundary; the
    // boundary is read from the body's first line.
    let body = format!(
        "--pyboundary\r\nContent-Disposition: form-data; name=\"webhook\"; filename=\"w.json\"\r\n\
         Content-Type: application/json\r\n\r\n{}\r\n--pyboundary--\r\n",
        json!({"name": "From Python", "destinations": [{"target_url": "http://127.0.0.1:9/py"}], "channels": ["assets.create"]})
    );
    let (s, b) = send(
        w.req(&app, Method::POST, &format!("/v3/webhooks/{uid}/import"))
            .header("content-type", "multipart/form-data")
            .body(body),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["webhook"]["name"], "From Python");
    exported["name"] = json!("Renamed");
    let (s, b) = w
        .import(
            &app,
            &format!("/v3/webhooks/{uid}/import"),
            json_file("webhook", &exported),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    // A file create would refuse: refused the same way, nothing added or changed.
    let bad = json!({"name": "Bad", "destinations": [{"target_url": "not a url"}], "channels": ["assets.create"]});
    let (s, b) = w
        .import(&app, "/v3/webhooks/import", json_file("webhook", &bad))
        .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = w
        .import(
            &app,
            &format!("/v3/webhooks/{uid}/import"),
            json_file("webhook", &bad),
        )
        .await;
    assert_error(s, &b, 422, 120);
    let all = w.get(&app, "/v3/webhooks?include_count=true").await;
    assert_eq!(all["count"], 1, "{all}");
    assert_eq!(all["webhooks"][0]["name"], "Renamed");
    // Importing over a webhook that does not exist is a not-found.
    let (s, b) = w
        .import(
            &app,
            "/v3/webhooks/nope/import",
            json_file("webhook", &hook),
        )
        .await;
    assert_error(s, &b, 422, 141);
}

async fn entry_export_and_import(app: TestApp) {
    let w = world(&app).await;
    let (s, b) = send(
        w.req(&app, Method::POST, "/v3/content_types")
            .json(&json!({ "content_type": page("Page") })),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = send(
        w.req(&app, Method::POST, "/v3/content_types/page/entries")
            .json(&json!({"entry": {"title": "Hello", "body": "World"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let uid = b["entry"]["uid"].as_str().unwrap().to_string();

    let exported = w
        .get(
            &app,
            &format!("/v3/content_types/page/entries/{uid}/export?locale=en-us"),
        )
        .await;
    assert_eq!(exported["uid"], uid.as_str());
    assert_eq!(exported["title"], "Hello");
    assert!(exported.get("entry").is_none(), "{exported}");

    // Imported as a new entry: a new uid, the same content; `title` is unique in this type,
    // so the copy must change it (validated as a create is).
    let (s, b) = w
        .import(
            &app,
            "/v3/content_types/page/entries/import?locale=en-us",
            json_file("entry", &exported),
        )
        .await;
    assert_error(s, &b, 422, 119);
    assert!(b["errors"]["title"].is_array(), "{b}");
    let mut copy = exported.clone();
    copy["title"] = json!("Hello again");
    let (s, b) = w
        .import(
            &app,
            "/v3/content_types/page/entries/import",
            json_file("entry", &json!({ "entry": copy })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "Entry imported successfully.");
    assert_ne!(b["entry"]["uid"], uid.as_str());
    assert_eq!(b["entry"]["body"], "World");

    // Over the existing entry: only with overwrite=true, as a new version.
    let mut changed = exported.clone();
    changed["body"] = json!("Changed");
    let path = format!("/v3/content_types/page/entries/{uid}/import");
    let (s, b) = w.import(&app, &path, json_file("entry", &changed)).await;
    assert_error(s, &b, 422, 119);
    let (s, b) = w
        .import(
            &app,
            &format!("{path}?overwrite=true&locale=en-us"),
            json_file("entry", &changed),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["entry"]["body"], "Changed");
    assert_eq!(b["entry"]["_version"], 2);

    // A file the entry's validation refuses changes nothing.
    let mut bad = exported.clone();
    bad["body"] = json!(42);
    let (s, b) = w
        .import(
            &app,
            &format!("{path}?overwrite=true"),
            json_file("entry", &bad),
        )
        .await;
    assert_error(s, &b, 422, 119);
    let now = w
        .get(&app, &format!("/v3/content_types/page/entries/{uid}"))
        .await;
    assert_eq!(now["entry"]["body"], "Changed");
    assert_eq!(now["entry"]["_version"], 2);
    let all = w
        .get(&app, "/v3/content_types/page/entries?include_count=true")
        .await;
    assert_eq!(all["count"], 2, "{all}");
}
