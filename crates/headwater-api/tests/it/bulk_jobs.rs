//! Publishing jobs on both backends: asynchronous bulk publishes (`api_version: 3.2`) with
//! their status and per-item results, a queued job carried out by the next server over the
//! same database, scheduled publishes (carried out once by two servers sharing a database,
//! refused in the past, cancelled from the publish queue); bulk delete and bulk workflow-stage
//! changes (all or nothing, authorized like the single routes).

use headwater_api::state::{EventsConfig, ServerConfig};
use headwater_testkit::{assert_error, on_both_backends, send, test_config, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

on_both_backends!(
    async_bulk_job_reports_status_and_items_with_one_refused,
    a_queued_job_is_carried_out_by_the_next_server,
    two_servers_carry_out_each_scheduled_publish_once,
    scheduled_publishing_in_the_past_is_refused,
    a_scheduled_publish_can_be_unscheduled_from_the_publish_queue,
    bulk_delete_removes_all_or_nothing,
    bulk_workflow_moves_every_entry_or_none,
    a_scheduled_release_deploy_is_carried_out_at_its_time,
);

struct World {
    owner: String,
    api_key: String,
    entries: Vec<String>,
}

/// A stack with the `production` environment, a `news` content type and `n` entries.
async fn world(app: &TestApp, n: usize) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Jobs").await;
    let u = |m, p: &str| app.as_user(m, p, &owner, &api_key);
    let (s, b) = send(
        u(Method::POST, "/v3/environments").json(&json!({"environment": {"name": "production"}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let ct = json!({"content_type": {"title": "News", "uid": "news", "schema": [
        {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": true}]}});
    let (s, b) = send(u(Method::POST, "/v3/content_types").json(&ct)).await;
    assert_eq!(s, 201, "{b}");
    let mut entries = Vec::new();
    for i in 0..n {
        let (s, b) = send(
            u(Method::POST, "/v3/content_types/news/entries")
                .json(&json!({"entry": {"title": format!("Story {i}")}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        entries.push(b["entry"]["uid"].as_str().unwrap().to_string());
    }
    World {
        owner,
        api_key,
        entries,
    }
}

fn get(app: &TestApp, w: &World, path: &str) -> reqwest::RequestBuilder {
    app.as_user(Method::GET, path, &w.owner, &w.api_key)
}

/// The environments (uids) and versions an entry is published at.
async fn publish_details(app: &TestApp, w: &World, uid: &str) -> Vec<Value> {
    let (s, b) = send(get(
        app,
        w,
        &format!("/v3/content_types/news/entries/{uid}?include_publish_details=true"),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    b["entry"]["publish_details"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Polls the job until it is no longer queued or running, failing after 30 s.
async fn finished_job(app: &TestApp, w: &World, job_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, b) =
            send(get(app, w, &format!("/v3/bulk/jobs/{job_id}")).header("api_version", "3.2"))
                .await;
        assert_eq!(s, 200, "{b}");
        let status = b["status"].as_str().unwrap().to_string();
        if !matches!(status.as_str(), "in_progress" | "scheduled") {
            return b;
        }
        assert!(Instant::now() < deadline, "job still {status}: {b}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn no_jobs() -> ServerConfig {
    ServerConfig {
        events: EventsConfig {
            run_jobs: false,
            ..EventsConfig::default()
        },
        ..test_config()
    }
}

fn fast_jobs() -> ServerConfig {
    ServerConfig {
        events: EventsConfig {
            jobs_poll_interval: Duration::from_millis(20),
            ..EventsConfig::default()
        },
        ..test_config()
    }
}

async fn async_bulk_job_reports_status_and_items_with_one_refused(app: TestApp) {
    let w = world(&app, 1).await;
    let body = json!({
        "entries": [
            {"uid": w.entries[0], "content_type": "news", "locale": "en-us"},
            {"uid": "bltmissing0000000", "content_type": "news", "locale": "en-us"}
        ],
        "locales": ["en-us"],
        "environments": ["production"]
    });
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/bulk/publish", &w.owner, &w.api_key)
            .header("api_version", "3.2")
            .json(&body),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["notice"].as_str().unwrap().contains("in progress"), "{b}");
    let job_id = b["job_id"].as_str().expect("job_id").to_string();
    let job = finished_job(&app, &w, &job_id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["uid"], json!(job_id));
    assert_eq!(job["action"], "publish");
    assert_eq!(
        job["summary"],
        json!({"total": 2, "success": 1, "failed": 1, "pending": 0, "cancelled": 0}),
        "{job}"
    );

    let (s, b) = send(get(
        &app,
        &w,
        &format!("/v3/bulk/jobs/{job_id}/items?include_count=true"),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["total_count"], 2, "{b}");
    let items = b["items"].as_array().unwrap();
    assert_eq!(items[0]["uid"], json!(w.entries[0]));
    assert_eq!(items[0]["status"], "success", "{b}");
    assert_eq!(items[1]["uid"], "bltmissing0000000");
    assert_eq!(items[1]["status"], "failed", "{b}");
    assert!(
        items[1]["errors"]["uid"][0]
            .as_str()
            .unwrap()
            .contains("doesn't exist"),
        "{b}"
    );
    // Filtered by status.
    let (s, b) = send(get(
        &app,
        &w,
        &format!("/v3/bulk/jobs/{job_id}/items?status=failed"),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["items"].as_array().unwrap().len(), 1, "{b}");

    // The valid item is live.
    let details = publish_details(&app, &w, &w.entries[0]).await;
    assert_eq!(details.len(), 1, "{details:?}");

    // The publish queue lists both items with their outcome.
    let (s, b) = send(get(&app, &w, "/v3/publish-queue?include_count=true")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], 2, "{b}");
    let (s, b) = send(get(&app, &w, "/v3/publish-queue?status=failed")).await;
    assert_eq!(s, 200, "{b}");
    let queue = b["queue"].as_array().unwrap();
    assert_eq!(queue.len(), 1, "{b}");
    assert_eq!(queue[0]["entry"]["uid"], "bltmissing0000000");
    assert_eq!(queue[0]["action"], "publish");
    assert_eq!(queue[0]["publish_details"]["status"], "failed");

    // Unknown job; and a settings error is refused at once, with no job.
    let (s, b) = send(get(&app, &w, "/v3/bulk/jobs/bltnosuchjob00000")).await;
    assert_error(s, &b, 422, 141);
    let bad = json!({"entries": [{"uid": w.entries[0], "content_type": "news"}],
                     "locales": ["en-us"], "environments": ["nowhere"]});
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/bulk/publish", &w.owner, &w.api_key)
            .header("api_version", "3.2")
            .json(&bad),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["environments[0]"].is_array(), "{b}");

    // A read-only token reads jobs.
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "reader").await;
    let (s, b) = send(app.with_token(
        Method::GET,
        &format!("/v3/bulk/jobs/{job_id}"),
        &ro,
        &w.api_key,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
}

async fn a_queued_job_is_carried_out_by_the_next_server(mut app: TestApp) {
    app.restart_with(no_jobs()).await;
    let w = world(&app, 2).await;
    let body = json!({
        "entries": [
            {"uid": w.entries[0], "content_type": "news"},
            {"uid": w.entries[1], "content_type": "news"}
        ],
        "locales": ["en-us"],
        "environments": ["production"]
    });
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/bulk/publish", &w.owner, &w.api_key)
            .header("api_version", "3.2")
            .json(&body),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let job_id = b["job_id"].as_str().unwrap().to_string();
    let (s, b) = send(get(&app, &w, &format!("/v3/bulk/jobs/{job_id}"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "in_progress", "{b}");
    assert!(publish_details(&app, &w, &w.entries[0]).await.is_empty());

    // This server stops with the job queued; the next one over the same database does it.
    app.restart_with(fast_jobs()).await;
    let job = finished_job(&app, &w, &job_id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["summary"]["success"], 2, "{job}");
    for uid in &w.entries {
        assert_eq!(publish_details(&app, &w, uid).await.len(), 1);
    }
}

async fn two_servers_carry_out_each_scheduled_publish_once(mut app: TestApp) {
    app.restart_with(fast_jobs()).await;
    let w = world(&app, 4).await;
    let other = app.another(fast_jobs()).await;
    let at = time::OffsetDateTime::now_utc() + Duration::from_secs(2);
    let at = headwater_core::clock::format(at);
    for uid in &w.entries {
        let (s, b) = send(
            app.as_user(
                Method::POST,
                &format!("/v3/content_types/news/entries/{uid}/publish"),
                &w.owner,
                &w.api_key,
            )
            .json(
                &json!({"entry": {"environments": ["production"], "locales": ["en-us"]},
                          "scheduled_at": at}),
            ),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert!(b["job_id"].is_string(), "{b}");
    }
    // Scheduled, not live yet, and visible in the publish queue from either server.
    let (s, b) = send(get(&other, &w, "/v3/publish-queue?status=scheduled")).await;
    assert_eq!(s, 200, "{b}");
    let queued = b["queue"].as_array().unwrap().len();
    // All four are scheduled unless their time has already come while asking.
    assert!(queued <= 4, "{b}");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, b) = send(get(&app, &w, "/v3/publish-queue?status=success")).await;
        assert_eq!(s, 200, "{b}");
        if b["queue"].as_array().unwrap().len() == 4 {
            break;
        }
        assert!(Instant::now() < deadline, "not all carried out: {b}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for uid in &w.entries {
        assert_eq!(publish_details(&app, &w, uid).await.len(), 1);
    }
    // Exactly one publish per entry in the audit log, whichever server did it.
    let (s, b) = send(get(&app, &w, "/v3/audit-logs?limit=100")).await;
    assert_eq!(s, 200, "{b}");
    let logs = b["logs"].as_array().unwrap();
    for uid in &w.entries {
        let n = logs
            .iter()
            .filter(|l| l["event_type"] == "publish" && l["metadata"]["uid"] == json!(uid))
            .count();
        assert_eq!(n, 1, "entry {uid} published {n} times: {b}");
    }
    drop(other);
}

async fn scheduled_publishing_in_the_past_is_refused(app: TestApp) {
    let w = world(&app, 1).await;
    let path = format!("/v3/content_types/news/entries/{}/publish", w.entries[0]);
    for at in [
        "2020-01-01T00:00:00.000Z",
        "tomorrow",
        "2020-13-01T00:00:00Z",
    ] {
        let (s, b) = send(
            app.as_user(Method::POST, &path, &w.owner, &w.api_key)
                .json(&json!({
                    "entry": {"environments": ["production"], "locales": ["en-us"]},
                    "scheduled_at": at
                })),
        )
        .await;
        assert_error(s, &b, 422, 120);
        assert!(b["errors"]["scheduled_at"].is_array(), "{b}");
    }
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/bulk/publish", &w.owner, &w.api_key)
            .json(&json!({
                "entries": [{"uid": w.entries[0], "content_type": "news"}],
                "locales": ["en-us"], "environments": ["production"],
                "scheduled_at": "2020-01-01T00:00:00.000Z"
            })),
    )
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["scheduled_at"].is_array(), "{b}");
    // Nothing was queued or published.
    let (s, b) = send(get(&app, &w, "/v3/publish-queue?include_count=true")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], 0, "{b}");
    assert!(publish_details(&app, &w, &w.entries[0]).await.is_empty());
}

async fn a_scheduled_publish_can_be_unscheduled_from_the_publish_queue(app: TestApp) {
    let w = world(&app, 1).await;
    let at =
        headwater_core::clock::format(time::OffsetDateTime::now_utc() + Duration::from_secs(3600));
    let path = format!("/v3/content_types/news/entries/{}/publish", w.entries[0]);
    let (s, b) = send(
        app.as_user(Method::POST, &path, &w.owner, &w.api_key)
            .json(&json!({
                "entry": {"environments": ["production"], "locales": ["en-us"]},
                "scheduled_at": at
            })),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let job_id = b["job_id"].as_str().unwrap().to_string();
    let (s, b) = send(get(&app, &w, "/v3/publish-queue")).await;
    assert_eq!(s, 200, "{b}");
    let queue = b["queue"].as_array().unwrap();
    assert_eq!(queue.len(), 1, "{b}");
    assert_eq!(queue[0]["publish_details"]["status"], "scheduled", "{b}");
    assert_eq!(queue[0]["scheduled_at"], json!(at), "{b}");
    assert_eq!(queue[0]["entry"]["uid"], json!(w.entries[0]), "{b}");
    let item = queue[0]["uid"].as_str().unwrap().to_string();

    // A read-only token may look but not cancel.
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "reader").await;
    let (s, b) = send(app.with_token(
        Method::GET,
        &format!("/v3/publish-queue/{item}/unschedule"),
        &ro,
        &w.api_key,
    ))
    .await;
    assert_error(s, &b, 403, 162);

    let (s, b) = send(get(
        &app,
        &w,
        &format!("/v3/publish-queue/{item}/unschedule"),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(get(&app, &w, &format!("/v3/publish-queue/{item}"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["queue"]["publish_details"]["status"], "cancelled", "{b}");
    let (s, b) = send(get(&app, &w, &format!("/v3/bulk/jobs/{job_id}"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "cancelled", "{b}");
    // Twice is refused; an unknown item is not found.
    let (s, b) = send(get(
        &app,
        &w,
        &format!("/v3/publish-queue/{item}/unschedule"),
    ))
    .await;
    assert_error(s, &b, 422, 120);
    let (s, b) = send(get(
        &app,
        &w,
        "/v3/publish-queue/bltnosuchitem0000/unschedule",
    ))
    .await;
    assert_error(s, &b, 422, 141);
    assert!(publish_details(&app, &w, &w.entries[0]).await.is_empty());
}

async fn entry_exists(app: &TestApp, w: &World, uid: &str) -> bool {
    let (s, _) = send(get(
        app,
        w,
        &format!("/v3/content_types/news/entries/{uid}"),
    ))
    .await;
    s == 200
}

async fn bulk_delete_removes_all_or_nothing(app: TestApp) {
    let w = world(&app, 3).await;
    let post = |body: Value| {
        send(
            app.as_user(Method::POST, "/v3/bulk/delete", &w.owner, &w.api_key)
                .json(&body),
        )
    };
    // One missing entry: nothing is deleted, the missing one is named.
    let (s, b) = post(json!({"entries": [
        {"content_type": "news", "uid": w.entries[0], "locale": "en-us"},
        {"content_type": "news", "uid": "bltmissing0000000", "locale": "en-us"}
    ]}))
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["entries[1].uid"].is_array(), "{b}");
    assert!(entry_exists(&app, &w, &w.entries[0]).await);

    // A read-only token may not delete: the whole request is refused.
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "reader").await;
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/bulk/delete", &ro, &w.api_key)
            .json(&json!({"entries": [{"content_type": "news", "uid": w.entries[0]}]})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    assert!(entry_exists(&app, &w, &w.entries[0]).await);

    let (s, b) = post(json!({"entries": [
        {"content_type": "news", "uid": w.entries[0], "locale": "en-us"},
        {"content_type": "news", "uid": w.entries[1]}
    ]}))
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["notice"].as_str().unwrap().contains("delete"), "{b}");
    assert!(!entry_exists(&app, &w, &w.entries[0]).await);
    assert!(!entry_exists(&app, &w, &w.entries[1]).await);
    assert!(entry_exists(&app, &w, &w.entries[2]).await);
    // One audit row per deleted entry.
    let (s, b) = send(get(&app, &w, "/v3/audit-logs?limit=100")).await;
    assert_eq!(s, 200, "{b}");
    let deletes = b["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["event_type"] == "delete" && l["module"] == "entry")
        .count();
    assert_eq!(deletes, 2, "{b}");
    // An empty request is refused.
    let (s, b) = post(json!({})).await;
    assert_error(s, &b, 422, 120);
}

async fn bulk_workflow_moves_every_entry_or_none(app: TestApp) {
    let w = world(&app, 2).await;
    let acl = json!({"others": {}, "users": {"uids": ["$all"]}, "roles": {"uids": []}});
    let (s, b) = send(
        app.as_user(Method::POST, "/v3/workflows", &w.owner, &w.api_key).json(&json!({"workflow": {
            "name": "Editorial", "content_types": ["news"], "branches": ["main"],
            "workflow_stages": [
                {"uid": "draft", "name": "Draft", "next_available_stages": ["review"], "SYS_ACL": acl},
                {"uid": "review", "name": "Review", "next_available_stages": ["$all"], "SYS_ACL": acl}
            ]}})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let stage_of = |uid: String| {
        let rb = get(
            &app,
            &w,
            &format!("/v3/content_types/news/entries/{uid}/workflow"),
        );
        async move {
            let (s, b) = send(rb).await;
            assert_eq!(s, 200, "{b}");
            b["workflow"]["workflow_stage"]["uid"].clone()
        }
    };
    let post = |body: Value| {
        send(
            app.as_user(Method::POST, "/v3/bulk/workflow", &w.owner, &w.api_key)
                .json(&body),
        )
    };
    let items = json!([
        {"content_type": "news", "uid": w.entries[0], "locale": "en-us"},
        {"content_type": "news", "uid": w.entries[1], "locale": "en-us"}
    ]);
    let (s, b) = post(json!({"entries": items, "workflow": {"workflow_stage": {"uid": "draft", "comment": "start"}}})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notice"], "Workflow stage updated successfully.");
    for uid in &w.entries {
        assert_eq!(stage_of(uid.clone()).await, "draft");
    }
    // An unknown stage, or one entry missing: nothing moves.
    let (s, b) =
        post(json!({"entries": items, "workflow": {"workflow_stage": {"uid": "nowhere"}}})).await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["entries[0]"].is_array(), "{b}");
    let with_missing = json!([
        {"content_type": "news", "uid": w.entries[0], "locale": "en-us"},
        {"content_type": "news", "uid": "bltmissing0000000", "locale": "en-us"}
    ]);
    let (s, b) =
        post(json!({"entries": with_missing, "workflow": {"workflow_stage": {"uid": "review"}}}))
            .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["entries[1]"].is_array(), "{b}");
    assert_eq!(stage_of(w.entries[0].clone()).await, "draft");
    // A read-only token is refused as on the single route.
    let (ro, _) = app.ro_token(&w.owner, &w.api_key, "reader").await;
    let (s, b) = send(
        app.with_token(Method::POST, "/v3/bulk/workflow", &ro, &w.api_key)
            .json(&json!({"entries": items, "workflow": {"workflow_stage": {"uid": "review"}}})),
    )
    .await;
    assert_error(s, &b, 403, 162);
    let (s, b) =
        post(json!({"entries": items, "workflow": {"workflow_stage": {"uid": "review"}}})).await;
    assert_eq!(s, 200, "{b}");
    for uid in &w.entries {
        assert_eq!(stage_of(uid.clone()).await, "review");
    }
}

async fn a_scheduled_release_deploy_is_carried_out_at_its_time(mut app: TestApp) {
    app.restart_with(fast_jobs()).await;
    let w = world(&app, 2).await;
    let u = |m, p: &str| app.as_user(m, p, &w.owner, &w.api_key);
    let (s, b) =
        send(u(Method::POST, "/v3/releases").json(&json!({"release": {"name": "Launch"}}))).await;
    assert_eq!(s, 201, "{b}");
    let rel = b["release"]["uid"].as_str().unwrap().to_string();
    let (s, b) = send(
        u(Method::POST, &format!("/v3/releases/{rel}/items")).json(&json!({"items": [
            {"uid": w.entries[0], "content_type_uid": "news", "locale": "en-us", "action": "publish"},
            {"uid": w.entries[1], "content_type_uid": "news", "locale": "en-us", "action": "publish"}
        ]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let deploy = format!("/v3/releases/{rel}/deploy");
    // In the past: refused (the JavaScript client's camelCase name too).
    let (s, b) = send(u(Method::POST, &deploy).json(&json!({"release": {
        "environments": ["production"], "scheduledAt": "2020-01-01T00:00:00.000Z"}})))
    .await;
    assert_error(s, &b, 422, 120);
    assert!(b["errors"]["scheduled_at"].is_array(), "{b}");

    let at =
        headwater_core::clock::format(time::OffsetDateTime::now_utc() + Duration::from_secs(1));
    let (s, b) = send(u(Method::POST, &deploy).json(&json!({"release": {
        "environments": ["production"], "scheduledAt": at}})))
    .await;
    assert_eq!(s, 200, "{b}");
    let job_id = b["job_id"].as_str().expect("job_id").to_string();
    let job = finished_job(&app, &w, &job_id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["summary"]["success"], 2, "{job}");
    for uid in &w.entries {
        assert_eq!(publish_details(&app, &w, uid).await.len(), 1);
    }
    let (s, b) = send(get(
        &app,
        &w,
        "/v3/publish-queue?type=entry&action=publish&status=success",
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["queue"].as_array().unwrap().len(), 2, "{b}");
}
