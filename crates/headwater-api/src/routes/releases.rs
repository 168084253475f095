//! Releases (`/v3/releases`): a named set of entry and asset versions deployed (published or
//! unpublished) to environments together, in one transaction — all of it or none. Releases belong to the
//! request's branch.
//!
//! A deploy is decided item by item like a single publish (the `Publish` decision for the
//! entry's content type or for assets), and publish rules hold: an item a rule would send for
//! approval makes the whole deploy fail with a message naming the rule, since a release cannot
//! go out half approved.

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::publish::jobs::{self, Queued};
use crate::publish::{self, EntryItem, Gate, Plan};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use crate::wire::{
    self,
    releases::{ReleaseBody, ReleaseDeployBody, ReleaseItemBody, ReleaseOut},
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::clock;
use headwater_core::policy::{Action, Module, Op};
use headwater_core::scope::FieldErrors;
use headwater_store::repo::publish_jobs::{self, NewItem, NewJob};
use headwater_store::repo::releases::{self, Release, ReleaseWrite};
use headwater_store::repo::{assets, audit, entries, environments, locales, schemas, Conn};
use serde_json::{json, Value};

/// A release's items as `ctx` may see them: the stored title of an item whose entry (or asset)
/// the policy does not let it read is left out.
fn visible_items(ctx: &StackCtx, items: &Value) -> Vec<Value> {
    let mut items = items.as_array().cloned().unwrap_or_default();
    for item in &mut items {
        let read = match item.get("content_type_uid").and_then(Value::as_str) {
            Some(ct) => Action::new(Module::Entries, Op::Read).on_content_type(ct),
            None => Action::new(Module::Assets, Op::Read),
        };
        if ctx.authorize(&read).is_err() {
            if let Some(m) = item.as_object_mut() {
                m.remove("title");
            }
        }
    }
    items
}

fn release_json(ctx: &StackCtx, r: &Release) -> Value {
    wire::to_value(&ReleaseOut::new(r, visible_items(ctx, &r.items)))
}

async fn load(c: &mut Conn, ctx: &StackCtx, uid: &str) -> ApiResult<Release> {
    releases::get(c, &ctx.space, uid)
        .await?
        .ok_or_else(|| ApiError::not_found("release"))
}

fn locked(r: &Release) -> ApiError {
    ApiError::invalid(
        "release.locked",
        format!(
            "the release '{}' is locked; unlock it before changing it.",
            r.name
        ),
    )
}

pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Releases, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let mut c = state.db().reader().await?;
    let (items, total) = releases::list(&mut c, &ctx.space, skip, limit).await?;
    Ok(listed(
        "releases",
        items.iter().map(|r| release_json(&ctx, r)).collect(),
        q.flag("include_count").then_some(total),
    ))
}

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Releases, Op::Read))?;
    let mut c = state.db().reader().await?;
    let r = load(&mut c, &ctx, &uid).await?;
    Ok(Json(json!({ "release": release_json(&ctx, &r) })))
}

fn header_fields(
    sent: ReleaseBody,
    current: Option<&Release>,
) -> ApiResult<(String, String, bool, bool)> {
    let name = match (sent.name, current) {
        (Some(n), _) if !n.trim().is_empty() => n.trim().to_string(),
        (None, Some(r)) => r.name.clone(),
        _ => return Err(ApiError::invalid("release.name", "is required.")),
    };
    let description = sent
        .description
        .or_else(|| current.map(|r| r.description.clone()))
        .unwrap_or_default();
    let locked = sent.locked.or(current.map(|r| r.locked)).unwrap_or(false);
    let archived = sent
        .archived
        .or(current.map(|r| r.archived))
        .unwrap_or(false);
    Ok((name, description, locked, archived))
}

