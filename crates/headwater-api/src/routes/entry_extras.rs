//! Entry extras: who refers to an entry (`…/references`), names of entry versions
//! (`…/versions/{n}/name`), unlocalizing (`…/unlocalize`), metadata attached to entries and
//! assets (`/v3/metadata`), and the workflow stage lock (`entry_lock`, WF-4) that the entry
//! writes ask about.

use crate::auth::StackCtx;
use crate::body::{Fields, JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::lookup::entries::{content_type_exists, load, locale_of};
use crate::publish::rules::{person, stage_name, stage_of};
use crate::publish::{Gate, Plan};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{self, Action, EntryLock, Module, Named, Op};
use headwater_store::repo::extensions::{self, Metadata, MetadataPublication, MetadataWrite};
use headwater_store::repo::references::{self, Referrer};
use headwater_store::repo::{assets, audit, entries, publications, schemas, workflows, Conn};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The people a stage names: `SYS_ACL.users.uids` and `SYS_ACL.roles.uids` (everyone when the
/// stage has no ACL), as for its transitions.
fn stage_people(stage: &Value) -> Named {
    match stage.get("SYS_ACL") {
        None | Some(Value::Null) => Named {
            users: vec!["$all".into()],
            roles: vec![],
        },
        Some(acl) => Named::from_json(&json!({
            "users": acl.pointer("/users/uids").cloned().unwrap_or(json!([])),
            "roles": acl.pointer("/roles/uids").cloned().unwrap_or(json!([])),
        })),
    }
}

/// WF-4: refuses a change to an entry (in one locale) whose workflow stage locks it for the
/// caller. Called inside the write's transaction, after the module decision.
pub(crate) async fn check_entry_lock(
    c: &mut Conn,
    ctx: &StackCtx,
    entry_uid: &str,
    locale: &str,
) -> ApiResult<()> {
    let Some(current) = workflows::entry_stage(&mut *c, &ctx.space, entry_uid, locale).await?
    else {
        return Ok(());
    };
    let Some(wf) = workflows::workflow(&mut *c, &ctx.stack.uid, &current.workflow_uid).await?
    else {
        return Ok(());
    };
    if !wf.enabled {
        return Ok(());
    }
    let Some(stage) = stage_of(&wf, &current.stage_uid) else {
        return Ok(());
    };
    let lock = EntryLock::from_stage(stage);
    if lock == EntryLock::None {
        return Ok(());
    }
    let me = person(c, ctx).await?;
    policy::decide_entry_lock(
        &ctx.subject,
        me.as_ref(),
        lock,
        &stage_people(stage),
        stage_name(stage),
    )
    .map_err(ApiError::forbidden)
}

/// Whether `doc` refers to the entry `uid`: a reference value `{"uid": …}` or a JSON RTE
/// embed (`attrs["entry-uid"]`).
fn refers_to_entry(doc: &Value, uid: &str) -> bool {
    match doc {
        Value::Object(m) => {
            (m.get("uid").and_then(Value::as_str) == Some(uid)
                && m.contains_key("_content_type_uid"))
                || m.get("entry-uid").and_then(Value::as_str) == Some(uid)
                || m.values().any(|v| refers_to_entry(v, uid))
        }
        Value::Array(a) => a.iter().any(|v| refers_to_entry(v, uid)),
        _ => false,
    }
}

/// Whether `doc` refers to the asset `uid`: a file field value (the uid, or an object with
/// it) or a JSON RTE embed (`attrs["asset-uid"]`).
fn refers_to_asset(doc: &Value, uid: &str) -> bool {
    match doc {
        Value::String(s) => s == uid,
        Value::Object(m) => {
            m.get("uid").and_then(Value::as_str) == Some(uid)
                || m.get("asset-uid").and_then(Value::as_str) == Some(uid)
                || m.values().any(|v| refers_to_asset(v, uid))
        }
        Value::Array(a) => a.iter().any(|v| refers_to_asset(v, uid)),
        _ => false,
    }
}

/// The references answer: one row per referring entry and locale, with the content type's
/// title and, when asked, publish details. Rows the caller may not read are left out.
pub(crate) async fn references_json(
    c: &mut Conn,
    ctx: &StackCtx,
    rows: Vec<Referrer>,
    with_publish_details: bool,
) -> ApiResult<Vec<Value>> {
    let rows: Vec<Referrer> = rows
        .into_iter()
        .filter(|r| {
            ctx.authorize(
                &Action::new(Module::Entries, Op::Read).on_content_type(&r.content_type_uid),
            )
            .is_ok()
        })
        .collect();
    let mut titles: HashMap<String, String> = HashMap::new();
    for r in &rows {
        if !titles.contains_key(&r.content_type_uid) {
            let t = schemas::get(
                c,
                &ctx.space,
                schemas::Kind::ContentType,
                &r.content_type_uid,
            )
            .await?
            .map(|d| d.title)
            .unwrap_or_default();
            titles.insert(r.content_type_uid.clone(), t);
        }
    }
    let pubs = if with_publish_details {
        let uids: Vec<String> = rows.iter().map(|r| r.uid.clone()).collect();
        publications::of_items(c, &ctx.space, "entry", &uids).await?
    } else {
        Vec::new()
    };
    Ok(rows
        .iter()
        .map(|r| {
            let mut v = json!({
                "entry_uid": r.uid,
                "content_type_uid": r.content_type_uid,
                "locale": r.locale,
                "title": r.title,
                "_version": r.version,
                "content_type_title": titles.get(&r.content_type_uid).cloned().unwrap_or_default(),
            });
            if with_publish_details {
                v["publish_details"] = Value::Array(
                    pubs.iter()
                        .filter(|p| p.item_uid == r.uid && p.locale == r.locale)
                        .map(|p| {
                            json!({"environment": p.environment_uid, "locale": p.locale,
                                   "time": p.published_at, "user": p.published_by,
                                   "version": p.version})
                        })
                        .collect(),
                );
            }
            v
        })
        .collect())
}

/// `GET …/entries/{uid}/references`: the entries whose current version refers to this one
/// (in `locale` when given, else in every locale).
pub async fn entry_references(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid)): Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Entries, Op::Read).on_content_type(&ct))?;
    let mut c = state.db().reader().await?;
    content_type_exists(&mut c, &ctx, &ct).await?;
    let locale = locale_of(&mut c, &ctx, &q).await?;
    load(&mut c, &ctx, &ct, &uid, &locale).await?;
    let only = q.get("locale").map(|_| locale.as_str());
    let rows = references::candidates(&mut c, &ctx.space, &uid, only)
        .await?
        .into_iter()
        .filter(|r| r.uid != uid && refers_to_entry(&r.doc, &uid))
        .collect();
    let out = references_json(&mut c, &ctx, rows, q.flag("include_publish_details")).await?;
    let n = out.len() as i64;
    Ok(Json(json!({ "references": out, "count": n })))
}

