//! Publishing carried out after the request: asynchronous bulk jobs (`api_version: 3.2`) and
//! scheduled publishes (`scheduled_at`).
//!
//! - A route parses and authorizes as for an immediate publish, then [`queue`]s a job (a
//!   `publish_jobs` row and one `publish_job_items` row per entry or asset) in its write
//!   transaction, with an audit row. The job names who asked; it acts as them.
//! - The worker ([`run_loop`], started beside the webhook worker) looks on a reader for jobs
//!   due now, rebuilds the asker's standing in the stack ([`StackCtx::acting_as`]: a deleted
//!   token or a user who lost access fails the job), and carries each job out in ONE write
//!   transaction that first claims it (`FOR UPDATE SKIP LOCKED` on PostgreSQL, SQLite's single
//!   writer) and ends by marking it done: a job runs once whatever the number of instances,
//!   and a job a stopped server did not finish is still `queued` for the next one.
//! - Each item is authorized again, planned and applied on its own through [`Plan`] (so
//!   webhooks, audit rows and publish rules are those of an immediate publish); an item that
//!   cannot be published is recorded as failed with its errors and the others go ahead.

use super::{EntryItem, Gate, Plan};
use crate::auth::StackCtx;
use crate::delivery::pause;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use headwater_core::clock;
use headwater_core::policy::{Action, Module, Op};
use headwater_core::scope::FieldErrors;
use headwater_store::repo::publish_jobs::{self, Job, JobItem, NewItem, NewJob};
use headwater_store::repo::{audit, releases, Conn};
use headwater_store::Exec;
use serde_json::{json, Value};
use tokio::sync::watch;

/// Jobs looked at per round.
const BATCH: i64 = 8;

/// `scheduled_at` of a publish body (`scheduledAt` too, as the JS client sends it for
/// releases): `None` when absent or empty; a time in the past is refused, as Contentstack
/// refuses it.
pub(crate) fn scheduled_at(v: Option<&Value>, field: &str) -> ApiResult<Option<String>> {
    let s = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(ApiError::invalid(
                field,
                "must be an ISO 8601 date and time, e.g. 2030-02-14T18:30:00.000Z.",
            ))
        }
    };
    let at = clock::parse(s).ok_or_else(|| {
        ApiError::invalid(
            field,
            "must be an ISO 8601 date and time, e.g. 2030-02-14T18:30:00.000Z.",
        )
    })?;
    if at <= time::OffsetDateTime::now_utc() {
        return Err(ApiError::invalid(
            field,
            "must be in the future: the scheduled time has already passed.",
        ));
    }
    Ok(Some(clock::format(at)))
}

/// What a route queues.
pub(crate) struct Queued<'a> {
    /// `publish` or `unpublish`.
    pub publish: bool,
    /// `bulk`, `entry` or `asset`.
    pub source: &'a str,
    pub environments: &'a [String],
    pub locales: &'a [String],
    /// When to carry it out; now when `None`.
    pub scheduled_at: Option<&'a str>,
    pub items: Vec<NewItem<'a>>,
    /// A release deploy: the release's uid (its items are all deployed or none).
    pub release: Option<&'a str>,
    /// Nested-reference publishing: each item takes its references with it.
    pub nested: bool,
    /// `approvals` / `skip_workflow_stage_check`: an item a rule would hold is left out
    /// ([`Gate::Skip`]) instead of failing.
    pub skip_held: bool,
}

/// Queues a job in the caller's write transaction, with its audit row; returns its uid.
pub(crate) async fn queue<'e>(
    c: impl Into<Exec<'e>>,
    ctx: &StackCtx,
    q: Queued<'_>,
) -> ApiResult<String> {
    let mut c = c.into();
    let actor = ctx.actor();
    // A single publish asks for approval where a rule demands it; a bulk job refuses by item.
    let gate = if q.skip_held {
        "skip"
    } else if matches!(q.source, "bulk" | "release") {
        "refuse"
    } else {
        "request"
    };
    let mut settings = json!({
        "environments": q.environments,
        "locales": q.locales,
        "gate": gate,
    });
    if let Some(release) = q.release {
        settings["release"] = json!(release);
    }
    if q.nested {
        settings["nested"] = json!(true);
    }
    let now = clock::now();
    let action = if q.publish { "publish" } else { "unpublish" };
    let uid = publish_jobs::insert(
        &mut c,
        &NewJob {
            stack_uid: &ctx.stack.uid,
            space_uid: &ctx.space,
            branch: &ctx.branch,
            action,
            source: q.source,
            scheduled: q.scheduled_at.is_some(),
            actor_kind: actor.kind(),
            actor_uid: actor.uid(),
            settings: &settings,
            run_at: q.scheduled_at.unwrap_or(&now),
        },
        &q.items,
    )
    .await?;
    let what = if q.scheduled_at.is_some() {
        "schedule"
    } else {
        "queue"
    };
    audit::record(
        &mut c,
        &actor,
        ctx.audit(
            &format!("{what}_{action}"),
            "publish_queue",
            &uid,
            &format!("{} {action}", q.source),
        ),
    )
    .await?;
    Ok(uid)
}

