//! Bulk publishing (`POST /v3/bulk/publish`, `POST /v3/bulk/unpublish`), as the official
//! JavaScript client sends it (`stack.bulkOperation().publish({details})`):
//!
//! ```json
//! {"entries": [{"uid": "…", "content_type": "…", "locale": "en-us", "version": 2}],
//!  "assets": [{"uid": "…"}], "locales": ["en-us"], "environments": ["production"]}
//! ```
//!
//! All or nothing: every item is authorized through the policy exactly like a single publish of
//! it, then every item is checked, and only when all are valid is everything published in one
//! transaction (one audit row per item). Otherwise nothing is written and the answer names each
//! invalid item (`errors["entries[1].uid"]`, …). The work is done before the answer. An item a
//! publish rule would hold for approval is refused by name, unless the request says
//! `approvals` or `skip_workflow_stage_check` (`true`, as a header or a query parameter, or
//! `rules.approvals` in the body): then what no rule holds is published and the rest left out.
//! `nested=true` (or `publish_with_reference`) publishes the items' references too
//! ([`Plan::references`]). Environments may be named by name or uid. Planning and writing are
//! [`crate::publish`]'s.
//!
//! With `api_version: 3.2`, or `scheduled_at`, the request becomes a job
//! ([`crate::publish::jobs`]): the settings are checked now, each item when the job is carried
//! out (per-item results), and the answer is `{"notice", "job_id"}`.

use crate::auth::{header, StackCtx};
use crate::body::{JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::publish::jobs::{self, Queued};
use crate::publish::{self, EntryItem, Gate, Plan};
use crate::routes::notice;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_core::scope::FieldErrors;
use headwater_store::repo::publish_jobs::NewItem;
use serde_json::{json, Map, Value};

/// Items (entries and assets together) per request.
pub const MAX_ITEMS: usize = 100;

struct BulkEntry {
    uid: String,
    content_type: String,
    /// The locale whose content is published when the entry is not localized in a target.
    locale: Option<String>,
    version: Option<i64>,
}

struct AssetItem {
    uid: String,
    version: Option<i64>,
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn names(body: &Map<String, Value>, key: &str, errors: &mut FieldErrors) -> Vec<String> {
    match body.get(key) {
        Some(Value::Array(a)) if !a.is_empty() => {
            let out: Option<Vec<String>> = a
                .iter()
                .map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string))
                .collect();
            out.unwrap_or_else(|| {
                add(errors, key, "must be an array of names.");
                Vec::new()
            })
        }
        _ => {
            add(errors, key, "is required: a non-empty array.");
            Vec::new()
        }
    }
}

fn add(errors: &mut FieldErrors, field: &str, message: &str) {
    errors
        .entry(field.to_string())
        .or_default()
        .push(message.to_string());
}

fn parse(body: &Map<String, Value>, errors: &mut FieldErrors) -> (Vec<BulkEntry>, Vec<AssetItem>) {
    let list = |key: &str, errors: &mut FieldErrors| -> Vec<Map<String, Value>> {
        match body.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .filter_map(|(i, v)| match v {
                    Value::Object(m) => Some(m.clone()),
                    _ => {
                        add(errors, &format!("{key}[{i}]"), "must be an object.");
                        None
                    }
                })
                .collect(),
            Some(_) => {
                add(errors, key, "must be an array.");
                Vec::new()
            }
        }
    };
    let mut entry_items = Vec::new();
    for (i, m) in list("entries", errors).iter().enumerate() {
        let at = format!("entries[{i}]");
        let uid = text(m, "uid");
        // The nested-publish form names the content type `_content_type_uid`.
        let ct = text(m, "content_type").or_else(|| text(m, "_content_type_uid"));
        let v = publish::version(m.get("version"));
        if uid.is_none() {
            add(errors, &format!("{at}.uid"), "is required.");
        }
        if ct.is_none() {
            add(errors, &format!("{at}.content_type"), "is required.");
        }
        if v.is_err() {
            add(errors, &format!("{at}.version"), publish::VERSION_FORMAT);
        }
        if let (Some(uid), Some(content_type), Ok(version)) = (uid, ct, v) {
            entry_items.push(BulkEntry {
                uid,
                content_type,
                locale: text(m, "locale").map(|l| l.to_lowercase()),
                version,
            });
        }
    }
    let mut asset_items = Vec::new();
    for (i, m) in list("assets", errors).iter().enumerate() {
        let at = format!("assets[{i}]");
        let uid = text(m, "uid");
        let v = publish::version(m.get("version"));
        if uid.is_none() {
            add(errors, &format!("{at}.uid"), "is required.");
        }
        if v.is_err() {
            add(errors, &format!("{at}.version"), publish::VERSION_FORMAT);
        }
        if let (Some(uid), Ok(version)) = (uid, v) {
            asset_items.push(AssetItem { uid, version });
        }
    }
    (entry_items, asset_items)
}