/// `GET /v3/assets/{uid}/references`: the entries whose current version uses the asset.
pub async fn asset_references(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Assets, Op::Read))?;
    let mut c = state.db().reader().await?;
    match assets::get(&mut c, &ctx.space, &uid).await? {
        Some(a) if !a.is_dir => {}
        _ => return Err(ApiError::not_found("asset")),
    }
    let rows = references::candidates(&mut c, &ctx.space, &uid, None)
        .await?
        .into_iter()
        .filter(|r| refers_to_asset(&r.doc, &uid))
        .collect();
    let out = references_json(&mut c, &ctx, rows, q.flag("include_publish_details")).await?;
    let n = out.len() as i64;
    Ok(Json(json!({ "references": out, "count": n })))
}

fn version_number(n: &str) -> ApiResult<i64> {
    n.parse::<i64>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| ApiError::invalid("version", "must be a whole number from 1."))
}

/// The longest version name accepted.
const MAX_VERSION_NAME: usize = 255;

/// `POST …/entries/{uid}/versions/{n}/name` `{"entry": {"_version_name", "locale", "force"}}`.
/// A version that already has a name is renamed only with `force: true`.
pub async fn name_version(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid, n)): Path<(String, String, String)>,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Entries, Op::Update).on_content_type(&ct))?;
    let version = version_number(&n)?;
    let map = body.wrapped("entry")?;
    let f = Fields::new(map, "entry");
    let name = f.req_str("_version_name")?.trim().to_string();
    if name.chars().count() > MAX_VERSION_NAME {
        return Err(ApiError::invalid(
            "entry._version_name",
            format!("is longer than {MAX_VERSION_NAME} characters."),
        ));
    }
    if name.contains('\0') {
        return Err(crate::body::nul_refused("entry._version_name"));
    }
    let force = f.opt_bool("force")?.unwrap_or(false);
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    content_type_exists(&mut tx, &ctx, &ct).await?;
    let locale = match f.opt_str("locale")? {
        Some(l) => locale_in(&mut tx, &ctx, l).await?,
        None => locale_of(&mut tx, &ctx, &q).await?,
    };
    let entry = entries::get(&mut tx, &ctx.space, &ct, &uid, &locale)
        .await?
        .ok_or_else(crate::lookup::entries::entry_not_found)?;
    check_entry_lock(&mut tx, &ctx, &uid, &locale).await?;
    let known = entries::versions(&mut tx, &ctx.space, &uid, &locale).await?;
    if !known.iter().any(|(v, _, _)| *v == version) {
        return Err(ApiError::not_found("entry version"));
    }
    let names = extensions::version_names(&mut tx, &ctx.space, &uid, &locale).await?;
    if let Some((_, (old, _, _))) = names.iter().find(|(v, _)| *v == version) {
        if !force && *old != name {
            return Err(ApiError::invalid(
                "entry._version_name",
                format!("version {version} is already named '{old}'; send \"force\": true to rename it."),
            ));
        }
    }
    extensions::set_version_name(&mut tx, &ctx.space, &uid, &locale, version, &name, &actor)
        .await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("version_name", "entry", &uid, &entry.title),
    )
    .await?;
    tx.commit().await?;
    Ok(notice("Version name assigned successfully"))
}

