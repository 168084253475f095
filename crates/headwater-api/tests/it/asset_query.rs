//! The asset list's query, sort and relative URLs, asset references, and the download of an
//! asset's current file by `/v3/assets/{api_key}/{uid}`, on both backends.

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    asset_list_filters_with_the_query_operators,
    asset_list_sorts_both_ways_and_gives_relative_urls,
    assets_report_the_entries_that_use_them,
    current_file_downloads_by_api_key_and_uid,
);

struct World {
    owner: String,
    api_key: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Media").await;
    World { owner, api_key }
}

impl World {
    fn u(&self, app: &TestApp, m: Method, p: &str) -> reqwest::RequestBuilder {
        app.as_user(m, p, &self.owner, &self.api_key)
    }

    async fn upload(
        &self,
        app: &TestApp,
        bytes: &[u8],
        name: &str,
        mime: &str,
        title: &str,
        parent: Option<&str>,
    ) -> Value {
        let mut f = Form::new()
            .part(
                "asset[upload]",
                Part::bytes(bytes.to_vec())
                    .file_name(name.to_string())
                    .mime_str(mime)
                    .unwrap(),
            )
            .text("asset[title]", title.to_string())
            .text("asset[tags]", format!("{title}, all"));
        if let Some(p) = parent {
            f = f.text("asset[parent_uid]", p.to_string());
        }
        let (s, b) = send(self.u(app, Method::POST, "/v3/assets").multipart(f)).await;
        assert_eq!(s, 201, "{b}");
        b["asset"].clone()
    }

    async fn titles(&self, app: &TestApp, params: &[(&str, &str)]) -> Vec<String> {
        let (s, b) = send(self.u(app, Method::GET, "/v3/assets").query(params)).await;
        assert_eq!(s, 200, "{params:?}: {b}");
        b["assets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                a["title"]
                    .as_str()
                    .or(a["name"].as_str())
                    .unwrap()
                    .to_string()
            })
            .collect()
    }
}

