//! Webhooks (`/v3/webhooks`): subscriptions to a stack's events, their executions (one per
//! event and destination, with every attempt logged) and manual retries.

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::delivery::url_allowed;
use crate::error::{ApiError, ApiResult};
use crate::import_file::ImportFile;
use crate::outbound;
use crate::routes::{created, listed, updated};
use crate::state::AppState;
use crate::wire::{
    self,
    webhooks::{DestinationBody, DestinationOut, HeaderBody, WebhookBody, WebhookOut},
};
use axum::extract::Request;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_store::repo::audit;
use headwater_store::repo::webhooks::{self, Attempt, Delivery, Webhook, WebhookFields};
use serde_json::{json, Value};

/// How a stored basic-auth password is shown.
const MASK: &str = "********";
const MAX_DESTINATIONS: usize = 10;
const MAX_CHANNELS: usize = 100;

/// Destinations as shown: passwords masked.
fn shown_destinations(d: &Value) -> Value {
    let mut d = d.clone();
    if let Value::Array(items) = &mut d {
        for item in items {
            if let Some(p) = item.get_mut("http_basic_password") {
                if p.as_str().is_some_and(|s| !s.is_empty()) {
                    *p = json!(MASK);
                }
            }
        }
    }
    d
}

fn webhook_json(ctx: &StackCtx, w: &Webhook, with_secret: bool) -> Value {
    wire::to_value(&WebhookOut {
        uid: w.uid.clone(),
        name: w.name.clone(),
        destinations: shown_destinations(&w.destinations),
        channels: w.channels.clone(),
        branches: w.branches.clone(),
        retry_policy: w.retry_policy.clone(),
        notifiers: w.notifiers.clone(),
        disabled: w.disabled,
        concise_payload: w.concise_payload,
        org_uid: ctx.stack.org_uid.clone(),
        created_by: w.created_by.clone(),
        updated_by: w.updated_by.clone(),
        created_at: w.created_at.clone(),
        updated_at: w.updated_at.clone(),
        signing_secret: with_secret.then(|| w.secret.clone()),
    })
}

/// Header names a destination may not set: the delivery's own.
fn reserved_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("x-headwater-")
        || matches!(
            n.as_str(),
            "content-type" | "content-length" | "host" | "transfer-encoding" | "connection"
        )
}