/// What a bulk request came to.
enum Done {
    /// Carried out before the answer.
    Now,
    /// Queued as a job (asynchronous, or scheduled).
    Queued(String),
}

async fn run(
    state: &AppState,
    ctx: &StackCtx,
    headers: &HeaderMap,
    q: &Query,
    body: &JsonBody,
    publish: bool,
) -> ApiResult<Done> {
    let body = &body.0;
    let nested = publish::nested_requested(q, body);
    // `approvals` / `skip_workflow_stage_check` (headers as the JavaScript client sends them,
    // query parameters as the API reference shows, or `rules.approvals` in the body): publish
    // what no rule holds and leave the rest, instead of refusing the whole request.
    let flag = |k: &str| header(headers, k) == Some("true") || q.flag(k);
    let skip_held = flag("approvals")
        || flag("skip_workflow_stage_check")
        || matches!(
            body.get("rules").and_then(|r| r.get("approvals")),
            Some(Value::Bool(true))
        )
        || body
            .get("rules")
            .and_then(|r| r.get("approvals"))
            .and_then(Value::as_str)
            == Some("true");
    let gate = if skip_held { Gate::Skip } else { Gate::Refuse };
    let scheduled_at = jobs::scheduled_at(body.get("scheduled_at"), "scheduled_at")?;
    // `api_version: 3.2` asks for a job to poll, as Contentstack answers it.
    let queued = scheduled_at.is_some() || header(headers, "api_version") == Some("3.2");
    let mut errors = FieldErrors::new();
    let (entry_items, asset_items) = parse(body, &mut errors);
    let env_names = names(body, "environments", &mut errors);
    let mut codes = names(body, "locales", &mut errors);
    if entry_items.is_empty() && asset_items.is_empty() && errors.is_empty() {
        add(&mut errors, "entries", "name at least one entry or asset.");
    }
    if entry_items.len() + asset_items.len() > MAX_ITEMS {
        add(
            &mut errors,
            "entries",
            &format!("at most {MAX_ITEMS} entries and assets per request."),
        );
    }
    // Each item is authorized exactly as its single publish is; one refusal refuses all.
    for item in &entry_items {
        ctx.authorize(
            &Action::new(Module::Entries, Op::Publish)
                .on_content_type(&item.content_type)
                .to_environments(&env_names),
        )?;
    }
    if !asset_items.is_empty() {
        ctx.authorize(&Action::new(Module::Assets, Op::Publish).to_environments(&env_names))?;
    }
    if !errors.is_empty() {
        return Err(refused(publish, errors));
    }
    for c in codes.iter_mut() {
        *c = c.to_lowercase();
    }
    if queued {
        return enqueue(
            state,
            ctx,
            publish,
            &entry_items,
            &asset_items,
            &env_names,
            &codes,
            scheduled_at.as_deref(),
            nested,
            skip_held,
        )
        .await;
    }

    let mut tx = state.db().begin().await?;
    let mut plan = Plan::new(&mut tx, ctx, gate).await?;
    // Environments are named by name or by uid (the client's examples show uids).
    let envs = plan
        .environments(&mut tx, ctx, &env_names, |i| format!("environments[{i}]"))
        .await?;
    plan.locales(&mut tx, ctx, &codes, |i| format!("locales[{i}]"))
        .await?;
    for (i, item) in entry_items.iter().enumerate() {
        let at = format!("entries[{i}]");
        let entry = EntryItem {
            at: &at,
            content_type: &item.content_type,
            uid: &item.uid,
            fallback: item.locale.as_deref(),
            version: item.version,
        };
        plan.entry(&mut tx, ctx, &entry, &codes, &envs, publish)
            .await?;
    }
    for (i, item) in asset_items.iter().enumerate() {
        let at = format!("assets[{i}]");
        plan.asset(
            state,
            &mut tx,
            ctx,
            &at,
            &item.uid,
            item.version,
            &codes,
            &envs,
            publish,
        )
        .await?;
    }
    if nested && plan.errors.is_empty() {
        plan.references(state, &mut tx, ctx, &codes, &envs, publish)
            .await?;
    }
    if !plan.errors.is_empty() {
        // Dropping the transaction rolls it back: nothing was written.
        return Err(refused(publish, plan.errors));
    }
    plan.apply(&mut tx, ctx).await?;
    tx.commit().await?;
    Ok(Done::Now)
}

