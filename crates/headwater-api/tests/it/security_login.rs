//! Login, two-factor and session hardening (SEC-3, SEC-4, SEC-17), on SQLite and PostgreSQL.

use headwater_api::state::LoginConfig;
use headwater_api::ServerConfig;
use headwater_core::throttle::Policy;
use headwater_testkit::{
    assert_error, on_both_backends, parts, send, test_config, TestApp, PASSWORD,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(
    sec_03_password_guessing_is_throttled_per_email_known_or_not,
    sec_03_guessing_from_one_address_is_throttled,
    sec_03_two_factor_codes_are_throttled_and_log_in_once,
    sec_04_concurrent_logins_never_exceed_the_hasher_permits,
    sec_04_a_login_that_waits_too_long_for_a_hasher_gets_503,
    sec_17_idle_authtokens_are_refused,
    sec_17_authtokens_past_their_maximum_age_are_refused,
    sec_17_strict_mode_ends_member_password_sessions,
    sec_17_sharing_answers_the_same_for_unknown_addresses,
    sec_14_two_factor_secrets_are_sealed_at_rest,
);

fn policy(free: u32, base_ms: u64) -> Policy {
    Policy {
        free,
        window: Duration::from_secs(600),
        base_lockout: Duration::from_millis(base_ms),
        max_lockout: Duration::from_secs(5),
    }
}

fn with_login(login: LoginConfig) -> ServerConfig {
    ServerConfig {
        login,
        ..test_config()
    }
}

/// A login; returns status, body and the `Retry-After` header.
async fn login(
    app: &TestApp,
    email: &str,
    password: &str,
    tfa: Option<&str>,
) -> (u16, Value, Option<String>) {
    let mut user = json!({"email": email, "password": password});
    if let Some(t) = tfa {
        user["tfa_token"] = json!(t);
    }
    let r = app
        .req(Method::POST, "/v3/user-session")
        .json(&json!({ "user": user }))
        .send()
        .await
        .expect("login request");
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, body) = parts(r).await;
    (status, body, retry)
}

fn retry_secs(retry: &Option<String>) -> u64 {
    retry
        .as_deref()
        .expect("Retry-After header")
        .parse()
        .expect("Retry-After is whole seconds")
}

async fn sec_03_password_guessing_is_throttled_per_email_known_or_not(mut app: TestApp) {
    app.restart_with(with_login(LoginConfig {
        account: policy(3, 1000),
        address: policy(1000, 1000),
        ..LoginConfig::default()
    }))
    .await;
    app.owner("ada@example.com").await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..4 {
        known.push(login(&app, "ada@example.com", "not-the-password", None).await);
        unknown.push(login(&app, "Nobody@Example.com", "not-the-password", None).await);
    }
    for (status, body, _) in known.iter().take(3) {
        assert_error(*status, body, 422, 104);
    }
    // The fourth guess is refused without being checked, and so is the right password now.
    let (status, body, retry) = &known[3];
    assert_error(*status, body, 429, 107);
    assert!(retry_secs(retry) >= 1);
    let (status, body, _) = login(&app, "ADA@example.com", PASSWORD, None).await;
    assert_error(status, &body, 429, 107);
    // An unknown email is throttled exactly like a known one: the answers cannot tell them apart.
    assert_eq!(known, unknown);

    // After the lockout, the right password works and starts the email afresh.
    tokio::time::sleep(Duration::from_secs(retry_secs(retry))).await;
    let (status, body, _) = login(&app, "ada@example.com", PASSWORD, None).await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..3 {
        let (status, body, _) = login(&app, "ada@example.com", "not-the-password", None).await;
        assert_error(status, &body, 422, 104);
    }
}

