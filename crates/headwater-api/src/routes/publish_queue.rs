//! Publishing jobs and the publish queue: `GET /v3/bulk/jobs/{job_id}` (status and summary),
//! `GET /v3/bulk/jobs/{job_id}/items` (per-item results), `GET /v3/publish-queue` (one row
//! per queued, scheduled or carried-out item of the branch), `GET /v3/publish-queue/{uid}`
//! and `GET /v3/publish-queue/{uid}/unschedule` (cancels a scheduled item that has not been
//! carried out). Reading is the policy's `publish_queue` module; cancelling needs
//! `publish_queue` update and the item's own publish permission (entries of its content type,
//! or assets, on the job's environments). The jobs themselves are [`crate::publish::jobs`]'s.

use crate::auth::StackCtx;
use crate::body::Query;
use crate::error::{ApiError, ApiResult};
use crate::publish::jobs::{item_json, job_json, queue_json};
use crate::routes::listed;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_store::repo::publish_jobs::{self, QueueFilter};
use serde_json::{json, Value};

fn job_not_found() -> ApiError {
    ApiError::not_found("job")
}

/// `GET /v3/bulk/jobs/{job_id}`.
pub async fn job(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::PublishQueue, Op::Read))?;
    let mut c = state.db().reader().await?;
    let job = publish_jobs::get(&mut c, &ctx.stack.uid, &uid)
        .await?
        .filter(|j| j.space_uid == ctx.space)
        .ok_or_else(job_not_found)?;
    let items = publish_jobs::items(&mut c, &uid).await?;
    Ok(Json(job_json(&job, &items, &ctx.stack.api_key)))
}

/// `GET /v3/bulk/jobs/{job_id}/items` with `status`, `type`, `ct` (content type uid, repeatable),
/// `skip`, `limit` and `include_count` (`skip`, `limit` and `total_count` are then answered).
pub async fn job_items(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::PublishQueue, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let mut c = state.db().reader().await?;
    publish_jobs::get(&mut c, &ctx.stack.uid, &uid)
        .await?
        .filter(|j| j.space_uid == ctx.space)
        .ok_or_else(job_not_found)?;
    let cts: Vec<&str> = q.all("ct").into_iter().chain(q.all("ct[]")).collect();
    let all: Vec<Value> = publish_jobs::items(&mut c, &uid)
        .await?
        .iter()
        .filter(|i| q.get("status").is_none_or(|s| s == i.status))
        .filter(|i| q.get("type").is_none_or(|t| t == i.item_type))
        .filter(|i| {
            cts.is_empty()
                || i.content_type_uid
                    .as_deref()
                    .is_some_and(|ct| cts.contains(&ct))
        })
        .map(item_json)
        .collect();
    let total = all.len();
    let page: Vec<Value> = all
        .into_iter()
        .skip(skip as usize)
        .take(limit as usize)
        .collect();
    let mut body = json!({ "items": page });
    if q.flag("include_count") {
        body["skip"] = json!(skip);
        body["limit"] = json!(limit);
        body["total_count"] = json!(total);
    }
    Ok(Json(body))
}

/// `GET /v3/publish-queue`: filters `type` (entry, asset), `action` (publish, unpublish),
/// `status` (scheduled, in_progress, success, failed, cancelled), `content_type_uid`,
/// `scheduled` (true, false); `skip`, `limit`, `include_count`.
pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::PublishQueue, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    // `scheduled` and `in_progress` are pending items of scheduled and unscheduled jobs.
    let (status, scheduled) = match q.get("status") {
        Some("scheduled") => (Some("pending"), Some(true)),
        Some("in_progress" | "pending") => (Some("pending"), Some(false)),
        Some(s) => (Some(s), None),
        None => (None, None),
    };
    let scheduled = match q.get("scheduled") {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => scheduled,
    };
    let filter = QueueFilter {
        item_type: q.get("type"),
        action: q.get("action"),
        status,
        content_type_uid: q.get("content_type_uid").or_else(|| q.get("ct")),
        scheduled,
    };
    let mut c = state.db().reader().await?;
    let (rows, total) = publish_jobs::queue(&mut c, &ctx.space, &filter, skip, limit).await?;
    let out = rows
        .iter()
        .map(|(j, i)| queue_json(j, i, &ctx.stack.api_key))
        .collect();
    Ok(listed(
        "queue",
        out,
        q.flag("include_count").then_some(total),
    ))
}

/// `GET /v3/publish-queue/{uid}`.
pub async fn get(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::PublishQueue, Op::Read))?;
    let mut c = state.db().reader().await?;
    let (job, item) = publish_jobs::queue_item(&mut c, &ctx.space, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("publish queue item"))?;
    Ok(Json(
        json!({ "queue": queue_json(&job, &item, &ctx.stack.api_key) }),
    ))
}

/// `GET /v3/publish-queue/{uid}/unschedule`: cancels a scheduled item not yet carried out.
pub async fn unschedule(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::PublishQueue, Op::Update))?;
    let (job, item) = {
        let mut c = state.db().reader().await?;
        publish_jobs::queue_item(&mut c, &ctx.space, &uid)
            .await?
            .ok_or_else(|| ApiError::not_found("publish queue item"))?
    };
    let envs: Vec<String> = job
        .settings
        .get("environments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let action = match item.content_type_uid.as_deref() {
        Some(ct) if item.item_type == "entry" => {
            Action::new(Module::Entries, Op::Publish).on_content_type(ct)
        }
        _ => Action::new(Module::Assets, Op::Publish),
    };
    ctx.authorize(&action.to_environments(&envs))?;
    if !job.scheduled {
        return Err(ApiError::invalid(
            "uid",
            "only a scheduled item can be unscheduled; this one is carried out as soon as possible.",
        ));
    }
    let mut tx = state.db().begin().await?;
    publish_jobs::lock(&mut tx, &job.uid).await?;
    if !publish_jobs::cancel_item(&mut tx, &job.uid, &item.uid).await? {
        return Err(ApiError::invalid(
            "uid",
            "this item is no longer scheduled: it has been carried out or cancelled.",
        ));
    }
    headwater_store::repo::audit::record(
        &mut tx,
        &ctx.actor(),
        ctx.audit("unschedule", "publish_queue", &item.uid, &item.item_uid),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::OK,
        Json(json!({ "notice": "The scheduled item was unscheduled successfully." })),
    ))
}
