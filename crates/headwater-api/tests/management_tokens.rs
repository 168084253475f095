//! One test per management-token rule (MT-1 … MT-14 in docs/product-rules.md), each on
//! SQLite and PostgreSQL, speaking HTTP to a real server.

use futures::future::join_all;
use headwater_api::ServerConfig;
use headwater_store::repo::tokens::WhenFull;
use headwater_testkit::{assert_error, on_both_backends, send, test_config, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    mt_01_a_token_works_only_with_its_own_stacks_api_key,
    mt_02_actions_are_attributed_to_the_token,
    mt_03_a_read_write_token_creates_reads_updates_and_deletes,
    mt_04_scope_not_roles_limits_a_token,
    mt_05_only_owner_and_admins_manage_tokens,
    mt_06_expiry_and_deletion_take_effect_on_the_next_request,
    mt_07_a_read_only_token_refuses_every_write,
    mt_08_tokens_cannot_use_organization_stack_session_or_token_modules,
    mt_09_publish_request_decisions_are_refused_by_policy,
    mt_10_tokens_cannot_share_or_unshare,
    mt_11_fifty_concurrent_creates_leave_exactly_thirty,
    mt_12_rate_limits_cap_at_the_organization_and_answer_429,
    mt_13_tokens_keep_working_in_sso_strict_organizations,
    mt_14_tokens_are_listed_edited_and_stored_only_as_hashes,
    malformed_unknown_and_revoked_tokens_get_one_identical_401,
);

/// An owner, their authtoken, their organization and a stack's API key.
struct World {
    owner: String,
    org: String,
    api_key: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Blog").await;
    World {
        owner,
        org,
        api_key,
    }
}

fn env_body(name: &str) -> Value {
    json!({"environment": {"name": name, "urls": [{"locale": "en-us", "url": "https://example.com"}]}})
}

fn assert_rule(body: &Value, rule: &str) {
    let msg = body["error_message"].as_str().unwrap_or_default();
    assert!(msg.contains(rule), "expected rule {rule} in: {body}");
}

async fn mt_01_a_token_works_only_with_its_own_stacks_api_key(app: TestApp) {
    let w = world(&app).await;
    let other_key = app.stack(&w.owner, &w.org, "Shop").await;
    let (token, _) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let (status, _) =
        send(app.with_token(Method::GET, "/v3/environments", &token, &w.api_key)).await;
    assert_eq!(status, 200);
    let (status, body) =
        send(app.with_token(Method::GET, "/v3/environments", &token, &other_key)).await;
    assert_error(status, &body, 401, 105);
    let (status, body) = send(
        app.with_token(Method::POST, "/v3/environments", &token, &other_key)
            .json(&env_body("x")),
    )
    .await;
    assert_error(status, &body, 401, 105);
    // Without any api_key the request names the missing header.
    let (status, body) = send(
        app.req(Method::GET, "/v3/environments")
            .header("authorization", &token),
    )
    .await;
    assert_error(status, &body, 412, 109);
}