pub async fn create(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Releases, Op::Create))?;
    let sent: ReleaseBody = wire::parse(&body, "release")?;
    let (name, description, locked, archived) = header_fields(sent, None)?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let r = releases::insert(
        &mut tx,
        &ctx.space,
        &ReleaseWrite {
            name: &name,
            description: &description,
            locked,
            archived,
            items: &json!([]),
        },
        &actor,
    )
    .await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("create", "release", &r.uid, &r.name),
    )
    .await?;
    tx.commit().await?;
    Ok(created(
        "Release created successfully.",
        "release",
        release_json(&ctx, &r),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Releases, Op::Update))?;
    let sent: ReleaseBody = wire::parse(&body, "release")?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let current = load(&mut tx, &ctx, &uid).await?;
    let (name, description, locked_now, archived) = header_fields(sent, Some(&current))?;
    // A locked release only takes being unlocked.
    if current.locked && locked_now {
        return Err(locked(&current));
    }
    let r = write(
        &mut tx,
        &ctx,
        &current,
        &ReleaseWrite {
            name: &name,
            description: &description,
            locked: locked_now,
            archived,
            items: &current.items,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("update", "release", &r.uid, &r.name),
    )
    .await?;
    tx.commit().await?;
    Ok(updated(
        "Release updated successfully.",
        "release",
        release_json(&ctx, &r),
    ))
}

async fn write(
    c: &mut Conn,
    ctx: &StackCtx,
    current: &Release,
    w: &ReleaseWrite<'_>,
) -> ApiResult<Release> {
    releases::update(c, &ctx.space, &current.uid, w, &ctx.actor())
        .await?
        .ok_or_else(|| ApiError::not_found("release"))
}

pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Releases, Op::Delete))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let r = load(&mut tx, &ctx, &uid).await?;
    if r.locked {
        return Err(locked(&r));
    }
    releases::delete(&mut tx, &ctx.space, &uid).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("delete", "release", &r.uid, &r.name),
    )
    .await?;
    tx.commit().await?;
    Ok(notice("Release deleted successfully."))
}

/// Checks an item and fills in what the client left out (locale, action, title).
async fn checked_item(
    c: &mut Conn,
    ctx: &StackCtx,
    i: usize,
    m: &ReleaseItemBody,
) -> ApiResult<Value> {
    let field = |k: &str| format!("items[{i}].{k}");
    if let Some(v) = m.variant_id.as_deref().filter(|v| !v.is_empty()) {
        return Err(ApiError::invalid(
            &field("variant_id"),
            format!("there is no entry variant '{v}': this server has no entry variants; add the entry itself."),
        ));
    }
    let uid = m
        .uid
        .as_deref()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::invalid(&field("uid"), "is required."))?;
    let locale = m
        .locale
        .clone()
        .unwrap_or_else(|| ctx.stack.master_locale.clone());
    if locales::by_code(&mut *c, &ctx.space, &locale)
        .await?
        .is_none()
    {
        return Err(ApiError::invalid(
            &field("locale"),
            format!("'{locale}' is not a locale of this stack."),
        ));
    }
    let action = m.action.as_deref().unwrap_or("publish");
    if action != "publish" && action != "unpublish" {
        return Err(ApiError::invalid(
            &field("action"),
            "must be 'publish' or 'unpublish'.",
        ));
    }
    let version = publish::version(m.version.as_ref())
        .map_err(|e| ApiError::invalid(&field("version"), e))?;
    let ct = m.content_type_uid.as_deref().filter(|s| !s.is_empty());
    // The caller must be allowed to read the item (the policy's `Read` decision for the
    // entry's content type, or for assets) before anything about it is looked up or copied
    // into the release: release rights alone reveal no titles.
    let read = match ct {
        Some(ct) => Action::new(Module::Entries, Op::Read).on_content_type(ct),
        None => Action::new(Module::Assets, Op::Read),
    };
    ctx.authorize(&read)?;
    let title = match ct {
        Some(ct) => {
            if !schemas::exists(&mut *c, &ctx.space, schemas::Kind::ContentType, ct).await? {
                return Err(ApiError::invalid(
                    &field("content_type_uid"),
                    format!("'{ct}' is not a content type of this stack."),
                ));
            }
            let e = match entries::get(&mut *c, &ctx.space, ct, uid, &locale).await? {
                Some(e) => Some(e),
                None => entries::get(c, &ctx.space, ct, uid, &ctx.stack.master_locale).await?,
            }
            .ok_or_else(|| {
                ApiError::invalid(
                    &field("uid"),
                    format!("there is no entry '{uid}' of '{ct}'."),
                )
            })?;
            e.title
        }
        None => {
            let a = assets::get(c, &ctx.space, uid)
                .await?
                .filter(|a| !a.is_dir)
                .ok_or_else(|| {
                    ApiError::invalid(&field("uid"), format!("there is no asset '{uid}'."))
                })?;
            a.title
        }
    };
    let mut out = json!({"uid": uid, "locale": locale, "action": action,
        "title": m.title.as_deref().unwrap_or(&title)});
    if let Some(ct) = ct {
        out["content_type_uid"] = json!(ct);
    }
    if let Some(v) = version {
        out["version"] = json!(v);
    }
    Ok(out)
}