fn header_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Validates `destinations`; a masked password keeps the one stored for that position.
fn destinations(
    sent: Option<Option<Vec<DestinationBody>>>,
    current: Option<&Value>,
) -> ApiResult<Value> {
    let items = match (sent, current) {
        (None, Some(c)) => return Ok(c.clone()),
        (Some(Some(items)), _) if !items.is_empty() => items,
        _ => {
            return Err(ApiError::invalid(
                "webhook.destinations",
                "is required: a non-empty array of {target_url, …}.",
            ))
        }
    };
    if items.len() > MAX_DESTINATIONS {
        return Err(ApiError::invalid(
            "webhook.destinations",
            format!("may hold at most {MAX_DESTINATIONS} destinations."),
        ));
    }
    let mut out = Vec::new();
    for (i, d) in items.into_iter().enumerate() {
        let field = |k: &str| format!("webhook.destinations[{i}].{k}");
        let url = d.target_url.as_deref().map(str::trim).unwrap_or_default();
        if !url_allowed(url) || url.len() > 2048 {
            return Err(ApiError::invalid(
                &field("target_url"),
                "must be an absolute http:// or https:// URL without credentials (use http_basic_auth).",
            ));
        }
        let mut password = d.http_basic_password.unwrap_or_default();
        if password == MASK {
            // The stored password stays only with the origin it was given for: echoing the
            // mask while pointing the destination elsewhere would send it to the new target.
            let stored = current.and_then(|c| c.get(i));
            let stored_password = stored
                .and_then(|c| c.get("http_basic_password"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let stored_url = stored
                .and_then(|c| c.get("target_url"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !stored_password.is_empty() && !same_origin(stored_url, url) {
                return Err(ApiError::invalid(
                    &field("http_basic_password"),
                    "must be sent again: the target URL's scheme, host or port changed, and a stored password is only kept for the origin it was given for.",
                ));
            }
            password = stored_password.to_string();
        }
        let mut headers = Vec::new();
        for h in d.custom_header.unwrap_or_default() {
            let name = h.header_name.trim();
            if name.is_empty() {
                continue; // the UI sends an empty row
            }
            if !header_token(name)
                || reserved_header(name)
                || h.value.chars().any(|c| c.is_control())
            {
                return Err(ApiError::invalid(
                    &field("custom_header"),
                    format!("'{name}' is not a header name or value a destination may set."),
                ));
            }
            headers.push(HeaderBody {
                header_name: name.to_string(),
                value: h.value,
            });
        }
        out.push(DestinationOut {
            target_url: url.to_string(),
            http_basic_auth: d.http_basic_auth.unwrap_or_default(),
            http_basic_password: password,
            custom_header: headers,
        });
    }
    Ok(wire::to_value(&out))
}

/// True when both URLs have the same scheme, host and port.
fn same_origin(a: &str, b: &str) -> bool {
    match (reqwest::Url::parse(a), reqwest::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin().is_tuple() && a.origin() == b.origin(),
        _ => false,
    }
}

/// How long saving a webhook waits for its target's host name to resolve.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Refuses destinations whose target is, or resolves to, an internal address the server does
/// not allow (SEC-1). Deliveries are checked again when they connect.
async fn check_targets(state: &AppState, destinations: &Value) -> ApiResult<()> {
    let allow = &state.config().webhook_allow_cidrs;
    for (i, d) in destinations.as_array().into_iter().flatten().enumerate() {
        let url = d.get("target_url").and_then(Value::as_str).unwrap_or("");
        let Ok(url) = reqwest::Url::parse(url) else {
            continue; // already refused by `destinations`
        };
        if let Err(r) = outbound::check_target(&url, allow, RESOLVE_TIMEOUT).await {
            return Err(ApiError::invalid(
                &format!("webhook.destinations[{i}].target_url"),
                format!("must not lead to an internal address: {r}."),
            ));
        }
    }
    Ok(())
}

fn fields(body: &JsonBody, current: Option<&Webhook>) -> ApiResult<WebhookFields> {
    let sent: WebhookBody = wire::parse(body, "webhook")?;
    let name = match (sent.name, current) {
        (None, Some(c)) => c.name.clone(),
        (name, _) => wire::required(name, "webhook.name")?,
    };
    if name.chars().count() > 255 {
        return Err(ApiError::invalid(
            "webhook.name",
            "may be at most 255 characters.",
        ));
    }
    let trimmed = |l: Vec<String>| l.iter().map(|s| s.trim().to_string()).collect::<Vec<_>>();
    let channels = sent
        .channels
        .map(trimmed)
        .or_else(|| current.map(|c| c.channels.clone()))
        .unwrap_or_default();
    if channels.len() > MAX_CHANNELS
        || channels.iter().any(|c| {
            c.is_empty()
                || c.len() > 200
                || !c
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'))
        })
    {
        return Err(ApiError::invalid(
            "webhook.channels",
            format!("must be at most {MAX_CHANNELS} channel names such as 'content_types.entries.create' or 'assets.publish'."),
        ));
    }
    let branches = sent
        .branches
        .map(trimmed)
        .or_else(|| current.map(|c| c.branches.clone()))
        .unwrap_or_else(|| vec!["main".to_string()]);
    let retry_policy = match sent.retry_policy {
        Some(s) if s.is_empty() => {
            return Err(ApiError::invalid(
                "webhook.retry_policy",
                "must be a string.",
            ))
        }
        Some(s) => s,
        None => current
            .map(|c| c.retry_policy.clone())
            .unwrap_or_else(|| "manual".to_string()),
    };
    // One address, or several separated by commas, as a string (the official clients'
    // examples send `"notifiers": "name@example.com"`): kept as the list it names.
    let notifiers = match sent.notifiers {
        Some(n) => json!(n.into_list()),
        None => current
            .map(|c| c.notifiers.clone())
            .unwrap_or_else(|| json!([])),
    };
    Ok(WebhookFields {
        name,
        destinations: destinations(sent.destinations, current.map(|c| &c.destinations))?,
        channels,
        branches,
        retry_policy,
        notifiers,
        disabled: sent.disabled.unwrap_or(current.is_some_and(|c| c.disabled)),
        concise_payload: sent
            .concise_payload
            .unwrap_or(current.is_some_and(|c| c.concise_payload)),
    })
}

async fn load(state: &AppState, ctx: &StackCtx, uid: &str) -> ApiResult<Webhook> {
    let mut c = state.db().reader().await?;
    webhooks::get(&mut c, &ctx.stack.uid, uid)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))
}

pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Webhooks, Op::Read))?;
    let (skip, limit, asc) = q.page()?;
    let mut c = state.db().reader().await?;
    let (items, total) = webhooks::list(&mut c, &ctx.stack.uid, skip, limit, asc).await?;
    Ok(listed(
        "webhooks",
        items.iter().map(|w| webhook_json(&ctx, w, false)).collect(),
        q.flag("include_count").then_some(total),
    ))
}

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Webhooks, Op::Read))?;
    let w = load(&state, &ctx, &uid).await?;
    Ok(Json(json!({ "webhook": webhook_json(&ctx, &w, true) })))
}