/// `DELETE …/entries/{uid}/versions/{n}/name` (body `{"entry": {"locale"}}` or `?locale=`).
pub async fn unname_version(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid, n)): Path<(String, String, String)>,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Entries, Op::Update).on_content_type(&ct))?;
    let version = version_number(&n)?;
    let body_locale = body
        .0
        .get("entry")
        .and_then(|e| e.get("locale"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    content_type_exists(&mut tx, &ctx, &ct).await?;
    let locale = match body_locale {
        Some(l) => locale_in(&mut tx, &ctx, &l).await?,
        None => locale_of(&mut tx, &ctx, &q).await?,
    };
    let entry = entries::get(&mut tx, &ctx.space, &ct, &uid, &locale)
        .await?
        .ok_or_else(crate::lookup::entries::entry_not_found)?;
    check_entry_lock(&mut tx, &ctx, &uid, &locale).await?;
    if !extensions::delete_version_name(&mut tx, &ctx.space, &uid, &locale, version).await? {
        return Err(ApiError::not_found("version name"));
    }
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("version_name_delete", "entry", &uid, &entry.title),
    )
    .await?;
    tx.commit().await?;
    Ok(notice("Version name deleted successfully"))
}

/// A locale code named in a body, checked against the stack's locales.
async fn locale_in(c: &mut Conn, ctx: &StackCtx, code: &str) -> ApiResult<String> {
    let mut q = Query::default();
    q.0.insert("locale".into(), code.to_string());
    locale_of(c, ctx, &q).await
}

/// The version names of an entry in a locale, by version: `{title, updated_by, updated_at}`.
pub(crate) async fn version_names_json(
    c: &mut Conn,
    space: &str,
    uid: &str,
    locale: &str,
) -> ApiResult<HashMap<i64, Value>> {
    Ok(extensions::version_names(c, space, uid, locale)
        .await?
        .into_iter()
        .map(|(v, (name, by, at))| {
            (
                v,
                json!({"title": name, "updated_by": by, "updated_at": at}),
            )
        })
        .collect())
}

/// `POST …/entries/{uid}/unlocalize?locale=xx`: removes the entry's own version in a locale
/// other than the master (with its history, version names, stage and publications there);
/// the entry then reads as its fallback in that locale again.
pub async fn unlocalize(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid)): Path<(String, String)>,
    q: Query,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Entries, Op::Update).on_content_type(&ct))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    content_type_exists(&mut tx, &ctx, &ct).await?;
    if q.get("locale").is_none() {
        return Err(ApiError::invalid(
            "locale",
            "is required: name the locale to unlocalize.",
        ));
    }
    let locale = locale_of(&mut tx, &ctx, &q).await?;
    if locale == ctx.stack.master_locale {
        return Err(ApiError::invalid(
            "locale",
            format!("'{locale}' is the master locale; an entry cannot be unlocalized from it."),
        ));
    }
    let entry = load(&mut tx, &ctx, &ct, &uid, &locale).await?;
    if entry.locale != locale {
        return Err(ApiError::invalid(
            "locale",
            format!("the entry is not localized in '{locale}'."),
        ));
    }
    check_entry_lock(&mut tx, &ctx, &uid, &locale).await?;
    entries::delete(&mut tx, &ctx.space, &uid, Some(&locale)).await?;
    workflows::forget_entry(&mut tx, &ctx.space, &uid, Some(&locale)).await?;
    extensions::forget_entry(&mut tx, &ctx.space, &uid, Some(&locale)).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("unlocalize", "entry", &uid, &entry.title),
    )
    .await?;
    tx.commit().await?;
    Ok(notice("Entry unlocalized successfully."))
}