fn same_item(a: &Value, b: &Value) -> bool {
    a.get("uid") == b.get("uid") && a.get("locale") == b.get("locale")
}

/// The items of an add or remove body: `{"item": {…}}` or `{"items": [...]}`.
fn sent_items(body: &JsonBody) -> ApiResult<Vec<ReleaseItemBody>> {
    if let Some(item) = body.0.get("item").filter(|v| !v.is_null()) {
        return Ok(vec![wire::from_value(item, "item")?]);
    }
    match body.0.get("items") {
        Some(items @ Value::Array(_)) => wire::from_value(items, "items"),
        _ => Err(ApiError::invalid(
            "items",
            "is required: an array of items.",
        )),
    }
}

/// The items of a body as sent: `{"item": {…}}` or `{"items": [...]}`.
fn body_items(body: &JsonBody) -> ApiResult<Vec<Value>> {
    if let Some(item) = body.0.get("item").filter(|v| !v.is_null()) {
        return Ok(vec![item.clone()]);
    }
    match body.0.get("items") {
        Some(Value::Array(a)) => Ok(a.clone()),
        _ => Err(ApiError::invalid(
            "items",
            "is required: an array of items.",
        )),
    }
}

pub async fn items(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Releases, Op::Read))?;
    let mut c = state.db().reader().await?;
    let r = load(&mut c, &ctx, &uid).await?;
    let items = visible_items(&ctx, &r.items);
    let n = items.len() as i64;
    Ok(listed("items", items, Some(n)))
}

/// `POST /v3/releases/{uid}/item` or `…/items`: adds items (an item already there for the same
/// uid and locale is replaced).
pub async fn add_items(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Releases, Op::Update))?;
    let new = sent_items(&body)?;
    let mut tx = state.db().begin().await?;
    let r = load_unlocked(&mut tx, &ctx, &uid).await?;
    let mut items = r.items.as_array().cloned().unwrap_or_default();
    for (i, item) in new.iter().enumerate() {
        let item = checked_item(&mut tx, &ctx, i, item).await?;
        items.retain(|x| !same_item(x, &item));
        items.push(item);
    }
    save_items(tx, &ctx, &r, items, "Item added to release successfully.").await
}

/// A release whose items may change (an unlocked one).
async fn load_unlocked(c: &mut Conn, ctx: &StackCtx, uid: &str) -> ApiResult<Release> {
    let r = load(c, ctx, uid).await?;
    if r.locked {
        return Err(locked(&r));
    }
    Ok(r)
}

