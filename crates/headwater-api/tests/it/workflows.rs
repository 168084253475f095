//! Workflows, publish rules and publish requests on both backends: a publish under a rule
//! becomes a request; only the rule's approvers (with an authtoken) accept or reject it —
//! never a management token (MT-9); stages gate who moves entries and which rule applies.

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    a_publish_under_a_rule_waits_for_an_approver,
    stages_limit_who_moves_entries_and_when_a_rule_applies,
    workflow_and_rule_management_is_validated_and_authorized,
);

struct World {
    owner: String,
    org: String,
    api_key: String,
    env_uid: String,
    entry: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Site").await;
    let u = |m, p: &str| app.as_user(m, p, &owner, &api_key);
    let (s, b) = send(
        u(Method::POST, "/v3/environments").json(&json!({"environment": {"name": "production"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let env_uid = b["environment"]["uid"].as_str().unwrap().to_string();
    let (s, b) = send(u(Method::POST, "/v3/content_types").json(
        &json!({"content_type": {"title": "Page", "uid": "page", "schema": [
            {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}]}}),
    ))
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = send(
        u(Method::POST, "/v3/content_types/page/entries")
            .json(&json!({"entry": {"title": "Home"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    World {
        entry: b["entry"]["uid"].as_str().unwrap().to_string(),
        owner,
        org,
        api_key,
        env_uid,
    }
}

impl World {
    /// A stack member with a built-in role; returns (user uid, authtoken).
    async fn person(&self, app: &TestApp, email: &str, role: &str) -> (String, String) {
        let uid = app.member(email, &self.org).await;
        app.share(&self.owner, &self.api_key, email, role).await;
        (uid, app.login(email).await)
    }

    fn entry_path(&self, tail: &str) -> String {
        format!("/v3/content_types/page/entries/{}{tail}", self.entry)
    }

    async fn publish(&self, app: &TestApp, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let _ = app;
        send(rb.json(&json!({"entry": {"environments": ["production"], "locales": ["en-us"]}})))
            .await
    }

    /// The versions of the entry live on production.
    async fn live(&self, app: &TestApp) -> Vec<i64> {
        let (s, b) = send(app.as_user(
            Method::GET,
            &self.entry_path(""),
            &self.owner,
            &self.api_key,
        ))
        .await;
        assert_eq!(s, 200, "{b}");
        b["entry"]["publish_details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["version"].as_i64().unwrap())
            .collect()
    }

    async fn decide(
        &self,
        rb: reqwest::RequestBuilder,
        rule: &str,
        status: i64,
        comment: &str,
    ) -> (u16, Value) {
        send(
            rb.query(&[("locale", "en-us")])
                .json(&json!({"workflow": {"publishing_rule": {
            "uid": rule, "action": "publish", "status": status, "comment": comment}}})),
        )
        .await
    }
}

async fn a_publish_under_a_rule_waits_for_an_approver(app: TestApp) {
    let w = world(&app).await;
    let (ann, ann_at) = w.person(&app, "ann@example.com", "Content Manager").await;
    let (_, bob_at) = w.person(&app, "bob@example.com", "Content Manager").await;
    let (mt, _) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let (s, b) = send(
        app.as_user(
            Method::POST,
            "/v3/workflows/publishing_rules",
            &w.owner,
            &w.api_key,
        )
        .json(
            &json!({"publishing_rule": {"environment": w.env_uid, "actions": ["publish"],
                "content_types": ["page"], "locales": ["en-us"], "branches": ["main"],
                "approvers": {"users": [ann], "roles": []}}}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "Publish rule created successfully.");
    let rule = b["publishing_rule"]["uid"].as_str().unwrap().to_string();
    let wf = w.entry_path("/workflow");

    // Bob is no approver: his publish becomes a request and nothing goes live.
    let (s, b) = w
        .publish(
            &app,
            app.as_user(Method::POST, &w.entry_path("/publish"), &bob_at, &w.api_key),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["publish_requests"][0]["status"], "pending");
    assert_eq!(b["publish_requests"][0]["publishing_rule"], rule.as_str());
    assert!(w.live(&app).await.is_empty());
    // So does a read-write management token's, and it joins the same pending request.
    let (s, b) = w
        .publish(
            &app,
            app.with_token(Method::POST, &w.entry_path("/publish"), &mt, &w.api_key),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    assert!(w.live(&app).await.is_empty());

    // MT-9: the token cannot accept (or reject), and the refusal names the rule.
    for status in [1, -1] {
        let (s, b) = w
            .decide(
                app.with_token(Method::POST, &wf, &mt, &w.api_key),
                &rule,
                status,
                "",
            )
            .await;
        assert_error(s, &b, 403, 162);
        assert!(b["error_message"].as_str().unwrap().contains("MT-9"), "{b}");
    }
    // A user who is not an approver is refused too (WF-1), even the stack's owner.
    for at in [&bob_at, &w.owner] {
        let (s, b) = w
            .decide(app.as_user(Method::POST, &wf, at, &w.api_key), &rule, 1, "")
            .await;
        assert_error(s, &b, 403, 162);
        assert!(b["error_message"].as_str().unwrap().contains("WF-1"), "{b}");
    }
    assert!(w.live(&app).await.is_empty());

    // The approver sees the request among her assignments and accepts it: version 1 goes live.
    let (s, b) = send(app.as_user(Method::GET, "/v3/user/assignments", &ann_at, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["assignments"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["assignments"][0]["entry_uid"], w.entry.as_str());
    let (s, b) = w
        .decide(
            app.as_user(Method::POST, &wf, &ann_at, &w.api_key),
            &rule,
            1,
            "Looks good",
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["notice"],
        "You have accepted the request to publish entry on production environment."
    );
    assert_eq!(w.live(&app).await, [1]);
    // Nothing is pending any more.
    let (s, b) = w
        .decide(
            app.as_user(Method::POST, &wf, &ann_at, &w.api_key),
            &rule,
            1,
            "",
        )
        .await;
    assert_error(s, &b, 422, 120);

    // Version 2, requested through the workflow endpoint, rejected with a reason: v1 stays live.
    let (s, b) = send(
        app.as_user(Method::PUT, &w.entry_path(""), &bob_at, &w.api_key)
            .json(&json!({"entry": {"title": "Home, rewritten"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = w
        .decide(
            app.with_token(Method::POST, &wf, &mt, &w.api_key),
            &rule,
            0,
            "please",
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["notice"],
        "You have sent an approval request to publish the entry on production environment."
    );
    let (s, b) = w
        .decide(
            app.as_user(Method::POST, &wf, &ann_at, &w.api_key),
            &rule,
            -1,
            "Fix the title",
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["notice"],
        "You have rejected the request to publish entry on production environment."
    );
    assert_eq!(w.live(&app).await, [1]);
    // The requester reads why.
    let (s, b) = send(app.as_user(Method::GET, &wf, &bob_at, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    let reqs = b["workflow"]["publish_requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0]["status"], "rejected");
    assert_eq!(reqs[0]["version"], 2);
    assert_eq!(reqs[0]["decision_comment"], "Fix the title");
    assert_eq!(reqs[1]["status"], "approved");

    // The approver herself publishes directly (the rule does not disable approver publishing).
    let (s, b) = w
        .publish(
            &app,
            app.as_user(Method::POST, &w.entry_path("/publish"), &ann_at, &w.api_key),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "The requested action has been performed.");
    assert_eq!(w.live(&app).await, [2]);

    // Unpublishing is not under the rule.
    let (s, b) = w
        .publish(
            &app,
            app.as_user(
                Method::POST,
                &w.entry_path("/unpublish"),
                &bob_at,
                &w.api_key,
            ),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(w.live(&app).await.is_empty());

    // A pending request goes with its entry.
    let (s, _) = w
        .publish(
            &app,
            app.as_user(Method::POST, &w.entry_path("/publish"), &bob_at, &w.api_key),
        )
        .await;
    assert_eq!(s, 202);
    let assigned = |app: &TestApp| {
        let rb = app.as_user(Method::GET, "/v3/user/assignments", &ann_at, &w.api_key);
        async move { send(rb).await.1["assignments"].as_array().unwrap().len() }
    };
    assert_eq!(assigned(&app).await, 1);
    let (s, _) = send(app.as_user(Method::DELETE, &w.entry_path(""), &w.owner, &w.api_key)).await;
    assert_eq!(s, 200);
    assert_eq!(assigned(&app).await, 0);
}

async fn stages_limit_who_moves_entries_and_when_a_rule_applies(app: TestApp) {
    let w = world(&app).await;
    let (rev, rev_at) = w.person(&app, "rev@example.com", "Content Manager").await;
    let (ann, ann_at) = w.person(&app, "ann@example.com", "Content Manager").await;
    let (_, bob_at) = w.person(&app, "bob@example.com", "Content Manager").await;
    let (mt, _) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let acl = |users: Value| json!({"others": {}, "users": {"uids": users}, "roles": {"uids": []}});
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/workflows", &w.owner, &w.api_key).json(&json!({"workflow": {
            "name": "Editorial", "content_types": ["page"], "branches": ["main"],
            "workflow_stages": [
                {"uid": "draft", "name": "Draft", "next_available_stages": ["review"], "SYS_ACL": acl(json!(["$all"]))},
                {"uid": "review", "name": "Review", "next_available_stages": ["$all"], "SYS_ACL": acl(json!([rev]))},
                {"uid": "approved", "name": "Approved", "SYS_ACL": acl(json!([]))}
            ]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let wf_uid = b["workflow"]["uid"].as_str().unwrap().to_string();
    assert_eq!(
        b["workflow"]["workflow_stages"].as_array().unwrap().len(),
        3
    );
    let stage = |rb: reqwest::RequestBuilder, uid: &str| {
        send(rb.query(&[("locale", "en-us")]).json(
            &json!({"workflow": {"workflow_stage": {"uid": uid, "comment": format!("to {uid}"), "notify": false}}}),
        ))
    };
    let wf = w.entry_path("/workflow");

    // Draft is open to everyone, a management token included.
    let (s, b) = stage(app.with_token(Method::POST, &wf, &mt, &w.api_key), "draft").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Workflow stage updated successfully.");
    // Review admits only the reviewer: not the token, not Bob.
    let (s, b) = stage(app.with_token(Method::POST, &wf, &mt, &w.api_key), "review").await;
    assert_error(s, &b, 403, 162);
    assert!(b["error_message"].as_str().unwrap().contains("WF-3"), "{b}");
    let (s, b) = stage(
        app.as_user(Method::POST, &wf, &bob_at, &w.api_key),
        "review",
    )
    .await;
    assert_error(s, &b, 403, 162);
    // From Draft only Review may follow, whoever asks.
    let (s, b) = stage(
        app.as_user(Method::POST, &wf, &w.owner, &w.api_key),
        "approved",
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = stage(
        app.as_user(Method::POST, &wf, &rev_at, &w.api_key),
        "review",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = stage(
        app.as_user(Method::POST, &wf, &rev_at, &w.api_key),
        "nowhere",
    )
    .await;
    assert_error(s, &b, 422, 120);

    // A rule that applies only from Approved, approved by Ann.
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/workflows/publishing_rules", &w.owner, &w.api_key)
            .json(&json!({"publishing_rule": {"workflow": wf_uid, "workflow_stage": "approved",
                "environment": "production", "actions": ["publish"], "content_types": ["page"],
                "locales": ["en-us"], "approvers": {"users": [ann]}, "disable_approver_publishing": true}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let rule = b["publishing_rule"]["uid"].as_str().unwrap().to_string();
    let (s, b) = w
        .publish(
            &app,
            app.as_user(Method::POST, &w.entry_path("/publish"), &bob_at, &w.api_key),
        )
        .await;
    assert_error(s, &b, 422, 120);
    assert!(
        b["error_message"].as_str().unwrap().contains("Approved"),
        "{b}"
    );

    // The owner (an admin may always move entries) moves it to Approved; now publishing is a request,
    // even for the approver, since this rule disables approver publishing.
    let (s, b) = stage(
        app.as_user(Method::POST, &wf, &w.owner, &w.api_key),
        "approved",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = w
        .publish(
            &app,
            app.as_user(Method::POST, &w.entry_path("/publish"), &ann_at, &w.api_key),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let (s, b) = w
        .decide(
            app.as_user(Method::POST, &wf, &ann_at, &w.api_key),
            &rule,
            1,
            "",
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(w.live(&app).await, [1]);

    // The entry's workflow: its stage and the history of moves.
    let (s, b) = send(app.as_user(Method::GET, &wf, &bob_at, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["workflow"]["workflow_stage"]["uid"], "approved");
    assert_eq!(b["workflow"]["workflow_stage"]["name"], "Approved");
    let history: Vec<&str> = b["workflow"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["workflow_stage"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["draft", "review", "approved"]);
    assert_eq!(b["workflow"]["history"][1]["comment"], "to review");
}

async fn workflow_and_rule_management_is_validated_and_authorized(app: TestApp) {
    let w = world(&app).await;
    let (_, cm_at) = w.person(&app, "cm@example.com", "Content Manager").await;
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "ro").await;
    let (rw, _) = app.rw_token(&w.owner, &w.api_key, "rw").await;
    let body = json!({"workflow": {"name": "Editorial", "content_types": ["page"],
        "workflow_stages": [{"name": "Draft"}, {"name": "Done"}]}});

    let (s, b) = send(
        app.as_user(Method::POST, "/v3/workflows", &cm_at, &w.api_key)
            .json(&body),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/workflows", &ro, &w.api_key)
            .json(&body),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert!(b["error_message"].as_str().unwrap().contains("MT-7"), "{b}");
    for (bad, field) in [
        (
            json!({"workflow": {"name": "x", "workflow_stages": []}}),
            "workflow_stages",
        ),
        (
            json!({"workflow": {"name": "x", "content_types": ["nope"], "workflow_stages": [{"name": "A"}]}}),
            "content_types",
        ),
        (
            json!({"workflow": {"name": "x", "branches": ["nope"], "workflow_stages": [{"name": "A"}]}}),
            "branches",
        ),
        (
            json!({"workflow": {"workflow_stages": [{"name": "A"}]}}),
            "name",
        ),
        (
            json!({"workflow": {"name": "x", "workflow_stages": [{"color": "red"}]}}),
            "workflow_stages[0].name",
        ),
    ] {
        let (s, b) = send(
            app.as_user(Method::POST, "/v3/workflows", &w.owner, &w.api_key)
                .json(&bad),
        )
        .await;
        assert_error(s, &b, 422, 120);
        assert!(b["errors"].get(field).is_some(), "{field}: {b}");
    }
    // A management token with write scope on workflows may manage them.
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/workflows", &rw, &w.api_key)
            .json(&body),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let uid = b["workflow"]["uid"].as_str().unwrap().to_string();
    let stage_uid = b["workflow"]["workflow_stages"][0]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!stage_uid.is_empty());
    // One workflow per content type and branch.
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/workflows", &w.owner, &w.api_key)
            .json(&body),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(app.with_token(Method::GET, "/v3/workflows", &ro, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["workflows"].as_array().unwrap().len(), 1);
    let path = format!("/v3/workflows/{uid}");
    let (s, b) = send(app.as_user(
        Method::GET,
        &format!("{path}/disable"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["workflow"]["enabled"], false);
    let (s, b) =
        send(app.as_user(Method::GET, &format!("{path}/enable"), &w.owner, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["workflow"]["enabled"], true);
    let (s, b) = send(
        app.as_user(Method::PUT, &path, &w.owner, &w.api_key)
            .json(&json!({"workflow": {"name": "Renamed"}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["workflow"]["name"], "Renamed");
    assert_eq!(
        b["workflow"]["workflow_stages"][0]["uid"],
        stage_uid.as_str()
    );

    // Rules: an approver is required, the environment and stage must exist.
    let rules = "/v3/workflows/publishing_rules";
    for (bad, field) in [
        (
            json!({"publishing_rule": {"environment": "production", "actions": ["publish"]}}),
            "approvers",
        ),
        (
            json!({"publishing_rule": {"environment": "nowhere", "approvers": {"users": ["x"]}}}),
            "environment",
        ),
        (
            json!({"publishing_rule": {"environment": "production", "actions": ["delete"], "approvers": {"users": ["x"]}}}),
            "actions",
        ),
        (
            json!({"publishing_rule": {"environment": "production", "workflow": uid, "workflow_stage": "nope", "approvers": {"users": ["x"]}}}),
            "workflow_stage",
        ),
    ] {
        let (s, b) = send(
            app.as_user(Method::POST, rules, &w.owner, &w.api_key)
                .json(&bad),
        )
        .await;
        assert_error(s, &b, 422, 120);
        assert!(b["errors"].get(field).is_some(), "{field}: {b}");
    }
    let (s, b) = send(app.as_user(Method::POST, rules, &w.owner, &w.api_key).json(
        &json!({"publishing_rule": {"environment": "production", "workflow": uid, "workflow_stage": stage_uid,
            "content_types": ["page"], "approvers": {"users": [], "roles": ["someone"]}}}),
    ))
    .await;
    assert_eq!(s, 201, "{b}");
    let rule = b["publishing_rule"]["uid"].as_str().unwrap().to_string();
    let (s, b) = send(app.with_token(
        Method::GET,
        &format!("{rules}?content_types=page&include_count=true"),
        &ro,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], 1);
    let (s, b) = send(app.as_user(
        Method::GET,
        "/v3/workflows/content_type/page?action=publish&environment=production&locale=en-us",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["publishing_rules"][0]["uid"], rule.as_str());
    // A workflow a rule depends on stays until the rule goes.
    let (s, b) = send(app.as_user(Method::DELETE, &path, &w.owner, &w.api_key)).await;
    assert_error(s, &b, 422, 120);
    let (s, _) = send(app.as_user(
        Method::DELETE,
        &format!("{rules}/{rule}"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200);
    let (s, b) = send(app.as_user(Method::DELETE, &path, &w.owner, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Workflow deleted successfully.");
    let (s, b) = send(app.as_user(Method::GET, &path, &w.owner, &w.api_key)).await;
    assert_error(s, &b, 422, 141);
}
