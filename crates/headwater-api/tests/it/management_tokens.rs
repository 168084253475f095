//! One test per management-token rule (MT-1 … MT-14 in docs/product-rules.md), each on
//! SQLite and PostgreSQL, speaking HTTP to a real server.

use crate::common::{smtp_sink, world, World};
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
    mt_15_rotation_keeps_the_old_secret_for_its_grace_then_detects_reuse,
    mt_16_bound_tokens_work_only_from_their_address_ranges,
    mt_17_reported_leaks_are_revoked_without_saying_which,
    mt_18_scopes_narrow_to_content_types_and_publish_environments,
    mt_19_usage_is_counted_per_day_with_the_last_five_addresses,
    mt_20_the_organization_limits_token_lifetime,
);

/// An owner, their authtoken, their organization and a stack's API key.
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
    // MT-8: the stack module itself (GET /v3/stacks included) is not for management tokens.
    let (s, b) = send(t(Method::GET, "/v3/stacks")).await;
    assert_error(s, &b, 403, 162);
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
        (Method::GET, "/v3/stacks", json!({})),
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
    // anything else is looked at; the full flow is in tests/it/workflows.rs.
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

// ---- MT-15 … MT-20: controls beyond Contentstack's (docs/security.md) ----

fn rotate_path(uid: &str) -> String {
    format!("/v3/stacks/management_tokens/{uid}/rotate")
}