/// Stores a release's new items with its audit record and commits.
async fn save_items(
    mut tx: headwater_store::Tx,
    ctx: &StackCtx,
    r: &Release,
    items: Vec<Value>,
    message: &str,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let w = ReleaseWrite {
        name: &r.name,
        description: &r.description,
        locked: r.locked,
        archived: r.archived,
        items: &Value::Array(items),
    };
    let r = write(&mut tx, ctx, r, &w).await?;
    audit::record(
        &mut tx,
        &ctx.actor(),
        ctx.audit("update", "release", &r.uid, &r.name),
    )
    .await?;
    tx.commit().await?;
    Ok(updated(message, "release", release_json(ctx, &r)))
}

/// `DELETE /v3/releases/{uid}/items` `{"items": [...]}` (or `?all=true`), or `…/item`.
pub async fn remove_items(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Releases, Op::Update))?;
    let all = q.flag("all");
    let gone = if all { Vec::new() } else { sent_items(&body)? };
    let mut tx = state.db().begin().await?;
    let r = load_unlocked(&mut tx, &ctx, &uid).await?;
    let mut items = r.items.as_array().cloned().unwrap_or_default();
    if all {
        items.clear();
    } else {
        for g in gone {
            let g = json!({"uid": g.uid,
                "locale": g.locale.unwrap_or_else(|| ctx.stack.master_locale.clone())});
            items.retain(|x| !same_item(x, &g));
        }
    }
    save_items(
        tx,
        &ctx,
        &r,
        items,
        "Item deleted from release successfully.",
    )
    .await
}

/// A release item as a scheduled deploy will carry it out.
struct Planned {
    uid: String,
    content_type: Option<String>,
    locale: String,
    version: Option<i64>,
    action: &'static str,
}

