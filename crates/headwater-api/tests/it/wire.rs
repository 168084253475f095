//! Request bodies the official clients send to the fixed-shape resources, on both backends:
//! what Contentstack accepts is accepted, and refusals name fields as Contentstack does
//! (`errors.content_types`, not `errors["label.content_types"]`).

use headwater_testkit::{assert_error, on_both_backends, send, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    a_token_scope_may_carry_an_empty_alias_list,
    refusals_name_the_field_without_the_envelope,
    roles_are_paged,
    a_locale_update_may_carry_its_code,
    webhook_notifiers_may_be_a_string,
    a_delivery_token_without_environments_names_the_scope_member,
);

struct Stack {
    owner: String,
    api_key: String,
}

async fn stack(app: &TestApp) -> Stack {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Site").await;
    Stack { owner, api_key }
}

async fn a_token_scope_may_carry_an_empty_alias_list(app: TestApp) {
    let s = stack(&app).await;
    // The shape Contentstack's own JS and Python suites send when creating a token.
    let (status, b) = app
        .create_token(
            &s.owner,
            &s.api_key,
            json!({"name": "CI", "description": "", "expires_on": null, "scope": [
                {"module": "content_type", "acl": {"read": true, "write": true}},
                {"module": "branch", "branches": ["main"], "acl": {"read": true}},
                {"module": "branch_alias", "branch_aliases": [], "acl": {"read": true}}]}),
        )
        .await;
    assert_eq!(status, 201, "{b}");
    let secret = b["token"]["token"].as_str().unwrap().to_string();
    let (status, b) = send(
        app.req(Method::GET, "/v3/content_types")
            .header("api_key", &s.api_key)
            .header("authorization", &secret),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    // Leaving the list out is still refused: the item would mean nothing.
    let (status, b) = app
        .create_token(
            &s.owner,
            &s.api_key,
            json!({"name": "CI 2", "scope": [
                {"module": "content_type", "acl": {"read": true}},
                {"module": "branch_alias", "acl": {"read": true}}]}),
        )
        .await;
    assert_error(status, &b, 422, 120);
    assert!(b["errors"]["scope[1].branch_aliases"].is_array(), "{b}");
}

async fn refusals_name_the_field_without_the_envelope(app: TestApp) {
    let s = stack(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &s.owner, &s.api_key);
    let (status, b) = send(u(Method::POST, "/v3/labels").json(
        &json!({"label": {"name": "Featured", "content_types": ["nonexistent_content_type"]}}),
    ))
    .await;
    assert_error(status, &b, 422, 120);
    assert!(b["errors"]["content_types"].is_array(), "{b}");
    assert!(b["errors"].get("label.content_types").is_none(), "{b}");
    // The message still names the whole path.
    assert!(
        b["error_message"]
            .as_str()
            .unwrap()
            .contains("label.content_types"),
        "{b}"
    );
    // Typed bodies: a wrong type names the field.
    let (status, b) = send(u(Method::POST, "/v3/environments").json(
        &json!({"environment": {"name": "production", "urls": [{"locale": "en-us", "url": 5}]}}),
    ))
    .await;
    assert_error(status, &b, 422, 120);
    assert_eq!(
        b["errors"]["urls[0].url"],
        json!(["must be a string."]),
        "{b}"
    );
    let (status, b) =
        send(u(Method::POST, "/v3/roles").json(&json!({"role": {"rules": []}}))).await;
    assert_error(status, &b, 422, 120);
    assert_eq!(b["errors"]["name"], json!(["is required."]), "{b}");
    // The envelope itself is still named when it is missing.
    let (status, b) = send(u(Method::POST, "/v3/locales").json(&json!({"code": "fr-fr"}))).await;
    assert_error(status, &b, 422, 120);
    assert!(b["errors"]["locale"].is_array(), "{b}");
}

async fn roles_are_paged(app: TestApp) {
    let s = stack(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &s.owner, &s.api_key);
    let (status, all) = send(u(Method::GET, "/v3/roles?include_count=true")).await;
    assert_eq!(status, 200, "{all}");
    let total = all["count"].as_i64().unwrap();
    assert!(total >= 3, "{all}");
    assert_eq!(all["roles"].as_array().unwrap().len() as i64, total);
    let (status, b) = send(u(Method::GET, "/v3/roles?limit=1&include_count=true")).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["roles"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["count"], total, "{b}");
    assert_eq!(b["roles"][0]["uid"], all["roles"][0]["uid"]);
    let (status, b) = send(u(Method::GET, "/v3/roles?skip=1&limit=1")).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["roles"][0]["uid"], all["roles"][1]["uid"], "{b}");
    assert!(b.get("count").is_none(), "{b}");
}