async fn audit_events(app: &TestApp, w: &World, target: &str) -> Vec<String> {
    let (s, b) = send(app.as_user(
        Method::GET,
        "/v3/audit-logs?limit=100",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    b["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["metadata"]["uid"] == target)
        .map(|l| l["event_type"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn envs_ok(app: &TestApp, token: &str, api_key: &str) -> u16 {
    send(app.with_token(Method::GET, "/v3/environments", token, api_key))
        .await
        .0
}

async fn mt_15_rotation_keeps_the_old_secret_for_its_grace_then_detects_reuse(app: TestApp) {
    let w = world(&app).await;
    let (old, uid) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    // Only the owner and admins with an authtoken rotate: a token is refused by MT-8.
    let (s, b) = send(app.with_token(Method::POST, &rotate_path(&uid), &old, &w.api_key)).await;
    assert_error(s, &b, 403, 162);
    assert_rule(&b, "MT-8");
    let (s, b) = send(
        app.as_user(Method::POST, &rotate_path(&uid), &w.owner, &w.api_key)
            .json(&json!({"grace_period_seconds": 8 * 24 * 3600})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(
        app.as_user(Method::POST, &rotate_path(&uid), &w.owner, &w.api_key)
            .json(&json!({"grace_period_seconds": 2})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let new = b["token"]["token"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(b["token"]["uid"], uid.as_str());
    assert_eq!(b["token"]["scope"][0]["module"], "$all");
    assert!(b["token"]["previous_token_valid_until"].is_string());
    // Both secrets work during the grace period…
    assert_eq!(envs_ok(&app, &old, &w.api_key).await, 200);
    assert_eq!(envs_ok(&app, &new, &w.api_key).await, 200);
    // …and the old one is refused after it, its use recorded as reuse.
    tokio::time::sleep(std::time::Duration::from_millis(2300)).await;
    let (s, b) = send(app.with_token(Method::GET, "/v3/environments", &old, &w.api_key)).await;
    assert_error(s, &b, 401, 105);
    assert_eq!(envs_ok(&app, &new, &w.api_key).await, 200);
    let events = audit_events(&app, &w, &uid).await;
    assert!(events.contains(&"rotate".to_string()), "{events:?}");
    assert!(events.contains(&"reuse_detected".to_string()), "{events:?}");
    assert!(!events.contains(&"revoke".to_string()), "{events:?}");

    // With revoke_on_reuse, a reuse revokes the token: the new secret stops working too.
    let (s, b) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": "strict", "scope": [{"module": "$all", "acl": {"read": true}}],
                   "expires_on": null, "revoke_on_reuse": true}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["token"]["revoke_on_reuse"], true);
    let (old, uid) = (
        b["token"]["token"].as_str().unwrap().to_string(),
        b["token"]["uid"].as_str().unwrap().to_string(),
    );
    let (s, b) = send(app.as_user(Method::POST, &rotate_path(&uid), &w.owner, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    let new = b["token"]["token"].as_str().unwrap().to_string();
    assert_eq!(envs_ok(&app, &new, &w.api_key).await, 200);
    assert_eq!(envs_ok(&app, &old, &w.api_key).await, 401);
    assert_eq!(envs_ok(&app, &new, &w.api_key).await, 401);
    let events = audit_events(&app, &w, &uid).await;
    assert!(events.contains(&"reuse_detected".to_string()), "{events:?}");
    assert!(events.contains(&"revoke".to_string()), "{events:?}");
    let (_, b) = send(app.as_user(
        Method::GET,
        &format!("/v3/stacks/management_tokens/{uid}"),
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert!(b["token"]["revoked_at"].is_string(), "{b}");
}

async fn mt_16_bound_tokens_work_only_from_their_address_ranges(mut app: TestApp) {
    let w = world(&app).await;
    let bound = |name: &str, cidrs: Value| {
        json!({"name": name, "scope": [{"module": "$all", "acl": {"read": true}}],
               "expires_on": null, "allowed_cidrs": cidrs})
    };
    let (s, b) = app
        .create_token(&w.owner, &w.api_key, bound("bad", json!(["10.0.0.0/33"])))
        .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["allowed_cidrs[0]"].is_array(), "{b}");
    let mut secret = std::collections::HashMap::new();
    for (name, cidrs) in [
        ("local", json!(["127.0.0.0/8"])),
        ("office", json!(["10.0.0.0/8"])),
        ("v6", json!(["2001:db8::/32"])),
    ] {
        let (s, b) = app
            .create_token(&w.owner, &w.api_key, bound(name, cidrs))
            .await;
        assert_eq!(s, 201, "{b}");
        secret.insert(name, b["token"]["token"].as_str().unwrap().to_string());
    }
    assert_eq!(envs_ok(&app, &secret["local"], &w.api_key).await, 200);
    let (s, b) = send(app.with_token(
        Method::GET,
        "/v3/environments",
        &secret["office"],
        &w.api_key,
    ))
    .await;
    assert_error(s, &b, 401, 105);
    assert_rule(&b, "MT-16");
    assert!(
        b["error_message"].as_str().unwrap().contains("10.0.0.0/8"),
        "{b}"
    );
    // Without trusted proxies, X-Forwarded-For is anyone's to send: ignored.
    let (s, _) = send(
        app.with_token(
            Method::GET,
            "/v3/environments",
            &secret["office"],
            &w.api_key,
        )
        .header("x-forwarded-for", "10.1.2.3"),
    )
    .await;
    assert_eq!(s, 401);

    // Behind a trusted proxy (here: the loopback peer), its header names the client.
    app.restart_with(ServerConfig {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..test_config()
    })
    .await;
    let via = |token: &str, from: &str| {
        app.with_token(Method::GET, "/v3/environments", token, &w.api_key)
            .header("x-forwarded-for", from.to_string())
    };
    assert_eq!(send(via(&secret["office"], "10.1.2.3")).await.0, 200);
    assert_eq!(send(via(&secret["office"], "203.0.113.9")).await.0, 401);
    assert_eq!(send(via(&secret["local"], "203.0.113.9")).await.0, 401);
    assert_eq!(send(via(&secret["v6"], "2001:db8::1")).await.0, 200);
    assert_eq!(send(via(&secret["v6"], "10.1.2.3")).await.0, 401);
}

/// A webhook receiver on 127.0.0.1 keeping each delivered body.
async fn webhook_sink() -> (std::sync::Arc<std::sync::Mutex<Vec<Value>>>, String) {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = got.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                store
                    .lock()
                    .unwrap()
                    .push(serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (got, url)
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 10 s");
}

async fn mt_17_reported_leaks_are_revoked_without_saying_which(mut app: TestApp) {
    let (mails, port) = smtp_sink().await;
    let mut config = test_config();
    config.events.poll_interval = std::time::Duration::from_millis(50);
    config.events.smtp = Some(headwater_api::smtp::SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        from: "headwater@example.com".into(),
    });
    app.restart_with(config).await;
    let w = world(&app).await;
    let (hooks, url) = webhook_sink().await;
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/webhooks", &w.owner, &w.api_key)
            .json(&json!({"webhook": {
            "name": "leaks", "destinations": [{"target_url": url}],
            "channels": ["management_tokens.leaked"], "branches": ["main"],
            "retry_policy": "manual", "disabled": false}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (leaked, leaked_uid) = app.rw_token(&w.owner, &w.api_key, "leaked").await;
    let (kept, _) = app.rw_token(&w.owner, &w.api_key, "kept").await;
    let unknown = || {
        headwater_core::secret::generate(headwater_core::secret::SecretKind::ManagementToken)
            .plaintext
    };
    let report = |tokens: Value| {
        app.req(Method::POST, "/v3/token-revocations")
            .json(&json!({"tokens": tokens}))
    };
    // No credential needed; the answer is the same whichever secrets were valid.
    let (s1, b1) = send(report(json!([leaked, unknown(), "hwmt_junk"]))).await;
    assert_eq!(s1, 202, "{b1}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (s2, b2) = send(report(json!([unknown(), unknown(), "not a token"]))).await;
    assert_eq!((s2, &b2), (s1, &b1));
    // Rate-limited per client address (1 report per second by default).
    let (s, b) = send(report(json!([unknown()]))).await;
    assert_error(s, &b, 429, 429);
    assert_rule(&b, "MT-17");

    assert_eq!(envs_ok(&app, &leaked, &w.api_key).await, 401);
    assert_eq!(envs_ok(&app, &kept, &w.api_key).await, 200);
    let events = audit_events(&app, &w, &leaked_uid).await;
    assert!(events.contains(&"revoke_leaked".to_string()), "{events:?}");
    eventually("the leak email", || {
        mails.lock().unwrap().iter().any(|m| {
            m.contains("owner@example.com")
                && m.contains("reported leaked")
                && m.contains(&leaked_uid)
        })
    })
    .await;
    eventually("the management_tokens.leaked event", || {
        hooks
            .lock()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "leaked" && e["data"]["token"]["uid"] == leaked_uid.as_str())
    })
    .await;

    // At most 1,000 secrets per report.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let many: Vec<String> = (0..1001).map(|i| format!("x{i}")).collect();
    let (s, b) = send(report(json!(many))).await;
    assert_error(s, &b, 422, 120);
}

async fn mt_18_scopes_narrow_to_content_types_and_publish_environments(app: TestApp) {
    let w = world(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    for ct in ["blog", "news"] {
        let (s, b) = send(u(Method::POST, "/v3/content_types").json(&json!({"content_type": {
            "title": ct, "uid": ct,
            "schema": [{"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}]}})))
        .await;
        assert_eq!(s, 201, "{b}");
    }
    for env in ["staging", "production"] {
        let (s, b) = send(u(Method::POST, "/v3/environments").json(&env_body(env))).await;
        assert_eq!(s, 201, "{b}");
    }
    let (s, b) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": "blog-staging", "expires_on": null, "scope": [
                {"module": "entry", "content_types": ["blog"], "environments": ["staging"],
                 "acl": {"read": true, "write": true}},
                {"module": "content_type", "acl": {"read": true}},
                {"module": "environment", "acl": {"read": true}},
                {"module": "locale", "acl": {"read": true}}]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["token"]["scope"][0]["content_types"], json!(["blog"]));
    assert_eq!(b["token"]["scope"][0]["environments"], json!(["staging"]));
    let narrow = b["token"]["token"].as_str().unwrap().to_string();
    let t = |m, p: &str| app.with_token(m, p, &narrow, &w.api_key);
    let (s, b) = send(
        t(Method::POST, "/v3/content_types/blog/entries").json(&json!({"entry": {"title": "A"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let entry = b["entry"]["uid"].as_str().unwrap().to_string();
    let (s, b) = send(
        t(Method::POST, "/v3/content_types/news/entries").json(&json!({"entry": {"title": "B"}})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert_rule(&b, "MT-18");
    let (s, b) = send(t(Method::GET, "/v3/content_types/news/entries")).await;
    assert_error(s, &b, 403, 162);
    let publish = |env: &str| {
        t(
            Method::POST,
            &format!("/v3/content_types/blog/entries/{entry}/publish"),
        )
        .json(&json!({"entry": {"environments": [env], "locales": ["en-us"]}, "locale": "en-us"}))
    };
    let (s, b) = send(publish("staging")).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(publish("production")).await;
    assert_error(s, &b, 403, 162);
    assert_rule(&b, "MT-18");
    assert!(
        b["error_message"].as_str().unwrap().contains("production"),
        "{b}"
    );

    // Module-level scopes, all the official clients send, work as before.
    let (rw, _) = app.rw_token(&w.owner, &w.api_key, "all").await;
    let (s, b) = send(
        app.with_token(
            Method::POST,
            &format!("/v3/content_types/blog/entries/{entry}/publish"),
            &rw,
            &w.api_key,
        )
        .json(&json!({"entry": {"environments": ["production"], "locales": ["en-us"]}, "locale": "en-us"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // A narrowing on a module it does not apply to is refused at save.
    let (s, b) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": "bad", "expires_on": null, "scope": [
                {"module": "asset", "content_types": ["blog"], "acl": {"read": true}}]}),
        )
        .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["scope[0].content_types"].is_array(), "{b}");
}

async fn mt_19_usage_is_counted_per_day_with_the_last_five_addresses(mut app: TestApp) {
    app.restart_with(ServerConfig {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        // Long enough that only the shutdown flush writes during the test.
        usage_flush_interval: std::time::Duration::from_secs(3600),
        ..test_config()
    })
    .await;
    let w = world(&app).await;
    let (token, uid) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let (s, _) = send(
        app.with_token(Method::POST, "/v3/environments", &token, &w.api_key)
            .json(&env_body("staging")),
    )
    .await;
    assert_eq!(s, 201);
    let usage_path = |uid: &str| format!("/v3/stacks/management_tokens/{uid}/usage");
    // Owner and admins only: a token is refused (MT-8), and that counts as a refusal.
    let (s, b) = send(app.with_token(Method::GET, &usage_path(&uid), &token, &w.api_key)).await;
    assert_error(s, &b, 403, 162);
    assert_rule(&b, "MT-8");
    for i in 1..=7 {
        let (s, _) = send(
            app.with_token(Method::GET, "/v3/environments", &token, &w.api_key)
                .header("x-forwarded-for", format!("203.0.113.{i}")),
        )
        .await;
        assert_eq!(s, 200);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // A token limited to 1 read per second is rate-limited on a burst.
    let (s, b) = app
        .create_token(
            &w.owner,
            &w.api_key,
            json!({"name": "slow", "expires_on": null, "rate_limit_enabled": true,
                   "rate_limit": {"read": 1, "write": 1},
                   "scope": [{"module": "$all", "acl": {"read": true}}]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (slow, slow_uid) = (
        b["token"]["token"].as_str().unwrap().to_string(),
        b["token"]["uid"].as_str().unwrap().to_string(),
    );
    let mut limited = 0;
    for _ in 0..4 {
        if envs_ok(&app, &slow, &w.api_key).await == 429 {
            limited += 1;
        }
    }
    assert!(limited >= 1);

    let check = |b: &Value| {
        let day = &b["usage"]["days"][0];
        assert_eq!(
            (
                day["reads"].as_i64(),
                day["writes"].as_i64(),
                day["refusals"].as_i64()
            ),
            (Some(7), Some(1), Some(1)),
            "{b}"
        );
        let clients: Vec<&str> = b["usage"]["clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["address"].as_str().unwrap())
            .collect();
        assert_eq!(
            clients,
            [
                "203.0.113.7",
                "203.0.113.6",
                "203.0.113.5",
                "203.0.113.4",
                "203.0.113.3"
            ],
            "{b}"
        );
    };
    let (s, b) = send(app.as_user(Method::GET, &usage_path(&uid), &w.owner, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    check(&b);
    let (s, b) = send(app.as_user(Method::GET, &usage_path(&slow_uid), &w.owner, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["usage"]["days"][0]["rate_limited"].as_i64(),
        Some(limited),
        "{b}"
    );
    // Nothing was written yet (off the request path); the shutdown flush writes it all.
    let mut c = app.db.reader().await.unwrap();
    let stored = headwater_store::repo::token_usage::days(&mut c, &uid, 30)
        .await
        .unwrap();
    assert!(stored.is_empty(), "{stored:?}");
    drop(c);
    app.restart_with(test_config()).await;
    let mut c = app.db.reader().await.unwrap();
    let stored = headwater_store::repo::token_usage::days(&mut c, &uid, 30)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].1.reads, stored[0].1.writes), (7, 1));
    drop(c);
    let (s, b) = send(app.as_user(Method::GET, &usage_path(&uid), &w.owner, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    check(&b);
}

async fn mt_20_the_organization_limits_token_lifetime(app: TestApp) {
    let w = world(&app).await;
    let (_, existing) = app.ro_token(&w.owner, &w.api_key, "old").await;
    headwater_api::admin::set_token_lifetime(&app.db, &w.org, Some(90), Some(false))
        .await
        .unwrap();
    let days = |n: i64| {
        headwater_core::clock::format(time::OffsetDateTime::now_utc() + time::Duration::days(n))
    };
    let body = |name: &str, expires: Value| json!({"name": name, "scope": [{"module": "$all", "acl": {"read": true}}], "expires_on": expires});
    let refused = |s: u16, b: &Value| {
        assert_error(s, b, 422, 120);
        let msg = b["errors"]["expires_on"][0].as_str().unwrap_or_default();
        assert!(
            msg.contains("token.expires_on") && msg.contains("MT-20"),
            "{b}"
        );
    };
    let (s, b) = app
        .create_token(&w.owner, &w.api_key, body("never", Value::Null))
        .await;
    refused(s, &b);
    let (s, b) = app
        .create_token(&w.owner, &w.api_key, body("long", json!(days(100))))
        .await;
    refused(s, &b);
    let (s, b) = app
        .create_token(&w.owner, &w.api_key, body("ok", json!(days(30))))
        .await;
    assert_eq!(s, 201, "{b}");
    let uid = b["token"]["uid"].as_str().unwrap().to_string();
    let put = |uid: &str, token: Value| {
        app.as_user(
            Method::PUT,
            &format!("/v3/stacks/management_tokens/{uid}"),
            &w.owner,
            &w.api_key,
        )
        .json(&json!({ "token": token }))
    };
    let (s, b) = send(put(&uid, json!({"expires_on": days(200)}))).await;
    refused(s, &b);
    let (s, b) = send(put(&uid, json!({"expires_on": null}))).await;
    refused(s, &b);
    let (s, b) = send(put(&uid, json!({"name": "renamed"}))).await;
    assert_eq!(s, 200, "{b}");
    // A token made before the policy is held to it at its next edit.
    let (s, b) = send(put(&existing, json!({"name": "old, renamed"}))).await;
    refused(s, &b);
    let (s, b) = send(
        app.req(Method::GET, &format!("/v3/organizations/{}", w.org))
            .header("authtoken", &w.owner),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["organization"]["settings"]["management_tokens"],
        json!({"max_lifetime_days": 90, "allow_never_expiring": false})
    );
    // Lifting the limit (0) and allowing "never" again.
    headwater_api::admin::set_token_lifetime(&app.db, &w.org, Some(0), Some(true))
        .await
        .unwrap();
    let (s, b) = app
        .create_token(&w.owner, &w.api_key, body("never", Value::Null))
        .await;
    assert_eq!(s, 201, "{b}");
}