async fn sec_03_guessing_from_one_address_is_throttled(mut app: TestApp) {
    app.restart_with(with_login(LoginConfig {
        account: policy(1000, 1000),
        address: policy(4, 2000),
        ..LoginConfig::default()
    }))
    .await;
    app.owner("ada@example.com").await;
    for i in 0..4 {
        let (status, body, _) = login(
            &app,
            &format!("guess{i}@example.com"),
            "not-the-password",
            None,
        )
        .await;
        assert_error(status, &body, 422, 104);
    }
    // A fresh email from the same address, and even the right password, wait for the lockout.
    let (status, body, retry) = login(&app, "guess9@example.com", "not-the-password", None).await;
    assert_error(status, &body, 429, 107);
    assert!(retry_secs(&retry) >= 1);
    let (status, body, _) = login(&app, "ada@example.com", PASSWORD, None).await;
    assert_error(status, &body, 429, 107);
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn sec_03_two_factor_codes_are_throttled_and_log_in_once(mut app: TestApp) {
    app.restart_with(with_login(LoginConfig {
        tfa: policy(3, 1000),
        ..LoginConfig::default()
    }))
    .await;
    app.owner("ada@example.com").await;
    let secret = headwater_api::admin::enable_2fa(
        &app.db,
        &headwater_testkit::seal_key(),
        "ada@example.com",
    )
    .await
    .unwrap();
    let now = unix_now();
    let code = headwater_core::totp::code_at(&secret, now).unwrap();
    let (status, body, _) = login(&app, "ada@example.com", PASSWORD, Some(&code)).await;
    assert_eq!(status, 200, "{body}");
    // The same code cannot log in a second time, though it is still within its window.
    let (status, body, _) = login(&app, "ada@example.com", PASSWORD, Some(&code)).await;
    assert_error(status, &body, 422, 295);

    // Wrong codes: after three failures (the replay counted), the next code waits, even the
    // right one (the next time step's code, valid in the drift window and never used).
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..2 {
        let (status, body, _) = login(&app, "ada@example.com", PASSWORD, Some(wrong)).await;
        assert_error(status, &body, 422, 295);
    }
    let next = headwater_core::totp::code_at(&secret, now + 30).unwrap();
    let (status, body, retry) = login(&app, "ada@example.com", PASSWORD, Some(&next)).await;
    assert_error(status, &body, 429, 107);
    // A wrong password still gets the ordinary answer: the lockout shows only to the holder
    // of the password.
    let (status, body, _) = login(&app, "ada@example.com", "not-the-password", None).await;
    assert_error(status, &body, 422, 104);
    tokio::time::sleep(Duration::from_secs(retry_secs(&retry))).await;
    let (status, body, _) = login(&app, "ada@example.com", PASSWORD, Some(&next)).await;
    assert_eq!(status, 200, "{body}");
}

/// Fires `n` wrong logins at once; returns their statuses, error codes and Retry-After headers.
async fn flood(app: &TestApp, n: usize) -> Vec<(u16, Value, Option<String>)> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let req = app
            .req(Method::POST, "/v3/user-session")
            .json(&json!({"user": {"email": format!("flood{i}@example.com"), "password": "not-the-password"}}));
        set.spawn(async move {
            let r = req.send().await.expect("login request");
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let (status, body) = parts(r).await;
            (status, body, retry)
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.expect("login task"));
    }
    out
}

async fn sec_04_concurrent_logins_never_exceed_the_hasher_permits(mut app: TestApp) {
    app.restart_with(with_login(LoginConfig {
        address: policy(1000, 1000),
        ..LoginConfig::default()
    }))
    .await;
    app.owner("ada@example.com").await;
    let answers = flood(&app, 40).await;
    for (status, body, _) in &answers {
        assert_error(*status, body, 422, 104);
    }
    let permits = headwater_api::hashing::permits();
    let peak = headwater_api::hashing::peak();
    assert!(peak >= 1, "no hash was counted");
    assert!(
        peak <= permits,
        "{peak} hashes ran at once; at most {permits} may"
    );
}

async fn sec_04_a_login_that_waits_too_long_for_a_hasher_gets_503(mut app: TestApp) {
    app.restart_with(with_login(LoginConfig {
        address: policy(1000, 1000),
        hash_wait: Duration::from_millis(1),
        ..LoginConfig::default()
    }))
    .await;
    let answers = flood(&app, 40).await;
    let mut busy = 0;
    for (status, body, retry) in &answers {
        if *status == 503 {
            assert_error(*status, body, 503, 503);
            assert_eq!(retry.as_deref(), Some("1"));
            busy += 1;
        } else {
            assert_error(*status, body, 422, 104);
        }
    }
    assert!(
        busy > 0,
        "40 logins at once all found a free hasher at once"
    );
}