/// The job status answer of `GET /v3/bulk/jobs/{uid}`.
pub(crate) fn job_json(job: &Job, items: &[JobItem], api_key: &str) -> Value {
    let count = |s: &str| items.iter().filter(|i| i.status == s).count();
    let status = match job.status.as_str() {
        "queued" if job.scheduled => "scheduled",
        "queued" => "in_progress",
        s => s,
    };
    json!({
        "uid": job.uid,
        "job_id": job.uid,
        "api_key": api_key,
        "branch": job.branch,
        "type": format!("{}_{}", job.source, job.action),
        "action": job.action,
        "status": status,
        "scheduled_at": job.scheduled.then_some(&job.run_at),
        "environments": job.settings.get("environments"),
        "locales": job.settings.get("locales"),
        "created_by": job.actor_uid,
        "created_at": job.created_at,
        "completed_at": job.finished_at,
        "error": job.error,
        "summary": {
            "total": items.len(),
            "success": count("success"),
            "failed": count("failed"),
            "pending": count("pending"),
            "cancelled": count("cancelled"),
        },
    })
}

/// One item of a job, as `GET /v3/bulk/jobs/{uid}/items` shows it.
pub(crate) fn item_json(item: &JobItem) -> Value {
    json!({
        "uid": item.item_uid,
        "type": item.item_type,
        "action": item.action,
        "content_type_uid": item.content_type_uid,
        "locale": item.locale,
        "version": item.version,
        "status": item.status,
        "errors": item.errors,
        "updated_at": item.updated_at,
        "publish_queue_uid": item.uid,
    })
}

/// One row of the publish queue (`GET /v3/publish-queue`).
pub(crate) fn queue_json(job: &Job, item: &JobItem, api_key: &str) -> Value {
    let status = match (job.status.as_str(), item.status.as_str()) {
        ("queued", "pending") if job.scheduled => "scheduled",
        ("queued", "pending") => "in_progress",
        (_, s) => s,
    };
    let mut row = json!({
        "uid": item.uid,
        "stack": api_key,
        "job_id": job.uid,
        "type": item.item_type,
        "action": item.action.as_deref().unwrap_or(&job.action),
        "environment": job.settings.get("environments"),
        "locale": job.settings.get("locales"),
        "publish_details": { "status": status, "errors": item.errors },
        "scheduled_at": job.scheduled.then_some(&job.run_at),
        "published_at": if item.status == "success" { Some(&item.updated_at) } else { None },
        "user": job.actor_uid,
        "approval": false,
        "approved": false,
        "rejected": false,
        "created_at": job.created_at,
        "updated_at": item.updated_at,
    });
    let what = json!({
        "uid": item.item_uid,
        "locale": item.locale,
        "version": item.version,
        "content_type": item.content_type_uid.as_ref().map(|ct| json!({ "uid": ct })),
    });
    row[item.item_type.as_str()] = what;
    row
}

/// The worker: carries out due jobs until asked to stop.
pub(crate) async fn run_loop(state: AppState, mut stop: watch::Receiver<bool>) {
    let cfg = state.config().events.clone();
    if !cfg.run_jobs {
        return;
    }
    loop {
        if *stop.borrow() {
            break;
        }
        let worked = match round(&state).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e.message, "carrying out publishing jobs failed");
                0
            }
        };
        if worked == 0 && pause(&mut stop, cfg.jobs_poll_interval).await {
            break;
        }
    }
}

