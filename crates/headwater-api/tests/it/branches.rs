//! Branches and branch aliases on both backends: content is copied at creation and then kept
//! apart; every content request honours the `branch` header; management tokens reach only the
//! branches (and aliases) their scope names, and an alias re-pointed moves that reach.

use crate::common::{files_under, urlencode};
use headwater_testkit::{assert_error, on_both_backends, send, test_config, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    a_branch_copies_its_source_and_then_lives_apart,
    branch_and_alias_management_is_validated_and_authtoken_only,
    tokens_reach_only_the_branches_and_aliases_their_scope_names,
    the_delivery_api_reads_the_branch_it_is_asked_for,
    deleting_a_stack_removes_the_files_of_every_branch,
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
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/content_types", &owner, &api_key)
            .json(&json!({"content_type": {"title": "Page", "uid": "page", "schema": [
                {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    World {
        owner,
        org,
        api_key,
    }
}

impl World {
    /// A request as the owner on `branch` (`None`: no header, i.e. `main`).
    fn on(
        &self,
        app: &TestApp,
        branch: Option<&str>,
        m: Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let rb = app.as_user(m, path, &self.owner, &self.api_key);
        match branch {
            Some(b) => rb.header("branch", b),
            None => rb,
        }
    }

    async fn entry(&self, app: &TestApp, branch: Option<&str>, title: &str) -> String {
        let (s, b) = send(
            self.on(app, branch, Method::POST, "/v3/content_types/page/entries")
                .json(&json!({"entry": {"title": title}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        b["entry"]["uid"].as_str().unwrap().to_string()
    }

    async fn titles(&self, app: &TestApp, branch: Option<&str>) -> Vec<String> {
        let (s, b) = send(self.on(
            app,
            branch,
            Method::GET,
            "/v3/content_types/page/entries?asc=title",
        ))
        .await;
        assert_eq!(s, 200, "{b}");
        b["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["title"].as_str().unwrap().to_string())
            .collect()
    }

    async fn branch(&self, app: &TestApp, uid: &str, source: &str) -> (u16, Value) {
        send(
            app.as_user(
                Method::POST,
                "/v3/stacks/branches",
                &self.owner,
                &self.api_key,
            )
            .json(&json!({"branch": {"uid": uid, "source": source}})),
        )
        .await
    }

    async fn alias(&self, app: &TestApp, alias: &str, target: &str) -> (u16, Value) {
        send(
            app.as_user(
                Method::PUT,
                &format!("/v3/stacks/branch_aliases/{alias}"),
                &self.owner,
                &self.api_key,
            )
            .json(&json!({"branch_alias": {"target_branch": target}})),
        )
        .await
    }
}

async fn upload(app: &TestApp, w: &World, bytes: &'static [u8]) -> Value {
    let form = Form::new().part(
        "asset[upload]",
        Part::bytes(bytes)
            .file_name("hello.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let (s, b) = send(w.on(app, None, Method::POST, "/v3/assets").multipart(form)).await;
    assert_eq!(s, 201, "{b}");
    b["asset"].clone()
}

async fn download(url: &str) -> (u16, Vec<u8>) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

async fn a_branch_copies_its_source_and_then_lives_apart(app: TestApp) {
    let w = world(&app).await;
    let home = w.entry(&app, None, "Home").await;
    let asset = upload(&app, &w, b"hello from main").await;
    let asset_uid = asset["uid"].as_str().unwrap().to_string();

    let (s, b) = w.branch(&app, "dev", "main").await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "Branch created successfully.");
    assert_eq!(b["branch"]["uid"], "dev");
    assert_eq!(b["branch"]["source"], "main");

    let (s, b) = send(w.on(
        &app,
        None,
        Method::GET,
        "/v3/stacks/branches?include_count=true",
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["count"], 2);
    let uids: Vec<&str> = b["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["uid"].as_str().unwrap())
        .collect();
    assert_eq!(uids, ["main", "dev"]);
    assert_eq!(b["branches"][0]["source"], "");

    // The copy: same content type, same entry uid, same asset uid.
    assert_eq!(w.titles(&app, Some("dev")).await, ["Home"]);
    let (s, b) = send(w.on(
        &app,
        Some("dev"),
        Method::GET,
        &format!("/v3/content_types/page/entries/{home}"),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(w.on(
        &app,
        Some("dev"),
        Method::GET,
        &format!("/v3/assets/{asset_uid}"),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let dev_url = b["asset"]["url"].as_str().unwrap().to_string();
    assert!(dev_url.ends_with("?branch=dev"), "{dev_url}");
    assert_eq!(download(&dev_url).await, (200, b"hello from main".to_vec()));

    // Changes on dev stay on dev.
    w.entry(&app, Some("dev"), "Dev only").await;
    let (s, b) = send(
        w.on(
            &app,
            Some("dev"),
            Method::PUT,
            &format!("/v3/content_types/page/entries/{home}"),
        )
        .json(&json!({"entry": {"title": "Home v2"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(w.titles(&app, Some("dev")).await, ["Dev only", "Home v2"]);
    assert_eq!(w.titles(&app, None).await, ["Home"]);
    // Filtered queries (answered through the field index) see each branch's own values.
    let filtered = |branch: Option<&'static str>, title: &'static str| {
        let q = format!(
            "/v3/content_types/page/entries?include_count=true&query={}",
            urlencode(&json!({"title": title}).to_string())
        );
        let rb = w.on(&app, branch, Method::GET, &q);
        async move {
            let (s, b) = send(rb).await;
            assert_eq!(s, 200, "{b}");
            b["count"].as_i64().unwrap()
        }
    };
    assert_eq!(filtered(Some("dev"), "Home v2").await, 1);
    assert_eq!(filtered(Some("dev"), "Home").await, 0);
    assert_eq!(filtered(None, "Home").await, 1);
    assert_eq!(filtered(None, "Home v2").await, 0);
    assert_eq!(filtered(Some("dev"), "Dev only").await, 1);
    assert_eq!(w.titles(&app, Some("main")).await, ["Home"]);
    let (s, _) = send(
        w.on(&app, Some("dev"), Method::POST, "/v3/content_types").json(
            &json!({"content_type": {"title": "Post", "uid": "post", "schema": [
                {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}]}}),
        ),
    )
    .await;
    assert_eq!(s, 201);
    let (s, b) = send(w.on(&app, None, Method::GET, "/v3/content_types/post")).await;
    assert_error(s, &b, 422, 118);
    let (s, b) = send(w.on(&app, Some("dev"), Method::GET, "/v3/content_types/post")).await;
    assert_eq!(s, 200, "{b}");

    // Deleting dev's copy of the asset keeps main's file, which the two shared.
    let (s, _) = send(w.on(
        &app,
        Some("dev"),
        Method::DELETE,
        &format!("/v3/assets/{asset_uid}"),
    ))
    .await;
    assert_eq!(s, 200);
    let main_url = asset["url"].as_str().unwrap();
    assert_eq!(download(main_url).await, (200, b"hello from main".to_vec()));
    assert_eq!(download(&dev_url).await.0, 422);

    // A branch of a branch starts from its source's current content.
    let (s, b) = w.branch(&app, "qa", "dev").await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(w.titles(&app, Some("qa")).await, ["Dev only", "Home v2"]);

    // Deleting a branch takes its content; main is untouched; the name is free again.
    let (s, b) = send(w.on(
        &app,
        None,
        Method::DELETE,
        "/v3/stacks/branches/dev?force=true",
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Branch deleted successfully.");
    let (s, b) = send(w.on(
        &app,
        Some("dev"),
        Method::GET,
        "/v3/content_types/page/entries",
    ))
    .await;
    assert_error(s, &b, 422, 903);
    assert!(b["error_message"].as_str().unwrap().contains("'dev'"));
    assert_eq!(w.titles(&app, None).await, ["Home"]);
    assert_eq!(download(main_url).await, (200, b"hello from main".to_vec()));
    let (s, b) = send(w.on(
        &app,
        None,
        Method::GET,
        "/v3/content_types/page/entries?include_count=true&query=%7B%22title%22%3A%22Home%22%7D",
    ))
    .await;
    assert_eq!((s, b["count"].as_i64()), (200, Some(1)), "{b}");

    let (s, b) = w.branch(&app, "dev", "main").await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(w.titles(&app, Some("dev")).await, ["Home"]);
    // The new dev's field index holds its own values, none left from the deleted one.
    assert_eq!(filtered(Some("dev"), "Home").await, 1);
    assert_eq!(filtered(Some("dev"), "Home v2").await, 0);
    assert_eq!(filtered(Some("dev"), "Dev only").await, 0);
}

async fn branch_and_alias_management_is_validated_and_authtoken_only(app: TestApp) {
    let w = world(&app).await;
    for (uid, source, field) in [
        ("Bad-Name", "main", "uid"),
        ("much_too_long_name", "main", "uid"),
        ("fine", "nowhere", "source"),
    ] {
        let (s, b) = w.branch(&app, uid, source).await;
        assert_error(s, &b, 422, 903);
        assert!(b["errors"].get(field).is_some(), "{b}");
    }
    assert_eq!(w.branch(&app, "dev", "main").await.0, 201);
    let (s, b) = w.branch(&app, "dev", "main").await;
    assert_error(s, &b, 422, 903);
    let (s, b) = send(w.on(&app, None, Method::DELETE, "/v3/stacks/branches/main")).await;
    assert_error(s, &b, 422, 903);
    let (s, b) = send(w.on(&app, None, Method::DELETE, "/v3/stacks/branches/nope")).await;
    assert_error(s, &b, 422, 903);

    // Aliases: a name of their own, an existing target; a branch with an alias stays.
    let (s, b) = w.alias(&app, "dev", "main").await;
    assert_error(s, &b, 422, 903);
    let (s, b) = w.alias(&app, "deploy", "nowhere").await;
    assert_error(s, &b, 422, 903);
    let (s, b) = w.alias(&app, "deploy", "dev").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Branch alias assigned successfully.");
    assert_eq!(b["branch_alias"]["uid"], "dev");
    assert_eq!(b["branch_alias"]["alias"], "deploy");
    let (s, b) = w.branch(&app, "deploy", "main").await;
    assert_error(s, &b, 422, 903);
    let (s, b) = send(w.on(&app, None, Method::DELETE, "/v3/stacks/branches/dev")).await;
    assert_error(s, &b, 422, 903);
    assert!(
        b["error_message"].as_str().unwrap().contains("deploy"),
        "{b}"
    );
    let (s, b) = send(w.on(&app, None, Method::GET, "/v3/stacks/branches/dev")).await;
    assert_eq!(s, 200);
    assert_eq!(b["branch"]["alias"], json!([{"uid": "deploy"}]));
    let (s, b) = send(w.on(&app, None, Method::GET, "/v3/stacks/branch_aliases")).await;
    assert_eq!(s, 200);
    assert_eq!(b["branch_aliases"][0]["alias"], "deploy");
    let (s, b) = send(w.on(&app, None, Method::GET, "/v3/stacks/branch_aliases/deploy")).await;
    assert_eq!(s, 200);
    assert_eq!(b["branch_alias"]["uid"], "dev");

    // Content reached through the alias is the target's.
    w.entry(&app, Some("dev"), "On dev").await;
    assert_eq!(w.titles(&app, Some("deploy")).await, ["On dev"]);

    // Management tokens never create or delete branches or assign aliases, even read-write.
    let (mt, _) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let t = |m, p: &str| app.with_token(m, p, &mt, &w.api_key);
    let (s, b) = send(
        t(Method::POST, "/v3/stacks/branches")
            .json(&json!({"branch": {"uid": "x", "source": "main"}})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert!(
        b["error_message"].as_str().unwrap().contains("authtoken"),
        "{b}"
    );
    let (s, b) = send(t(Method::DELETE, "/v3/stacks/branches/dev")).await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(
        t(Method::PUT, "/v3/stacks/branch_aliases/deploy")
            .json(&json!({"branch_alias": {"target_branch": "main"}})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(t(Method::DELETE, "/v3/stacks/branch_aliases/deploy")).await;
    assert_error(s, &b, 403, 162);
    // ... but may list them.
    let (s, b) = send(t(Method::GET, "/v3/stacks/branches")).await;
    assert_eq!(s, 200, "{b}");

    // A content manager reads branches but does not create them.
    app.member("cm@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "cm@example.com", "Content Manager")
        .await;
    let cm = app.login("cm@example.com").await;
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/stacks/branches", &cm, &w.api_key)
            .json(&json!({"branch": {"uid": "cm", "source": "main"}})),
    )
    .await;
    assert_error(s, &b, 403, 162);

    let (s, b) = send(w.on(
        &app,
        None,
        Method::DELETE,
        "/v3/stacks/branch_aliases/deploy",
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(w.on(
        &app,
        Some("deploy"),
        Method::GET,
        "/v3/content_types/page/entries",
    ))
    .await;
    assert_error(s, &b, 422, 903);
    let (s, _) = send(w.on(&app, None, Method::DELETE, "/v3/stacks/branches/dev")).await;
    assert_eq!(s, 200);
}

async fn scoped_token(app: &TestApp, w: &World, name: &str, branch_scope: Value) -> String {
    let (s, b) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": name, "scope": [
                {"module": "content_type", "acl": {"read": true, "write": true}},
                {"module": "entry", "acl": {"read": true, "write": true}},
                branch_scope], "expires_on": null}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["token"]["token"].as_str().unwrap().to_string()
}

async fn tokens_reach_only_the_branches_and_aliases_their_scope_names(app: TestApp) {
    let w = world(&app).await;
    w.entry(&app, None, "Main page").await;
    assert_eq!(w.branch(&app, "dev", "main").await.0, 201);
    w.entry(&app, Some("dev"), "Dev page").await;
    let read = |token: &str, branch: Option<&str>| {
        let rb = app.with_token(
            Method::GET,
            "/v3/content_types/page/entries?asc=title",
            token,
            &w.api_key,
        );
        match branch {
            Some(b) => rb.header("branch", b),
            None => rb,
        }
    };
    let titles = crate::common::titles;

    // A token whose scope names no branch works on main only.
    let (plain, _) = app.rw_token(&w.owner, &w.api_key, "plain").await;
    let (s, b) = send(read(&plain, None)).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(read(&plain, Some("dev"))).await;
    assert_error(s, &b, 403, 162);
    assert!(
        b["error_message"].as_str().unwrap().contains("'dev'"),
        "{b}"
    );

    // Scoped to dev: dev yes, main no.
    let dev = scoped_token(
        &app,
        &w,
        "dev",
        json!({"module": "branch", "branches": ["dev"], "acl": {"read": true}}),
    )
    .await;
    let (s, b) = send(read(&dev, Some("dev"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(titles(&b), ["Dev page", "Main page"]);
    let (s, b) = send(read(&dev, None)).await;
    assert_error(s, &b, 403, 162);
    assert!(
        b["error_message"].as_str().unwrap().contains("'main'"),
        "{b}"
    );
    let (s, b) = send(
        app.with_token(
            Method::POST,
            "/v3/content_types/page/entries",
            &dev,
            &w.api_key,
        )
        .header("branch", "dev")
        .json(&json!({"entry": {"title": "By token"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(w.titles(&app, None).await, ["Main page"]);

    // Scoped to the alias `deploy`: its reach follows the alias.
    assert_eq!(w.alias(&app, "deploy", "dev").await.0, 200);
    let via = scoped_token(
        &app,
        &w,
        "deploy",
        json!({"module": "branch_alias", "branch_aliases": ["deploy"], "acl": {"read": true}}),
    )
    .await;
    let (s, b) = send(read(&via, Some("deploy"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(titles(&b), ["By token", "Dev page", "Main page"]);
    let (s, _) = send(read(&via, Some("dev"))).await;
    assert_eq!(s, 200, "the alias points at dev, so dev is in reach");
    let (s, b) = send(read(&via, None)).await;
    assert_error(s, &b, 403, 162);

    assert_eq!(w.alias(&app, "deploy", "main").await.0, 200);
    let (s, b) = send(read(&via, Some("deploy"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(titles(&b), ["Main page"]);
    let (s, _) = send(read(&via, None)).await;
    assert_eq!(s, 200, "re-pointed at main, the token reaches main");
    let (s, b) = send(read(&via, Some("dev"))).await;
    assert_error(s, &b, 403, 162);
    assert!(
        b["error_message"].as_str().unwrap().contains("'dev'"),
        "{b}"
    );

    // An unknown branch is named in the error.
    let (s, b) = send(read(&dev, Some("nope"))).await;
    assert_error(s, &b, 422, 903);
    assert!(
        b["error_message"].as_str().unwrap().contains("'nope'"),
        "{b}"
    );
}

async fn the_delivery_api_reads_the_branch_it_is_asked_for(app: TestApp) {
    let w = world(&app).await;
    let (s, _) = send(
        w.on(&app, None, Method::POST, "/v3/environments")
            .json(&json!({"environment": {"name": "production"}})),
    )
    .await;
    assert_eq!(s, 201);
    w.entry(&app, None, "Main page").await;
    assert_eq!(w.branch(&app, "dev", "main").await.0, 201);
    let dev_entry = w.entry(&app, Some("dev"), "Dev page").await;
    let (s, b) = send(
        w.on(
            &app,
            Some("dev"),
            Method::POST,
            &format!("/v3/content_types/page/entries/{dev_entry}/publish"),
        )
        .json(&json!({"entry": {"environments": ["production"], "locales": ["en-us"]}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");

    let mut tokens = Vec::new();
    for (name, branches) in [
        ("main-only", json!(["main"])),
        ("both", json!(["main", "dev"])),
    ] {
        let (s, b) = send(
            w.on(&app, None, Method::POST, "/v3/stacks/delivery_tokens").json(
                &json!({"token": {"name": name, "scope": [
                    {"module": "environment", "environments": ["production"], "acl": {"read": true}},
                    {"module": "branch", "branches": branches, "acl": {"read": true}}]}}),
            ),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["token"]["scope"][1]["branches"], branches);
        tokens.push(b["token"]["token"].as_str().unwrap().to_string());
    }
    let cda = |token: &str, branch: Option<&str>| {
        let rb = app
            .req(
                Method::GET,
                "/cda/v3/content_types/page/entries?environment=production",
            )
            .header("api_key", &w.api_key)
            .header("access_token", token);
        match branch {
            Some(b) => rb.header("branch", b),
            None => rb,
        }
    };
    let (s, b) = send(cda(&tokens[1], Some("dev"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["entries"].as_array().unwrap().len(), 1);
    assert_eq!(b["entries"][0]["title"], "Dev page");
    let (s, b) = send(cda(&tokens[1], None)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["entries"], json!([]), "nothing is published on main");
    let (s, b) = send(cda(&tokens[0], Some("dev"))).await;
    assert!(s == 401 || s == 403, "{s} {b}");
    assert!(
        b["error_message"].as_str().unwrap().contains("'dev'"),
        "{b}"
    );
}

async fn deleting_a_stack_removes_the_files_of_every_branch(app: TestApp) {
    let config = test_config();
    let dir = config.assets_dir.clone();
    let app = TestApp::spawn_with(app.backend, config).await.unwrap();
    let w = world(&app).await;
    upload(&app, &w, b"on main, shared with dev").await;
    assert_eq!(w.branch(&app, "dev", "main").await.0, 201);
    let form = Form::new().part(
        "asset[upload]",
        Part::bytes(&b"only on dev"[..])
            .file_name("dev.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let (s, b) = send(
        w.on(&app, Some("dev"), Method::POST, "/v3/assets")
            .multipart(form),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        files_under(&dir).len(),
        2,
        "one shared file, one of dev's own"
    );
    let (s, b) = send(w.on(&app, None, Method::DELETE, "/v3/stacks")).await;
    assert_eq!(s, 200, "{b}");
    assert!(
        files_under(&dir).is_empty(),
        "left: {:?}",
        files_under(&dir)
    );
}
