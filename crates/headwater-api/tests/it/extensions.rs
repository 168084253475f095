//! Extensions over HTTP on both backends: JSON and multipart creation, listing by type,
//! updates, schemas that name them (and refuse unknown ones), deletion, and authorization.

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    extensions_are_created_listed_updated_and_deleted,
    uploads_become_srcdoc_served_only_inside_json,
    schemas_name_only_existing_extensions,
    extensions_are_authorized_by_the_policy,
    extensions_belong_to_a_branch,
);

struct World {
    org: String,
    owner: String,
    api_key: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Ext").await;
    World {
        org,
        owner,
        api_key,
    }
}

impl World {
    fn u(&self, app: &TestApp, m: Method, p: &str) -> reqwest::RequestBuilder {
        app.as_user(m, p, &self.owner, &self.api_key)
    }
}

fn field_ext(title: &str) -> Value {
    json!({"extension": {"title": title, "type": "field", "data_type": "text",
        "tags": ["color"], "srcdoc": "<html><body>picker</body></html>", "multiple": false,
        "config": {"palette": ["red"]}}})
}

async fn extensions_are_created_listed_updated_and_deleted(app: TestApp) {
    let w = world(&app).await;
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/extensions")
            .json(&field_ext("Color")),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "Extension created successfully.");
    let e = &b["extension"];
    assert_eq!(e["title"], "Color");
    assert_eq!(e["type"], "field");
    assert_eq!(e["data_type"], "text");
    assert_eq!(e["tags"], json!(["color"]));
    assert_eq!(e["config"], json!({"palette": ["red"]}));
    assert_eq!(e["_version"], 1);
    let uid = e["uid"].as_str().unwrap().to_string();

    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/extensions")
            .json(&json!({"extension": {
        "title": "Stats", "type": "widget", "src": "https://widgets.example.com/stats"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        b["extension"]["scope"],
        json!({"content_types": ["$all"]}),
        "a widget applies to every content type unless told otherwise"
    );

    // The list, all or by type.
    let (s, b) = send(w.u(&app, Method::GET, "/v3/extensions?include_count=true")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], 2);
    let (_, b) = send(
        w.u(&app, Method::GET, "/v3/extensions")
            .query(&[("query", r#"{"type":"widget"}"#)]),
    )
    .await;
    let titles: Vec<&str> = b["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Stats"]);
    let (s, b) = send(
        w.u(&app, Method::GET, "/v3/extensions")
            .query(&[("query", r#"{"title":"Stats"}"#)]),
    )
    .await;
    assert_error(s, &b, 400, 120);

    // Update: what is sent replaces, the rest stays; a new src replaces the srcdoc.
    let path = format!("/v3/extensions/{uid}");
    let (s, b) = send(w.u(&app, Method::PUT, &path).json(&json!({"extension": {
        "title": "Colour", "src": "https://ext.example.com/colour"}})))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Extension updated successfully.");
    assert_eq!(b["extension"]["title"], "Colour");
    assert_eq!(b["extension"]["data_type"], "text");
    assert_eq!(b["extension"]["src"], "https://ext.example.com/colour");
    assert!(b["extension"].get("srcdoc").is_none(), "{b}");
    assert_eq!(b["extension"]["_version"], 2);
    let (s, b) = send(
        w.u(&app, Method::PUT, &path)
            .json(&json!({"extension": {"type": "widget"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(w.u(&app, Method::GET, &path)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["extension"]["title"], "Colour");

    // Refusals name the field.
    for (bad, field) in [
        (
            json!({"extension": {"title": "x", "type": "field", "data_type": "text"}}),
            "src",
        ),
        (
            json!({"extension": {"title": "x", "type": "gadget", "src": "https://a.example"}}),
            "type",
        ),
        (
            json!({"extension": {"title": "x", "type": "field", "data_type": "blob", "src": "https://a.example"}}),
            "data_type",
        ),
        (
            json!({"extension": {"title": "x", "type": "widget", "src": "javascript:alert(1)"}}),
            "src",
        ),
        (
            json!({"extension": {"type": "widget", "src": "https://a.example"}}),
            "title",
        ),
    ] {
        let (s, b) = send(w.u(&app, Method::POST, "/v3/extensions").json(&bad)).await;
        assert_error(s, &b, 422, 120);
        assert!(b["errors"][field].is_array(), "{field}: {b}");
    }

    let (s, b) = send(w.u(&app, Method::DELETE, &path)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Extension deleted successfully.");
    let (s, b) = send(w.u(&app, Method::GET, &path)).await;
    assert_error(s, &b, 422, 141);
    let (_, b) = send(w.u(&app, Method::GET, "/v3/extensions?include_count=true")).await;
    assert_eq!(b["count"], 1);
}

async fn uploads_become_srcdoc_served_only_inside_json(app: TestApp) {
    let w = world(&app).await;
    let html = "<!doctype html><script>window.parent.postMessage('hi','*')</script>";
    let form = Form::new()
        .text("extension[title]", "Uploaded")
        .text("extension[type]", "field")
        .text("extension[data_type]", "number")
        .text("extension[tags]", "a, b")
        .text("extension[multiple]", "true")
        .part(
            "extension[upload]",
            Part::bytes(html.as_bytes().to_vec())
                .file_name("ext.html")
                .mime_str("text/html")
                .unwrap(),
        );
    let (s, b) = send(w.u(&app, Method::POST, "/v3/extensions").multipart(form)).await;
    assert_eq!(s, 201, "{b}");
    let e = &b["extension"];
    assert_eq!(e["srcdoc"], html);
    assert_eq!(e["data_type"], "number");
    assert_eq!(e["multiple"], true);
    assert_eq!(e["tags"], json!(["a", "b"]));
    let uid = e["uid"].as_str().unwrap();

    // The source comes back only as a JSON string, never as a document of the API origin.
    let r = w
        .u(&app, Method::GET, &format!("/v3/extensions/{uid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "{ct}");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");

    // A file that is not text, or too large, is refused.
    let form = Form::new()
        .text("extension[title]", "Binary")
        .text("extension[type]", "widget")
        .part(
            "extension[upload]",
            Part::bytes(vec![0xff, 0xfe, 0x00]).file_name("x.bin"),
        );
    let (s, b) = send(w.u(&app, Method::POST, "/v3/extensions").multipart(form)).await;
    assert_error(s, &b, 422, 120);
    let big = vec![b'a'; 1024 * 1024 + 1];
    let form = Form::new()
        .text("extension[title]", "Big")
        .text("extension[type]", "widget")
        .part("extension[upload]", Part::bytes(big).file_name("big.html"));
    let (s, b) = send(w.u(&app, Method::POST, "/v3/extensions").multipart(form)).await;
    assert_error(s, &b, 422, 120);
    let (_, b) = send(w.u(&app, Method::GET, "/v3/extensions?include_count=true")).await;
    assert_eq!(b["count"], 1, "refused uploads leave nothing: {b}");

    // A JSON body under a left-over multipart Content-Type (as the Python client sends after
    // an upload) is read as JSON.
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/extensions")
            .header("content-type", "multipart/form-data; boundary=xyz")
            .body(
                json!({"extension": {"title": "After", "type": "widget", "src": "https://w.example"}})
                    .to_string(),
            ),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["extension"]["title"], "After");
}

async fn schemas_name_only_existing_extensions(app: TestApp) {
    let w = world(&app).await;
    let (_, b) = send(
        w.u(&app, Method::POST, "/v3/extensions")
            .json(&field_ext("Color")),
    )
    .await;
    let ext = b["extension"]["uid"].as_str().unwrap().to_string();
    let (_, b) = send(
        w.u(&app, Method::POST, "/v3/extensions")
            .json(&json!({"extension": {
        "title": "Dash", "type": "dashboard", "src": "https://d.example.com"}})),
    )
    .await;
    let dash = b["extension"]["uid"].as_str().unwrap().to_string();
    let ct = |field: Value| {
        json!({"content_type": {"title": "Product", "uid": "product", "schema": [
            {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
            {"uid": "extra", "display_name": "Extra", "data_type": "group", "schema": [field]}]}})
    };
    // Unknown, wrong kind, wrong data type: refused, naming the schema path.
    for field in [
        json!({"uid": "color", "display_name": "Color", "data_type": "text", "extension_uid": "blt_nope"}),
        json!({"uid": "color", "display_name": "Color", "data_type": "text", "extension_uid": dash}),
        json!({"uid": "color", "display_name": "Color", "data_type": "number", "extension_uid": ext}),
    ] {
        let (s, b) = send(
            w.u(&app, Method::POST, "/v3/content_types")
                .json(&ct(field)),
        )
        .await;
        assert_error(s, &b, 422, 115);
        assert!(
            b["errors"]["schema[1].schema[0].extension_uid"].is_array(),
            "{b}"
        );
    }
    let (s, b) = send(w.u(&app, Method::GET, "/v3/content_types/product")).await;
    assert_eq!(s, 422, "nothing was created: {b}");
    let good = json!({"uid": "color", "display_name": "Color", "data_type": "text", "extension_uid": ext, "config": {}});
    let (s, b) = send(w.u(&app, Method::POST, "/v3/content_types").json(&ct(good))).await;
    assert_eq!(s, 201, "{b}");
    // Entries store the custom field's value like any text.
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/content_types/product/entries")
            .json(&json!({"entry": {"title": "Mug", "extra": {"color": "red"}}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["entry"]["extra"]["color"], "red");
    // An extension in use stays.
    let (s, b) = send(w.u(&app, Method::DELETE, &format!("/v3/extensions/{ext}"))).await;
    assert_error(s, &b, 422, 120);
    assert!(
        b["error_message"].as_str().unwrap().contains("product"),
        "{b}"
    );
    // A global field is checked the same way.
    let (s, b) = send(w.u(&app, Method::POST, "/v3/global_fields").json(&json!({"global_field": {
        "title": "SEO", "uid": "seo", "schema": [
            {"uid": "x", "display_name": "X", "data_type": "text", "extension_uid": "blt_gone"}]}})))
    .await;
    assert_eq!(s, 422, "{b}");
    assert!(b["errors"]["schema[0].extension_uid"].is_array(), "{b}");
}

async fn extensions_are_authorized_by_the_policy(app: TestApp) {
    let w = world(&app).await;
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "reader").await;
    let (rw, _) = app.rw_token(&w.owner, &w.api_key, "writer").await;
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/extensions", &rw, &w.api_key)
            .json(&field_ext("By token")),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = send(app.with_token(Method::GET, "/v3/extensions", &ro, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["extensions"].as_array().unwrap().len(), 1);
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/extensions", &ro, &w.api_key)
            .json(&field_ext("No")),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert!(b["error_message"].as_str().unwrap().contains("MT-7"), "{b}");
    // A token scoped to other modules does not reach extensions.
    let (s, b) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": "entries only", "expires_on": null,
                "scope": [{"module": "entry", "acl": {"read": true, "write": true}}]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let entries_only = b["token"]["token"].as_str().unwrap().to_string();
    let (s, b) =
        send(app.with_token(Method::GET, "/v3/extensions", &entries_only, &w.api_key)).await;
    assert_error(s, &b, 403, 162);
    assert!(
        b["error_message"].as_str().unwrap().contains("extension"),
        "{b}"
    );
    // A Content Manager reads extensions but does not manage them.
    app.member("cm@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "cm@example.com", "Content Manager")
        .await;
    let cm = app.login("cm@example.com").await;
    let (s, _) = send(app.as_user(Method::GET, "/v3/extensions", &cm, &w.api_key)).await;
    assert_eq!(s, 200);
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/extensions", &cm, &w.api_key)
            .json(&field_ext("No")),
    )
    .await;
    assert_error(s, &b, 403, 162);
    // Without credentials, nothing.
    let (s, _) = send(
        app.req(Method::GET, "/v3/extensions")
            .header("api_key", &w.api_key),
    )
    .await;
    assert_eq!(s, 401);
}

async fn extensions_belong_to_a_branch(app: TestApp) {
    let w = world(&app).await;
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/extensions")
            .json(&field_ext("Color")),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let uid = b["extension"]["uid"].as_str().unwrap().to_string();
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/stacks/branches")
            .json(&json!({"branch": {"uid": "dev", "source": "main"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    // The branch starts with a copy; deleting it there leaves main's.
    let path = format!("/v3/extensions/{uid}");
    let (s, b) = send(w.u(&app, Method::GET, &path).header("branch", "dev")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["extension"]["title"], "Color");
    let (s, b) = send(w.u(&app, Method::DELETE, &path).header("branch", "dev")).await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = send(w.u(&app, Method::GET, &path).header("branch", "dev")).await;
    assert_eq!(s, 422);
    let (s, b) = send(w.u(&app, Method::GET, &path)).await;
    assert_eq!(s, 200, "{b}");
}