// ---- metadata ----

fn metadata_json(m: &Metadata) -> Value {
    let mut v = match &m.body {
        Value::Object(b) => Value::Object(b.clone()),
        _ => json!({}),
    };
    v["uid"] = json!(m.uid);
    v["entity_uid"] = json!(m.entity_uid);
    v["type"] = json!(m.entity_type);
    if m.entity_type == "entry" {
        v["_content_type_uid"] = json!(m.content_type_uid);
    }
    v["locale"] = json!(m.locale);
    v["extension_uid"] = json!(m.extension_uid);
    v["created_by"] = json!(m.created_by);
    v["updated_by"] = json!(m.updated_by);
    v["created_at"] = json!(m.created_at);
    v["updated_at"] = json!(m.updated_at);
    v
}

/// The module decision for metadata: it belongs to its entry (or asset), so reading it is
/// reading the entry and changing it is updating the entry.
fn metadata_action(entity_type: &str, content_type: &str, op: Op) -> Action {
    if entity_type == "asset" {
        Action::new(Module::Assets, op)
    } else {
        Action::new(Module::Entries, op).on_content_type(content_type)
    }
}

const META_KEYS: [&str; 6] = [
    "entity_uid",
    "type",
    "_content_type_uid",
    "locale",
    "extension_uid",
    "uid",
];

fn free_attributes(map: &Map<String, Value>) -> ApiResult<Value> {
    let mut body = Map::new();
    for (k, v) in map {
        if META_KEYS.contains(&k.as_str())
            || matches!(
                k.as_str(),
                "created_at" | "updated_at" | "created_by" | "updated_by"
            )
        {
            continue;
        }
        body.insert(k.clone(), v.clone());
    }
    if let Some(key) = crate::body::nul_path(&body, "") {
        return Err(crate::body::nul_refused(&format!("metadata.{key}")));
    }
    Ok(Value::Object(body))
}

pub async fn list_metadata(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    let (skip, limit, _) = q.page()?;
    let entity = q.get("entity_uid").filter(|e| !e.is_empty());
    let mut c = state.db().reader().await?;
    let (items, total) = extensions::list_metadata(&mut c, &ctx.space, entity, skip, limit).await?;
    // Only the metadata of what the caller may read; asking for none of it is refused.
    let visible: Vec<Value> = items
        .iter()
        .filter(|m| {
            ctx.authorize(&metadata_action(
                &m.entity_type,
                &m.content_type_uid,
                Op::Read,
            ))
            .is_ok()
        })
        .map(metadata_json)
        .collect();
    if items.is_empty() {
        let entries_ok = ctx
            .authorize(&Action::new(Module::Entries, Op::Read))
            .is_ok();
        if !entries_ok {
            ctx.authorize(&Action::new(Module::Assets, Op::Read))?;
        }
    } else if visible.is_empty() {
        ctx.authorize(&metadata_action(
            &items[0].entity_type,
            &items[0].content_type_uid,
            Op::Read,
        ))?;
    }
    Ok(listed(
        "metadata",
        visible,
        q.flag("include_count").then_some(total),
    ))
}

async fn load_metadata(c: &mut Conn, ctx: &StackCtx, uid: &str) -> ApiResult<Metadata> {
    extensions::metadata(c, &ctx.space, uid)
        .await?
        .ok_or_else(|| ApiError::not_found("metadata"))
}

pub async fn fetch_metadata(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut c = state.db().reader().await?;
    let m = load_metadata(&mut c, &ctx, &uid).await?;
    ctx.authorize(&metadata_action(
        &m.entity_type,
        &m.content_type_uid,
        Op::Read,
    ))?;
    let pubs = extensions::metadata_publications(&mut c, &ctx.space, &m.uid).await?;
    Ok(Json(
        json!({ "metadata": metadata_published_json(&m, &pubs) }),
    ))
}

/// A metadata object with `publish_details` (`[{environment, locale, time, user}]`).
fn metadata_published_json(m: &Metadata, pubs: &[MetadataPublication]) -> Value {
    let mut v = metadata_json(m);
    v["publish_details"] = pubs
        .iter()
        .map(|p| {
            json!({"environment": p.environment_uid, "locale": p.locale,
                   "time": p.published_at, "user": p.published_by})
        })
        .collect();
    v
}