async fn sec_17_idle_authtokens_are_refused(mut app: TestApp) {
    app.restart_with(with_login(LoginConfig {
        session_idle: Duration::from_secs(3),
        ..LoginConfig::default()
    }))
    .await;
    app.owner("ada@example.com").await;
    let at = app.login("ada@example.com").await;
    let me = || app.req(Method::GET, "/v3/user").header("authtoken", &at);
    // Used every two seconds, the authtoken stays alive past the idle timeout…
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (status, body) = send(me()).await;
        assert_eq!(status, 200, "{body}");
    }
    // …and left alone longer than that, it is refused like an unknown one.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let (status, body) = send(me()).await;
    assert_error(status, &body, 401, 105);
    let unknown = send(
        app.req(Method::GET, "/v3/user")
            .header("authtoken", "not-an-authtoken"),
    )
    .await;
    assert_eq!((status, body), unknown);
}

async fn sec_17_authtokens_past_their_maximum_age_are_refused(mut app: TestApp) {
    app.restart_with(with_login(LoginConfig {
        session_max_age: Duration::from_secs(3),
        ..LoginConfig::default()
    }))
    .await;
    app.owner("ada@example.com").await;
    let at = app.login("ada@example.com").await;
    let me = || app.req(Method::GET, "/v3/user").header("authtoken", &at);
    for _ in 0..2 {
        let (status, body) = send(me()).await;
        assert_eq!(status, 200, "{body}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = send(me()).await;
    assert_error(status, &body, 401, 105);
    // A new login gets a new authtoken that works.
    let fresh = app.login("ada@example.com").await;
    let (status, _) = send(app.req(Method::GET, "/v3/user").header("authtoken", &fresh)).await;
    assert_eq!(status, 200);
}

async fn sec_17_strict_mode_ends_member_password_sessions(app: TestApp) {
    let (_, org) = app.owner("owner@example.com").await;
    app.member("member@example.com", &org).await;
    let owner = app.login("owner@example.com").await;
    let member = app.login("member@example.com").await;
    // A user of another organization, shared into this one's stack later.
    app.owner("guest@example.com").await;
    let guest = app.login("guest@example.com").await;
    let api_key = app.stack(&owner, &org, "Blog").await;

    let ended = headwater_api::admin::set_sso_strict(&app.db, &org, true)
        .await
        .unwrap();
    assert_eq!(ended, 1);
    let me = |at: &str| app.req(Method::GET, "/v3/user").header("authtoken", at);
    let (status, body) = send(me(&member)).await;
    assert_error(status, &body, 401, 105);
    let (status, _) = send(me(&owner)).await;
    assert_eq!(status, 200, "the owner keeps password access");

    // Joining a strict organization (through a share) ends the newcomer's password sessions.
    let (status, _) = send(me(&guest)).await;
    assert_eq!(status, 200);
    app.share(&owner, &api_key, "guest@example.com", "Developer")
        .await;
    let (status, body) = send(me(&guest)).await;
    assert_error(status, &body, 401, 105);
}

async fn sec_17_sharing_answers_the_same_for_unknown_addresses(app: TestApp) {
    let (_, org) = app.owner("owner@example.com").await;
    app.owner("known@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Blog").await;
    let role = app.role_uid(&owner, &api_key, "Developer").await;
    let share = |email: &str| {
        app.as_user(Method::POST, "/v3/stacks/share", &owner, &api_key)
            .json(&json!({"emails": [email], "roles": {email: [role.clone()]}}))
    };
    let known = send(share("known@example.com")).await;
    let unknown = send(share("unknown@example.com")).await;
    assert_eq!(known.0, 200, "{}", known.1);
    assert_eq!(known, unknown);
    assert_eq!(
        known.1["notice"],
        "The invitation has been sent successfully."
    );
    // Only the registered user joined.
    let (status, body) = send(app.as_user(Method::GET, "/v3/stacks/users", &owner, &api_key)).await;
    assert_eq!(status, 200, "{body}");
    let emails: Vec<&str> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert!(emails.contains(&"known@example.com"), "{body}");
    assert!(!emails.contains(&"unknown@example.com"), "{body}");
    // A missing role is refused the same way for both.
    let no_role = |email: &str| {
        app.as_user(Method::POST, "/v3/stacks/share", &owner, &api_key)
            .json(&json!({"emails": [email]}))
    };
    let (ks, kb) = send(no_role("known@example.com")).await;
    let (us, ub) = send(no_role("unknown@example.com")).await;
    assert_error(ks, &kb, 422, 120);
    assert_eq!(ks, us);
    assert_eq!(
        kb.to_string().replace("known@", "someone@"),
        ub.to_string().replace("unknown@", "someone@")
    );
}

/// The stored two-factor secret of a user, as the database holds it.
async fn stored_tfa_secret(app: &TestApp, email: &str) -> String {
    let mut c = app.db.reader().await.unwrap();
    headwater_store::repo::users::by_email(&mut c, email)
        .await
        .unwrap()
        .expect("user")
        .tfa_secret
        .expect("a two-factor secret")
}

/// SEC-14. The database holds two-factor secrets sealed (encrypted and bound to their user),
/// never the secret itself; login opens them with the server's key. A secret written in
/// plain text before sealing still logs in, and is sealed by `admin::seal_tfa_secrets` (run at
/// every start); a server with another key cannot use a sealed one.
async fn sec_14_two_factor_secrets_are_sealed_at_rest(mut app: TestApp) {
    let key = headwater_testkit::seal_key();
    let (ada, _) = app.owner("ada@example.com").await;
    let secret = headwater_api::admin::enable_2fa(&app.db, &key, "ada@example.com")
        .await
        .unwrap();
    let stored = stored_tfa_secret(&app, "ada@example.com").await;
    assert!(stored.starts_with("enc:v1:"), "{stored}");
    assert!(!stored.contains(&secret));
    let now = unix_now();
    let code = headwater_core::totp::code_at(&secret, now).unwrap();
    let (status, body, _) = login(&app, "ada@example.com", PASSWORD, Some(&code)).await;
    assert_eq!(status, 200, "{body}");

    // A secret from before sealing: stored plain, still works, then sealed at start.
    app.owner("bob@example.com").await;
    let plain = headwater_core::totp::new_secret();
    let mut tx = app.db.begin().await.unwrap();
    let bob = headwater_store::repo::users::by_email(&mut tx, "bob@example.com")
        .await
        .unwrap()
        .unwrap();
    headwater_store::repo::users::set_tfa_secret(&mut tx, &bob.uid, Some(&plain))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let code = headwater_core::totp::code_at(&plain, now).unwrap();
    let (status, body, _) = login(&app, "bob@example.com", PASSWORD, Some(&code)).await;
    assert_eq!(status, 200, "{body}");
    let sealed = headwater_api::admin::seal_tfa_secrets(&app.db, &key)
        .await
        .unwrap();
    assert_eq!(sealed, 1, "only bob's secret was plain");
    let stored = stored_tfa_secret(&app, "bob@example.com").await;
    assert!(
        stored.starts_with("enc:v1:") && !stored.contains(&plain),
        "{stored}"
    );
    assert_eq!(key.open(&stored, &bob.uid).unwrap(), plain);
    // Bound to its user: ada's sealed secret does not open as bob's.
    let ada_stored = stored_tfa_secret(&app, "ada@example.com").await;
    assert!(key.open(&ada_stored, &bob.uid).is_err());
    assert_eq!(key.open(&ada_stored, &ada).unwrap(), secret);

    // Another key cannot use it: the login fails as a server fault, never as a pass.
    app.restart_with(ServerConfig {
        seal_key: headwater_core::sealing::SealKey::generate(),
        ..test_config()
    })
    .await;
    let code = headwater_core::totp::code_at(&secret, now + 30).unwrap();
    let (status, body, _) = login(&app, "ada@example.com", PASSWORD, Some(&code)).await;
    assert_error(status, &body, 500, 500);
}
