//! Entries (`/v3/content_types/{ct}/entries`): validated against their content type, versioned
//! per locale with optimistic concurrency, localized, queried, and published to environments.

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::error::{code, ApiError, ApiResult};
use crate::events::{self, Event as WebhookEvent};
use crate::routes::schemas::{fields_of, global_schemas, not_found as ct_not_found};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::content::{self, Field};
use headwater_core::policy::{Action, Module, Op};
use headwater_core::query;
use headwater_core::scope::FieldErrors;
use headwater_store::repo::audit::{self, Event};
use headwater_store::repo::entries::{self, Entry, EntryWrite, ListQuery, UniqueProbe};
use headwater_store::repo::publications::{self, Publication, Target};
use headwater_store::repo::schemas::{self, Kind};
use headwater_store::repo::{environments, locales, Conn};
use headwater_store::StoreError;
use serde_json::{json, Map, Value};

/// Contentstack's code for a failed entry create or update.
const ENTRY_WRITE_FAILED: i64 = 119;
const VERSION_CONFLICT: i64 = 409;

fn write_failed(verb: &str, errors: FieldErrors) -> ApiError {
    let mut e = ApiError::validation(
        format!("Entry {verb} failed. Please enter valid data."),
        errors,
    );
    e.code = ENTRY_WRITE_FAILED;
    e
}

fn entry_not_found() -> ApiError {
    ApiError::not_found("entry")
}

pub(crate) fn entry_json(e: &Entry, pubs: Option<&[Publication]>) -> Value {
    let mut out = match &e.doc {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    out.insert("uid".into(), json!(e.uid));
    out.insert("title".into(), json!(e.title));
    out.insert("locale".into(), json!(e.locale));
    out.insert("_version".into(), json!(e.version));
    out.insert("tags".into(), e.tags.clone());
    out.insert("created_by".into(), json!(e.created_by));
    out.insert("updated_by".into(), json!(e.updated_by));
    out.insert("created_at".into(), json!(e.created_at));
    out.insert("updated_at".into(), json!(e.updated_at));
    out.insert("ACL".into(), json!({}));
    out.insert("_in_progress".into(), json!(false));
    if let Some(pubs) = pubs {
        let details: Vec<Value> = pubs
            .iter()
            .filter(|p| p.item_uid == e.uid)
            .map(|p| {
                json!({"environment": p.environment_uid, "locale": p.locale, "time": p.published_at,
                       "user": p.published_by, "version": p.version})
            })
            .collect();
        out.insert("publish_details".into(), Value::Array(details));
    }
    Value::Object(out)
}

/// The content type and its parsed fields.
pub(crate) async fn content_type(c: &mut Conn, ctx: &StackCtx, ct: &str) -> ApiResult<Vec<Field>> {
    let doc = schemas::get(c, &ctx.space, Kind::ContentType, ct)
        .await?
        .ok_or_else(|| ct_not_found("Content Type", ct))?;
    let globals = global_schemas(c, &ctx.space).await?;
    fields_of(&doc.schema, false, &globals).map_err(|e| {
        tracing::error!(content_type = ct, errors = ?e, "stored schema no longer parses");
        ApiError::internal()
    })
}

/// Checks the content type exists (reads need no schema).
pub(crate) async fn content_type_exists(c: &mut Conn, ctx: &StackCtx, ct: &str) -> ApiResult<()> {
    if schemas::exists(c, &ctx.space, Kind::ContentType, ct).await? {
        Ok(())
    } else {
        Err(ct_not_found("Content Type", ct))
    }
}

/// The `locale` parameter (default: the master locale), which must be a locale of the stack.
pub(crate) async fn locale_of(c: &mut Conn, ctx: &StackCtx, q: &Query) -> ApiResult<String> {
    let code = q
        .get("locale")
        .filter(|l| !l.is_empty())
        .unwrap_or(&ctx.stack.master_locale)
        .to_lowercase();
    if code != ctx.stack.master_locale && locales::by_code(c, &ctx.space, &code).await?.is_none() {
        return Err(ApiError::invalid(
            "locale",
            format!("'{code}' is not a locale of this stack."),
        ));
    }
    Ok(code)
}

fn tags_of(map: &Map<String, Value>, current: Option<&Value>) -> ApiResult<Value> {
    match map.get("tags") {
        None => Ok(current.cloned().unwrap_or_else(|| json!([]))),
        Some(Value::Null) => Ok(json!([])),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Ok(Value::Array(a.clone())),
        Some(Value::String(s)) => Ok(json!(s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>())),
        Some(_) => Err(ApiError::invalid(
            "entry.tags",
            "must be an array of strings.",
        )),
    }
}

/// The shape limits of an entry document (depth, keys), checked before a write transaction
/// is opened, so that an oversized document never holds the writer (`validate_entry` checks
/// them again).
fn check_limits(map: &Map<String, Value>, verb: &str) -> ApiResult<()> {
    content::check_entry_limits(map).map_err(|e| write_failed(verb, e))
}

/// Validates and checks uniqueness; returns (title, cleaned document).
async fn validate(
    state: &AppState,
    c: &mut Conn,
    fields: &[Field],
    map: &Map<String, Value>,
    probe: &UniqueProbe<'_>,
    verb: &str,
) -> ApiResult<(String, Value)> {
    let doc = content::validate_entry(fields, map).map_err(|e| write_failed(verb, e))?;
    let mut errors = FieldErrors::new();
    for f in content::unique_fields(fields) {
        if let Some(v) = doc.get(&f.uid) {
            if entries::value_taken(c, state.db().backend(), probe, &f.uid, v).await? {
                errors
                    .entry(f.uid.clone())
                    .or_default()
                    .push("is not unique.".into());
            }
        }
    }
    if !errors.is_empty() {
        return Err(write_failed(verb, errors));
    }
    let title = doc
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok((title, Value::Object(doc)))
}

fn event<'a>(ctx: &'a StackCtx, action: &'a str, e: &'a Entry) -> Event<'a> {
    ctx.audit(action, "entry", &e.uid, &e.title)
}

