//! Bulk delete (`POST /v3/bulk/delete`) and bulk workflow-stage change (`POST /v3/bulk/workflow`),
//! as the official JavaScript client sends them (`bulkOperation().delete({details})`,
//! `bulkOperation().update(body)`):
//!
//! ```json
//! {"entries": [{"content_type": "…", "uid": "…", "locale": "en-us"}], "assets": [{"uid": "…"}]}
//! {"entries": [{"content_type": "…", "uid": "…", "locale": "en-us"}],
//!  "workflow": {"workflow_stage": {"uid": "…", "comment": "…", "due_date": "…", "assigned_to": []}}}
//! ```
//!
//! Like bulk publishing, all or nothing: every item is authorized exactly as its single route
//! is (entries `Delete`/`Update` of their content type, assets `Delete`; a refusal refuses the
//! request), then every item is done in one write transaction — with its audit row and webhook
//! event — and an invalid one (`entries[1]`: gone, not localized in `locale`, a stage the
//! workflow does not allow) rolls the whole request back with code 120 and `errors` naming each.
//! The stage change itself is [`crate::publish::rules::set_stage`]'s, shared with the entry route.

use crate::auth::StackCtx;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::events::{self, Event};
use crate::lookup::assets::asset_event;
use crate::lookup::entries::{entry_json, load};
use crate::publish::rules::{set_stage, StageInput};
use crate::routes::notice;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_core::scope::FieldErrors;
use headwater_store::repo::{assets, audit, entries, locales, workflows};
use serde_json::{json, Map, Value};

/// Items per request.
pub const MAX_ITEMS: usize = 100;

struct EntryRef {
    at: String,
    content_type: String,
    uid: String,
    locale: Option<String>,
}

fn add(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors
        .entry(field.to_string())
        .or_default()
        .push(message.into());
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn objects<'a>(
    body: &'a Map<String, Value>,
    key: &str,
    errors: &mut FieldErrors,
) -> Vec<(String, &'a Map<String, Value>)> {
    match body.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .filter_map(|(i, v)| match v {
                Value::Object(m) => Some((format!("{key}[{i}]"), m)),
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
}

fn entry_refs(body: &Map<String, Value>, errors: &mut FieldErrors) -> Vec<EntryRef> {
    let mut out = Vec::new();
    for (at, m) in objects(body, "entries", errors) {
        let uid = text(m, "uid");
        let ct = text(m, "content_type").or_else(|| text(m, "_content_type_uid"));
        if uid.is_none() {
            add(errors, &format!("{at}.uid"), "is required.");
        }
        if ct.is_none() {
            add(errors, &format!("{at}.content_type"), "is required.");
        }
        if let (Some(uid), Some(content_type)) = (uid, ct) {
            out.push(EntryRef {
                at,
                content_type,
                uid,
                locale: text(m, "locale").map(|l| l.to_lowercase()),
            });
        }
    }
    out
}

fn refused(what: &str, errors: FieldErrors) -> ApiError {
    let n = errors.len();
    ApiError::validation(
        format!(
            "Bulk {what} failed: {n} invalid item{}; nothing was changed.",
            if n == 1 { "" } else { "s" }
        ),
        errors,
    )
}

/// An item's error as one message at its place (403s refuse the whole request as they are).
fn item_error(errors: &mut FieldErrors, at: &str, e: ApiError) -> ApiResult<()> {
    if e.status == StatusCode::FORBIDDEN || e.status.is_server_error() {
        return Err(e);
    }
    let mut message = e.message.clone();
    if let Some(map) = e.errors.as_object() {
        for (k, v) in map {
            for m in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
                message.push_str(&format!(" {k}: {m}"));
            }
        }
    }
    add(errors, at, message);
    Ok(())
}

/// `POST /v3/bulk/delete`.
pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = &body.0;
    let mut errors = FieldErrors::new();
    let entry_items = entry_refs(body, &mut errors);
    let asset_items: Vec<(String, String)> = objects(body, "assets", &mut errors)
        .into_iter()
        .filter_map(|(at, m)| match text(m, "uid") {
            Some(uid) => Some((at, uid)),
            None => {
                add(&mut errors, &format!("{at}.uid"), "is required.");
                None
            }
        })
        .collect();
    if entry_items.is_empty() && asset_items.is_empty() && errors.is_empty() {
        add(&mut errors, "entries", "name at least one entry or asset.");
    }
    if entry_items.len() + asset_items.len() > MAX_ITEMS {
        add(
            &mut errors,
            "entries",
            format!("at most {MAX_ITEMS} entries and assets per request."),
        );
    }
    for e in &entry_items {
        ctx.authorize(&Action::new(Module::Entries, Op::Delete).on_content_type(&e.content_type))?;
    }
    if !asset_items.is_empty() {
        ctx.authorize(&Action::new(Module::Assets, Op::Delete))?;
    }
    if !errors.is_empty() {
        return Err(refused("delete", errors));
    }
    let actor = ctx.actor();
    let master = ctx.stack.master_locale.clone();
    let mut tx = state.db().begin().await?;
    for e in &entry_items {
        let locale = e.locale.clone().unwrap_or_else(|| master.clone());
        if locale != master
            && locales::by_code(&mut tx, &ctx.space, &locale)
                .await?
                .is_none()
        {
            add(
                &mut errors,
                &format!("{}.locale", e.at),
                format!("'{locale}' is not a locale of this stack."),
            );
            continue;
        }
        let entry = match load(&mut tx, &ctx, &e.content_type, &e.uid, &locale).await {
            Ok(entry) => entry,
            Err(err) => {
                item_error(&mut errors, &format!("{}.uid", e.at), err)?;
                continue;
            }
        };
        // A locale other than the master removes only that localization, as the single route.
        let only_locale = (locale != master).then_some(locale.as_str());
        if only_locale.is_some() && entry.locale != locale {
            add(
                &mut errors,
                &format!("{}.locale", e.at),
                format!("the entry is not localized in '{locale}'."),
            );
            continue;
        }
        entries::delete(&mut tx, &ctx.space, &e.uid, only_locale).await?;
        workflows::forget_entry(&mut tx, &ctx.space, &e.uid, only_locale).await?;
        audit::record(
            &mut tx,
            &actor,
            ctx.audit("delete", "entry", &entry.uid, &entry.title),
        )
        .await?;
        events::emit(
            &mut tx,
            &ctx,
            Event::entry("delete", &e.content_type, entry_json(&entry, None)),
        )
        .await?;
    }
    let mut files = Vec::new();
    for (at, uid) in &asset_items {
        let Some(a) = assets::get(&mut tx, &ctx.space, uid)
            .await?
            .filter(|a| !a.is_dir)
        else {
            add(
                &mut errors,
                &format!("{at}.uid"),
                format!("asset '{uid}' doesn't exist."),
            );
            continue;
        };
        let keys = assets::storage_keys(&mut tx, &ctx.space, uid).await?;
        assets::delete(&mut tx, &ctx.space, uid).await?;
        // Another branch's copy of the asset may share these files.
        files.extend(assets::unreferenced(&mut tx, keys).await?);
        audit::record(
            &mut tx,
            &actor,
            ctx.audit("delete", "asset", &a.uid, &a.title),
        )
        .await?;
        events::emit(&mut tx, &ctx, asset_event(&state, &ctx, "delete", &a)).await?;
    }
    if !errors.is_empty() {
        // Dropping the transaction rolls it back: nothing was deleted.
        return Err(refused("delete", errors));
    }
    tx.commit().await?;
    // Files go after the rows, as for a single delete.
    for k in files {
        state.storage().delete(&k).await;
    }
    Ok(notice(
        "Your bulk delete request has been carried out: every item is deleted.",
    ))
}

