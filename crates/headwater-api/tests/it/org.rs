//! Organization administration (issue 14), on SQLite and PostgreSQL: organization stacks,
//! roles and audit log; invitations by email (invite, resend, revoke, accept through the
//! link); teams and the stack roles they give; stack settings and ownership transfer; the
//! user's profile, password change and reset by email. Management tokens are refused on
//! every one of them (MT-8).

use headwater_api::smtp::SmtpConfig;
use headwater_api::ServerConfig;
use headwater_testkit::{assert_error, on_both_backends, send, test_config, TestApp, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    org_stacks_roles_and_logs,
    org_invitations_invite_resend_revoke_and_accept,
    org_ownership_transfer_by_link,
    teams_give_their_members_the_mapped_stack_roles,
    stack_settings_read_write_and_reset,
    stack_ownership_transfer_by_link,
    management_tokens_are_refused_everywhere_here,
    user_profile_and_password_change_end_other_sessions,
    password_reset_by_emailed_single_use_token,
    a_stack_with_settings_and_team_roles_can_be_deleted,
);

use crate::common::{smtp_sink, Mails};

/// Restarts the app with an SMTP relay pointing at a new sink.
async fn with_mail(app: &mut TestApp) -> Mails {
    let (mails, port) = smtp_sink().await;
    let mut config: ServerConfig = test_config();
    config.events.smtp = Some(SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        from: "headwater@example.com".into(),
    });
    app.restart_with(config).await;
    mails
}

/// The link token of the `n`th message (counting from 1) sent to `to`, waiting for its
/// delivery (links are sent in the background).
async fn link_token(mails: &Mails, to: &str, n: usize) -> String {
    for _ in 0..400 {
        let found: Vec<String> = mails
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.contains(&format!("<{to}>")))
            .cloned()
            .collect();
        if let Some(m) = found.get(n - 1) {
            let at = m.find("hwlk_").expect("a link token in the message");
            return m[at..at + 5 + 28].to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no message {n} to {to}: {:?}", mails.lock().unwrap());
}

fn assert_rule(body: &Value, rule: &str) {
    let msg = body["error_message"].as_str().unwrap_or_default();
    assert!(
        msg.contains(&format!("rule {rule}")),
        "expected rule {rule} in: {body}"
    );
}

struct World {
    org: String,
    owner: String,
    api_key: String,
}

async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Site").await;
    World {
        org,
        owner,
        api_key,
    }
}

fn user_req(app: &TestApp, m: Method, path: &str, authtoken: &str) -> reqwest::RequestBuilder {
    app.req(m, path).header("authtoken", authtoken)
}