/// Applies `only[BASE][]` / `except[BASE][]` to an entry object.
pub(crate) fn project(v: &mut Value, only: &[&str], except: &[&str]) {
    let Value::Object(m) = v else { return };
    if !only.is_empty() {
        m.retain(|k, _| k == "uid" || only.contains(&k.as_str()));
    }
    for k in except {
        if *k != "uid" {
            m.remove(*k);
        }
    }
}

/// The listing parameters shared by the management and delivery APIs: `query`, `asc`/`desc`,
/// `skip`, `limit`.
pub(crate) struct ListParams<'q> {
    pub filter: Option<query::Cond>,
    pub sort: Option<(&'q str, bool)>,
    pub skip: i64,
    pub limit: i64,
}

impl<'q> ListParams<'q> {
    pub fn from_query(q: &'q Query) -> ApiResult<ListParams<'q>> {
        let filter = match q.get("query").filter(|s| !s.trim().is_empty()) {
            Some(text) => Some(query::parse(text).map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    code::VALIDATION,
                    format!("The query is not valid: {}.", e.0),
                )
                .field("query", e.0)
            })?),
            None => None,
        };
        let sort = match (q.get("asc"), q.get("desc")) {
            (Some(f), _) => Some((f, true)),
            (None, Some(f)) => Some((f, false)),
            _ => None,
        };
        if let Some((f, _)) = sort {
            if !is_sort_field(f) {
                return Err(ApiError::invalid("asc/desc", "must name a field."));
            }
        }
        let (skip, limit, _) = q.page()?;
        Ok(ListParams {
            filter,
            sort,
            skip,
            limit,
        })
    }
}