/// `POST /v3/metadata/{uid}/publish` or `…/unpublish` `{"metadata": {"environments": [...],
/// "locales": [...]}}` (the Python client's `metadata(uid).publish(data)`): the metadata's
/// attributes as they are now go live (or come down) on those environments in those locales
/// (default: the metadata's own locale, else the master locale). Publishing metadata is
/// publishing its entry (or asset): the policy's `Publish` decision for the entry's content
/// type (or for assets) to those environments. Metadata keep no versions, so what is live is
/// a copy taken now (`publish_details` on `GET /v3/metadata/{uid}`).
async fn publish_metadata_to(
    state: &AppState,
    ctx: &StackCtx,
    uid: &str,
    body: &JsonBody,
    publish: bool,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let spec = body.wrapped("metadata")?;
    let names = |key: &str| -> ApiResult<Vec<String>> {
        match spec.get(key) {
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    ApiError::invalid(&format!("metadata.{key}"), "must be an array of names.")
                }),
            None | Some(Value::Null) if key == "locales" => Ok(Vec::new()),
            _ => Err(ApiError::invalid(
                &format!("metadata.{key}"),
                "is required: a non-empty array.",
            )),
        }
    };
    let env_names = names("environments")?;
    let mut codes: Vec<String> = names("locales")?
        .into_iter()
        .map(|c| c.to_lowercase())
        .collect();
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let m = load_metadata(&mut tx, ctx, uid).await?;
    ctx.authorize(
        &metadata_action(&m.entity_type, &m.content_type_uid, Op::Publish)
            .to_environments(&env_names),
    )?;
    if codes.is_empty() {
        codes.push(if m.locale.is_empty() {
            ctx.stack.master_locale.clone()
        } else {
            m.locale.clone()
        });
    }
    // The settings are checked as every publish checks them.
    let mut plan = Plan::new(&mut tx, ctx, Gate::Approved).await?;
    let envs = plan
        .environments(&mut tx, ctx, &env_names, |i| format!("environments[{i}]"))
        .await?;
    plan.locales(&mut tx, ctx, &codes, |i| format!("locales[{i}]"))
        .await?;
    if let Some(e) = plan.refusal() {
        return Err(e);
    }
    let snapshot = metadata_json(&m);
    for env in &envs {
        for code in &codes {
            if publish {
                extensions::publish_metadata(
                    &mut tx, &ctx.space, &m.uid, &env.uid, code, &snapshot, &actor,
                )
                .await?;
            } else {
                extensions::unpublish_metadata(&mut tx, &ctx.space, &m.uid, &env.uid, code).await?;
            }
        }
    }
    let what = if publish { "publish" } else { "unpublish" };
    audit::record(
        &mut tx,
        &actor,
        ctx.audit(what, "metadata", &m.uid, &m.entity_uid),
    )
    .await?;
    let pubs = extensions::metadata_publications(&mut tx, &ctx.space, &m.uid).await?;
    tx.commit().await?;
    Ok((
        StatusCode::OK,
        Json(json!({
            "notice": format!("Metadata {what}ed successfully."),
            "metadata": metadata_published_json(&m, &pubs),
        })),
    ))
}

pub async fn publish_metadata(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    publish_metadata_to(&state, &ctx, &uid, &body, true).await
}

pub async fn unpublish_metadata(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    publish_metadata_to(&state, &ctx, &uid, &body, false).await
}

