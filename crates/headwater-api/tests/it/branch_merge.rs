//! Branch compare, merge, merge queue and branch settings, on both backends: compare answers
//! Contentstack's shape; each merge strategy does what it names to the base branch; a
//! conflict goes to the preferred side, and a merge that would leave the base branch invalid
//! changes nothing and is queued as failed; management tokens never merge (MT-10).

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    compare_lists_the_differences_in_contentstacks_shape,
    each_strategy_does_what_it_names,
    a_merge_that_would_orphan_entries_changes_nothing,
    merging_is_refused_to_tokens_and_to_roles_that_cannot_create_branches,
    branch_settings_are_kept,
    two_merges_at_once_apply_once,
);

struct World {
    owner: String,
    org: String,
    api_key: String,
}

fn field(uid: &str, name: &str, data_type: &str) -> Value {
    json!({"uid": uid, "display_name": name, "data_type": data_type})
}

impl World {
    fn on(&self, app: &TestApp, branch: &str, m: Method, path: &str) -> reqwest::RequestBuilder {
        app.as_user(m, path, &self.owner, &self.api_key)
            .header("branch", branch)
    }

    async fn ok(&self, app: &TestApp, branch: &str, m: Method, path: &str, body: Value) -> Value {
        let (s, b) = send(self.on(app, branch, m.clone(), path).json(&body)).await;
        assert!(s == 200 || s == 201, "{m} {path} on {branch}: {s} {b}");
        b
    }

    async fn get(&self, app: &TestApp, path: &str) -> Value {
        let (s, b) = send(app.as_user(Method::GET, path, &self.owner, &self.api_key)).await;
        assert_eq!(s, 200, "{path}: {b}");
        b
    }

    /// A content type on `branch`, or `None` when it does not exist there.
    async fn content_type(&self, app: &TestApp, branch: &str, uid: &str) -> Option<Value> {
        let (s, b) = send(self.on(
            app,
            branch,
            Method::GET,
            &format!("/v3/content_types/{uid}"),
        ))
        .await;
        match s {
            200 => Some(b["content_type"].clone()),
            _ => {
                assert_error(s, &b, 422, 118);
                None
            }
        }
    }

    /// `uid:data_type:display_name` of each top-level field.
    async fn fields(&self, app: &TestApp, branch: &str, uid: &str) -> Vec<String> {
        let ct = self.content_type(app, branch, uid).await.expect("exists");
        ct["schema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{}:{}:{}",
                    f["uid"].as_str().unwrap(),
                    f["data_type"].as_str().unwrap(),
                    f["display_name"].as_str().unwrap()
                )
            })
            .collect()
    }

    async fn merge(&self, app: &TestApp, query: &str, body: Value) -> (u16, Value) {
        send(
            app.as_user(
                Method::POST,
                &format!("/v3/stacks/branches_merge?{query}"),
                &self.owner,
                &self.api_key,
            )
            .json(&body),
        )
        .await
    }
}