fn is_sort_field(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(ct): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Entries, Op::Read).on_content_type(&ct))?;
    let mut c = state.db().reader().await?;
    content_type_exists(&mut c, &ctx, &ct).await?;
    let locale = locale_of(&mut c, &ctx, &q).await?;
    let p = ListParams::from_query(&q)?;
    let (items, total) = entries::list(
        &mut c,
        state.db().backend(),
        &ListQuery {
            stack_uid: &ctx.space,
            content_type_uid: &ct,
            locale: &locale,
            master_locale: &ctx.stack.master_locale,
            filter: p.filter.as_ref(),
            sort: p.sort,
            skip: p.skip,
            limit: p.limit,
            published_in: None,
        },
    )
    .await?;
    if q.flag("count") {
        return Ok(Json(json!({ "entries": total })));
    }
    let pubs = if q.flag("include_publish_details") {
        let uids: Vec<String> = items.iter().map(|e| e.uid.clone()).collect();
        Some(publications::of_items(&mut c, &ctx.space, "entry", &uids).await?)
    } else {
        None
    };
    let (only, except) = (q.all("only[BASE][]"), q.all("except[BASE][]"));
    let out = items
        .iter()
        .map(|e| {
            let mut v = entry_json(e, pubs.as_deref());
            project(&mut v, &only, &except);
            v
        })
        .collect();
    Ok(listed(
        "entries",
        out,
        q.flag("include_count").then_some(total),
    ))
}

/// The entry in `locale`, or its master-locale version when it is not localized.
pub(crate) async fn load(
    state: &AppState,
    c: &mut Conn,
    ctx: &StackCtx,
    ct: &str,
    uid: &str,
    locale: &str,
) -> ApiResult<Entry> {
    let backend = state.db().backend();
    if let Some(e) = entries::get(c, backend, &ctx.space, ct, uid, locale).await? {
        return Ok(e);
    }
    entries::get(c, backend, &ctx.space, ct, uid, &ctx.stack.master_locale)
        .await?
        .ok_or_else(entry_not_found)
}

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid)): Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Entries, Op::Read).on_content_type(&ct))?;
    let mut c = state.db().reader().await?;
    let locale = locale_of(&mut c, &ctx, &q).await?;
    // An entry found is of an existing content type (deleting a type deletes its entries), so
    // the type is looked up only to tell "no such type" (118) from "no such entry" (141).
    let mut entry = match load(&state, &mut c, &ctx, &ct, &uid, &locale).await {
        Ok(e) => e,
        Err(e) => {
            content_type_exists(&mut c, &ctx, &ct).await?;
            return Err(e);
        }
    };
    if let Some(v) = q.get("version") {
        let n: i64 = v
            .parse()
            .map_err(|_| ApiError::invalid("version", "must be a whole number."))?;
        let (doc, by, at) = entries::version(
            &mut c,
            state.db().backend(),
            &ctx.space,
            &uid,
            &entry.locale,
            n,
        )
        .await?
        .ok_or_else(|| ApiError::not_found("entry version"))?;
        entry.title = doc
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        entry.doc = doc;
        entry.version = n;
        entry.updated_by = by;
        entry.updated_at = at;
    }
    let pubs =
        publications::of_items(&mut c, &ctx.space, "entry", std::slice::from_ref(&uid)).await?;
    let mut v = entry_json(&entry, Some(&pubs));
    project(&mut v, &q.all("only[BASE][]"), &q.all("except[BASE][]"));
    Ok(Json(json!({ "entry": v })))
}