/// One round: the jobs due now, each carried out (or left to another instance).
async fn round(state: &AppState) -> ApiResult<usize> {
    let due = {
        let mut c = state.db().reader().await?;
        publish_jobs::due(&mut c, &clock::now(), BATCH).await?
    };
    let mut done = 0;
    for uid in due {
        if carry_out(state, &uid).await? {
            done += 1;
        }
    }
    Ok(done)
}

/// Carries out one job if it is still queued and unclaimed; true when this call did it.
pub(crate) async fn carry_out(state: &AppState, uid: &str) -> ApiResult<bool> {
    let job = {
        let mut c = state.db().reader().await?;
        match publish_jobs::by_uid(&mut c, uid).await? {
            Some(j) if j.status == "queued" => j,
            _ => return Ok(false),
        }
    };
    // Built before the write transaction: it reads on readers.
    let ctx = StackCtx::acting_as(
        state,
        &job.stack_uid,
        &job.branch,
        &job.actor_kind,
        &job.actor_uid,
    )
    .await;
    // A database that is busy or away is not a refusal: the job waits for the next round.
    if let Err(e) = &ctx {
        if e.status.is_server_error() {
            return Err(ApiError::new(e.status, e.code, e.message.clone()));
        }
    }
    let mut tx = state.db().begin().await?;
    if !publish_jobs::claim(&mut tx, uid, &clock::now()).await? {
        return Ok(false);
    }
    let items = publish_jobs::items(&mut tx, uid).await?;
    let status = match ctx {
        Err(e) => {
            let why = format!("the job's owner can no longer do this: {}", e.message);
            let errors = json!({ "job": [why] });
            for it in items.iter().filter(|i| i.status == "pending") {
                publish_jobs::set_item(&mut tx, &it.uid, "failed", Some(&errors)).await?;
            }
            publish_jobs::finish(&mut tx, uid, "failed", Some(&why)).await?;
            "failed"
        }
        Ok(ctx) if job.source == "release" => release(state, &mut tx, &ctx, &job, &items).await?,
        Ok(ctx) => {
            let mut any_ok = items.is_empty();
            for it in items.iter().filter(|i| i.status == "pending") {
                match item(state, &mut tx, &ctx, &job, it).await? {
                    Ok(()) => {
                        any_ok = true;
                        publish_jobs::set_item(&mut tx, &it.uid, "success", None).await?;
                    }
                    Err(errors) => {
                        let errors = serde_json::to_value(errors).unwrap_or_default();
                        publish_jobs::set_item(&mut tx, &it.uid, "failed", Some(&errors)).await?;
                    }
                }
            }
            let status = if any_ok || items.iter().all(|i| i.status != "pending") {
                "completed"
            } else {
                "failed"
            };
            publish_jobs::finish(&mut tx, uid, status, None).await?;
            status
        }
    };
    tx.commit().await?;
    // Cached delivery answers and standings are stale now.
    state.changed();
    tracing::info!(job = %uid, status, "publishing job carried out");
    Ok(true)
}