/// `GET /v3/webhooks/{uid}/export`: the webhook as a JSON document (no secret, no password).
pub async fn export(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Webhooks, Op::Read))?;
    let w = load(&state, &ctx, &uid).await?;
    Ok(Json(webhook_json(&ctx, &w, false)))
}

pub async fn create(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Webhooks, Op::Create))?;
    let f = fields(&body, None)?;
    check_targets(&state, &f.destinations).await?;
    let secret = headwater_core::ids::new_uid() + &headwater_core::ids::new_uid();
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let w = webhooks::insert(&mut tx, &ctx.stack.uid, &f, &secret, &actor).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("create", "webhook", &w.uid, &w.name),
    )
    .await?;
    tx.commit().await?;
    Ok(created(
        "The webhook was created successfully",
        "webhook",
        webhook_json(&ctx, &w, true),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Webhooks, Op::Update))?;
    let current = load(&state, &ctx, &uid).await?;
    let f = fields(&body, Some(&current))?;
    check_targets(&state, &f.destinations).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let w = webhooks::update(&mut tx, &ctx.stack.uid, &uid, &f, &actor)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("update", "webhook", &w.uid, &w.name),
    )
    .await?;
    tx.commit().await?;
    Ok(updated(
        "The Webhook was updated successfully",
        "webhook",
        webhook_json(&ctx, &w, true),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Webhooks, Op::Delete))?;
    let current = load(&state, &ctx, &uid).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    if !webhooks::delete(&mut tx, &ctx.stack.uid, &uid).await? {
        return Err(ApiError::not_found("webhook"));
    }
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("delete", "webhook", &current.uid, &current.name),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::OK,
        Json(json!({ "notice": "The Webhook was deleted successfully", "destination": {} })),
    ))
}

fn attempt_json(a: &Attempt) -> Value {
    json!({
        "uid": a.uid,
        "retry_number": a.attempt - 1,
        "attempt": a.attempt,
        "request": { "method": "POST", "uri": a.target_url },
        "response": { "statusCode": a.status_code, "body": a.response_body },
        "error": a.error,
        "duration_ms": a.duration_ms,
        "created_at": a.created_at,
    })
}

fn execution_json(
    ctx: &StackCtx,
    d: &Delivery,
    hook: Option<&Webhook>,
    attempts: &[Attempt],
) -> Value {
    let destination = hook
        .and_then(|h| {
            shown_destinations(&h.destinations)
                .get(d.destination as usize)
                .cloned()
        })
        .unwrap_or_else(|| json!({}));
    json!({
        "uid": d.uid,
        "channel": [d.channel],
        "webhooks": [d.webhook_uid],
        "org_uid": ctx.stack.org_uid,
        "branch": d.branch,
        "event_data": d.payload,
        "event_headers": {
            "Content-Type": "application/json",
            "X-Headwater-Event": d.channel,
            "X-Headwater-Delivery": d.uid,
        },
        "destination": destination,
        "request_details": attempts.iter().map(attempt_json).collect::<Vec<_>>(),
        "retry_count": (d.attempts - 1).max(0),
        "attempts": d.attempts,
        "status": d.last_status.unwrap_or(0),
        "state": d.status,
        "next_attempt_at": (d.status == "pending").then_some(&d.next_attempt_at),
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    })
}