/// `POST /v3/releases/{uid}/deploy` `{"release": {environments, locales?, action?}}`: `action`
/// (publish or unpublish) applies to every item when given, else each item's own; `locales`
/// limits the deploy to items of those locales.
pub async fn deploy(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Releases, Op::Publish))?;
    let sent: ReleaseDeployBody = wire::parse(&body, "release")?;
    let scheduled_at = jobs::scheduled_at(sent.scheduled_at.as_ref(), "release.scheduled_at")?;
    let env_names = sent.environments;
    if env_names.is_empty() {
        return Err(ApiError::invalid(
            "release.environments",
            "is required: a non-empty array.",
        ));
    }
    let only_locales = sent.locales;
    // The deploy's action, when given, applies to every item; otherwise each item's own does.
    let forced = sent.action.as_deref();
    let default_action = forced.unwrap_or("publish");
    if default_action != "publish" && default_action != "unpublish" {
        return Err(ApiError::invalid(
            "release.action",
            "must be 'publish' or 'unpublish'.",
        ));
    }
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let r = load(&mut tx, &ctx, &uid).await?;
    let items = r.items.as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return Err(ApiError::invalid(
            "release.items",
            "the release holds no items.",
        ));
    }
    let mut envs = Vec::new();
    for name in &env_names {
        envs.push(
            environments::by_name(&mut tx, &ctx.stack.uid, name)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(
                        "release.environments",
                        format!("'{name}' is not an environment of this stack."),
                    )
                })?,
        );
    }
    // Every item is planned (and authorized like its single publish) before anything is
    // written; any refusal names the item and nothing is deployed.
    let mut plan = Plan::new(&mut tx, &ctx, Gate::Refuse).await?;
    let envs = plan
        .environments(&mut tx, &ctx, &env_names, |_| "release.environments".into())
        .await?;
    // What a scheduled deploy will carry out.
    let mut planned: Vec<Planned> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("items[{i}]");
        let item_uid = item["uid"].as_str().unwrap_or_default();
        let locale = item["locale"]
            .as_str()
            .unwrap_or(&ctx.stack.master_locale)
            .to_string();
        if !only_locales.is_empty() && !only_locales.contains(&locale) {
            continue;
        }
        let publish = forced.unwrap_or_else(|| item["action"].as_str().unwrap_or(default_action))
            == "publish";
        let version = item["version"].as_i64();
        planned.push(Planned {
            uid: item_uid.to_string(),
            content_type: item["content_type_uid"].as_str().map(str::to_string),
            locale: locale.clone(),
            version,
            action: if publish { "publish" } else { "unpublish" },
        });
        let codes = std::slice::from_ref(&locale);
        match item["content_type_uid"].as_str() {
            Some(ct) => {
                ctx.authorize(
                    &Action::new(Module::Entries, Op::Publish)
                        .on_content_type(ct)
                        .to_environments(&env_names),
                )?;
                let entry = EntryItem {
                    at: &at,
                    content_type: ct,
                    uid: item_uid,
                    fallback: None,
                    version,
                };
                plan.entry(&mut tx, &ctx, &entry, codes, &envs, publish)
                    .await?;
            }
            None => {
                ctx.authorize(
                    &Action::new(Module::Assets, Op::Publish).to_environments(&env_names),
                )?;
                plan.asset(
                    &state, &mut tx, &ctx, &at, item_uid, version, codes, &envs, publish,
                )
                .await?;
            }
        }
    }
    if !plan.errors.is_empty() {
        return Err(not_deployed(&plan.errors));
    }
    if let Some(at) = scheduled_at.as_deref() {
        // Checked now; deployed then, all items or none, as the release holds them now.
        let new_items = planned
            .iter()
            .map(|p| NewItem {
                item_type: if p.content_type.is_some() {
                    "entry"
                } else {
                    "asset"
                },
                action: Some(p.action),
                item_uid: &p.uid,
                content_type_uid: p.content_type.as_deref(),
                locale: Some(&p.locale),
                version: p.version,
            })
            .collect();
        let job_id = jobs::queue(
            &mut tx,
            &ctx,
            Queued {
                publish: default_action == "publish",
                source: "release",
                environments: &env_names,
                locales: &only_locales,
                scheduled_at: Some(at),
                items: new_items,
                release: Some(&r.uid),
                nested: false,
                skip_held: false,
            },
        )
        .await?;
        tx.commit().await?;
        return Ok((
            StatusCode::OK,
            Json(json!({
                "notice": "Release sent successfully for deployment.",
                "job_id": job_id,
            })),
        ));
    }
    plan.apply(&mut tx, &ctx).await?;
    let mut deployments = r.deployments.as_array().cloned().unwrap_or_default();
    deployments.push(json!({
        "environments": env_names, "locales": only_locales, "action": forced,
        "deployed_at": clock::now(), "deployed_by": actor.uid(),
    }));
    releases::record_deployment(&mut tx, &ctx.space, &uid, &Value::Array(deployments)).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("deploy", "release", &r.uid, &r.name),
    )
    .await?;
    tx.commit().await?;
    Ok(notice("Release sent successfully for deployment."))
}

/// The answer to a deploy that cannot go out: every reason, in the message too.
fn not_deployed(errors: &FieldErrors) -> ApiError {
    let mut reasons: Vec<String> = errors
        .iter()
        .flat_map(|(k, ms)| ms.iter().map(move |m| format!("{k}: {m}")))
        .collect();
    if errors.keys().any(|k| k.ends_with(".uid")) {
        reasons.push("An item that no longer exists must be removed from the release.".into());
    }
    ApiError::validation(
        format!(
            "The release cannot be deployed; nothing was deployed. {}",
            reasons.join(" ")
        ),
        errors.clone(),
    )
}

/// `POST /v3/releases/{uid}/clone` `{"release": {name, description}}`: a new, unlocked release
/// with the same items.
pub async fn clone(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Releases, Op::Create))?;
    let sent: ReleaseBody = wire::parse(&body, "release")?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let source = load(&mut tx, &ctx, &uid).await?;
    let (name, description, _, _) = header_fields(sent, None)?;
    let r = releases::insert(
        &mut tx,
        &ctx.space,
        &ReleaseWrite {
            name: &name,
            description: &description,
            locked: false,
            archived: false,
            items: &source.items,
        },
        &actor,
    )
    .await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("create", "release", &r.uid, &r.name),
    )
    .await?;
    tx.commit().await?;
    Ok(created(
        "Release cloned successfully.",
        "release",
        release_json(&ctx, &r),
    ))
}