/// Queues the request as a job: the settings (environments, locales) are checked now, each
/// item when the job is carried out (an item that cannot be published then is reported in the
/// job's items, the others go ahead).
#[allow(clippy::too_many_arguments)]
async fn enqueue(
    state: &AppState,
    ctx: &StackCtx,
    publish: bool,
    entry_items: &[BulkEntry],
    asset_items: &[AssetItem],
    env_names: &[String],
    codes: &[String],
    scheduled_at: Option<&str>,
    nested: bool,
    skip_held: bool,
) -> ApiResult<Done> {
    let mut tx = state.db().begin().await?;
    let mut plan = Plan::new(&mut tx, ctx, Gate::Refuse).await?;
    plan.environments(&mut tx, ctx, env_names, |i| format!("environments[{i}]"))
        .await?;
    plan.locales(&mut tx, ctx, codes, |i| format!("locales[{i}]"))
        .await?;
    if !plan.errors.is_empty() {
        return Err(refused(publish, plan.errors));
    }
    let mut items: Vec<NewItem> = entry_items
        .iter()
        .map(|e| NewItem {
            item_type: "entry",
            action: None,
            item_uid: &e.uid,
            content_type_uid: Some(&e.content_type),
            locale: e.locale.as_deref(),
            version: e.version,
        })
        .collect();
    items.extend(asset_items.iter().map(|a| NewItem {
        item_type: "asset",
        action: None,
        item_uid: &a.uid,
        content_type_uid: None,
        locale: None,
        version: a.version,
    }));
    let uid = jobs::queue(
        &mut tx,
        ctx,
        Queued {
            publish,
            source: "bulk",
            environments: env_names,
            locales: codes,
            scheduled_at,
            items,
            release: None,
            nested,
            skip_held,
        },
    )
    .await?;
    tx.commit().await?;
    // The job is the record; this instance starts on it at once (the worker of any instance
    // takes it over if this one stops first). A scheduled job waits for its time.
    if scheduled_at.is_none() && state.config().events.run_jobs {
        jobs::carry_out(state, &uid).await?;
    }
    Ok(Done::Queued(uid))
}

fn refused(publish: bool, errors: FieldErrors) -> ApiError {
    let n = errors.len();
    ApiError::validation(
        format!(
            "Bulk {} failed: {n} invalid item{} or setting{}; nothing was {}.",
            if publish { "publish" } else { "unpublish" },
            if n == 1 { "" } else { "s" },
            if n == 1 { "" } else { "s" },
            if publish { "published" } else { "unpublished" },
        ),
        errors,
    )
}

fn answer(done: Done, publish: bool) -> (StatusCode, Json<Value>) {
    let what = if publish { "publish" } else { "unpublish" };
    match done {
        Done::Now => notice(&format!(
            "Your bulk {what} request has been carried out: every item is {what}ed."
        )),
        Done::Queued(job_id) => (
            StatusCode::OK,
            Json(json!({
                "notice": format!("Your bulk {what} request is in progress. Please check publish queue for more details."),
                "job_id": job_id,
            })),
        ),
    }
}

pub async fn publish(
    State(state): State<AppState>,
    ctx: StackCtx,
    headers: HeaderMap,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let done = run(&state, &ctx, &headers, &q, &body, true).await?;
    Ok(answer(done, true))
}

pub async fn unpublish(
    State(state): State<AppState>,
    ctx: StackCtx,
    headers: HeaderMap,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let done = run(&state, &ctx, &headers, &q, &body, false).await?;
    Ok(answer(done, false))
}
