//! The foundation over HTTP, on SQLite and PostgreSQL: login, logout, two-factor, SSO strict
//! mode, stacks, roles and sharing, and the Contentstack error bodies.

use headwater_testkit::{assert_error, on_both_backends, parts, send, TestApp, PASSWORD};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    login_succeeds_and_bad_credentials_get_one_identical_error,
    logout_invalidates_only_that_authtoken,
    two_factor_is_required_when_enabled,
    sso_strict_mode_refuses_member_password_login,
    owner_creates_reads_updates_and_deletes_a_stack,
    developer_cannot_delete_or_share_a_stack,
    admin_can_share_and_unshare,
    custom_role_rules_allow_and_deny_as_written,
    malformed_bodies_get_the_documented_errors,
    a_missing_or_unknown_api_key_is_named,
    unknown_routes_answer_json_404,
    the_twenty_first_login_expires_the_oldest_authtoken,
    outsiders_cannot_see_a_stack,
);

async fn login_succeeds_and_bad_credentials_get_one_identical_error(app: TestApp) {
    app.owner("ada@example.com").await;
    let (status, body) = send(
        app.req(Method::POST, "/v3/user-session")
            .json(&json!({"user": {"email": "ADA@example.com", "password": PASSWORD}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["notice"], "Login Successful.");
    let authtoken = body["user"]["authtoken"].as_str().unwrap();
    assert!(authtoken.starts_with("hwat_"));
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(body["user"]["organizations"].as_array().unwrap().len(), 1);

    let wrong_password = send(
        app.req(Method::POST, "/v3/user-session")
            .json(&json!({"user": {"email": "ada@example.com", "password": "not-the-password"}})),
    )
    .await;
    let unknown_user =
        send(app.req(Method::POST, "/v3/user-session").json(
            &json!({"user": {"email": "nobody@example.com", "password": "not-the-password"}}),
        ))
        .await;
    assert_error(wrong_password.0, &wrong_password.1, 422, 104);
    assert_eq!(wrong_password, unknown_user);

    let (status, me) = send(
        app.req(Method::GET, "/v3/user")
            .header("authtoken", authtoken),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["email"], "ada@example.com");
}

async fn logout_invalidates_only_that_authtoken(app: TestApp) {
    app.owner("ada@example.com").await;
    let first = app.login("ada@example.com").await;
    let second = app.login("ada@example.com").await;
    let (status, body) = send(
        app.req(Method::DELETE, "/v3/user-session")
            .header("authtoken", &first),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["notice"], "You've logged out successfully!");
    let (status, body) = send(app.req(Method::GET, "/v3/user").header("authtoken", &first)).await;
    assert_error(status, &body, 401, 105);
    let (status, _) = send(
        app.req(Method::GET, "/v3/user")
            .header("authtoken", &second),
    )
    .await;
    assert_eq!(status, 200);
}

async fn two_factor_is_required_when_enabled(app: TestApp) {
    app.owner("ada@example.com").await;
    let secret = headwater_api::admin::enable_2fa(
        &app.db,
        &headwater_testkit::seal_key(),
        "ada@example.com",
    )
    .await
    .unwrap();
    let login = |tfa: Option<String>| {
        let mut user = json!({"email": "ada@example.com", "password": PASSWORD});
        if let Some(t) = tfa {
            user["tfa_token"] = json!(t);
        }
        app.req(Method::POST, "/v3/user-session")
            .json(&json!({ "user": user }))
    };
    let (status, body) = send(login(None)).await;
    assert_error(status, &body, 422, 294);
    assert_eq!(body["tfa_type"], "totp_authenticator");
    let (status, body) = send(login(Some("000000".into()))).await;
    // One in a million the random code is right; then the next assertion is the one that counts.
    if status != 200 {
        assert_error(status, &body, 422, 295);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = headwater_core::totp::code_at(&secret, now).unwrap();
    let (status, body) = send(login(Some(code))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["user"]["authtoken"].is_string());
}

async fn sso_strict_mode_refuses_member_password_login(app: TestApp) {
    let (_, org) = app.owner("owner@example.com").await;
    app.member("member@example.com", &org).await;
    headwater_api::admin::set_sso_strict(&app.db, &org, true)
        .await
        .unwrap();
    let (status, body) = send(
        app.req(Method::POST, "/v3/user-session")
            .json(&json!({"user": {"email": "member@example.com", "password": PASSWORD}})),
    )
    .await;
    assert_error(status, &body, 403, 151);
    let msg = body["error_message"].as_str().unwrap();
    assert!(
        msg.contains("SSO") && msg.contains("management token"),
        "{msg}"
    );
    // A wrong password still gets the ordinary answer: strict mode reveals nothing without it.
    let (status, body) = send(
        app.req(Method::POST, "/v3/user-session")
            .json(&json!({"user": {"email": "member@example.com", "password": "wrong-password"}})),
    )
    .await;
    assert_error(status, &body, 422, 104);
    // The owner keeps password access (to manage tokens for everyone else).
    app.login("owner@example.com").await;
}

async fn owner_creates_reads_updates_and_deletes_a_stack(app: TestApp) {
    let (owner_uid, org) = app.owner("owner@example.com").await;
    let at = app.login("owner@example.com").await;
    let (status, body) = send(
        app.req(Method::POST, "/v3/stacks")
            .header("authtoken", &at)
            .header("organization_uid", &org)
            .json(
                &json!({"stack": {"name": "Blog", "description": "d", "master_locale": "en-us"}}),
            ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["notice"], "Stack created successfully.");
    let api_key = body["stack"]["api_key"].as_str().unwrap().to_string();
    assert_eq!(body["stack"]["owner_uid"], owner_uid.as_str());
    assert_eq!(body["stack"]["org_uid"], org.as_str());

    let (status, body) = send(app.as_user(Method::GET, "/v3/stacks", &at, &api_key)).await;
    assert_eq!(status, 200);
    assert_eq!(body["stack"]["name"], "Blog");

    let (status, body) = send(
        app.req(Method::GET, "/v3/stacks?include_count=true")
            .header("authtoken", &at),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["count"], 1);
    assert_eq!(body["stacks"][0]["api_key"], api_key.as_str());

    let (status, body) = send(
        app.as_user(Method::PUT, "/v3/stacks", &at, &api_key)
            .json(&json!({"stack": {"name": "Blog 2"}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stack"]["name"], "Blog 2");
    assert_eq!(body["stack"]["description"], "d");

    let (status, body) = send(app.as_user(Method::DELETE, "/v3/stacks", &at, &api_key)).await;
    assert_eq!(status, 200);
    assert_eq!(body["notice"], "Stack deleted successfully!");
    let (status, body) = send(app.as_user(Method::GET, "/v3/stacks", &at, &api_key)).await;
    assert_error(status, &body, 412, 109);
}

async fn developer_cannot_delete_or_share_a_stack(app: TestApp) {
    let (_, org) = app.owner("owner@example.com").await;
    app.member("dev@example.com", &org).await;
    app.member("other@example.com", &org).await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Blog").await;
    app.share(&owner, &api_key, "dev@example.com", "Developer")
        .await;
    let dev = app.login("dev@example.com").await;
    let dev_role = app.role_uid(&owner, &api_key, "Developer").await;

    let (status, body) = send(app.as_user(Method::DELETE, "/v3/stacks", &dev, &api_key)).await;
    assert_error(status, &body, 403, 162);
    let (status, body) = send(
        app.as_user(Method::POST, "/v3/stacks/share", &dev, &api_key)
            .json(&json!({"emails": ["other@example.com"], "roles": {"other@example.com": [dev_role]}})),
    )
    .await;
    assert_error(status, &body, 403, 162);
    // But a developer works with the stack's content settings.
    let (status, _) = send(
        app.as_user(Method::POST, "/v3/environments", &dev, &api_key)
            .json(&json!({"environment": {"name": "production"}})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = send(app.as_user(Method::GET, "/v3/stacks", &dev, &api_key)).await;
    assert_eq!(status, 200);
}

async fn admin_can_share_and_unshare(app: TestApp) {
    let (_, org) = app.owner("owner@example.com").await;
    app.member("admin@example.com", &org).await;
    app.member("writer@example.com", &org).await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Blog").await;
    app.share(&owner, &api_key, "admin@example.com", "Admin")
        .await;
    let admin = app.login("admin@example.com").await;
    app.share(&admin, &api_key, "writer@example.com", "Content Manager")
        .await;

    let (status, body) = send(app.as_user(Method::GET, "/v3/stacks/users", &admin, &api_key)).await;
    assert_eq!(status, 200);
    let emails: Vec<&str> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"writer@example.com") && emails.contains(&"owner@example.com"));

    let writer = app.login("writer@example.com").await;
    let (status, _) = send(app.as_user(Method::GET, "/v3/stacks", &writer, &api_key)).await;
    assert_eq!(status, 200);

    let (status, body) = send(
        app.as_user(Method::POST, "/v3/stacks/unshare", &admin, &api_key)
            .json(&json!({"email": "writer@example.com"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["notice"], "The stack has been successfully unshared.");
    let (status, body) = send(app.as_user(Method::GET, "/v3/stacks", &writer, &api_key)).await;
    assert_error(status, &body, 412, 109);

    // The owner cannot be removed.
    let (status, body) = send(
        app.as_user(Method::POST, "/v3/stacks/unshare", &admin, &api_key)
            .json(&json!({"email": "owner@example.com"})),
    )
    .await;
    assert_error(status, &body, 422, 120);
}

async fn custom_role_rules_allow_and_deny_as_written(app: TestApp) {
    let (_, org) = app.owner("owner@example.com").await;
    app.member("viewer@example.com", &org).await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Blog").await;
    let (status, body) = send(
        app.as_user(Method::POST, "/v3/roles", &owner, &api_key).json(&json!({"role": {
            "name": "Environment viewer",
            "rules": [{"module": "environment", "environments": ["$all"], "acl": {"read": true}}]
        }})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let role_uid = body["role"]["uid"].as_str().unwrap().to_string();
    app.share(&owner, &api_key, "viewer@example.com", &role_uid)
        .await;
    let viewer = app.login("viewer@example.com").await;

    let (status, _) = send(app.as_user(Method::GET, "/v3/environments", &viewer, &api_key)).await;
    assert_eq!(status, 200);
    let (status, body) = send(
        app.as_user(Method::POST, "/v3/environments", &viewer, &api_key)
            .json(&json!({"environment": {"name": "production"}})),
    )
    .await;
    assert_error(status, &body, 403, 162);

    // Rewriting the rules changes the decision on the next request.
    let (status, _) = send(
        app.as_user(
            Method::PUT,
            &format!("/v3/roles/{role_uid}"),
            &owner,
            &api_key,
        )
        .json(&json!({"role": {
            "rules": [{"module": "environment", "acl": {"read": true, "create": true}}]
        }})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = send(
        app.as_user(Method::POST, "/v3/environments", &viewer, &api_key)
            .json(&json!({"environment": {"name": "production"}})),
    )
    .await;
    assert_eq!(status, 201);
    // A role in use cannot be deleted; built-in roles cannot be changed.
    let (status, body) = send(app.as_user(
        Method::DELETE,
        &format!("/v3/roles/{role_uid}"),
        &owner,
        &api_key,
    ))
    .await;
    assert_error(status, &body, 422, 120);
    let admin_role = app.role_uid(&owner, &api_key, "Admin").await;
    let (status, body) = send(
        app.as_user(
            Method::PUT,
            &format!("/v3/roles/{admin_role}"),
            &owner,
            &api_key,
        )
        .json(&json!({"role": {"name": "Superuser"}})),
    )
    .await;
    assert_error(status, &body, 422, 120);
}

async fn malformed_bodies_get_the_documented_errors(app: TestApp) {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Blog").await;

    let r = app
        .as_user(Method::POST, "/v3/environments", &owner, &api_key)
        .header("content-type", "application/json")
        .body("{\"environment\": {\"name\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = parts(r).await;
    assert_error(status, &body, 400, 100);

    let (status, body) = send(
        app.as_user(Method::POST, "/v3/environments", &owner, &api_key)
            .json(&json!({"environment": {"name": 42}})),
    )
    .await;
    assert_error(status, &body, 422, 120);
    assert!(body["errors"]["name"].is_array(), "{body}");

    let (status, body) = send(
        app.as_user(Method::POST, "/v3/environments", &owner, &api_key)
            .json(&json!({"environment": {}})),
    )
    .await;
    assert_error(status, &body, 422, 120);
    assert!(body["errors"]["name"].is_array(), "{body}");

    let (status, body) = send(
        app.as_user(Method::POST, "/v3/environments", &owner, &api_key)
            .json(&json!(["not", "an", "object"])),
    )
    .await;
    assert_error(status, &body, 400, 100);

    // No Content-Type at all is accepted (one official client omits it).
    let r = app
        .as_user(Method::POST, "/v3/environments", &owner, &api_key)
        .body(r#"{"environment": {"name": "staging"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // An oversized body: a small limit keeps the whole body inside the socket buffers, so the
    // client always reads the early 413 instead of racing it with a broken pipe.
    let small = headwater_api::ServerConfig {
        max_body_bytes: 1024,
        ..headwater_testkit::test_config()
    };
    let limited = TestApp::spawn_with(app.backend, small).await.unwrap();
    let (_, limited_org) = limited.owner("owner@example.com").await;
    let at = limited.login("owner@example.com").await;
    let key = limited.stack(&at, &limited_org, "Blog").await;
    let big = format!(
        "{{\"environment\": {{\"name\": \"{}\"}}}}",
        "x".repeat(4096)
    );
    let r = limited
        .as_user(Method::POST, "/v3/environments", &at, &key)
        .body(big)
        .send()
        .await
        .unwrap();
    let (status, body) = parts(r).await;
    assert_error(status, &body, 413, 101);

    let (status, body) =
        send(app.as_user(Method::GET, "/v3/environments?limit=abc", &owner, &api_key)).await;
    assert_error(status, &body, 400, 120);
    let (status, _) = send(app.as_user(
        Method::GET,
        "/v3/environments?skip=1e%2B100&limit=100000",
        &owner,
        &api_key,
    ))
    .await;
    assert_eq!(status, 200);
}

async fn a_missing_or_unknown_api_key_is_named(app: TestApp) {
    app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let (status, body) = send(
        app.req(Method::GET, "/v3/environments")
            .header("authtoken", &owner),
    )
    .await;
    assert_error(status, &body, 412, 109);
    assert!(body["errors"]["api_key"].is_array());
    assert!(body["error_message"].as_str().unwrap().contains("api_key"));
    let (status, body) = send(app.as_user(
        Method::GET,
        "/v3/environments",
        &owner,
        "bltdoesnotexist0000",
    ))
    .await;
    assert_error(status, &body, 412, 109);
    // No credential at all: 401 before anything else.
    let (status, body) = send(app.req(Method::GET, "/v3/environments")).await;
    assert_error(status, &body, 401, 105);
}

async fn unknown_routes_answer_json_404(app: TestApp) {
    let (status, body) = send(app.req(Method::GET, "/v3/no-such-thing")).await;
    assert_error(status, &body, 404, 404);
    let (status, body) = send(app.req(Method::PATCH, "/v3/stacks")).await;
    assert_error(status, &body, 404, 404);
    let (status, _) = send(app.req(Method::GET, "/healthz")).await;
    assert_eq!(status, 200);
}

async fn the_twenty_first_login_expires_the_oldest_authtoken(app: TestApp) {
    app.owner("ada@example.com").await;
    let first = app.login("ada@example.com").await;
    let (status, _) = send(app.req(Method::GET, "/v3/user").header("authtoken", &first)).await;
    assert_eq!(status, 200);
    for _ in 0..20 {
        app.login("ada@example.com").await;
    }
    let (status, body) = send(app.req(Method::GET, "/v3/user").header("authtoken", &first)).await;
    assert_error(status, &body, 401, 105);
}

async fn outsiders_cannot_see_a_stack(app: TestApp) {
    let (_, org) = app.owner("owner@example.com").await;
    let (_, other_org) = app.owner("stranger@example.com").await;
    let owner = app.login("owner@example.com").await;
    let stranger = app.login("stranger@example.com").await;
    let api_key = app.stack(&owner, &org, "Blog").await;
    let (status, body) =
        send(app.as_user(Method::GET, "/v3/environments", &stranger, &api_key)).await;
    assert_error(status, &body, 412, 109);
    let (status, body) = send(
        app.req(Method::GET, "/v3/stacks")
            .header("authtoken", &stranger),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["stacks"].as_array().unwrap().len(), 0);
    // Creating a stack in someone else's organization is refused.
    let (status, body) = send(
        app.req(Method::POST, "/v3/stacks")
            .header("authtoken", &stranger)
            .header("organization_uid", &org)
            .json(&json!({"stack": {"name": "Intruder"}})),
    )
    .await;
    assert_error(status, &body, 403, 162);
    let (status, _) = send(
        app.req(Method::POST, "/v3/stacks")
            .header("authtoken", &stranger)
            .header("organization_uid", &other_org)
            .json(&json!({"stack": {"name": "Mine"}})),
    )
    .await;
    assert_eq!(status, 201);
}