/// `POST /v3/bulk/workflow`.
pub async fn workflow(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = &body.0;
    let mut errors = FieldErrors::new();
    let entry_items = entry_refs(body, &mut errors);
    if entry_items.is_empty() && errors.is_empty() {
        add(&mut errors, "entries", "name at least one entry.");
    }
    if entry_items.len() > MAX_ITEMS {
        add(
            &mut errors,
            "entries",
            format!("at most {MAX_ITEMS} entries per request."),
        );
    }
    let stage = match body.get("workflow").and_then(|w| w.get("workflow_stage")) {
        Some(Value::Object(m)) => Some(m),
        _ => {
            add(
                &mut errors,
                "workflow.workflow_stage",
                "is required: an object.",
            );
            None
        }
    };
    for e in &entry_items {
        ctx.authorize(&Action::new(Module::Entries, Op::Update).on_content_type(&e.content_type))?;
    }
    let (Some(stage), true) = (stage, errors.is_empty()) else {
        return Err(refused("workflow update", errors));
    };
    let input = StageInput::parse(stage)?;
    let master = ctx.stack.master_locale.clone();
    let mut tx = state.db().begin().await?;
    for e in &entry_items {
        let locale = e.locale.clone().unwrap_or_else(|| master.clone());
        if locale != master
            && locales::by_code(&mut tx, &ctx.space, &locale)
                .await?
                .is_none()
        {
            add(
                &mut errors,
                &format!("{}.locale", e.at),
                format!("'{locale}' is not a locale of this stack."),
            );
            continue;
        }
        if let Err(err) = set_stage(&mut tx, &ctx, &e.content_type, &e.uid, &locale, &input).await {
            item_error(&mut errors, &e.at, err)?;
        }
    }
    if !errors.is_empty() {
        return Err(refused("workflow update", errors));
    }
    tx.commit().await?;
    Ok((
        StatusCode::OK,
        Json(json!({ "notice": "Workflow stage updated successfully." })),
    ))
}