/// The current version of a release item's entry (in the item's locale, else the master's) or
/// asset; `None` when it no longer exists.
async fn latest_version(c: &mut Conn, ctx: &StackCtx, item: &Value) -> ApiResult<Option<i64>> {
    let uid = item.get("uid").and_then(Value::as_str).unwrap_or_default();
    let locale = item
        .get("locale")
        .and_then(Value::as_str)
        .unwrap_or(&ctx.stack.master_locale);
    Ok(match item.get("content_type_uid").and_then(Value::as_str) {
        Some(ct) => match entries::get(&mut *c, &ctx.space, ct, uid, locale).await? {
            Some(e) => Some(e.version),
            None => entries::get(c, &ctx.space, ct, uid, &ctx.stack.master_locale)
                .await?
                .map(|e| e.version),
        },
        None => assets::get(c, &ctx.space, uid)
            .await?
            .filter(|a| !a.is_dir)
            .map(|a| a.version),
    })
}

/// Whether a body's item (`{uid, locale?}`) names a stored item: same uid, and same locale
/// when the body names one.
fn names_item(wanted: &Value, stored: &Value) -> bool {
    wanted.get("uid").is_some()
        && wanted.get("uid") == stored.get("uid")
        // No stored item is a variant (see `ReleaseItemBody::variant_id`).
        && wanted
            .get("variant_id")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        && wanted
            .get("locale")
            .filter(|l| !l.is_null())
            .is_none_or(|l| Some(l) == stored.get("locale"))
}

/// `PUT /v3/releases/{uid}/update_items` `{"items": ["$all"]}` or `{"items": [{uid, locale}…]}`:
/// sets the items' versions to the current versions of their entries and assets.
pub async fn update_items(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Releases, Op::Update))?;
    let wanted = match body.0.get("items") {
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        _ => {
            return Err(ApiError::invalid(
                "items",
                "is required: [\"$all\"] or an array of items ({uid, locale}).",
            ))
        }
    };
    let all = wanted.iter().any(|w| w.as_str() == Some("$all"));
    if !all && !wanted.iter().all(Value::is_object) {
        return Err(ApiError::invalid(
            "items",
            "must be [\"$all\"] or an array of items ({uid, locale}).",
        ));
    }
    let mut tx = state.db().begin().await?;
    let r = load_unlocked(&mut tx, &ctx, &uid).await?;
    let mut items = r.items.as_array().cloned().unwrap_or_default();
    if !all {
        for (i, w) in wanted.iter().enumerate() {
            if !items.iter().any(|x| names_item(w, x)) {
                return Err(ApiError::invalid(
                    &format!("items[{i}]"),
                    "is not an item of this release.",
                ));
            }
        }
    }
    for item in items.iter_mut() {
        if !all && !wanted.iter().any(|w| names_item(w, item)) {
            continue;
        }
        match latest_version(&mut tx, &ctx, item).await? {
            Some(v) => item["version"] = json!(v),
            None => {
                return Err(ApiError::invalid(
                    "items",
                    format!(
                        "the release item '{}' no longer exists; remove it from the release.",
                        item.get("uid").and_then(Value::as_str).unwrap_or_default()
                    ),
                ))
            }
        }
    }
    save_items(
        tx,
        &ctx,
        &r,
        items,
        "Release items updated to their latest versions successfully.",
    )
    .await
}