/// A stack whose `dev` branch (from `main`) and `main` then diverge:
/// - `page`: on both, changed on both — `body` renamed differently on each (a conflict), `hero`
///   added on main, `summary` added on dev, the title changed on dev;
/// - `news`: only on dev; `legacy`: only on main;
/// - global field `seo`: on both, a `keywords` field and a new title on dev.
async fn diverged(app: &TestApp, name: &str) -> World {
    let email = format!("{name}@example.com");
    let (_, org) = app.owner(&email).await;
    let owner = app.login(&email).await;
    let api_key = app.stack(&owner, &org, name).await;
    let w = World {
        owner,
        org,
        api_key,
    };
    let title =
        json!({"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true});
    w.ok(app, "main", Method::POST, "/v3/global_fields",
        json!({"global_field": {"uid": "seo", "title": "SEO", "schema": [field("meta", "Meta", "text")]}})).await;
    w.ok(app, "main", Method::POST, "/v3/content_types",
        json!({"content_type": {"uid": "page", "title": "Page", "schema": [title.clone(), field("body", "Body", "text")]}})).await;
    w.ok(
        app,
        "main",
        Method::POST,
        "/v3/stacks/branches",
        json!({"branch": {"uid": "dev", "source": "main"}}),
    )
    .await;
    // main moves on.
    w.ok(app, "main", Method::PUT, "/v3/content_types/page",
        json!({"content_type": {"title": "Page", "schema": [title.clone(), field("body", "Main body", "text"), field("hero", "Hero", "text")]}})).await;
    w.ok(
        app,
        "main",
        Method::POST,
        "/v3/content_types",
        json!({"content_type": {"uid": "legacy", "title": "Legacy", "schema": [title.clone()]}}),
    )
    .await;
    // dev moves on.
    w.ok(app, "dev", Method::PUT, "/v3/content_types/page",
        json!({"content_type": {"title": "Page (dev)", "schema": [title.clone(), field("body", "Dev body", "text"), field("summary", "Summary", "text")]}})).await;
    w.ok(
        app,
        "dev",
        Method::POST,
        "/v3/content_types",
        json!({"content_type": {"uid": "news", "title": "News", "schema": [title.clone()]}}),
    )
    .await;
    w.ok(app, "dev", Method::PUT, "/v3/global_fields/seo",
        json!({"global_field": {"title": "SEO (dev)", "schema": [field("meta", "Meta", "text"), field("keywords", "Keywords", "text")]}})).await;
    w
}

fn row<'a>(diff: &'a Value, uid: &str) -> Option<&'a Value> {
    diff.as_array().unwrap().iter().find(|d| d["uid"] == uid)
}

