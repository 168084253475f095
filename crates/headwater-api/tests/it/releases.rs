//! Releases and labels on both backends: a release deploys its entries and assets together —
//! all of them or, when one cannot go, none.

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    a_release_deploys_its_items_together,
    a_release_that_cannot_fully_deploy_deploys_nothing,
    labels_are_managed_per_branch,
);

struct World {
    owner: String,
    org: String,
    api_key: String,
    entries: Vec<String>,
    asset: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Site").await;
    let u = |m, p: &str| app.as_user(m, p, &owner, &api_key);
    for env in ["production", "staging"] {
        let (s, _) =
            send(u(Method::POST, "/v3/environments").json(&json!({"environment": {"name": env}})))
                .await;
        assert_eq!(s, 201);
    }
    let (s, _) = send(u(Method::POST, "/v3/content_types").json(
        &json!({"content_type": {"title": "Page", "uid": "page", "schema": [
            {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}]}}),
    ))
    .await;
    assert_eq!(s, 201);
    let mut entries = Vec::new();
    for title in ["Home", "About"] {
        let (s, b) = send(
            u(Method::POST, "/v3/content_types/page/entries")
                .json(&json!({"entry": {"title": title}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        entries.push(b["entry"]["uid"].as_str().unwrap().to_string());
    }
    let form = Form::new().part(
        "asset[upload]",
        Part::bytes(&b"logo"[..])
            .file_name("logo.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let (s, b) = send(u(Method::POST, "/v3/assets").multipart(form)).await;
    assert_eq!(s, 201, "{b}");
    World {
        asset: b["asset"]["uid"].as_str().unwrap().to_string(),
        owner,
        org,
        api_key,
        entries,
    }
}

impl World {
    fn u(&self, app: &TestApp, m: Method, p: &str) -> reqwest::RequestBuilder {
        app.as_user(m, p, &self.owner, &self.api_key)
    }

    async fn release(&self, app: &TestApp, name: &str) -> String {
        let (s, b) = send(
            self.u(app, Method::POST, "/v3/releases")
                .json(&json!({"release": {"name": name, "description": "d"}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["notice"], "Release created successfully.");
        b["release"]["uid"].as_str().unwrap().to_string()
    }

    /// Environments names each entry (and the asset) is live on, in order.
    async fn live(&self, app: &TestApp) -> Vec<usize> {
        let mut out = Vec::new();
        for e in &self.entries {
            let (_, b) = send(self.u(
                app,
                Method::GET,
                &format!("/v3/content_types/page/entries/{e}"),
            ))
            .await;
            out.push(b["entry"]["publish_details"].as_array().unwrap().len());
        }
        let (_, b) = send(self.u(
            app,
            Method::GET,
            &format!("/v3/assets/{}?include_publish_details=true", self.asset),
        ))
        .await;
        out.push(b["asset"]["publish_details"].as_array().map_or(0, Vec::len));
        out
    }
}

async fn a_release_deploys_its_items_together(app: TestApp) {
    let w = world(&app).await;
    let rel = w.release(&app, "Launch").await;
    let path = format!("/v3/releases/{rel}");
    let (s, b) = send(
        w.u(&app, Method::POST, &format!("{path}/items")).json(&json!({"items": [
            {"uid": w.entries[0], "content_type_uid": "page", "locale": "en-us", "action": "publish"},
            {"uid": w.entries[1], "content_type_uid": "page", "version": 1},
            {"uid": w.asset, "action": "publish"}]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["release"]["items_count"], 3);
    assert_eq!(b["release"]["items"][0]["title"], "Home");
    // One item, again: replaced, not doubled.
    let (s, b) = send(w.u(&app, Method::POST, &format!("{path}/item")).json(
        &json!({"item": {"uid": w.entries[0], "content_type_uid": "page", "locale": "en-us"}}),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["release"]["items_count"], 3);
    for bad in [
        json!({"item": {"uid": "nope", "content_type_uid": "page"}}),
        json!({"item": {"uid": w.entries[0], "content_type_uid": "nope"}}),
        json!({"item": {"uid": "nope"}}),
        json!({"item": {"uid": w.asset, "action": "delete"}}),
    ] {
        let (s, b) = send(w.u(&app, Method::POST, &format!("{path}/item")).json(&bad)).await;
        assert_error(s, &b, 422, 120);
    }
    let (s, b) = send(w.u(&app, Method::GET, &format!("{path}/items"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["items"].as_array().unwrap().len(), 3);

    // A read-only token cannot deploy.
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "ro").await;
    let (s, b) = send(
        app.with_token(Method::POST, &format!("{path}/deploy"), &ro, &w.api_key)
            .json(&json!({"release": {"environments": ["production"]}})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert_eq!(w.live(&app).await, [0, 0, 0]);

    // A read-write token deploys; the JS client's scheduledAt of null is accepted.
    let (rw, _) = app.rw_token(&w.owner, &w.api_key, "rw").await;
    let (s, b) = send(
        app.with_token(Method::POST, &format!("{path}/deploy"), &rw, &w.api_key).json(
            &json!({"release": {"environments": ["production", "staging"], "locales": ["en-us"], "action": "publish", "scheduledAt": null}}),
        ),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Release sent successfully for deployment.");
    assert_eq!(w.live(&app).await, [2, 2, 2]);
    let (_, b) = send(w.u(&app, Method::GET, &path)).await;
    assert_eq!(b["release"]["status"].as_array().unwrap().len(), 1);

    // Locked: no changes, no deletion; unlocking works.
    let (s, _) = send(
        w.u(&app, Method::PUT, &path)
            .json(&json!({"release": {"locked": true}})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = send(
        w.u(&app, Method::DELETE, &format!("{path}/items"))
            .json(&json!({"items": [{"uid": w.asset, "locale": "en-us"}]})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(w.u(&app, Method::DELETE, &path)).await;
    assert_error(s, &b, 422, 120);
    let (s, _) = send(
        w.u(&app, Method::PUT, &path)
            .json(&json!({"release": {"locked": false}})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = send(
        w.u(&app, Method::DELETE, &format!("{path}/items"))
            .json(&json!({"items": [{"uid": w.asset, "locale": "en-us"}]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["release"]["items_count"], 2);

    // A clone carries the items; unpublishing it from staging takes the entries off staging only.
    let (s, b) = send(
        w.u(&app, Method::POST, &format!("{path}/clone"))
            .json(&json!({"release": {"name": "Launch (undo)"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["release"]["items_count"], 2);
    let clone = b["release"]["uid"].as_str().unwrap().to_string();
    let (s, b) = send(
        w.u(&app, Method::POST, &format!("/v3/releases/{clone}/deploy"))
            .json(&json!({"release": {"environments": ["staging"], "action": "unpublish"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // The deploy's action applies to every item: both entries leave staging; the asset, removed
    // from the release before the clone, stays.
    assert_eq!(w.live(&app).await, [1, 1, 2]);

    let (s, b) = send(w.u(&app, Method::DELETE, &format!("{path}/items?all=true"))).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(
        w.u(&app, Method::POST, &format!("{path}/deploy"))
            .json(&json!({"release": {"environments": ["production"]}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(w.u(&app, Method::DELETE, &path)).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(w.u(&app, Method::GET, &path)).await;
    assert_error(s, &b, 422, 141);
    let _ = &w.org;
}

async fn a_release_that_cannot_fully_deploy_deploys_nothing(app: TestApp) {
    let w = world(&app).await;
    let ann = app.member("ann@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "ann@example.com", "Content Manager")
        .await;
    let rel = w.release(&app, "Launch").await;
    let path = format!("/v3/releases/{rel}");
    let (s, _) = send(
        w.u(&app, Method::POST, &format!("{path}/items"))
            .json(&json!({"items": [
            {"uid": w.asset},
            {"uid": w.entries[0], "content_type_uid": "page"}]})),
    )
    .await;
    assert_eq!(s, 200);
    // Publishing pages to production needs Ann's approval.
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/workflows/publishing_rules")
            .json(
                &json!({"publishing_rule": {"environment": "production", "actions": ["publish"],
                "content_types": ["page"], "approvers": {"users": [ann]}}}),
            ),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let rule = b["publishing_rule"]["uid"].as_str().unwrap().to_string();
    let (s, b) = send(
        w.u(&app, Method::POST, &format!("{path}/deploy"))
            .json(&json!({"release": {"environments": ["production"]}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["error_message"].as_str().unwrap().contains(&rule), "{b}");
    // The asset, listed first, was not published either.
    assert_eq!(w.live(&app).await, [0, 0, 0]);
    // Bulk publishing holds to the rule the same way.
    let (s, b) = send(w.u(&app, Method::POST, "/v3/bulk/publish").json(&json!({
        "entries": [{"uid": w.entries[0], "content_type": "page", "locale": "en-us"}],
        "assets": [{"uid": w.asset}],
        "locales": ["en-us"], "environments": ["production"]})))
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"].to_string().contains(&rule), "{b}");
    assert_eq!(w.live(&app).await, [0, 0, 0]);
    // An entry deleted after it was added makes the deploy fail the same way.
    let (s, _) = send(w.u(
        &app,
        Method::DELETE,
        &format!("/v3/workflows/publishing_rules/{rule}"),
    ))
    .await;
    assert_eq!(s, 200);
    let (s, _) = send(w.u(
        &app,
        Method::DELETE,
        &format!("/v3/content_types/page/entries/{}", w.entries[0]),
    ))
    .await;
    assert_eq!(s, 200);
    let (s, b) = send(
        w.u(&app, Method::POST, &format!("{path}/deploy"))
            .json(&json!({"release": {"environments": ["production"]}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(
        b["error_message"]
            .as_str()
            .unwrap()
            .contains("no longer exists"),
        "{b}"
    );
}

async fn labels_are_managed_per_branch(app: TestApp) {
    let w = world(&app).await;
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/labels")
            .json(&json!({"label": {"name": "Marketing", "content_types": ["page"]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "Label created successfully.");
    let parent = b["label"]["uid"].as_str().unwrap().to_string();
    let (s, b) = send(
        w.u(&app, Method::POST, "/v3/labels")
            .json(&json!({"label": {"name": "Campaigns", "parent": [parent]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let child = b["label"]["uid"].as_str().unwrap().to_string();
    for (bad, field) in [
        (json!({"label": {"name": "Marketing"}}), "name"),
        (
            json!({"label": {"name": "X", "parent": ["nope"]}}),
            "parent",
        ),
        (
            json!({"label": {"name": "Y", "content_types": ["nope"]}}),
            "content_types",
        ),
        (json!({"label": {}}), "name"),
    ] {
        let (s, b) = send(w.u(&app, Method::POST, "/v3/labels").json(&bad)).await;
        assert_error(s, &b, 422, 120);
        assert!(b["errors"].get(field).is_some(), "{field}: {b}");
    }
    let (s, b) = send(
        w.u(&app, Method::PUT, &format!("/v3/labels/{child}"))
            .json(&json!({"label": {"name": "Campaigns 2026"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["label"]["parent"], json!([parent]));
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "ro").await;
    let (s, b) = send(app.with_token(
        Method::GET,
        "/v3/labels?include_count=true",
        &ro,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], 2);
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/labels", &ro, &w.api_key)
            .json(&json!({"label": {"name": "Z"}})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    // Deleting the parent frees the child.
    let (s, _) = send(w.u(&app, Method::DELETE, &format!("/v3/labels/{parent}"))).await;
    assert_eq!(s, 200);
    let (s, b) = send(w.u(&app, Method::GET, &format!("/v3/labels/{child}"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["label"]["parent"], json!([]));
    // Labels belong to a branch.
    let (s, _) = send(
        w.u(&app, Method::POST, "/v3/stacks/branches")
            .json(&json!({"branch": {"uid": "dev", "source": "main"}})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, b) = send(w.u(&app, Method::GET, "/v3/labels").header("branch", "dev")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["labels"], json!([]));
}