async fn org_stacks_roles_and_logs(app: TestApp) {
    let w = world(&app).await;
    let other = app.stack(&w.owner, &w.org, "Shop").await;
    let base = format!("/v3/organizations/{}", w.org);

    let (s, b) = send(user_req(
        &app,
        Method::GET,
        &format!("{base}/stacks?include_count=true"),
        &w.owner,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], json!(2));
    let keys: Vec<&str> = b["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["api_key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&w.api_key.as_str()) && keys.contains(&other.as_str()),
        "{b}"
    );

    let (s, b) = send(user_req(
        &app,
        Method::GET,
        &format!("{base}/roles"),
        &w.owner,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let names: Vec<&str> = b["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["owner", "admin", "member"]);

    // A member sees only the stacks shared with them, and not the audit log.
    app.member("m@example.com", &w.org).await;
    app.share(&w.owner, &other, "m@example.com", "Developer")
        .await;
    let m = app.login("m@example.com").await;
    let (s, b) = send(user_req(&app, Method::GET, &format!("{base}/stacks"), &m)).await;
    assert_eq!(s, 200, "{b}");
    let keys: Vec<&str> = b["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["api_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [other.as_str()]);
    let (s, b) = send(user_req(&app, Method::GET, &format!("{base}/logs"), &m)).await;
    assert_error(s, &b, 403, 162);
    assert_rule(&b, "ORG");

    // The owner reads the organization's log: the stack creations and the share are there.
    let (s, b) = send(user_req(
        &app,
        Method::GET,
        &format!("{base}/logs?include_count=true"),
        &w.owner,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let events: Vec<(String, String)> = b["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["module"].as_str().unwrap().to_string(),
                l["event_type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(events.contains(&("stack".into(), "create".into())), "{b}");
    assert!(
        events.contains(&("stack_users".into(), "share".into())),
        "{b}"
    );
    assert!(b["count"].as_i64().unwrap() >= 3);

    // Someone outside the organization learns nothing about it.
    app.owner("stranger@example.com").await;
    let x = app.login("stranger@example.com").await;
    let (s, b) = send(user_req(&app, Method::GET, &format!("{base}/stacks"), &x)).await;
    assert_error(s, &b, 422, 141);
}

async fn org_invitations_invite_resend_revoke_and_accept(mut app: TestApp) {
    let mails = with_mail(&mut app).await;
    let w = world(&app).await;
    let base = format!("/v3/organizations/{}", w.org);
    let dev_role = app.role_uid(&w.owner, &w.api_key, "Developer").await;
    let member_role = format!("{}_member", w.org);

    // Refusals first: a member cannot invite.
    app.member("m@example.com", &w.org).await;
    let m = app.login("m@example.com").await;
    let invite = json!({"share": {
        "users": {"new@example.com": [member_role]},
        "stacks": {"new@example.com": {w.api_key.clone(): [dev_role]}},
        "message": "welcome"
    }});
    let (s, b) =
        send(user_req(&app, Method::POST, &format!("{base}/share"), &m).json(&invite)).await;
    assert_error(s, &b, 403, 162);
    assert_rule(&b, "ORG");
    // Nor invite as owner, nor into another organization's stack.
    let as_owner = json!({"share": {"users": {"x@example.com": [format!("{}_owner", w.org)]}}});
    let (s, b) =
        send(user_req(&app, Method::POST, &format!("{base}/share"), &w.owner).json(&as_owner))
            .await;
    assert_error(s, &b, 422, 120);

    let (s, b) =
        send(user_req(&app, Method::POST, &format!("{base}/share"), &w.owner).json(&invite)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "The invitation has been sent successfully.");
    let inv_uid = b["shares"][0]["uid"].as_str().unwrap().to_string();
    assert_eq!(b["shares"][0]["status"], "pending");
    let first = link_token(&mails, "new@example.com", 1).await;

    let (s, b) = send(user_req(
        &app,
        Method::GET,
        &format!("{base}/share"),
        &w.owner,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["shares"][0]["email"], "new@example.com");
    let (s, b) = send(user_req(&app, Method::GET, &format!("{base}/share"), &m)).await;
    assert_error(s, &b, 403, 162);

    // Resend (the official client's path): a new link; the first stops working.
    let (s, b) = send(user_req(
        &app,
        Method::GET,
        &format!("{base}/{inv_uid}/resend_invitation"),
        &w.owner,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let second = link_token(&mails, "new@example.com", 2).await;
    assert_ne!(first, second);
    let account = json!({"user": {"first_name": "New", "last_name": "Person", "password": PASSWORD, "password_confirmation": PASSWORD}});
    let (s, b) = send(
        app.req(Method::POST, &format!("/v3/user/activate/{first}"))
            .json(&account),
    )
    .await;
    assert_error(s, &b, 422, 120);

    // A new address: the link creates the account, in the organization and the stack.
    let (s, b) = send(
        app.req(Method::POST, &format!("/v3/user/activate/{second}"))
            .json(&account),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Your account has been activated.");
    let n = app.login("new@example.com").await;
    let (s, b) = send(app.as_user(Method::GET, "/v3/content_types", &n, &w.api_key)).await;
    assert_eq!(s, 200, "the invited Developer works in the stack: {b}");
    let (s, b) = send(user_req(
        &app,
        Method::GET,
        &format!("/v3/organizations/{}", w.org),
        &n,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    // Single use.
    let (s, b) = send(
        app.req(Method::POST, &format!("/v3/user/activate/{second}"))
            .json(&account),
    )
    .await;
    assert_error(s, &b, 422, 120);

    // Revoking a pending invitation ends its link.
    let other = json!({"share": {"users": {"later@example.com": ["admin"]}}});
    let (s, b) =
        send(user_req(&app, Method::POST, &format!("{base}/share"), &w.owner).json(&other)).await;
    assert_eq!(s, 200, "{b}");
    let later_uid = b["shares"][0]["uid"].as_str().unwrap().to_string();
    let later = link_token(&mails, "later@example.com", 1).await;
    let (s, b) = send(user_req(
        &app,
        Method::DELETE,
        &format!("{base}/share/{later_uid}"),
        &m,
    ))
    .await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(user_req(
        &app,
        Method::DELETE,
        &format!("{base}/share/{later_uid}"),
        &w.owner,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(
        app.req(Method::POST, &format!("/v3/user/activate/{later}"))
            .json(&account),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(user_req(
        &app,
        Method::GET,
        &format!("{base}/share/{later_uid}/resend_invitation"),
        &w.owner,
    ))
    .await;
    assert_error(s, &b, 422, 141);

    // An existing account accepts with no body and joins with the invited role.
    app.owner("elsewhere@example.com").await;
    let join = json!({"share": {"users": {"elsewhere@example.com": ["admin"]}}});
    let (s, b) =
        send(user_req(&app, Method::POST, &format!("{base}/share"), &w.owner).json(&join)).await;
    assert_eq!(s, 200, "{b}");
    let t = link_token(&mails, "elsewhere@example.com", 1).await;
    let (s, b) = send(app.req(Method::POST, &format!("/v3/user/activate/{t}"))).await;
    assert_eq!(s, 200, "{b}");
    let e = app.login("elsewhere@example.com").await;
    let (s, b) = send(user_req(&app, Method::GET, &format!("{base}/share"), &e)).await;
    assert_eq!(s, 200, "an invited admin manages invitations: {b}");
    // A malformed token is refused the same way.
    let (s, b) = send(app.req(Method::POST, "/v3/user/activate/hwlk_nothing")).await;
    assert_error(s, &b, 422, 120);

    // Sharing a stack with an address that has no account invites it (same answer as for a
    // registered one); the link creates the account, a member with the shared role.
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/stacks/share", &w.owner, &w.api_key)
            .json(&json!({"emails": ["fresh@example.com"], "roles": {"fresh@example.com": [dev_role]}})),
    )
    .await;
    assert_eq!(
        (s, b["notice"].clone()),
        (200, json!("The invitation has been sent successfully."))
    );
    let t = link_token(&mails, "fresh@example.com", 1).await;
    let fresh = json!({"user": {"first_name": "F", "last_name": "R", "password": PASSWORD}});
    let (s, b) = send(
        app.req(Method::POST, &format!("/v3/user/activate/{t}"))
            .json(&fresh),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let f = app.login("fresh@example.com").await;
    let (s, b) = send(app.as_user(Method::GET, "/v3/stacks/users", &f, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    let me = b["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "fresh@example.com")
        .cloned()
        .unwrap_or_default();
    assert_eq!(me["roles"], json!([dev_role]), "{b}");
}

async fn org_ownership_transfer_by_link(mut app: TestApp) {
    let mails = with_mail(&mut app).await;
    let w = world(&app).await;
    let base = format!("/v3/organizations/{}", w.org);
    app.member("m@example.com", &w.org).await;
    let m = app.login("m@example.com").await;
    let body = json!({"transfer_to": "m@example.com"});
    let (s, b) = send(
        user_req(
            &app,
            Method::POST,
            &format!("{base}/transfer-ownership"),
            &m,
        )
        .json(&body),
    )
    .await;
    assert_error(s, &b, 403, 162);
    // An address outside the organization gets the same answer; nothing happens.
    let (s, b) = send(
        user_req(
            &app,
            Method::POST,
            &format!("{base}/transfer-ownership"),
            &w.owner,
        )
        .json(&json!({"transfer_to": "nobody@example.com"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(
        user_req(
            &app,
            Method::POST,
            &format!("{base}/transfer-ownership"),
            &w.owner,
        )
        .json(&body),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let t = link_token(&mails, "m@example.com", 1).await;
    let (s, b) = send(app.req(
        Method::GET,
        &format!("/v3/organizations/accept_ownership/{t}"),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Ownership transferred successfully.");
    let (s, b) = send(user_req(&app, Method::GET, &base, &m)).await;
    assert_eq!(
        (s, b["organization"]["is_owner"].clone()),
        (200, json!(true)),
        "{b}"
    );
    // The previous owner is an admin now: can invite, cannot transfer.
    let (s, b) = send(
        user_req(
            &app,
            Method::POST,
            &format!("{base}/transfer-ownership"),
            &w.owner,
        )
        .json(&json!({"transfer_to": "m@example.com"})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(app.req(
        Method::GET,
        &format!("/v3/organizations/accept_ownership/{t}"),
    ))
    .await;
    assert_error(s, &b, 422, 120);
}

async fn teams_give_their_members_the_mapped_stack_roles(app: TestApp) {
    let w = world(&app).await;
    let base = format!("/v3/organizations/{}/teams", w.org);
    let m_uid = app.member("m@example.com", &w.org).await;
    let m = app.login("m@example.com").await;
    let dev = app.role_uid(&w.owner, &w.api_key, "Developer").await;
    let env = json!({"environment": {"name": "staging", "urls": []}});

    // Not in the stack: it does not exist for them.
    let (s, b) = send(app.as_user(Method::GET, "/v3/environments", &m, &w.api_key)).await;
    assert_error(s, &b, 412, 109);
    // A member cannot create teams.
    let team = json!({"name": "Web", "users": [{"email": "m@example.com"}], "organizationRole": format!("{}_member", w.org),
                      "stackRoleMapping": [{"stackApiKey": w.api_key, "roles": [dev]}]});
    let (s, b) = send(user_req(&app, Method::POST, &base, &m).json(&team)).await;
    assert_error(s, &b, 403, 162);
    assert_rule(&b, "ORG");

    let (s, b) = send(user_req(&app, Method::POST, &base, &w.owner).json(&team)).await;
    assert_eq!(s, 201, "{b}");
    let uid = b["uid"].as_str().unwrap().to_string();
    assert_eq!(b["organizationUid"], json!(w.org));
    assert_eq!(b["users"], json!([m_uid]));
    assert_eq!(
        b["stackRoleMapping"],
        json!([{"stackApiKey": w.api_key, "roles": [dev]}])
    );
    let (s, b) = send(user_req(&app, Method::POST, &base, &w.owner).json(&team)).await;
    assert_error(s, &b, 422, 120);

    // Through the team, the member is a Developer of the stack.
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/environments", &m, &w.api_key)
            .json(&env),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = send(user_req(&app, Method::GET, "/v3/stacks", &m)).await;
    assert_eq!(s, 200);
    assert!(
        b["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["api_key"] == json!(w.api_key)),
        "{b}"
    );
    // Developer does not manage tokens, even through a team.
    let (s, b) =
        send(app.as_user(Method::GET, "/v3/stacks/management_tokens", &m, &w.api_key)).await;
    assert_error(s, &b, 403, 162);

    // Team roles add to the member's own role: Content Manager alone cannot create environments.
    app.share(&w.owner, &w.api_key, "m@example.com", "Content Manager")
        .await;
    let prod = json!({"environment": {"name": "production", "urls": []}});
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/environments", &m, &w.api_key)
            .json(&prod),
    )
    .await;
    assert_eq!(s, 201, "{b}");

    // Reads: list, fetch, users, mappings (members may read).
    let (s, b) = send(user_req(&app, Method::GET, &base, &m)).await;
    assert_eq!((s, b["count"].clone()), (200, json!(1)), "{b}");
    let (s, b) = send(user_req(
        &app,
        Method::GET,
        &format!("{base}/{uid}"),
        &w.owner,
    ))
    .await;
    assert_eq!((s, b["name"].clone()), (200, json!("Web")), "{b}");
    let (s, b) = send(user_req(
        &app,
        Method::GET,
        &format!("{base}/{uid}/users"),
        &w.owner,
    ))
    .await;
    assert_eq!((s, b["users"].clone()), (200, json!([m_uid])), "{b}");
    let (s, b) = send(user_req(
        &app,
        Method::GET,
        &format!("{base}/{uid}/stack_role_mappings"),
        &w.owner,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["stackRoleMappings"],
        json!([{"stackApiKey": w.api_key, "roles": [dev]}])
    );

    // Mapping changes take effect at once: Content Manager again refuses environments.
    let r = user_req(
        &app,
        Method::DELETE,
        &format!("{base}/{uid}/stack_role_mappings/{}", w.api_key),
        &w.owner,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.text().await.unwrap().is_empty());
    let qa = json!({"environment": {"name": "qa", "urls": []}});
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/environments", &m, &w.api_key)
            .json(&qa),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(
        user_req(
            &app,
            Method::POST,
            &format!("{base}/{uid}/stack_role_mappings"),
            &w.owner,
        )
        .json(&json!({"stackApiKey": w.api_key, "roles": [dev]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(
        user_req(
            &app,
            Method::PUT,
            &format!("{base}/{uid}/stack_role_mappings/{}", w.api_key),
            &w.owner,
        )
        .json(&json!({"roles": ["not-a-role"]})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, _) = send(
        app.as_user(Method::POST, "/v3/environments", &m, &w.api_key)
            .json(&qa),
    )
    .await;
    assert_eq!(s, 201);

    // Removing the member from the team ends what it gave.
    let r = user_req(
        &app,
        Method::DELETE,
        &format!("{base}/{uid}/users/{m_uid}"),
        &w.owner,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    let dev_only = json!({"environment": {"name": "dev", "urls": []}});
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/environments", &m, &w.api_key)
            .json(&dev_only),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(
        user_req(&app, Method::POST, &format!("{base}/{uid}/users"), &w.owner)
            .json(&json!({"emails": ["m@example.com"]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // Only organization members can be added (an unknown address answers the same).
    let (s, b) = send(
        user_req(&app, Method::POST, &format!("{base}/{uid}/users"), &w.owner)
            .json(&json!({"emails": ["nobody@example.com"]})),
    )
    .await;
    assert_error(s, &b, 422, 120);

    // Update (rename) and delete.
    let (s, b) = send(
        user_req(&app, Method::PUT, &format!("{base}/{uid}"), &w.owner)
            .json(&json!({"name": "Web team"})),
    )
    .await;
    assert_eq!((s, b["name"].clone()), (200, json!("Web team")), "{b}");
    let (s, b) = send(
        user_req(&app, Method::PUT, &format!("{base}/{uid}"), &m).json(&json!({"name": "Mine"})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let r = user_req(&app, Method::DELETE, &format!("{base}/{uid}"), &w.owner)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (s, b) = send(user_req(
        &app,
        Method::GET,
        &format!("{base}/{uid}"),
        &w.owner,
    ))
    .await;
    assert_error(s, &b, 422, 141);
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/environments", &m, &w.api_key)
            .json(&dev_only),
    )
    .await;
    assert_error(s, &b, 403, 162);
}

async fn stack_settings_read_write_and_reset(app: TestApp) {
    let w = world(&app).await;
    let (s, b) = send(app.as_user(Method::GET, "/v3/stacks/settings", &w.owner, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["stack_settings"]["stack_variables"], json!({}));
    // The official client's addSettings body, then its resetSettings body.
    let set = json!({"stack_settings": {"stack_variables": {"enforce_unique_urls": true, "sys_rte_allowed_tags": "style"},
                                        "live_preview": {"enabled": true, "default-env": "", "default-url": "https://preview.example.com"}}});
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/stacks/settings", &w.owner, &w.api_key)
            .json(&set),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Stack settings updated successfully.");
    assert_eq!(
        b["stack_settings"]["stack_variables"]["enforce_unique_urls"],
        json!(true)
    );
    let (_, b) = send(app.as_user(Method::GET, "/v3/stacks/settings", &w.owner, &w.api_key)).await;
    assert_eq!(b["stack_settings"]["live_preview"]["enabled"], json!(true));
    let clear = json!({"stack_settings": {"discrete_variables": {}, "stack_variables": {}}});
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/stacks/settings", &w.owner, &w.api_key)
            .json(&clear),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["stack_settings"]["stack_variables"], json!({}));
    assert_eq!(
        b["stack_settings"]["live_preview"]["enabled"],
        json!(true),
        "groups not sent stay"
    );
    let (s, b) = send(app.as_user(
        Method::POST,
        "/v3/stacks/settings/reset",
        &w.owner,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["stack_settings"]["live_preview"], json!({}));
    let bad = json!({"stack_settings": {"stack_variables": "x"}});
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/stacks/settings", &w.owner, &w.api_key)
            .json(&bad),
    )
    .await;
    assert_error(s, &b, 422, 120);

    // A Content Manager cannot see or change them.
    app.member("cm@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "cm@example.com", "Content Manager")
        .await;
    let cm = app.login("cm@example.com").await;
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/stacks/settings", &cm, &w.api_key)
            .json(&set),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert_rule(&b, "ROLE");
    let (s, b) = send(app.as_user(Method::GET, "/v3/stacks/settings", &cm, &w.api_key)).await;
    assert_error(s, &b, 403, 162);
}

async fn stack_ownership_transfer_by_link(mut app: TestApp) {
    let mails = with_mail(&mut app).await;
    let w = world(&app).await;
    let m_uid = app.member("m@example.com", &w.org).await;
    app.share(&w.owner, &w.api_key, "m@example.com", "Admin")
        .await;
    let m = app.login("m@example.com").await;
    let body = json!({"transfer_to": "m@example.com"});
    // An admin cannot hand the stack over.
    let (s, b) = send(
        app.as_user(
            Method::POST,
            "/v3/stacks/transfer_ownership",
            &m,
            &w.api_key,
        )
        .json(&body),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (s, b) = send(
        app.as_user(
            Method::POST,
            "/v3/stacks/transfer_ownership",
            &w.owner,
            &w.api_key,
        )
        .json(&body),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b["notice"].as_str().unwrap().contains("m@example.com"),
        "{b}"
    );
    // The same answer for an unknown address.
    let (s, b2) = send(
        app.as_user(
            Method::POST,
            "/v3/stacks/transfer_ownership",
            &w.owner,
            &w.api_key,
        )
        .json(&json!({"transfer_to": "nobody@example.com"})),
    )
    .await;
    assert_eq!(s, 200, "{b2}");
    let t = link_token(&mails, "m@example.com", 1).await;
    // A link for another stack's key is refused (and spends nothing).
    let (s, b) = send(app.req(
        Method::GET,
        &format!("/v3/stacks/accept_ownership/{t}?api_key=other&uid={m_uid}"),
    ))
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(app.req(
        Method::GET,
        &format!(
            "/v3/stacks/accept_ownership/{t}?api_key={}&uid={m_uid}",
            w.api_key
        ),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Ownership transferred successfully.");
    let (s, b) = send(app.as_user(Method::GET, "/v3/stacks", &m, &w.api_key)).await;
    assert_eq!(
        (s, b["stack"]["owner_uid"].clone()),
        (200, json!(m_uid)),
        "{b}"
    );
    // The previous owner stays as an admin: may work, may not delete.
    let (s, b) = send(app.as_user(Method::DELETE, "/v3/stacks", &w.owner, &w.api_key)).await;
    assert_error(s, &b, 403, 162);
    let (s, _) = send(app.as_user(Method::GET, "/v3/environments", &w.owner, &w.api_key)).await;
    assert_eq!(s, 200);
    // Single use.
    let (s, b) = send(app.req(Method::GET, &format!("/v3/stacks/accept_ownership/{t}"))).await;
    assert_error(s, &b, 422, 120);
}

async fn management_tokens_are_refused_everywhere_here(app: TestApp) {
    let w = world(&app).await;
    let (token, _) = app.rw_token(&w.owner, &w.api_key, "ci").await;
    let org = format!("/v3/organizations/{}", w.org);
    let cases: Vec<(Method, String, Value)> = vec![
        (Method::GET, "/v3/stacks".into(), json!({})),
        (Method::GET, "/v3/stacks/settings".into(), json!({})),
        (
            Method::POST,
            "/v3/stacks/settings".into(),
            json!({"stack_settings": {"stack_variables": {}}}),
        ),
        (Method::POST, "/v3/stacks/settings/reset".into(), json!({})),
        (
            Method::POST,
            "/v3/stacks/transfer_ownership".into(),
            json!({"transfer_to": "owner@example.com"}),
        ),
        (Method::GET, format!("{org}/stacks"), json!({})),
        (Method::GET, format!("{org}/roles"), json!({})),
        (Method::GET, format!("{org}/logs"), json!({})),
        (Method::GET, format!("{org}/share"), json!({})),
        (
            Method::POST,
            format!("{org}/share"),
            json!({"share": {"users": {"a@example.com": ["member"]}}}),
        ),
        (Method::DELETE, format!("{org}/share/x"), json!({})),
        (Method::GET, format!("{org}/x/resend_invitation"), json!({})),
        (
            Method::POST,
            format!("{org}/transfer-ownership"),
            json!({"transfer_to": "a@example.com"}),
        ),
        (Method::GET, format!("{org}/teams"), json!({})),
        (Method::POST, format!("{org}/teams"), json!({"name": "t"})),
        (Method::GET, format!("{org}/teams/x"), json!({})),
        (Method::PUT, format!("{org}/teams/x"), json!({"name": "t"})),
        (Method::DELETE, format!("{org}/teams/x"), json!({})),
        (Method::GET, format!("{org}/teams/x/users"), json!({})),
        (
            Method::POST,
            format!("{org}/teams/x/users"),
            json!({"emails": ["a@example.com"]}),
        ),
        (Method::DELETE, format!("{org}/teams/x/users/y"), json!({})),
        (
            Method::GET,
            format!("{org}/teams/x/stack_role_mappings"),
            json!({}),
        ),
        (
            Method::POST,
            format!("{org}/teams/x/stack_role_mappings"),
            json!({"stackApiKey": "k", "roles": ["r"]}),
        ),
        (
            Method::PUT,
            format!("{org}/teams/x/stack_role_mappings/k"),
            json!({"roles": ["r"]}),
        ),
        (
            Method::DELETE,
            format!("{org}/teams/x/stack_role_mappings/k"),
            json!({}),
        ),
        (
            Method::PUT,
            "/v3/user".into(),
            json!({"user": {"first_name": "T"}}),
        ),
    ];
    for (m, p, body) in cases {
        let (s, b) = send(
            app.with_token(m.clone(), &p, &token, &w.api_key)
                .json(&body),
        )
        .await;
        assert_error(s, &b, 403, 162);
        assert_rule(&b, "MT-8");
        assert!(
            b["error_message"]
                .as_str()
                .unwrap()
                .contains("management token"),
            "{m} {p}: {b}"
        );
    }
    // The same token still works where it may.
    let (s, _) = send(app.with_token(Method::GET, "/v3/environments", &token, &w.api_key)).await;
    assert_eq!(s, 200);
}

async fn user_profile_and_password_change_end_other_sessions(app: TestApp) {
    let w = world(&app).await;
    let other_session = app.login("owner@example.com").await;
    let (s, b) = send(user_req(&app, Method::PUT, "/v3/user", &w.owner)
        .json(&json!({"user": {"first_name": "Ada", "last_name": "Lovelace", "email": "owner@example.com"}}))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Profile updated successfully.");
    assert_eq!(b["user"]["first_name"], "Ada");
    let (_, b) = send(user_req(&app, Method::GET, "/v3/user", &other_session)).await;
    assert_eq!(b["user"]["last_name"], "Lovelace");
    let (s, b) = send(
        user_req(&app, Method::PUT, "/v3/user", &w.owner)
            .json(&json!({"user": {"email": "else@example.com"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);

    let new_pass = "another-long-passphrase";
    let (s, b) =
        send(user_req(&app, Method::PUT, "/v3/user", &w.owner).json(
            &json!({"user": {"current_password": "wrong-password-here", "password": new_pass}}),
        ))
        .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(
        user_req(&app, Method::PUT, "/v3/user", &w.owner)
            .json(&json!({"user": {"current_password": PASSWORD, "password": "short"}})),
    )
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(user_req(&app, Method::PUT, "/v3/user", &w.owner)
        .json(&json!({"user": {"current_password": PASSWORD, "password": new_pass, "password_confirmation": new_pass}}))).await;
    assert_eq!(s, 200, "{b}");
    // The other session ended; this one goes on.
    let (s, b) = send(user_req(&app, Method::GET, "/v3/user", &other_session)).await;
    assert_error(s, &b, 401, 105);
    let (s, _) = send(user_req(&app, Method::GET, "/v3/user", &w.owner)).await;
    assert_eq!(s, 200);
    let (s, _) = send(
        app.req(Method::POST, "/v3/user-session")
            .json(&json!({"user": {"email": "owner@example.com", "password": PASSWORD}})),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = send(
        app.req(Method::POST, "/v3/user-session")
            .json(&json!({"user": {"email": "owner@example.com", "password": new_pass}})),
    )
    .await;
    assert_eq!(s, 200);
}

async fn password_reset_by_emailed_single_use_token(mut app: TestApp) {
    let mails = with_mail(&mut app).await;
    let w = world(&app).await;
    let notice = "If this email address exists, we will send you an email with instructions for resetting your password.";
    // The same answer for an unknown address.
    let (s, b) = send(
        app.req(Method::POST, "/v3/user/forgot_password")
            .json(&json!({"user": {"email": "nobody@example.com"}})),
    )
    .await;
    assert_eq!((s, b["notice"].clone()), (200, json!(notice)));
    let (s, b) = send(
        app.req(Method::POST, "/v3/user/forgot_password")
            .json(&json!({"user": {"email": "Owner@Example.com"}})),
    )
    .await;
    assert_eq!((s, b["notice"].clone()), (200, json!(notice)));
    let t = link_token(&mails, "owner@example.com", 1).await;
    // Only the token's hash is stored.
    {
        use sqlx::Row;
        let mut c = app.db.reader().await.unwrap();
        let rows = sqlx::query("SELECT token_hash FROM link_tokens")
            .fetch_all(&mut *c)
            .await
            .unwrap();
        let hashes: Vec<String> = rows
            .iter()
            .map(|r| r.get::<String, _>("token_hash"))
            .collect();
        assert_eq!(hashes, [headwater_core::secret::hash(&t)]);
    }

    let new_pass = "reset-long-passphrase";
    let reset = |token: &str, pass: &str| json!({"user": {"reset_password_token": token, "password": pass, "password_confirmation": pass}});
    // A mismatched confirmation is refused without spending the token.
    let (s, b) = send(app.req(Method::POST, "/v3/user/reset_password")
        .json(&json!({"user": {"reset_password_token": t, "password": new_pass, "password_confirmation": "other"}}))).await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(
        app.req(Method::POST, "/v3/user/reset_password")
            .json(&reset(&t, new_pass)),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Your password has been reset successfully.");
    // Every session ended; the new password works.
    let (s, b) = send(user_req(&app, Method::GET, "/v3/user", &w.owner)).await;
    assert_error(s, &b, 401, 105);
    let (s, _) = send(
        app.req(Method::POST, "/v3/user-session")
            .json(&json!({"user": {"email": "owner@example.com", "password": new_pass}})),
    )
    .await;
    assert_eq!(s, 200);
    // Reused: refused.
    let (s, b) = send(
        app.req(Method::POST, "/v3/user/reset_password")
            .json(&reset(&t, "yet-another-passphrase")),
    )
    .await;
    assert_error(s, &b, 422, 120);

    // Expired: refused.
    let (s, _) = send(
        app.req(Method::POST, "/v3/user/forgot_password")
            .json(&json!({"user": {"email": "owner@example.com"}})),
    )
    .await;
    assert_eq!(s, 200);
    let t2 = link_token(&mails, "owner@example.com", 2).await;
    app.db
        .execute_admin(
            "UPDATE link_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE used_at IS NULL",
        )
        .await
        .unwrap();
    let (s, b) = send(
        app.req(Method::POST, "/v3/user/reset_password")
            .json(&reset(&t2, "yet-another-passphrase")),
    )
    .await;
    assert_error(s, &b, 422, 120);
    // A token of another kind (or a forged one) is no reset token.
    let (s, b) = send(
        app.req(Method::POST, "/v3/user/reset_password")
            .json(&reset("hwlk_forged", "yet-another-passphrase")),
    )
    .await;
    assert_error(s, &b, 422, 120);
}

async fn a_stack_with_settings_and_team_roles_can_be_deleted(app: TestApp) {
    let w = world(&app).await;
    app.member("m@example.com", &w.org).await;
    let dev = app.role_uid(&w.owner, &w.api_key, "Developer").await;
    let team = json!({"name": "Web", "users": ["m@example.com"],
                      "stackRoleMapping": [{"stackApiKey": w.api_key, "roles": [dev]}]});
    let base = format!("/v3/organizations/{}/teams", w.org);
    let (s, b) = send(user_req(&app, Method::POST, &base, &w.owner).json(&team)).await;
    assert_eq!(s, 201, "{b}");
    let uid = b["uid"].as_str().unwrap().to_string();
    let set = json!({"stack_settings": {"stack_variables": {"a": 1}}});
    let (s, _) = send(
        app.as_user(Method::POST, "/v3/stacks/settings", &w.owner, &w.api_key)
            .json(&set),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = send(app.as_user(Method::DELETE, "/v3/stacks", &w.owner, &w.api_key)).await;
    assert_eq!(s, 200, "{b}");
    // The team stays, without the stack's mapping.
    let (s, b) = send(user_req(
        &app,
        Method::GET,
        &format!("{base}/{uid}"),
        &w.owner,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["stackRoleMapping"], json!([]));
}