/// `PUT` (or `POST`) `/v3/releases/{uid}/items/move` `{"release_uid": target, "items": [{uid,
/// locale}…]}`: moves items from this release to another; both must be unlocked.
pub async fn move_items(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Releases, Op::Update))?;
    let target_uid = body
        .0
        .get("release_uid")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::invalid("release_uid", "is required: the release the items move to.")
        })?
        .to_string();
    if target_uid == uid {
        return Err(ApiError::invalid(
            "release_uid",
            "names this release; items move to another release.",
        ));
    }
    // The Python client sends the list under `item`.
    let wanted = match body.0.get("item") {
        Some(Value::Array(a)) => a.clone(),
        _ => body_items(&body)?,
    };
    let mut tx = state.db().begin().await?;
    let source = load_unlocked(&mut tx, &ctx, &uid).await?;
    let target = load_unlocked(&mut tx, &ctx, &target_uid).await?;
    let mut from = source.items.as_array().cloned().unwrap_or_default();
    let mut to = target.items.as_array().cloned().unwrap_or_default();
    for (i, w) in wanted.iter().enumerate() {
        let moving: Vec<Value> = from.iter().filter(|x| names_item(w, x)).cloned().collect();
        if moving.is_empty() {
            return Err(ApiError::invalid(
                &format!("items[{i}]"),
                "is not an item of this release.",
            ));
        }
        from.retain(|x| !names_item(w, x));
        for m in moving {
            to.retain(|x| !same_item(x, &m));
            to.push(m);
        }
    }
    for (r, items) in [(&source, from), (&target, to)] {
        let w = ReleaseWrite {
            name: &r.name,
            description: &r.description,
            locked: r.locked,
            archived: r.archived,
            items: &Value::Array(items),
        };
        let saved = write(&mut tx, &ctx, r, &w).await?;
        audit::record(
            &mut tx,
            &ctx.actor(),
            ctx.audit("update", "release", &saved.uid, &saved.name),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(notice("Release items moved successfully."))
}

/// `POST /v3/bulk/release/items` (the JavaScript client's `bulkOperation().addItems`, sent
/// with `bulk_version: 2.0`): `{"release": uid, "action": "publish"|"unpublish", "locale":
/// ["en-us", …], "reference": true, "items": [{uid, content_type_uid, locale, version,
/// title}]}`. Each item is added in every locale of `locale` (its own locale, else the master
/// locale, when `locale` is absent) with `action` (else its own); with `reference: true` the
/// entries and assets it refers to ([`publish::reference_closure`], five levels down) are
/// added too, at their latest versions. Every item is checked as `…/items` checks it and the
/// release is written in one transaction with a job record (`GET /v3/bulk/jobs/{job_id}`
/// shows each item added), answered `{"notice", "job_id"}` as Contentstack answers.
pub async fn bulk_add_items(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Releases, Op::Update))?;
    let release_uid = body
        .0
        .get("release")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::invalid("release", "is required: the uid of the release to add to.")
        })?
        .to_string();
    let action = match body.0.get("action") {
        None | Some(Value::Null) => None,
        Some(Value::String(a)) if a == "publish" || a == "unpublish" => Some(a.clone()),
        Some(_) => {
            return Err(ApiError::invalid(
                "action",
                "must be 'publish' or 'unpublish'.",
            ))
        }
    };
    let locales: Vec<String> = match body.0.get("locale") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.to_lowercase()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_lowercase))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::invalid("locale", "must be an array of locale codes."))?,
        Some(_) => {
            return Err(ApiError::invalid(
                "locale",
                "must be an array of locale codes.",
            ))
        }
    };
    let reference = matches!(body.0.get("reference"), Some(Value::Bool(true)))
        || body.0.get("reference").and_then(Value::as_str) == Some("true");
    let sent: Vec<ReleaseItemBody> = match body.0.get("items") {
        Some(items @ Value::Array(a)) if !a.is_empty() => wire::from_value(items, "items")?,
        _ => {
            return Err(ApiError::invalid(
                "items",
                "is required: a non-empty array of items.",
            ))
        }
    };
    let mut tx = state.db().begin().await?;
    let r = load_unlocked(&mut tx, &ctx, &release_uid).await?;
    let mut items = r.items.as_array().cloned().unwrap_or_default();
    let mut added: Vec<Value> = Vec::new();
    // An item already there for the same uid and locale is replaced.
    fn put(item: Value, items: &mut Vec<Value>, added: &mut Vec<Value>) {
        items.retain(|x| !same_item(x, &item));
        added.retain(|x| !same_item(x, &item));
        items.push(item.clone());
        added.push(item);
    }
    for (i, m) in sent.iter().enumerate() {
        let mut m = m.clone();
        if let Some(a) = &action {
            m.action = Some(a.clone());
        }
        let codes: Vec<Option<String>> = if locales.is_empty() {
            vec![m.locale.clone()]
        } else {
            locales.iter().cloned().map(Some).collect()
        };
        for code in codes {
            m.locale = code;
            let item = checked_item(&mut tx, &ctx, i, &m).await?;
            let locale = item["locale"].as_str().unwrap_or_default().to_string();
            put(item, &mut items, &mut added);
            let (Some(ct), Some(uid), true) =
                (m.content_type_uid.as_deref(), m.uid.as_deref(), reference)
            else {
                continue;
            };
            for (rct, ruid) in publish::reference_closure(&mut tx, &ctx, ct, uid, &locale).await? {
                let nested = ReleaseItemBody {
                    uid: Some(ruid),
                    locale: Some(locale.clone()),
                    content_type_uid: rct,
                    action: m.action.clone(),
                    version: None,
                    title: None,
                    variant_id: None,
                };
                let item = checked_item(&mut tx, &ctx, i, &nested).await?;
                put(item, &mut items, &mut added);
            }
        }
    }
    let job_action = action.as_deref().unwrap_or("publish");
    let new_items: Vec<NewItem> = added
        .iter()
        .map(|it| NewItem {
            item_type: if it.get("content_type_uid").is_some() {
                "entry"
            } else {
                "asset"
            },
            action: it.get("action").and_then(Value::as_str),
            item_uid: it.get("uid").and_then(Value::as_str).unwrap_or_default(),
            content_type_uid: it.get("content_type_uid").and_then(Value::as_str),
            locale: it.get("locale").and_then(Value::as_str),
            version: it.get("version").and_then(Value::as_i64),
        })
        .collect();
    let actor = ctx.actor();
    let now = clock::now();
    let settings = json!({"release": r.uid, "locales": locales, "reference": reference});
    let job_id = publish_jobs::insert(
        &mut tx,
        &NewJob {
            stack_uid: &ctx.stack.uid,
            space_uid: &ctx.space,
            branch: &ctx.branch,
            action: job_action,
            source: "release_items",
            scheduled: false,
            actor_kind: actor.kind(),
            actor_uid: actor.uid(),
            settings: &settings,
            run_at: &now,
        },
        &new_items,
    )
    .await?;
    for it in publish_jobs::items(&mut tx, &job_id).await? {
        publish_jobs::set_item(&mut tx, &it.uid, "success", None).await?;
    }
    publish_jobs::finish(&mut tx, &job_id, "completed", None).await?;
    let w = ReleaseWrite {
        name: &r.name,
        description: &r.description,
        locked: r.locked,
        archived: r.archived,
        items: &Value::Array(items),
    };
    let r = write(&mut tx, &ctx, &r, &w).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("update", "release", &r.uid, &r.name),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::OK,
        Json(json!({
            "notice": "Your add to release request is in progress.",
            "job_id": job_id,
        })),
    ))
}

/// `PUT /v3/bulk/release/update_items` (`bulkOperation().updateItems`): `{"release": uid,
/// "items": ["$all"] | [{uid, locale}]}`, as `PUT /v3/releases/{uid}/update_items`.
pub async fn bulk_update_items(
    state: State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let uid = body
        .0
        .get("release")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("release", "is required: the uid of the release."))?
        .to_string();
    update_items(state, ctx, Path(uid), body).await
}