/// A scheduled release deploy: every item planned (and authorized) together, then all applied
/// and the deployment recorded on the release, or — when any item cannot go — none, every
/// item failed with the plan's errors (`items[i]…`), as an immediate deploy refuses.
async fn release(
    state: &AppState,
    c: &mut Conn,
    ctx: &StackCtx,
    job: &Job,
    items: &[JobItem],
) -> ApiResult<&'static str> {
    let env_names = strings(&job.settings, "environments");
    let mut plan = Plan::new(&mut *c, ctx, Gate::Refuse).await?;
    let envs = plan
        .environments(&mut *c, ctx, &env_names, |_| "release.environments".into())
        .await?;
    let pending: Vec<&JobItem> = items.iter().filter(|i| i.status == "pending").collect();
    for (i, it) in pending.iter().enumerate() {
        let at = format!("items[{i}]");
        let publish = it.action.as_deref().unwrap_or(&job.action) == "publish";
        let codes = std::slice::from_ref(it.locale.as_ref().unwrap_or(&ctx.stack.master_locale));
        let action = match it.content_type_uid.as_deref() {
            Some(ct) => Action::new(Module::Entries, Op::Publish).on_content_type(ct),
            None => Action::new(Module::Assets, Op::Publish),
        };
        if let Err(e) = ctx.authorize(&action.to_environments(&env_names)) {
            plan.add(&at, e.message);
            continue;
        }
        match it.content_type_uid.as_deref() {
            Some(ct) => {
                let entry = EntryItem {
                    at: &at,
                    content_type: ct,
                    uid: &it.item_uid,
                    fallback: None,
                    version: it.version,
                };
                plan.entry(&mut *c, ctx, &entry, codes, &envs, publish)
                    .await?;
            }
            None => {
                plan.asset(
                    state,
                    &mut *c,
                    ctx,
                    &at,
                    &it.item_uid,
                    it.version,
                    codes,
                    &envs,
                    publish,
                )
                .await?;
            }
        }
    }
    if !plan.errors.is_empty() {
        let errors = serde_json::to_value(&plan.errors).unwrap_or_default();
        for it in &pending {
            publish_jobs::set_item(c, &it.uid, "failed", Some(&errors)).await?;
        }
        publish_jobs::finish(
            c,
            &job.uid,
            "failed",
            Some("an item cannot be deployed; nothing was deployed"),
        )
        .await?;
        return Ok("failed");
    }
    plan.apply(&mut *c, ctx).await?;
    for it in &pending {
        publish_jobs::set_item(c, &it.uid, "success", None).await?;
    }
    let release_uid = job
        .settings
        .get("release")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some(r) = releases::get(c, &ctx.space, release_uid).await? {
        let mut deployments = r.deployments.as_array().cloned().unwrap_or_default();
        deployments.push(json!({
            "environments": env_names, "locales": strings(&job.settings, "locales"),
            "action": Value::Null,
            "deployed_at": clock::now(), "deployed_by": job.actor_uid,
            "scheduled_at": job.run_at,
        }));
        releases::record_deployment(c, &ctx.space, &r.uid, &Value::Array(deployments)).await?;
        audit::record(
            &mut *c,
            &ctx.actor(),
            ctx.audit("deploy", "release", &r.uid, &r.name),
        )
        .await?;
    }
    publish_jobs::finish(c, &job.uid, "completed", None).await?;
    Ok("completed")
}

fn strings(settings: &Value, key: &str) -> Vec<String> {
    settings
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// Authorizes, plans and applies one item; `Err` holds why it cannot be done.
async fn item(
    state: &AppState,
    c: &mut Conn,
    ctx: &StackCtx,
    job: &Job,
    it: &JobItem,
) -> ApiResult<Result<(), FieldErrors>> {
    let strings = |key: &str| -> Vec<String> {
        job.settings
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let (env_names, codes) = (strings("environments"), strings("locales"));
    let publish = job.action == "publish";
    let gate = match job.settings.get("gate").and_then(Value::as_str) {
        Some("request") => Gate::Request,
        Some("skip") => Gate::Skip,
        _ => Gate::Refuse,
    };
    let action = match it.content_type_uid.as_deref() {
        Some(ct) if it.item_type == "entry" => {
            Action::new(Module::Entries, Op::Publish).on_content_type(ct)
        }
        _ => Action::new(Module::Assets, Op::Publish),
    };
    if let Err(e) = ctx.authorize(&action.to_environments(&env_names)) {
        let mut errors = FieldErrors::new();
        errors.insert("uid".into(), vec![e.message]);
        return Ok(Err(errors));
    }
    let mut plan = Plan::new(&mut *c, ctx, gate).await?;
    let envs = plan
        .environments(&mut *c, ctx, &env_names, |i| format!("environments[{i}]"))
        .await?;
    plan.locales(&mut *c, ctx, &codes, |i| format!("locales[{i}]"))
        .await?;
    if plan.errors.is_empty() {
        match (it.item_type.as_str(), it.content_type_uid.as_deref()) {
            ("entry", Some(ct)) => {
                let entry = EntryItem {
                    at: "",
                    content_type: ct,
                    uid: &it.item_uid,
                    fallback: it.locale.as_deref(),
                    version: it.version,
                };
                plan.entry(&mut *c, ctx, &entry, &codes, &envs, publish)
                    .await?;
            }
            _ => {
                plan.asset(
                    state,
                    &mut *c,
                    ctx,
                    "",
                    &it.item_uid,
                    it.version,
                    &codes,
                    &envs,
                    publish,
                )
                .await?;
            }
        }
    }
    if plan.errors.is_empty() && job.settings.get("nested") == Some(&Value::Bool(true)) {
        plan.references(state, &mut *c, ctx, &codes, &envs, publish)
            .await?;
    }
    if !plan.errors.is_empty() {
        return Ok(Err(plan.errors));
    }
    plan.apply(c, ctx).await?;
    Ok(Ok(()))
}
