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
//! invalid item (`errors["entries[1].uid"]`, …). The work is done before the answer, so there is
//! no job to poll. Headers the client may add (`api_version`, `bulk_version`,
//! `skip_workflow_stage_check`, `approvals`) change nothing: there are no workflows or approvals.
//! Environments may be named by name or uid.

use crate::auth::StackCtx;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::routes::notice;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_core::scope::FieldErrors;
use headwater_store::repo::publications::{self, Target};
use headwater_store::repo::schemas::{self, Kind};
use headwater_store::repo::{assets, audit, entries, environments, locales, Conn};
use headwater_store::StoreError;
use serde_json::{Map, Value};

/// Items (entries and assets together) per request.
pub const MAX_ITEMS: usize = 100;

struct EntryItem {
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

/// What one published (or unpublished) item resolves to before anything is written.
struct Planned {
    item_type: &'static str,
    uid: String,
    title: String,
    content_type: Option<String>,
    /// (target locale, source locale, version)
    targets: Vec<(String, Option<String>, i64)>,
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `version` as a number or a numeric string (the client's examples send `'{{version}}'`).
fn version(m: &Map<String, Value>) -> Result<Option<i64>, ()> {
    match m.get("version") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().filter(|v| *v > 0).map(Some).ok_or(()),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.parse().ok().filter(|v: &i64| *v > 0).map(Some).ok_or(()),
        _ => Err(()),
    }
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

fn parse(body: &Map<String, Value>, errors: &mut FieldErrors) -> (Vec<EntryItem>, Vec<AssetItem>) {
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
        let v = version(m);
        if uid.is_none() {
            add(errors, &format!("{at}.uid"), "is required.");
        }
        if ct.is_none() {
            add(errors, &format!("{at}.content_type"), "is required.");
        }
        if v.is_err() {
            add(
                errors,
                &format!("{at}.version"),
                "must be a positive whole number.",
            );
        }
        if let (Some(uid), Some(content_type), Ok(version)) = (uid, ct, v) {
            entry_items.push(EntryItem {
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
        let v = version(m);
        if uid.is_none() {
            add(errors, &format!("{at}.uid"), "is required.");
        }
        if v.is_err() {
            add(
                errors,
                &format!("{at}.version"),
                "must be a positive whole number.",
            );
        }
        if let (Some(uid), Ok(version)) = (uid, v) {
            asset_items.push(AssetItem { uid, version });
        }
    }
    (entry_items, asset_items)
}

async fn run(state: &AppState, ctx: &StackCtx, body: &JsonBody, publish: bool) -> ApiResult<()> {
    let body = &body.0;
    if body.get("scheduled_at").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::invalid(
            "scheduled_at",
            "scheduled publishing is not supported; publish at the time you want it live.",
        ));
    }
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

    let backend = state.db().backend();
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    // Environments belong to the stack; locales, entries and assets to the branch's space.
    let space = &ctx.space;
    // Environments are named by name or by uid (the client's examples show uids).
    let (all_envs, _) = environments::list(&mut tx, &ctx.stack.uid, 0, i64::MAX, true).await?;
    let mut envs = Vec::new();
    for (i, name) in env_names.iter().enumerate() {
        match all_envs.iter().find(|e| &e.name == name || &e.uid == name) {
            Some(env) => envs.push(env),
            None => add(
                &mut errors,
                &format!("environments[{i}]"),
                &format!("'{name}' is not an environment of this stack."),
            ),
        }
    }
    for (i, code) in codes.iter().enumerate() {
        if locales::by_code(&mut tx, space, code).await?.is_none() {
            add(
                &mut errors,
                &format!("locales[{i}]"),
                &format!("'{code}' is not a locale of this stack."),
            );
        }
    }
    let mut plan = Vec::new();
    for (i, item) in entry_items.iter().enumerate() {
        match plan_entry(&mut tx, ctx, backend, item, &codes, publish).await? {
            Ok(p) => plan.push(p),
            Err((field, message)) => add(&mut errors, &format!("entries[{i}].{field}"), &message),
        }
    }
    for (i, item) in asset_items.iter().enumerate() {
        match assets::get(&mut tx, space, &item.uid).await? {
            Some(a) if !a.is_dir => {
                let v = item.version.unwrap_or(a.version);
                if v > a.version {
                    add(
                        &mut errors,
                        &format!("assets[{i}].version"),
                        &format!("version {v} of asset '{}' doesn't exist.", item.uid),
                    );
                    continue;
                }
                plan.push(Planned {
                    item_type: "asset",
                    uid: a.uid.clone(),
                    title: a.title.clone(),
                    content_type: None,
                    targets: codes.iter().map(|c| (c.clone(), None, v)).collect(),
                });
            }
            _ => add(
                &mut errors,
                &format!("assets[{i}].uid"),
                &format!("asset '{}' doesn't exist.", item.uid),
            ),
        }
    }
    // Publish rules hold here too: an entry a rule would send for approval is refused by name
    // (a bulk request cannot half wait for approval).
    let rules = crate::routes::workflows::PublishRules::load(&mut tx, ctx).await?;
    for p in plan.iter().filter(|p| p.item_type == "entry") {
        let ct = p.content_type.as_deref().unwrap_or_default();
        for (code, _, _) in &p.targets {
            for env in &envs {
                if let Some(rule) = rules.blocking(ctx, ct, code, &env.uid, publish) {
                    let rule = &rule.uid;
                    add(
                        &mut errors,
                        "entries",
                        &format!(
                            "publish rule '{rule}' needs approval for entry '{}' on '{}' ({code}); send a publish request instead.",
                            p.uid, env.name
                        ),
                    );
                }
            }
        }
    }
    if !errors.is_empty() {
        // Dropping the transaction rolls it back: nothing was written.
        return Err(refused(publish, errors));
    }
    for p in &plan {
        for (code, source, v) in &p.targets {
            for env in &envs {
                let target = Target {
                    stack_uid: space,
                    item_type: p.item_type,
                    item_uid: &p.uid,
                    content_type_uid: p.content_type.as_deref(),
                    locale: code,
                    environment_uid: &env.uid,
                    source_locale: source.as_deref(),
                };
                if publish {
                    publications::publish(&mut tx, &target, *v, &actor).await?;
                } else {
                    publications::unpublish(&mut tx, &target).await?;
                }
            }
        }
        let action = if publish { "publish" } else { "unpublish" };
        audit::record(
            &mut tx,
            &actor,
            ctx.audit(action, p.item_type, &p.uid, &p.title),
        )
        .await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Resolves one entry item against every target locale; `Err((field, message))` when the item
/// is invalid.
async fn plan_entry(
    c: &mut Conn,
    ctx: &StackCtx,
    backend: headwater_store::Backend,
    item: &EntryItem,
    codes: &[String],
    publish: bool,
) -> ApiResult<Result<Planned, (&'static str, String)>> {
    let space = &ctx.space;
    let ct = &item.content_type;
    if !schemas::exists(c, space, Kind::ContentType, ct).await? {
        return Ok(Err((
            "content_type",
            format!("content type '{ct}' doesn't exist."),
        )));
    }
    let master = &ctx.stack.master_locale;
    let missing = || {
        Err((
            "uid",
            format!("entry '{}' of content type '{ct}' doesn't exist.", item.uid),
        ))
    };
    let mut targets = Vec::new();
    let mut title = String::new();
    for code in codes {
        // The target locale's own version, else the item's named locale, else the master.
        let mut found = entries::get(c, backend, space, ct, &item.uid, code).await?;
        for fallback in [item.locale.as_ref(), Some(master)].into_iter().flatten() {
            if found.is_none() {
                found = entries::get(c, backend, space, ct, &item.uid, fallback).await?;
            }
        }
        let Some(entry) = found else {
            return Ok(missing());
        };
        let v = item.version.unwrap_or(entry.version);
        if publish
            && entries::version(c, backend, space, &item.uid, &entry.locale, v)
                .await?
                .is_none()
        {
            return Ok(Err((
                "version",
                format!("version {v} of entry '{}' doesn't exist.", item.uid),
            )));
        }
        title = entry.title.clone();
        targets.push((code.clone(), Some(entry.locale.clone()), v));
    }
    Ok(Ok(Planned {
        item_type: "entry",
        uid: item.uid.clone(),
        title,
        content_type: Some(ct.clone()),
        targets,
    }))
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

pub async fn publish(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    run(&state, &ctx, &body, true).await?;
    Ok(notice(
        "Your bulk publish request has been carried out: every item is published.",
    ))
}

pub async fn unpublish(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    run(&state, &ctx, &body, false).await?;
    Ok(notice(
        "Your bulk unpublish request has been carried out: every item is unpublished.",
    ))
}