async fn mt_02_actions_are_attributed_to_the_token(app: TestApp) {
    let w = world(&app).await;
    let (token, token_uid) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let (status, body) = send(
        app.with_token(Method::POST, "/v3/environments", &token, &w.api_key)
            .json(&env_body("production")),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["environment"]["created_by"], token_uid.as_str());
    assert_eq!(body["environment"]["updated_by"], token_uid.as_str());

    let (status, body) =
        send(app.as_user(Method::GET, "/v3/audit-logs", &w.owner, &w.api_key)).await;
    assert_eq!(status, 200);
    let entry = body["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["module"] == "environment" && l["event_type"] == "create")
        .expect("audit entry for the environment")
        .clone();
    assert_eq!(entry["actor"]["type"], "management_token");
    assert_eq!(entry["actor"]["uid"], token_uid.as_str());
    assert_eq!(entry["created_by"], token_uid.as_str());
    // A token with read scope on the audit log can read it too.
    let (status, _) = send(app.with_token(Method::GET, "/v3/audit-logs", &token, &w.api_key)).await;
    assert_eq!(status, 200);
}

async fn mt_03_a_read_write_token_creates_reads_updates_and_deletes(app: TestApp) {
    let w = world(&app).await;
    let (token, _) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let t = |m, p: &str| app.with_token(m, p, &token, &w.api_key);
    let (s, _) = send(t(Method::POST, "/v3/environments").json(&env_body("staging"))).await;
    assert_eq!(s, 201);
    let (s, b) = send(t(Method::GET, "/v3/environments/staging")).await;
    assert_eq!(
        (s, b["environment"]["name"].clone()),
        (200, json!("staging"))
    );
    let (s, b) = send(
        t(Method::PUT, "/v3/environments/staging").json(&json!({"environment": {"name": "stage"}})),
    )
    .await;
    assert_eq!((s, b["environment"]["_version"].clone()), (200, json!(2)));
    let (s, b) = send(t(Method::GET, "/v3/environments?include_count=true")).await;
    assert_eq!((s, b["count"].clone()), (200, json!(1)));
    let (s, _) = send(t(Method::DELETE, "/v3/environments/stage")).await;
    assert_eq!(s, 200);
    let (s, b) = send(t(Method::GET, "/v3/environments/stage")).await;
    assert_error(s, &b, 422, 141);
    // Roles are a module of the stack too.
    let (s, b) = send(
        t(Method::POST, "/v3/roles").json(&json!({"role": {"name": "Reviewer", "rules": []}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, _) = send(t(Method::GET, "/v3/stacks")).await;
    assert_eq!(s, 200, "reading its own stack is allowed");
}

async fn mt_04_scope_not_roles_limits_a_token(app: TestApp) {
    let w = world(&app).await;
    let (status, body) = app
        .create_token(&w.owner, &w.api_key, json!({"name": "envs only", "scope": [{"module": "environment", "acl": {"read": true, "write": true}}]}))
        .await;
    assert_eq!(status, 201, "{body}");
    let token = body["token"]["token"].as_str().unwrap().to_string();
    let (s, _) = send(
        app.with_token(Method::POST, "/v3/environments", &token, &w.api_key)
            .json(&env_body("qa")),
    )
    .await;
    assert_eq!(s, 201);
    let (s, b) = send(app.with_token(Method::GET, "/v3/roles", &token, &w.api_key)).await;
    assert_error(s, &b, 403, 162);
    assert_rule(&b, "MT-4");
    // A branch outside the token's scope is refused.
    let (s, b) = send(
        app.with_token(Method::GET, "/v3/environments", &token, &w.api_key)
            .header("branch", "development"),
    )
    .await;
    assert!(s == 422 || s == 403, "{s} {b}");
    assert!(b["error_message"].as_str().unwrap().contains("development"));
    // Unknown modules in a scope are named in the error.
    let (s, b) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": "bad", "scope": [{"module": "organization", "acl": {"read": true}}]}),
        )
        .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["scope[0].module"].is_array(), "{b}");
}

async fn mt_05_only_owner_and_admins_manage_tokens(app: TestApp) {
    let w = world(&app).await;
    for (email, role) in [
        ("admin@example.com", "Admin"),
        ("dev@example.com", "Developer"),
        ("cm@example.com", "Content Manager"),
    ] {
        app.member(email, &w.org).await;
        app.share(&w.owner, &w.api_key, email, role).await;
    }
    let scope = json!([{"module": "$all", "acl": {"read": true, "write": true}}]);
    let admin = app.login("admin@example.com").await;
    let (s, b) = app
        .create_token(
            &admin,
            &w.api_key,
            json!({"name": "by admin", "scope": scope}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let uid = b["token"]["uid"].as_str().unwrap().to_string();
    for email in ["dev@example.com", "cm@example.com"] {
        let user = app.login(email).await;
        let (s, b) = app
            .create_token(&user, &w.api_key, json!({"name": email, "scope": scope}))
            .await;
        assert_error(s, &b, 403, 162);
        assert_rule(&b, "MT-5");
        let (s, b) = send(app.as_user(
            Method::GET,
            "/v3/stacks/management_tokens",
            &user,
            &w.api_key,
        ))
        .await;
        assert_error(s, &b, 403, 162);
        let (s, _) = send(app.as_user(
            Method::DELETE,
            &format!("/v3/stacks/management_tokens/{uid}"),
            &user,
            &w.api_key,
        ))
        .await;
        assert_eq!(s, 403);
    }
    let (s, _) = send(app.as_user(
        Method::DELETE,
        &format!("/v3/stacks/management_tokens/{uid}"),
        &admin,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200);
}

async fn mt_06_expiry_and_deletion_take_effect_on_the_next_request(app: TestApp) {
    let w = world(&app).await;
    let today = headwater_core::clock::today();
    let (token, uid) = app.rw_token(&w.owner, &w.api_key, "expiring").await;
    let path = format!("/v3/stacks/management_tokens/{uid}");
    let (s, _) = send(app.with_token(Method::GET, "/v3/environments", &token, &w.api_key)).await;
    assert_eq!(s, 200);
    // Setting the expiry to the current day invalidates the token at once.
    let (s, b) = send(
        app.as_user(Method::PUT, &path, &w.owner, &w.api_key)
            .json(&json!({"token": {"expires_on": today}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(app.with_token(Method::GET, "/v3/environments", &token, &w.api_key)).await;
    assert_error(s, &b, 401, 105);
    // Moving it into the future restores it; an exact timestamp is honoured.
    let later =
        headwater_core::clock::format(time::OffsetDateTime::now_utc() + time::Duration::hours(1));
    let (s, _) = send(
        app.as_user(Method::PUT, &path, &w.owner, &w.api_key)
            .json(&json!({"token": {"expires_on": later}})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = send(app.with_token(Method::GET, "/v3/environments", &token, &w.api_key)).await;
    assert_eq!(s, 200);
    // Deleting invalidates at once.
    let (s, b) = send(app.as_user(Method::DELETE, &path, &w.owner, &w.api_key)).await;
    assert_eq!(
        (s, b["notice"].clone()),
        (200, json!("Management Token deleted successfully."))
    );
    let (s, b) = send(app.with_token(Method::GET, "/v3/environments", &token, &w.api_key)).await;
    assert_error(s, &b, 401, 105);
    // A replacement can be created; a new token may not start out expired.
    let (replacement, _) = app.rw_token(&w.owner, &w.api_key, "replacement").await;
    let (s, _) =
        send(app.with_token(Method::GET, "/v3/environments", &replacement, &w.api_key)).await;
    assert_eq!(s, 200);
    let (s, b) = app
        .create_token(&w.owner, &w.api_key, json!({"name": "stale", "scope": [{"module": "$all", "acl": {"read": true}}], "expires_on": "2001-01-01"}))
        .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["expires_on"].is_array());
    let (s, b) = app
        .create_token(&w.owner, &w.api_key, json!({"name": "junk date", "scope": [{"module": "$all", "acl": {"read": true}}], "expires_on": "next tuesday"}))
        .await;
    assert_error(s, &b, 422, 120);
}

async fn mt_07_a_read_only_token_refuses_every_write(app: TestApp) {
    let w = world(&app).await;
    send(
        app.as_user(Method::POST, "/v3/environments", &w.owner, &w.api_key)
            .json(&env_body("production")),
    )
    .await;
    let (token, _) = app.ro_token(&w.owner, &w.api_key, "reader").await;
    let t = |m, p: &str| app.with_token(m, p, &token, &w.api_key);
    let (s, _) = send(t(Method::GET, "/v3/environments")).await;
    assert_eq!(s, 200);
    let (s, _) = send(t(Method::GET, "/v3/environments/production")).await;
    assert_eq!(s, 200);
    for (m, p, body) in [
        (Method::POST, "/v3/environments", env_body("x")),
        (Method::PUT, "/v3/environments/production", env_body("y")),
        (Method::DELETE, "/v3/environments/production", json!({})),
        (Method::POST, "/v3/roles", json!({"role": {"name": "r"}})),
    ] {
        let (s, b) = send(t(m, p).json(&body)).await;
        assert_error(s, &b, 403, 162);
        assert_rule(&b, "MT-7");
    }
    let (s, b) = send(t(Method::GET, "/v3/environments/production")).await;
    assert_eq!(
        (s, b["environment"]["_version"].clone()),
        (200, json!(1)),
        "nothing changed"
    );

    // Publishing is a write too.
    let ct = json!({"content_type": {"title": "Blog", "uid": "blog", "schema": [
        {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}]}});
    let (s, _) = send(
        app.as_user(Method::POST, "/v3/content_types", &w.owner, &w.api_key)
            .json(&ct),
    )
    .await;
    assert_eq!(s, 201);
    let (s, b) = send(
        app.as_user(
            Method::POST,
            "/v3/content_types/blog/entries",
            &w.owner,
            &w.api_key,
        )
        .json(&json!({"entry": {"title": "Hello"}})),
    )
    .await;
    assert_eq!(s, 201);
    let entry = format!(
        "/v3/content_types/blog/entries/{}",
        b["entry"]["uid"].as_str().unwrap()
    );
    let publish = json!({"entry": {"environments": ["production"], "locales": ["en-us"]}});
    for action in ["publish", "unpublish"] {
        let (s, b) = send(t(Method::POST, &format!("{entry}/{action}")).json(&publish)).await;
        assert_error(s, &b, 403, 162);
        assert_rule(&b, "MT-7");
    }
    let (s, b) = send(
        t(Method::POST, "/v3/content_types/blog/entries").json(&json!({"entry": {"title": "No"}})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(t(Method::GET, &entry)).await;
    assert_eq!((s, b["entry"]["publish_details"].clone()), (200, json!([])));
}

async fn mt_08_tokens_cannot_use_organization_stack_session_or_token_modules(app: TestApp) {
    let w = world(&app).await;
    let (token, uid) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let t = |m, p: &str| app.with_token(m, p, &token, &w.api_key);
    let org_path = format!("/v3/organizations/{}", w.org);
    let token_path = format!("/v3/stacks/management_tokens/{uid}");
    let cases = [
        (Method::GET, "/v3/organizations", json!({})),
        (Method::GET, org_path.as_str(), json!({})),
        (Method::POST, "/v3/stacks", json!({"stack": {"name": "x"}})),
        (
            Method::PUT,
            "/v3/stacks",
            json!({"stack": {"name": "renamed"}}),
        ),
        (Method::DELETE, "/v3/stacks", json!({})),
        (Method::DELETE, "/v3/user-session", json!({})),
        (Method::GET, "/v3/user", json!({})),
        (Method::GET, "/v3/stacks/management_tokens", json!({})),
        (
            Method::POST,
            "/v3/stacks/management_tokens",
            json!({"token": {"name": "child", "scope": [{"module": "$all", "acl": {"read": true}}]}}),
        ),
        (Method::GET, token_path.as_str(), json!({})),
        (Method::DELETE, token_path.as_str(), json!({})),
    ];
    for (m, p, body) in cases {
        let (s, b) = send(t(m.clone(), p).json(&body)).await;
        assert_error(s, &b, 403, 162);
        assert_rule(&b, "MT-8");
        let msg = b["error_message"].as_str().unwrap();
        assert!(msg.contains("management token"), "{m} {p}: {msg}");
    }
    let (s, b) = send(app.as_user(Method::GET, "/v3/stacks", &w.owner, &w.api_key)).await;
    assert_eq!(
        (s, b["stack"]["name"].clone()),
        (200, json!("Blog")),
        "the stack was not renamed or deleted"
    );
    let (s, _) = send(t(Method::GET, "/v3/environments")).await;
    assert_eq!(s, 200, "the token itself still works");
}

async fn mt_09_publish_request_decisions_are_refused_by_policy(app: TestApp) {
    // Accepting (1) or rejecting (-1) a publish request is refused to a management token before
    // anything else is looked at; the full flow is in tests/workflows.rs.
    let w = world(&app).await;
    let (token, _) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    for status in [1, -1] {
        let (s, b) = send(
            app.with_token(Method::POST, "/v3/content_types/blog/entries/blt0000000000000001/workflow", &token, &w.api_key)
                .json(&json!({"workflow": {"publishing_rule": {"uid": "x", "action": "publish", "status": status}}})),
        )
        .await;
        assert_error(s, &b, 403, 162);
        assert!(b["error_message"].as_str().unwrap().contains("MT-9"), "{b}");
    }
}

async fn mt_10_tokens_cannot_share_or_unshare(app: TestApp) {
    let w = world(&app).await;
    app.member("dev@example.com", &w.org).await;
    app.member("new@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "dev@example.com", "Developer")
        .await;
    let role = app.role_uid(&w.owner, &w.api_key, "Developer").await;
    let (token, _) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/stacks/share", &token, &w.api_key)
            .json(&json!({"emails": ["new@example.com"], "roles": {"new@example.com": [role]}})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert_rule(&b, "MT-10");
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/stacks/unshare", &token, &w.api_key)
            .json(&json!({"email": "dev@example.com"})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert_rule(&b, "MT-10");
    let (s, b) = send(app.as_user(Method::GET, "/v3/stacks/users", &w.owner, &w.api_key)).await;
    assert_eq!(s, 200);
    assert_eq!(
        b["users"].as_array().unwrap().len(),
        2,
        "membership unchanged: {b}"
    );
}

async fn mt_11_fifty_concurrent_creates_leave_exactly_thirty(app: TestApp) {
    let w = world(&app).await;
    let attempts = (0..50).map(|i| {
        app.create_token(
            &w.owner,
            &w.api_key,
            json!({"name": format!("token {i}"), "scope": [{"module": "$all", "acl": {"read": true}}]}),
        )
    });
    let results = join_all(attempts).await;
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let refused: Vec<_> = results.iter().filter(|(s, _)| *s != 201).collect();
    assert_eq!(created, 30, "{:?}", refused.first());
    for (s, b) in &refused {
        assert_error(*s, b, 422, 171);
        assert_rule(b, "MT-11");
    }
    let (s, b) = send(app.as_user(
        Method::GET,
        "/v3/stacks/management_tokens?include_count=true",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!((s, b["count"].clone()), (200, json!(30)));

    // The operator raises this stack's maximum; one more fits, and no more.
    headwater_api::admin::set_stack_token_limit(&app.db, &w.api_key, Some(31))
        .await
        .unwrap();
    let body =
        json!({"name": "thirty-first", "scope": [{"module": "$all", "acl": {"read": true}}]});
    let (s, _) = app.create_token(&w.owner, &w.api_key, body.clone()).await;
    assert_eq!(s, 201);
    let (s, b) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": "one too many", "scope": [{"module": "$all", "acl": {"read": true}}]}),
        )
        .await;
    assert_error(s, &b, 422, 171);

    // The Contentstack-identical mode expires the oldest instead of refusing.
    let config = ServerConfig {
        when_tokens_full: WhenFull::ExpireOldest,
        max_management_tokens: 2,
        ..test_config()
    };
    let Some(evicting) = TestApp::spawn_with(app.backend, config).await else {
        return;
    };
    let w2 = world(&evicting).await;
    let (first, _) = evicting.rw_token(&w2.owner, &w2.api_key, "first").await;
    evicting.rw_token(&w2.owner, &w2.api_key, "second").await;
    let (third, _) = evicting.rw_token(&w2.owner, &w2.api_key, "third").await;
    let (s, _) =
        send(evicting.with_token(Method::GET, "/v3/environments", &first, &w2.api_key)).await;
    assert_eq!(s, 401, "the oldest token was expired");
    let (s, _) =
        send(evicting.with_token(Method::GET, "/v3/environments", &third, &w2.api_key)).await;
    assert_eq!(s, 200);
}

async fn mt_12_rate_limits_cap_at_the_organization_and_answer_429(app: TestApp) {
    let w = world(&app).await;
    headwater_api::admin::set_org_limits(&app.db, &w.org, Some(5), Some(5), None)
        .await
        .unwrap();
    let scope = json!([{"module": "$all", "acl": {"read": true, "write": true}}]);
    let (s, b) = app
        .create_token(&w.owner, &w.api_key, json!({"name": "greedy", "scope": scope, "rate_limit_enabled": true, "rate_limit": {"read": 6, "write": 1}}))
        .await;
    assert_error(s, &b, 422, 120);
    let why = b["errors"]["rate_limit.read"][0]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("MT-12") && why.contains('5'), "{b}");

    let (s, b) = app
        .create_token(&w.owner, &w.api_key, json!({"name": "slow", "scope": scope, "rate_limit_enabled": true, "rate_limit": {"read": 2, "write": 1}}))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["token"]["rate_limit"], json!({"read": 2, "write": 1}));
    let slow = b["token"]["token"].as_str().unwrap().to_string();
    let (other, _) = app.rw_token(&w.owner, &w.api_key, "other").await;

    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let r = app
            .with_token(Method::GET, "/v3/environments", &slow, &w.api_key)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        last = Some(r);
    }
    assert_eq!(&statuses[..2], &[200, 200], "{statuses:?}");
    assert_eq!(statuses[2], 429, "{statuses:?}");
    let r = last.unwrap();
    let h = r.headers().clone();
    assert_eq!(h["x-ratelimit-limit"], "2");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let b: Value = r.json().await.unwrap();
    assert_error(429, &b, 429, 429);

    // Writes are counted apart from reads; another token has its own budget (within the org's).
    let (s, _) = send(
        app.with_token(Method::POST, "/v3/environments", &slow, &w.api_key)
            .json(&env_body("one")),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = send(
        app.with_token(Method::POST, "/v3/environments", &slow, &w.api_key)
            .json(&env_body("two")),
    )
    .await;
    assert_eq!(s, 429);
    let r = app
        .with_token(Method::GET, "/v3/environments", &other, &w.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-ratelimit-remaining"));

    // Editing the limit above the organization's is refused too.
    let (_, list) = send(app.as_user(
        Method::GET,
        "/v3/stacks/management_tokens",
        &w.owner,
        &w.api_key,
    ))
    .await;
    let uid = list["tokens"][0]["uid"].as_str().unwrap().to_string();
    let (s, b) = send(
        app.as_user(
            Method::PUT,
            &format!("/v3/stacks/management_tokens/{uid}"),
            &w.owner,
            &w.api_key,
        )
        .json(&json!({"token": {"rate_limit": {"write": 50}}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["rate_limit.write"].is_array());
}

async fn mt_13_tokens_keep_working_in_sso_strict_organizations(app: TestApp) {
    let w = world(&app).await;
    app.member("member@example.com", &w.org).await;
    let (token, _) = app.rw_token(&w.owner, &w.api_key, "integration").await;
    headwater_api::admin::set_sso_strict(&app.db, &w.org, true)
        .await
        .unwrap();
    let (s, b) = send(app.req(Method::POST, "/v3/user-session").json(
        &json!({"user": {"email": "member@example.com", "password": headwater_testkit::PASSWORD}}),
    ))
    .await;
    assert_error(s, &b, 403, 151);
    let (s, _) = send(
        app.with_token(Method::POST, "/v3/environments", &token, &w.api_key)
            .json(&env_body("production")),
    )
    .await;
    assert_eq!(s, 201);
}

async fn mt_14_tokens_are_listed_edited_and_stored_only_as_hashes(app: TestApp) {
    let w = world(&app).await;
    let (s, b) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({
                "name": "Deploy bot", "description": "CI deploys",
                "scope": [{"module": "environment", "acl": {"read": true, "write": true}},
                          {"module": "branch", "branches": ["main"], "acl": {"read": true}}],
                "expires_on": "2099-12-31", "is_email_notification_enabled": true
            }),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["notice"], "Management Token created successfully.");
    let secret = b["token"]["token"].as_str().unwrap().to_string();
    let uid = b["token"]["uid"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("hwmt_")
            && headwater_core::secret::well_formed(
                headwater_core::secret::SecretKind::ManagementToken,
                &secret
            )
    );

    let (s, list) = send(app.as_user(
        Method::GET,
        "/v3/stacks/management_tokens",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200);
    let item = &list["tokens"][0];
    assert!(
        item.get("token").is_none(),
        "list never shows the secret: {item}"
    );
    assert_eq!(item["name"], "Deploy bot");
    assert_eq!(item["description"], "CI deploys");
    assert_eq!(item["expires_on"], "2099-12-31");
    assert_eq!(item["is_email_notification_enabled"], true);
    assert_eq!(item["scope"][1]["branches"], json!(["main"]));
    assert!(item["created_by"].as_str().unwrap().starts_with("blt"));
    assert!(!list.to_string().contains(&secret));

    let path = format!("/v3/stacks/management_tokens/{uid}");
    let (s, b) = send(app.as_user(Method::PUT, &path, &w.owner, &w.api_key).json(
        &json!({"token": {
            "name": "Deploy bot v2", "description": "", "expires_on": null,
            "is_email_notification_enabled": false,
            "scope": [{"module": "$all", "acl": {"read": true}}],
            "token": "hwmt_attempt_to_set_a_secret", "uid": "bltforged", "created_by": "someone"
        }}),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["token"]["name"], "Deploy bot v2");
    assert_eq!(b["token"]["expires_on"], Value::Null);
    assert_eq!(b["token"]["uid"], uid.as_str());
    assert!(b["token"].get("token").is_none());
    let (s, b) = send(app.as_user(Method::GET, &path, &w.owner, &w.api_key)).await;
    assert_eq!(s, 200);
    assert_eq!(
        b["token"]["scope"],
        json!([{"module": "$all", "acl": {"read": true, "write": false}}])
    );
    // The secret still works (the forged `token` field changed nothing) and is now read-only.
    let (s, _) = send(app.with_token(Method::GET, "/v3/environments", &secret, &w.api_key)).await;
    assert_eq!(s, 200);
    let (s, _) = send(
        app.with_token(Method::POST, "/v3/environments", &secret, &w.api_key)
            .json(&env_body("x")),
    )
    .await;
    assert_eq!(s, 403);

    // Only the hash is stored.
    let mut c = app.db.reader().await.unwrap();
    let rows = sqlx_rows(&mut c).await;
    assert!(!rows.iter().any(|r| r.contains(&secret)));
    assert!(rows
        .iter()
        .any(|r| r.contains(&headwater_core::secret::hash(&secret))));
    // last_used_at is recorded (off the request path, so give it a moment).
    let mut seen = false;
    for _ in 0..50 {
        let (_, b) = send(app.as_user(Method::GET, &path, &w.owner, &w.api_key)).await;
        if b["token"]["last_used_at"].is_string() {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen, "last_used_at was never set");
}

async fn sqlx_rows(c: &mut headwater_store::repo::Conn) -> Vec<String> {
    headwater_store::repo::tokens::dump_for_tests(c)
        .await
        .unwrap()
}

async fn malformed_unknown_and_revoked_tokens_get_one_identical_401(app: TestApp) {
    let w = world(&app).await;
    let (token, uid) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let mut flipped: Vec<char> = token.chars().collect();
    flipped[8] = if flipped[8] == 'a' { 'b' } else { 'a' };
    let flipped: String = flipped.into_iter().collect();
    let unknown =
        headwater_core::secret::generate(headwater_core::secret::SecretKind::ManagementToken)
            .plaintext;
    let wrong_prefix = token.replacen("hwmt_", "hwat_", 1);
    send(app.as_user(
        Method::DELETE,
        &format!("/v3/stacks/management_tokens/{uid}"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    let mut bodies = Vec::new();
    for candidate in [
        "garbage",
        flipped.as_str(),
        unknown.as_str(),
        wrong_prefix.as_str(),
        token.as_str(),
        "Bearer abc",
    ] {
        let (s, b) =
            send(app.with_token(Method::GET, "/v3/environments", candidate, &w.api_key)).await;
        assert_error(s, &b, 401, 105);
        bodies.push(b);
    }
    assert!(bodies.windows(2).all(|p| p[0] == p[1]));
}