async fn asset_list_filters_with_the_query_operators(app: TestApp) {
    let w = world(&app).await;
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/assets/folders")
            .json(&json!({"asset": {"name": "Photos"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let folder = b["asset"]["uid"].as_str().unwrap().to_string();
    w.upload(&app, b"png1", "a.png", "image/png", "Alpha", Some(&folder))
        .await;
    w.upload(&app, b"text2", "b.txt", "text/plain", "Beta", None)
        .await;
    w.upload(&app, b"pdf333", "c.pdf", "application/pdf", "Gamma", None)
        .await;

    let mut t = w.titles(&app, &[("query", r#"{"title":"Beta"}"#)]).await;
    assert_eq!(t, ["Beta"]);
    t = w
        .titles(&app, &[("query", r#"{"content_type":"image/png"}"#)])
        .await;
    assert_eq!(t, ["Alpha"]);
    t = w
        .titles(
            &app,
            &[("query", &format!(r#"{{"parent_uid":"{folder}"}}"#))],
        )
        .await;
    assert_eq!(t, ["Alpha"]);
    t = w
        .titles(
            &app,
            &[("query", r#"{"parent_uid":null}"#), ("asc", "title")],
        )
        .await;
    assert_eq!(t, ["Beta", "Gamma"]);
    t = w
        .titles(
            &app,
            &[
                ("query", r#"{"title":{"$in":["Alpha","Gamma"]}}"#),
                ("asc", "title"),
            ],
        )
        .await;
    assert_eq!(t, ["Alpha", "Gamma"]);
    t = w
        .titles(
            &app,
            &[("query", r#"{"title":{"$regex":"^al","$options":"i"}}"#)],
        )
        .await;
    assert_eq!(t, ["Alpha"]);
    t = w
        .titles(&app, &[("query", r#"{"title":{"$regex":"^al"}}"#)])
        .await;
    assert!(t.is_empty(), "a $regex without i keeps the case: {t:?}");
    t = w
        .titles(
            &app,
            &[
                (
                    "query",
                    r#"{"$or":[{"filename":"b.txt"},{"file_size":{"$gte":6}}]}"#,
                ),
                ("asc", "title"),
            ],
        )
        .await;
    assert_eq!(t, ["Beta", "Gamma"]);
    t = w
        .titles(
            &app,
            &[("query", r#"{"tags":"Gamma","title":{"$ne":"Alpha"}}"#)],
        )
        .await;
    assert_eq!(t, ["Gamma"]);
    let (s, b) = send(w.u(&app, Method::GET, "/v3/assets").query(&[
        ("query", r#"{"title":{"$nin":["Alpha"]}}"#),
        ("include_count", "true"),
    ]))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], 2);
    // Folders still come with is_dir, and combine with other conditions.
    t = w
        .titles(&app, &[("query", r#"{"is_dir":true,"title":"Photos"}"#)])
        .await;
    assert_eq!(t, ["Photos"]);

    // What the list cannot do is refused, not ignored.
    for bad in [
        r#"{"nonsense":"x"}"#,
        r#"{"file_size":"big"}"#,
        r#"{"title":{"$gt":true}}"#,
        r#"{"meta.deep":1}"#,
        "not json",
    ] {
        let (s, b) = send(
            w.u(&app, Method::GET, "/v3/assets")
                .query(&[("query", bad)]),
        )
        .await;
        assert_error(s, &b, 400, 120);
        assert!(b["errors"]["query"].is_array(), "{bad}: {b}");
    }
}

async fn asset_list_sorts_both_ways_and_gives_relative_urls(app: TestApp) {
    let w = world(&app).await;
    for t in ["First", "Second", "Third"] {
        w.upload(&app, t.as_bytes(), "f.txt", "text/plain", t, None)
            .await;
    }
    let oldest_first = w.titles(&app, &[("asc", "created_at")]).await;
    assert_eq!(oldest_first, ["First", "Second", "Third"]);
    let newest_first = w.titles(&app, &[("desc", "created_at")]).await;
    assert_eq!(newest_first, ["Third", "Second", "First"]);
    assert_eq!(w.titles(&app, &[]).await, newest_first);
    assert_eq!(
        w.titles(&app, &[("desc", "title")]).await,
        ["Third", "Second", "First"]
    );
    assert_eq!(
        w.titles(
            &app,
            &[("asc", "created_at"), ("skip", "1"), ("limit", "1")]
        )
        .await,
        ["Second"]
    );
    let (s, b) = send(
        w.u(&app, Method::GET, "/v3/assets")
            .query(&[("asc", "tags")]),
    )
    .await;
    assert_error(s, &b, 400, 120);

    let (_, b) = send(w.u(&app, Method::GET, "/v3/assets")).await;
    let absolute = b["assets"][0]["url"].as_str().unwrap().to_string();
    assert!(absolute.starts_with("http://"), "{absolute}");
    let (_, b) = send(
        w.u(&app, Method::GET, "/v3/assets")
            .query(&[("relative_urls", "true")]),
    )
    .await;
    let relative = b["assets"][0]["url"].as_str().unwrap().to_string();
    assert!(
        relative.starts_with(&format!("/v3/assets/{}/", w.api_key)),
        "{relative}"
    );
    assert!(absolute.ends_with(&relative), "{absolute} / {relative}");
}

async fn assets_report_the_entries_that_use_them(app: TestApp) {
    let w = world(&app).await;
    let a = w
        .upload(&app, b"img", "i.png", "image/png", "Image", None)
        .await;
    let asset = a["uid"].as_str().unwrap();
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/content_types")
            .json(&json!({"content_type": {
        "title": "Post", "uid": "post", "schema": [
            {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
            {"uid": "cover", "display_name": "Cover", "data_type": "file"}]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/content_types/post/entries")
            .json(&json!({"entry": {"title": "With cover", "cover": asset}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let post = b["entry"]["uid"].as_str().unwrap().to_string();
    send(
        w.u(&app, Method::POST, "/v3/content_types/post/entries")
            .json(&json!({"entry": {"title": "Without"}})),
    )
    .await;
    let (s, b) = send(w.u(&app, Method::GET, &format!("/v3/assets/{asset}/references"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["references"].as_array().unwrap().len(), 1, "{b}");
    let r = &b["references"][0];
    assert_eq!(r["entry_uid"], post.as_str());
    assert_eq!(r["content_type_uid"], "post");
    assert_eq!(r["content_type_title"], "Post");
    assert_eq!(r["locale"], "en-us");
    assert_eq!(r["title"], "With cover");
    let (s, b) = send(w.u(&app, Method::GET, "/v3/assets/blt_none/references")).await;
    assert_error(s, &b, 422, 141);
    // A token that cannot read assets learns nothing.
    let (s, b) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": "entries", "expires_on": null,
                "scope": [{"module": "entry", "acl": {"read": true}}]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let t = b["token"]["token"].as_str().unwrap().to_string();
    let (s, b) = send(app.with_token(
        Method::GET,
        &format!("/v3/assets/{asset}/references"),
        &t,
        &w.api_key,
    ))
    .await;
    assert_error(s, &b, 403, 162);
}

async fn current_file_downloads_by_api_key_and_uid(app: TestApp) {
    let w = world(&app).await;
    let a = w
        .upload(&app, b"version one", "v.txt", "text/plain", "Doc", None)
        .await;
    let uid = a["uid"].as_str().unwrap().to_string();
    let path = format!("/v3/assets/{}/{uid}", w.api_key);
    let get = |p: String| {
        let rb = app.req(Method::GET, &p);
        async move {
            let r = rb.send().await.unwrap();
            let status = r.status().as_u16();
            let nosniff = r
                .headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap().to_string());
            let csp = r
                .headers()
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap().to_string());
            (status, r.bytes().await.unwrap().to_vec(), nosniff, csp)
        }
    };
    let (s, bytes, nosniff, csp) = get(path.clone()).await;
    assert_eq!((s, bytes.as_slice()), (200, &b"version one"[..]));
    assert_eq!(nosniff.as_deref(), Some("nosniff"));
    assert!(csp.unwrap().starts_with("sandbox"));

    // A new file: the same address now serves it; ?version=1 the old one.
    let f = Form::new().part(
        "asset[upload]",
        Part::bytes(b"version two".to_vec())
            .file_name("v.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let (s, b) = send(
        w.u(&app, Method::PUT, &format!("/v3/assets/{uid}"))
            .multipart(f),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, bytes, _, _) = get(path.clone()).await;
    assert_eq!((s, bytes.as_slice()), (200, &b"version two"[..]));
    let (s, bytes, _, _) = get(format!("{path}?version=1")).await;
    assert_eq!((s, bytes.as_slice()), (200, &b"version one"[..]));

    // Unknown stack or asset, or a folder: not found.
    let (s, _, _, _) = get(format!("/v3/assets/nokey/{uid}")).await;
    assert_eq!(s, 422);
    let (s, _, _, _) = get(format!("/v3/assets/{}/blt_nothing", w.api_key)).await;
    assert_eq!(s, 422);
    // The routes beside it still answer as before.
    let (s, b) = send(w.u(&app, Method::GET, &format!("/v3/assets/{uid}/versions"))).await;
    assert_eq!(s, 200, "{b}");
}