/// `GET /v3/webhooks/{uid}/executions`: the webhook's deliveries, newest first.
pub async fn executions(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Webhooks, Op::Read))?;
    let hook = load(&state, &ctx, &uid).await?;
    let (skip, limit, _) = q.page()?;
    let mut c = state.db().reader().await?;
    let (items, total) = webhooks::deliveries(&mut c, &ctx.stack.uid, &uid, skip, limit).await?;
    let mut out = Vec::new();
    for d in &items {
        let attempts = webhooks::attempts(&mut c, &d.uid).await?;
        out.push(execution_json(&ctx, d, Some(&hook), &attempts));
    }
    Ok(listed(
        "webhooks",
        out,
        q.flag("include_count").then_some(total),
    ))
}

/// `GET /v3/webhooks/{execution_uid}/logs`: one delivery with every attempt.
pub async fn logs(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Webhooks, Op::Read))?;
    let mut c = state.db().reader().await?;
    let d = webhooks::delivery(&mut c, &ctx.stack.uid, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook execution"))?;
    let hook = webhooks::get(&mut c, &ctx.stack.uid, &d.webhook_uid).await?;
    let attempts = webhooks::attempts(&mut c, &d.uid).await?;
    Ok(Json(json!({
        "webhook": execution_json(&ctx, &d, hook.as_ref(), &attempts)
    })))
}

/// `POST /v3/webhooks/{webhook_uid}/retry {"execution_uid"}` (the JS client) or
/// `POST /v3/webhooks/{execution_uid}/retry` (the API docs): delivers the execution again.
pub async fn retry(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Webhooks, Op::Update))?;
    let execution_uid = match body.0.get("execution_uid") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        None | Some(Value::Null) => uid.clone(),
        Some(_) => return Err(ApiError::invalid("execution_uid", "must be a string.")),
    };
    let mut tx = state.db().begin().await?;
    let d = webhooks::delivery(&mut tx, &ctx.stack.uid, &execution_uid)
        .await?
        .filter(|d| execution_uid == uid || d.webhook_uid == uid)
        .ok_or_else(|| ApiError::not_found("webhook execution"))?;
    if !webhooks::schedule_retry(&mut tx, &ctx.stack.uid, &d.uid).await? {
        return Err(ApiError::invalid(
            "execution_uid",
            "the execution is being delivered right now; retry when it has finished.",
        ));
    }
    let actor = ctx.actor();
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("retry", "webhook", &d.webhook_uid, &d.uid),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::OK,
        Json(json!({ "notice": "Webhook retry scheduled" })),
    ))
}

/// `POST /v3/webhooks/import` and `/v3/webhooks/{uid}/import`: a webhook JSON file (multipart
/// part `webhook`, bare or wrapped in `{"webhook": …}`) created, or replacing webhook `uid`,
/// exactly as `POST`/`PUT` with that body would.
pub async fn import(
    state: State<AppState>,
    ctx: StackCtx,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    import_into(state, ctx, None, req).await
}

pub async fn import_existing(
    state: State<AppState>,
    ctx: StackCtx,
    uid: Path<String>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    import_into(state, ctx, Some(uid), req).await
}

async fn import_into(
    State(state): State<AppState>,
    ctx: StackCtx,
    uid: Option<Path<String>>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let op = if uid.is_some() {
        Op::Update
    } else {
        Op::Create
    };
    ctx.authorize(&Action::new(Module::Webhooks, op))?;
    let limit = state.config().max_body_bytes;
    let body = ImportFile::read(req, "webhook", limit)
        .await?
        .as_body("webhook");
    let (status, Json(mut answer)) = match uid {
        Some(uid) => update(State(state), ctx, uid, body).await?,
        None => create(State(state), ctx, body).await?,
    };
    answer["notice"] = json!("The Webhook was imported successfully");
    Ok((status, Json(answer)))
}