async fn a_locale_update_may_carry_its_code(app: TestApp) {
    let s = stack(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &s.owner, &s.api_key);
    let (status, b) =
        send(u(Method::POST, "/v3/locales").json(&json!({"locale": {"code": "fr-fr"}}))).await;
    assert_eq!(status, 201, "{b}");
    // The whole locale sent back, as the official clients do after a fetch.
    let mut sent = b["locale"].clone();
    sent["name"] = json!("Français");
    let (status, b) =
        send(u(Method::PUT, "/v3/locales/fr-fr").json(&json!({ "locale": sent }))).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["locale"]["name"], "Français");
    assert_eq!(b["locale"]["code"], "fr-fr");
    // A different code is read but never applied: the path names the locale.
    let (status, b) = send(
        u(Method::PUT, "/v3/locales/fr-fr")
            .json(&json!({"locale": {"code": "fr-ca", "name": "French"}})),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["locale"]["code"], "fr-fr", "{b}");
    assert_eq!(b["locale"]["name"], "French", "{b}");
    let (status, b) = send(u(Method::GET, "/v3/locales/fr-ca")).await;
    assert_error(status, &b, 422, 141);
    let (status, b) = send(u(Method::GET, "/v3/locales/fr-fr")).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["locale"]["name"], "French");
    // A code of the wrong type is still refused.
    let (status, b) =
        send(u(Method::PUT, "/v3/locales/fr-fr").json(&json!({"locale": {"code": 7}}))).await;
    assert_error(status, &b, 422, 120);
    assert!(b["errors"]["code"].is_array(), "{b}");
}

async fn webhook_notifiers_may_be_a_string(app: TestApp) {
    let s = stack(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &s.owner, &s.api_key);
    let (status, b) = send(u(Method::POST, "/v3/webhooks").json(&json!({"webhook": {
        "name": "Notify",
        "destinations": [{"target_url": "https://hooks.example.com/in"}],
        "channels": ["content_types.entries.create"],
        "retry_policy": "manual",
        "notifiers": "dave.joe@example.com",
    }})))
    .await;
    assert_eq!(status, 201, "{b}");
    assert_eq!(
        b["webhook"]["notifiers"],
        json!(["dave.joe@example.com"]),
        "{b}"
    );
    let uid = b["webhook"]["uid"].as_str().unwrap().to_string();
    let (status, b) = send(
        u(Method::PUT, &format!("/v3/webhooks/{uid}"))
            .json(&json!({"webhook": {"notifiers": "a@example.com, b@example.com"}})),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(
        b["webhook"]["notifiers"],
        json!(["a@example.com", "b@example.com"]),
        "{b}"
    );
    let (status, b) = send(
        u(Method::PUT, &format!("/v3/webhooks/{uid}")).json(&json!({"webhook": {"notifiers": 5}})),
    )
    .await;
    assert_error(status, &b, 422, 120);
    assert!(b["errors"]["notifiers"].is_array(), "{b}");
}

async fn a_delivery_token_without_environments_names_the_scope_member(app: TestApp) {
    let s = stack(&app).await;
    let u = |m, p: &str| app.as_user(m, p, &s.owner, &s.api_key);
    // Contentstack's own suite: no environment and no branch item.
    let (status, b) = send(
        u(Method::POST, "/v3/stacks/delivery_tokens").json(&json!({"token": {
            "name": "No Branch Token",
            "scope": [{"module": "environment", "environments": [], "acl": {"read": true}}],
        }})),
    )
    .await;
    assert_error(status, &b, 422, 120);
    assert!(b["errors"]["scope.environments"].is_array(), "{b}");
    assert!(b["errors"]["scope.branch_or_alias"].is_array(), "{b}");
    // With a branch item, only the environments are missing.
    let (status, b) = send(
        u(Method::POST, "/v3/stacks/delivery_tokens").json(&json!({"token": {
            "name": "No Env Token",
            "scope": [{"module": "environment", "environments": [], "acl": {"read": true}},
                      {"module": "branch", "branches": ["main"], "acl": {"read": true}}],
        }})),
    )
    .await;
    assert_error(status, &b, 422, 120);
    assert!(b["errors"]["scope.environments"].is_array(), "{b}");
    assert!(b["errors"].get("scope.branch_or_alias").is_none(), "{b}");
}