pub async fn create(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(ct): Path<String>,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Entries, Op::Create).on_content_type(&ct))?;
    let map = body.wrapped("entry")?;
    check_limits(map, "creation")?;
    let actor = ctx.actor();
    let backend = state.db().backend();
    let mut tx = state.db().begin().await?;
    let fields = content_type(&mut tx, &ctx, &ct).await?;
    let locale = locale_of(&mut tx, &ctx, &q).await?;
    let uid = headwater_core::ids::new_uid();
    let probe = UniqueProbe {
        stack_uid: &ctx.space,
        content_type_uid: &ct,
        locale: &locale,
        except_uid: &uid,
    };
    let (title, doc) = validate(&state, &mut tx, &fields, map, &probe, "creation").await?;
    let tags = tags_of(map, None)?;
    let unindexed = content::json_paths(&fields);
    let w = EntryWrite {
        stack_uid: &ctx.space,
        content_type_uid: &ct,
        uid: &uid,
        locale: &locale,
        title: &title,
        doc: &doc,
        tags: &tags,
        unindexed: &unindexed,
    };
    let entry = entries::insert(&mut tx, backend, &w, &actor).await?;
    audit::record(&mut tx, &actor, event(&ctx, "create", &entry)).await?;
    events::emit(
        &mut tx,
        &ctx,
        WebhookEvent::entry("create", &ct, entry_json(&entry, None)),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(created(
        "Entry created successfully.",
        "entry",
        entry_json(&entry, Some(&[])),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid)): Path<(String, String)>,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Entries, Op::Update).on_content_type(&ct))?;
    let map = body.wrapped("entry")?;
    check_limits(map, "update")?;
    let expected = match map.get("_version") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| ApiError::invalid("entry._version", "must be a whole number."))?,
        ),
    };
    let actor = ctx.actor();
    let backend = state.db().backend();
    let mut tx = state.db().begin().await?;
    let fields = content_type(&mut tx, &ctx, &ct).await?;
    let locale = locale_of(&mut tx, &ctx, &q).await?;
    let current = entries::get(&mut tx, backend, &ctx.space, &ct, &uid, &locale).await?;
    if current.is_none()
        && entries::get(
            &mut tx,
            backend,
            &ctx.space,
            &ct,
            &uid,
            &ctx.stack.master_locale,
        )
        .await?
        .is_none()
    {
        return Err(entry_not_found());
    }
    let probe = UniqueProbe {
        stack_uid: &ctx.space,
        content_type_uid: &ct,
        locale: &locale,
        except_uid: &uid,
    };
    let (title, doc) = validate(&state, &mut tx, &fields, map, &probe, "update").await?;
    let tags = tags_of(map, current.as_ref().map(|e| &e.tags))?;
    let unindexed = content::json_paths(&fields);
    let w = EntryWrite {
        stack_uid: &ctx.space,
        content_type_uid: &ct,
        uid: &uid,
        locale: &locale,
        title: &title,
        doc: &doc,
        tags: &tags,
        unindexed: &unindexed,
    };
    let entry = match &current {
        // Not yet localized in this locale: this write creates the localized version.
        None => entries::insert(&mut tx, backend, &w, &actor).await?,
        Some(cur) => match entries::update(&mut tx, backend, &w, expected, &actor).await? {
            Some(e) => e,
            None => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    VERSION_CONFLICT,
                    format!(
                        "The entry was changed by someone else: you sent _version {}, the stored version is {}. Fetch it again and retry.",
                        expected.unwrap_or_default(),
                        cur.version
                    ),
                )
                .field("_version", "is not the current version."))
            }
        },
    };
    audit::record(&mut tx, &actor, event(&ctx, "update", &entry)).await?;
    events::emit(
        &mut tx,
        &ctx,
        WebhookEvent::entry("update", &ct, entry_json(&entry, None)),
    )
    .await?;
    let pubs =
        publications::of_items(&mut tx, &ctx.space, "entry", std::slice::from_ref(&uid)).await?;
    tx.commit().await.map_err(StoreError::from)?;
    let message = if current.is_none() {
        "Entry localized successfully."
    } else {
        "Entry updated successfully."
    };
    Ok(updated(message, "entry", entry_json(&entry, Some(&pubs))))
}

pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid)): Path<(String, String)>,
    q: Query,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Entries, Op::Delete).on_content_type(&ct))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    content_type_exists(&mut tx, &ctx, &ct).await?;
    let locale = locale_of(&mut tx, &ctx, &q).await?;
    let entry = load(&state, &mut tx, &ctx, &ct, &uid, &locale).await?;
    // A locale other than the master removes only that localization.
    let only_locale =
        (q.get("locale").is_some() && locale != ctx.stack.master_locale).then_some(locale.as_str());
    if only_locale.is_some() && entry.locale != locale {
        return Err(ApiError::invalid(
            "locale",
            format!("the entry is not localized in '{locale}'."),
        ));
    }
    entries::delete(&mut tx, &ctx.space, &uid, only_locale).await?;
    headwater_store::repo::workflows::forget_entry(&mut tx, &ctx.space, &uid, only_locale).await?;
    audit::record(&mut tx, &actor, event(&ctx, "delete", &entry)).await?;
    events::emit(
        &mut tx,
        &ctx,
        WebhookEvent::entry("delete", &ct, entry_json(&entry, None)),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(notice("Entry deleted successfully."))
}

pub async fn versions(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid)): Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Entries, Op::Read).on_content_type(&ct))?;
    let mut c = state.db().reader().await?;
    content_type_exists(&mut c, &ctx, &ct).await?;
    let locale = locale_of(&mut c, &ctx, &q).await?;
    let entry = load(&state, &mut c, &ctx, &ct, &uid, &locale).await?;
    let all = entries::versions(&mut c, &ctx.space, &uid, &entry.locale).await?;
    let out: Vec<Value> = all
        .iter()
        .map(|(v, by, at)| {
            json!({"_version": v, "locale": entry.locale, "created_by": by, "created_at": at,
                   "updated_by": by, "updated_at": at})
        })
        .collect();
    let n = out.len() as i64;
    Ok(listed(
        "versions",
        out,
        q.flag("include_count").then_some(n),
    ))
}