async fn compare_lists_the_differences_in_contentstacks_shape(app: TestApp) {
    let w = diverged(&app, "cmp").await;
    let b = w
        .get(
            &app,
            "/v3/stacks/branches_compare?base_branch=main&compare_branch=dev",
        )
        .await;
    assert_eq!(
        b["branches"],
        json!({"base_branch": "main", "compare_branch": "dev"})
    );
    assert!(b["next_url"].is_null(), "{b}");
    let diff = &b["diff"];
    assert_eq!(diff.as_array().unwrap().len(), 4, "{b}");
    assert_eq!(
        row(diff, "page"),
        Some(
            &json!({"uid": "page", "title": "Page (dev)", "type": "content_type", "status": "modified"})
        )
    );
    assert_eq!(row(diff, "news").unwrap()["status"], "compare_only");
    assert_eq!(row(diff, "legacy").unwrap()["status"], "base_only");
    assert_eq!(row(diff, "seo").unwrap()["type"], "global_field");
    assert_eq!(row(diff, "seo").unwrap()["status"], "modified");

    // The base defaults to the compare branch's source; pages carry a next_url.
    let b = w
        .get(
            &app,
            "/v3/stacks/branches_compare?compare_branch=dev&limit=1",
        )
        .await;
    assert_eq!(b["branches"]["base_branch"], "main");
    assert_eq!(b["diff"].as_array().unwrap().len(), 1);
    let next = b["next_url"].as_str().expect("next_url");
    assert!(
        next.contains(
            "/v3/stacks/branches_compare?base_branch=main&compare_branch=dev&skip=1&limit=1"
        ),
        "{next}"
    );

    // By module.
    let b = w
        .get(
            &app,
            "/v3/stacks/branches_compare/content_types?base_branch=main&compare_branch=dev",
        )
        .await;
    assert_eq!(b["diff"].as_array().unwrap().len(), 3, "{b}");
    assert!(row(&b["diff"], "seo").is_none());
    let b = w
        .get(
            &app,
            "/v3/stacks/branches_compare/global_fields?base_branch=main&compare_branch=dev",
        )
        .await;
    assert_eq!(b["diff"].as_array().unwrap().len(), 1, "{b}");

    // One item: each side's differences, by path.
    let b = w
        .get(
            &app,
            "/v3/stacks/branches_compare/content_types/page?base_branch=main&compare_branch=dev&include_schemas=true",
        )
        .await;
    let d = &b["diff"];
    assert_eq!(d["uid"], "page");
    assert_eq!(d["status"], "modified");
    let base_paths: Vec<&str> = d["base_branch"]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["path"].as_str().unwrap())
        .collect();
    assert_eq!(base_paths, ["title", "schema[1]", "schema[2]"], "{b}");
    assert_eq!(
        d["base_branch"]["differences"][1]["display_name"],
        "Main body"
    );
    assert_eq!(d["compare_branch"]["differences"][2]["uid"], "summary");
    assert_eq!(d["compare_branch"]["schema"].as_array().unwrap().len(), 3);
    let b = w
        .get(
            &app,
            "/v3/stacks/branches_compare/global_fields/seo?base_branch=main&compare_branch=dev",
        )
        .await;
    assert_eq!(b["diff"]["status"], "modified");
    assert!(b["diff"]["base_branch"]["schema"].is_null());

    // Refusals.
    let (s, b) = send(app.as_user(
        Method::GET,
        "/v3/stacks/branches_compare",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["compare_branch"].is_array(), "{b}");
    let (s, b) = send(app.as_user(
        Method::GET,
        "/v3/stacks/branches_compare?compare_branch=nope",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_error(s, &b, 422, 903);
    let (s, b) = send(app.as_user(
        Method::GET,
        "/v3/stacks/branches_compare/content_types/nope?compare_branch=dev",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_error(s, &b, 422, 118);

    // A token reads a compare only when its scope names both branches (MT-4).
    let scope = |branches: Value| {
        json!({"name": format!("t {branches}"), "scope": [{"module": "$all", "acl": {"read": true, "write": true}},
            {"module": "branch", "branches": branches, "acl": {"read": true}}], "expires_on": null})
    };
    let (s, main_only) = app
        .create_token(&w.owner, &w.api_key, scope(json!(["main"])))
        .await;
    assert_eq!(s, 201, "{main_only}");
    let (s, both) = app
        .create_token(&w.owner, &w.api_key, scope(json!(["main", "dev"])))
        .await;
    assert_eq!(s, 201, "{both}");
    let path = "/v3/stacks/branches_compare?base_branch=main&compare_branch=dev";
    let (s, b) = send(app.with_token(
        Method::GET,
        path,
        main_only["token"]["token"].as_str().unwrap(),
        &w.api_key,
    ))
    .await;
    assert_error(s, &b, 403, 162);
    assert!(b["error_message"].as_str().unwrap().contains("MT-4"), "{b}");
    let (s, b) = send(app.with_token(
        Method::GET,
        path,
        both["token"]["token"].as_str().unwrap(),
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["diff"].as_array().unwrap().len(), 4);
}

/// A strategy, its item strategies, and what `main` holds after the merge: `page`'s fields and
/// title, whether `news` and `legacy` exist, `seo`'s title.
type Case = (
    &'static str,
    Value,
    Vec<&'static str>,
    &'static str,
    bool,
    bool,
    &'static str,
);

async fn each_strategy_does_what_it_names(app: TestApp) {
    let main_page = ["title:text:Title", "body:text:Main body", "hero:text:Hero"];
    let cases: Vec<Case> = vec![
        (
            "merge_prefer_base",
            json!([]),
            vec![
                "title:text:Title",
                "body:text:Main body",
                "hero:text:Hero",
                "summary:text:Summary",
            ],
            "Page",
            true,
            true,
            "SEO",
        ),
        (
            "merge_prefer_compare",
            json!([]),
            vec![
                "title:text:Title",
                "body:text:Dev body",
                "summary:text:Summary",
                "hero:text:Hero",
            ],
            "Page (dev)",
            true,
            true,
            "SEO (dev)",
        ),
        (
            "overwrite_with_compare",
            json!([]),
            vec![
                "title:text:Title",
                "body:text:Dev body",
                "summary:text:Summary",
            ],
            "Page (dev)",
            true,
            false,
            "SEO (dev)",
        ),
        (
            "merge_new_only",
            json!([]),
            main_page.to_vec(),
            "Page",
            true,
            true,
            "SEO",
        ),
        (
            "merge_modified_only_prefer_base",
            json!([]),
            vec![
                "title:text:Title",
                "body:text:Main body",
                "hero:text:Hero",
                "summary:text:Summary",
            ],
            "Page",
            false,
            true,
            "SEO",
        ),
        (
            "merge_modified_only_prefer_compare",
            json!([]),
            vec![
                "title:text:Title",
                "body:text:Dev body",
                "summary:text:Summary",
                "hero:text:Hero",
            ],
            "Page (dev)",
            false,
            true,
            "SEO (dev)",
        ),
        (
            "ignore",
            json!([{"uid": "news", "type": "content_type", "merge_strategy": "merge_new_only"},
                {"uid": "seo", "type": "global_field", "merge_strategy": "overwrite_with_compare"}]),
            main_page.to_vec(),
            "Page",
            true,
            true,
            "SEO (dev)",
        ),
    ];
    for (i, (strategy, items, page, page_title, news, legacy, seo)) in cases.into_iter().enumerate()
    {
        let w = diverged(&app, &format!("s{i}")).await;
        let (s, b) = w
            .merge(
                &app,
                &format!("base_branch=main&compare_branch=dev&default_merge_strategy={strategy}&merge_comment=try+{strategy}"),
                json!({"item_merge_strategies": items}),
            )
            .await;
        assert_eq!(s, 200, "{strategy}: {b}");
        assert_eq!(b["merge_details"]["status"], "complete", "{strategy}: {b}");
        assert_eq!(b["merge_details"]["base_branch"], "main");
        assert_eq!(b["merge_details"]["compare_branch"], "dev");
        assert_eq!(b["merge_comment"], format!("try {strategy}"));
        assert!(b["merged_at"].is_string(), "{b}");
        let job = b["uid"].as_str().unwrap().to_string();

        assert_eq!(w.fields(&app, "main", "page").await, page, "{strategy}");
        let ct = w.content_type(&app, "main", "page").await.unwrap();
        assert_eq!(ct["title"], page_title, "{strategy}");
        assert_eq!(
            w.content_type(&app, "main", "news").await.is_some(),
            news,
            "{strategy}"
        );
        assert_eq!(
            w.content_type(&app, "main", "legacy").await.is_some(),
            legacy,
            "{strategy}"
        );
        let (_, gf) = send(w.on(&app, "main", Method::GET, "/v3/global_fields/seo")).await;
        assert_eq!(gf["global_field"]["title"], seo, "{strategy}: {gf}");
        // The compare branch is never changed.
        assert_eq!(
            w.fields(&app, "dev", "page").await,
            [
                "title:text:Title",
                "body:text:Dev body",
                "summary:text:Summary"
            ],
            "{strategy}"
        );

        // The queue lists the merge, most recent first, and answers it alone by uid.
        let q = w.get(&app, "/v3/stacks/branches_queue").await;
        assert_eq!(q["queue"][0]["uid"], job.as_str());
        assert_eq!(q["queue"][0]["merge_details"]["status"], "complete");
        assert_eq!(
            q["queue"][0]["merge_details"]["configuration"]["default_merge_strategy"],
            strategy
        );
        let one = w
            .get(&app, &format!("/v3/stacks/branches_queue/{job}"))
            .await;
        assert_eq!(one["queue"].as_array().unwrap().len(), 1);
        assert_eq!(one["queue"][0]["uid"], job.as_str());
    }

    // A merge with nothing left to merge fails, changes nothing and is queued as failed.
    let w = diverged(&app, "again").await;
    let q = "base_branch=main&compare_branch=dev&default_merge_strategy=overwrite_with_compare";
    let (s, b) = w.merge(&app, q, json!({})).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = w.merge(&app, q, json!({})).await;
    assert_error(s, &b, 422, 920);
    let queue = w.get(&app, "/v3/stacks/branches_queue").await;
    assert_eq!(queue["queue"][0]["merge_details"]["status"], "failed");
    assert_eq!(queue["queue"][0]["uid"], b["merge_uid"]);
    assert!(queue["queue"][0]["merged_at"].is_null());
    assert_eq!(queue["queue"][1]["merge_details"]["status"], "complete");

    // Bad strategies are refused before anything is read.
    let (s, b) = w
        .merge(
            &app,
            "base_branch=main&compare_branch=dev&default_merge_strategy=everything",
            json!({}),
        )
        .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["default_merge_strategy"].is_array(), "{b}");
    let (s, b) = w
        .merge(
            &app,
            "base_branch=main&compare_branch=dev&default_merge_strategy=ignore",
            json!({"item_merge_strategies": [{"uid": "page", "type": "page", "merge_strategy": "x"}]}),
        )
        .await;
    assert_error(s, &b, 422, 120);
    assert!(
        b["errors"]["item_merge_strategies[0].type"].is_array(),
        "{b}"
    );
    assert!(
        b["errors"]["item_merge_strategies[0].merge_strategy"].is_array(),
        "{b}"
    );
    let (s, b) = w
        .merge(
            &app,
            "base_branch=main&compare_branch=main&default_merge_strategy=ignore",
            json!({}),
        )
        .await;
    assert_error(s, &b, 422, 120);
}

async fn a_merge_that_would_orphan_entries_changes_nothing(app: TestApp) {
    let w = diverged(&app, "orphan").await;
    // main's pages hold data in `hero`; dev changes `body` into a number.
    w.ok(
        &app,
        "main",
        Method::POST,
        "/v3/content_types/page/entries",
        json!({"entry": {"title": "Home", "body": "Welcome", "hero": "Big"}}),
    )
    .await;
    w.ok(
        &app,
        "dev",
        Method::PUT,
        "/v3/content_types/page",
        json!({"content_type": {"title": "Page (dev)", "schema": [
            {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true},
            field("body", "Dev body", "number"), field("summary", "Summary", "text")]}}),
    )
    .await;
    let before_page = w.fields(&app, "main", "page").await;

    // Prefer compare would change `body`'s type under main's entries; overwrite would also
    // remove `hero` and delete `legacy`... both refused whole: news is not created either.
    for strategy in ["merge_prefer_compare", "overwrite_with_compare"] {
        let (s, b) = w
            .merge(
                &app,
                &format!("base_branch=main&compare_branch=dev&default_merge_strategy={strategy}"),
                json!({}),
            )
            .await;
        assert_error(s, &b, 422, 920);
        let errs = b["errors"]["content_type.page"]
            .as_array()
            .expect("names page");
        assert!(
            errs.iter()
                .any(|e| e.as_str().unwrap().contains("body changes type")),
            "{b}"
        );
        assert_eq!(w.fields(&app, "main", "page").await, before_page);
        assert!(w.content_type(&app, "main", "news").await.is_none());
        assert!(w.content_type(&app, "main", "legacy").await.is_some());
        let (_, gf) = send(w.on(&app, "main", Method::GET, "/v3/global_fields/seo")).await;
        assert_eq!(gf["global_field"]["title"], "SEO");
        let q = w.get(&app, "/v3/stacks/branches_queue").await;
        assert_eq!(q["queue"][0]["merge_details"]["status"], "failed");
        assert!(!q["queue"][0]["errors"].as_array().unwrap().is_empty());
    }
    // The entry is untouched; prefer base (main's `body` wins the conflict) merges.
    let (s, b) = w
        .merge(
            &app,
            "base_branch=main&compare_branch=dev&default_merge_strategy=merge_prefer_base",
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        w.fields(&app, "main", "page").await,
        [
            "title:text:Title",
            "body:text:Main body",
            "hero:text:Hero",
            "summary:text:Summary"
        ]
    );
    let e = w.get(&app, "/v3/content_types/page/entries").await;
    assert_eq!(e["entries"][0]["hero"], "Big");
    let q = w.get(&app, "/v3/stacks/branches_queue").await;
    assert_eq!(q["queue"].as_array().unwrap().len(), 3);
}

async fn merging_is_refused_to_tokens_and_to_roles_that_cannot_create_branches(app: TestApp) {
    let w = diverged(&app, "who").await;
    let q = "/v3/stacks/branches_merge?base_branch=main&compare_branch=dev&default_merge_strategy=merge_prefer_compare";
    let (rw, _) = app.rw_token(&w.owner, &w.api_key, "rw").await;
    let (s, b) = send(
        app.with_token(Method::POST, q, &rw, &w.api_key)
            .json(&json!({})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert!(
        b["error_message"].as_str().unwrap().contains("MT-10"),
        "{b}"
    );
    // A token may read the queue (the branches module, read).
    let (s, b) =
        send(app.with_token(Method::GET, "/v3/stacks/branches_queue", &rw, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");

    app.member("cm@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "cm@example.com", "Content Manager")
        .await;
    let cm = app.login("cm@example.com").await;
    let (s, b) = send(
        app.as_user(Method::POST, q, &cm, &w.api_key)
            .json(&json!({})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert!(b["error_message"].as_str().unwrap().contains("ROLE"), "{b}");
    // Nothing merged, nothing queued.
    assert!(w.content_type(&app, "main", "news").await.is_none());
    let queue = w.get(&app, "/v3/stacks/branches_queue").await;
    assert_eq!(queue["queue"], json!([]));

    // A developer may merge.
    app.member("dev@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "dev@example.com", "Developer")
        .await;
    let dev = app.login("dev@example.com").await;
    let (s, b) = send(
        app.as_user(Method::POST, q, &dev, &w.api_key)
            .json(&json!({})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(w.content_type(&app, "main", "news").await.is_some());
}

async fn branch_settings_are_kept(app: TestApp) {
    let w = diverged(&app, "set").await;
    let settings = json!({"am_v2": {"linked_workspaces": [{"uid": "main", "space_uid": "s1", "is_default": true}]}});
    let (s, b) = send(
        app.as_user(
            Method::POST,
            "/v3/stacks/branches/dev/settings",
            &w.owner,
            &w.api_key,
        )
        .json(&json!({"branch": {"settings": settings}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Branch settings updated successfully.");
    let b = w.get(&app, "/v3/stacks/branches/dev/settings").await;
    assert_eq!(b["branch"]["settings"], settings);
    let b = w.get(&app, "/v3/stacks/branches/main/settings").await;
    assert_eq!(b["branch"]["settings"], json!({}));

    let (s, b) = send(
        app.as_user(
            Method::POST,
            "/v3/stacks/branches/dev/settings",
            &w.owner,
            &w.api_key,
        )
        .json(&json!({})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(
        app.as_user(
            Method::POST,
            "/v3/stacks/branches/nope/settings",
            &w.owner,
            &w.api_key,
        )
        .json(&json!({"branch": {"settings": {}}})),
    )
    .await;
    assert_error(s, &b, 422, 903);
    let (rw, _) = app.rw_token(&w.owner, &w.api_key, "rw").await;
    let (s, b) = send(
        app.with_token(
            Method::POST,
            "/v3/stacks/branches/dev/settings",
            &rw,
            &w.api_key,
        )
        .json(&json!({"branch": {"settings": {}}})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    // Deleting the branch takes its settings with it.
    let (s, b) = send(app.as_user(
        Method::DELETE,
        "/v3/stacks/branches/dev?force=true",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(app.as_user(
        Method::GET,
        "/v3/stacks/branches/dev/settings",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_error(s, &b, 422, 903);
}

async fn two_merges_at_once_apply_once(app: TestApp) {
    let w = diverged(&app, "race").await;
    let q = "base_branch=main&compare_branch=dev&default_merge_strategy=overwrite_with_compare";
    // The second merge into `main` waits for the first (the base branch's row is locked on
    // PostgreSQL; SQLite has one writer), then finds nothing left to merge.
    let (a, b) = tokio::join!(w.merge(&app, q, json!({})), w.merge(&app, q, json!({})));
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 422], "{} / {}", a.1, b.1);
    let queue = w.get(&app, "/v3/stacks/branches_queue").await;
    let mut seen: Vec<&str> = queue["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["merge_details"]["status"].as_str().unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, ["complete", "failed"]);
    assert!(w.content_type(&app, "main", "legacy").await.is_none());
}