/// `POST /v3/metadata` `{"metadata": {entity_uid, type: "entry"|"asset", _content_type_uid,
/// locale, extension_uid, …free attributes (e.g. presets)}}`.
pub async fn create_metadata(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let map = body.wrapped("metadata")?;
    let f = Fields::new(map, "metadata");
    let entity_uid = f.req_str("entity_uid")?.to_string();
    let entity_type = f.opt_str("type")?.unwrap_or("entry").to_string();
    if entity_type != "entry" && entity_type != "asset" {
        return Err(ApiError::invalid(
            "metadata.type",
            "must be 'entry' or 'asset'.",
        ));
    }
    let ct = if entity_type == "entry" {
        f.req_str("_content_type_uid")?.to_string()
    } else {
        String::new()
    };
    ctx.authorize(&metadata_action(&entity_type, &ct, Op::Update))?;
    let extension_uid = f.req_str("extension_uid")?.to_string();
    let free = free_attributes(map)?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let locale = if entity_type == "entry" {
        content_type_exists(&mut tx, &ctx, &ct).await?;
        let locale = match f.opt_str("locale")? {
            Some(l) => locale_in(&mut tx, &ctx, l).await?,
            None => ctx.stack.master_locale.clone(),
        };
        load(&mut tx, &ctx, &ct, &entity_uid, &locale).await?;
        check_entry_lock(&mut tx, &ctx, &entity_uid, &locale).await?;
        locale
    } else {
        match assets::get(&mut tx, &ctx.space, &entity_uid).await? {
            Some(a) if !a.is_dir => {}
            _ => return Err(ApiError::not_found("asset")),
        }
        f.opt_str("locale")?.unwrap_or("").to_string()
    };
    if extensions::get(&mut tx, &ctx.space, &extension_uid)
        .await?
        .is_none()
    {
        return Err(ApiError::invalid(
            "metadata.extension_uid",
            format!("'{extension_uid}' is not an extension of this stack."),
        ));
    }
    let uid = headwater_core::ids::new_uid();
    let w = MetadataWrite {
        entity_uid: &entity_uid,
        entity_type: &entity_type,
        content_type_uid: &ct,
        locale: &locale,
        extension_uid: &extension_uid,
        body: &free,
    };
    let m = extensions::insert_metadata(&mut tx, &ctx.space, &uid, &w, &actor).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("create", "metadata", &m.uid, &entity_uid),
    )
    .await?;
    tx.commit().await?;
    Ok(created(
        "Metadata created successfully.",
        "metadata",
        metadata_json(&m),
    ))
}

/// `PUT /v3/metadata/{uid}`: replaces the free attributes; what it is attached to stays.
pub async fn update_metadata(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let map = body.wrapped("metadata")?;
    let free = free_attributes(map)?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let m = load_metadata(&mut tx, &ctx, &uid).await?;
    ctx.authorize(&metadata_action(
        &m.entity_type,
        &m.content_type_uid,
        Op::Update,
    ))?;
    for (key, now) in [
        ("entity_uid", &m.entity_uid),
        ("extension_uid", &m.extension_uid),
        ("type", &m.entity_type),
    ] {
        if let Some(sent) = map.get(key).and_then(Value::as_str) {
            if sent != now {
                return Err(ApiError::invalid(
                    &format!("metadata.{key}"),
                    "cannot be changed; create new metadata instead.",
                ));
            }
        }
    }
    if m.entity_type == "entry" {
        check_entry_lock(&mut tx, &ctx, &m.entity_uid, &m.locale).await?;
    }
    let m = extensions::update_metadata(&mut tx, &ctx.space, &uid, &free, &actor)
        .await?
        .ok_or_else(|| ApiError::not_found("metadata"))?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("update", "metadata", &m.uid, &m.entity_uid),
    )
    .await?;
    tx.commit().await?;
    Ok(updated(
        "Metadata updated successfully.",
        "metadata",
        metadata_json(&m),
    ))
}

pub async fn delete_metadata(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let m = load_metadata(&mut tx, &ctx, &uid).await?;
    ctx.authorize(&metadata_action(
        &m.entity_type,
        &m.content_type_uid,
        Op::Update,
    ))?;
    if m.entity_type == "entry" {
        check_entry_lock(&mut tx, &ctx, &m.entity_uid, &m.locale).await?;
    }
    extensions::delete_metadata(&mut tx, &ctx.space, &uid).await?;
    extensions::forget_metadata_publications(&mut tx, &ctx.space, &uid).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("delete", "metadata", &m.uid, &m.entity_uid),
    )
    .await?;
    tx.commit().await?;
    Ok(notice("Metadata deleted successfully."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_in_structure_not_text() {
        let doc = json!({"title": "x", "rel": [{"uid": "blt1", "_content_type_uid": "a"}]});
        assert!(refers_to_entry(&doc, "blt1"));
        assert!(!refers_to_entry(&json!({"title": "blt1"}), "blt1"));
        let rte = json!({"body": {"children": [{"attrs": {"entry-uid": "blt2"}}]}});
        assert!(refers_to_entry(&rte, "blt2"));
        assert!(refers_to_asset(&json!({"file": "a1"}), "a1"));
        assert!(refers_to_asset(&json!({"files": ["a0", "a1"]}), "a1"));
        assert!(!refers_to_asset(&json!({"file": "a10"}), "a1"));
    }
}