/// `{"entry": {"environments": [...], "locales": [...]}, "locale": "…", "version": N}`.
async fn publish_or_unpublish(
    state: &AppState,
    ctx: &StackCtx,
    ct: &str,
    uid: &str,
    q: &Query,
    body: &JsonBody,
    publish: bool,
) -> ApiResult<(StatusCode, Json<Value>)> {
    // Refused before the body is read when the scope cannot publish these entries anywhere;
    // checked again with the environments once they are known (MT-18).
    ctx.authorize_publish_somewhere(Action::new(Module::Entries, Op::Publish).on_content_type(ct))?;
    let spec = body.wrapped("entry")?;
    if body.0.get("scheduled_at").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::invalid(
            "scheduled_at",
            "scheduled publishing is not supported; publish at the time you want it live.",
        ));
    }
    let names = |key: &str| -> ApiResult<Vec<String>> {
        match spec.get(key) {
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    ApiError::invalid(&format!("entry.{key}"), "must be an array of strings.")
                }),
            None | Some(Value::Null) if key == "locales" => Ok(Vec::new()),
            _ => Err(ApiError::invalid(
                &format!("entry.{key}"),
                "is required: a non-empty array.",
            )),
        }
    };
    let env_names = names("environments")?;
    ctx.authorize(
        &Action::new(Module::Entries, Op::Publish)
            .on_content_type(ct)
            .to_environments(&env_names),
    )?;
    let mut locale_codes = names("locales")?;
    let version = match body.0.get("version") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| ApiError::invalid("version", "must be a whole number."))?,
        ),
    };
    let actor = ctx.actor();
    let backend = state.db().backend();
    let mut tx = state.db().begin().await?;
    content_type_exists(&mut tx, ctx, ct).await?;
    if locale_codes.is_empty() {
        locale_codes.push(locale_of(&mut tx, ctx, q).await?);
    }
    let mut envs = Vec::new();
    for name in &env_names {
        let env = environments::by_name(&mut tx, &ctx.stack.uid, name)
            .await?
            .ok_or_else(|| {
                ApiError::invalid(
                    "entry.environments",
                    format!("'{name}' is not an environment of this stack."),
                )
            })?;
        envs.push(env);
    }
    let rules = crate::routes::workflows::PublishRules::load(&mut tx, ctx).await?;
    let mut last = None;
    let mut requested: Vec<Value> = Vec::new();
    let mut performed = 0;
    for code in &locale_codes {
        if locales::by_code(&mut tx, &ctx.space, code).await?.is_none() {
            return Err(ApiError::invalid(
                "entry.locales",
                format!("'{code}' is not a locale of this stack."),
            ));
        }
        let entry = load(state, &mut tx, ctx, ct, uid, code).await?;
        let v = version.unwrap_or(entry.version);
        if publish
            && entries::version(&mut tx, backend, &ctx.space, uid, &entry.locale, v)
                .await?
                .is_none()
        {
            return Err(ApiError::invalid(
                "version",
                format!("version {v} of this entry doesn't exist."),
            ));
        }
        for env in &envs {
            let target = Target {
                stack_uid: &ctx.space,
                item_type: "entry",
                item_uid: uid,
                content_type_uid: Some(ct),
                locale: code,
                environment_uid: &env.uid,
                source_locale: Some(&entry.locale),
            };
            // Under a publish rule, anyone but its approvers sends a publish request instead.
            if let Some((req, rule)) = rules
                .gate(&mut tx, ctx, ct, uid, code, v, &env.uid, publish)
                .await?
            {
                let request = json!({"publishing_rule": rule.uid, "action": req.action,
                    "status": "pending", "environment": env.name, "locale": code});
                events::emit(
                    &mut tx,
                    ctx,
                    WebhookEvent::entry("publish_request", ct, entry_json(&entry, None))
                        .with("publish_request", request),
                )
                .await?;
                requested.push(json!({"uid": req.uid, "publishing_rule": rule.uid,
                    "action": req.action, "environment": env.name, "locale": code,
                    "version": req.version, "status": req.status}));
                continue;
            }
            if publish {
                publications::publish(&mut tx, &target, v, &actor).await?;
            } else {
                publications::unpublish(&mut tx, &target).await?;
            }
            performed += 1;
        }
        last = Some(entry);
    }
    if let Some(entry) = &last {
        audit::record(
            &mut tx,
            &actor,
            event(ctx, if publish { "publish" } else { "unpublish" }, entry),
        )
        .await?;
        let action = if publish { "publish" } else { "unpublish" };
        let ev = WebhookEvent::entry(action, ct, entry_json(entry, None));
        events::emit(&mut tx, ctx, ev.on_environments(&env_names, &locale_codes)).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    if requested.is_empty() {
        return Ok(notice("The requested action has been performed."));
    }
    let what = if performed > 0 {
        "Part of the requested action has been performed; the rest needs approval"
    } else {
        "The requested action needs approval"
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "notice": format!("{what}: a publish request was sent to the approvers of the publish rule."),
            "publish_requests": requested,
        })),
    ))
}

pub async fn publish(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid)): Path<(String, String)>,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    publish_or_unpublish(&state, &ctx, &ct, &uid, &q, &body, true).await
}

pub async fn unpublish(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid)): Path<(String, String)>,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    publish_or_unpublish(&state, &ctx, &ct, &uid, &q, &body, false).await
}

/// `GET …/entries/{uid}/locales`: every locale of the stack, marking those the entry is
/// localized in.
pub async fn entry_locales(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Entries, Op::Read).on_content_type(&ct))?;
    let mut c = state.db().reader().await?;
    content_type_exists(&mut c, &ctx, &ct).await?;
    let backend = state.db().backend();
    load(&state, &mut c, &ctx, &ct, &uid, &ctx.stack.master_locale).await?;
    let mut out = Vec::new();
    for l in locales::list(&mut c, &ctx.space).await? {
        let localized = entries::get(&mut c, backend, &ctx.space, &ct, &uid, &l.code)
            .await?
            .is_some();
        let mut item = json!({ "code": l.code });
        if localized {
            item["localized"] = json!(true);
        }
        out.push(item);
    }
    Ok(listed("locales", out, None))
}
