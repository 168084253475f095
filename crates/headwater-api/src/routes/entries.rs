//! Entries (`/v3/content_types/{ct}/entries`): validated against their content type, versioned
//! per locale with optimistic concurrency, localized, queried, and published to environments.

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, Event as WebhookEvent};
use crate::import_file::ImportFile;
use crate::lookup::entries::{
    content_type, content_type_exists, entry_json, entry_not_found, load, load_with_publications,
    locale_of, locale_of_lazy, project, LazyReader, ListParams,
};
use crate::publish::jobs::{self, Queued};
use crate::publish::{self, EntryItem, Gate, Plan};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use axum::extract::Request;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::content::{self, Field};
use headwater_core::policy::{Action, Module, Op};
use headwater_core::scope::FieldErrors;
use headwater_store::batch::Batch;
use headwater_store::repo::audit::{self, Event};
use headwater_store::repo::entries::{self, Entry, EntryWrite, ListQuery, UniqueProbe};
use headwater_store::repo::locales;
use headwater_store::repo::publications::{self, Publication};
use headwater_store::repo::publish_jobs::NewItem;
use headwater_store::repo::webhooks;
use headwater_store::Exec;
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
async fn validate<'e>(
    c: impl Into<Exec<'e>>,
    fields: &[Field],
    map: &Map<String, Value>,
    probe: &UniqueProbe<'_>,
    space: &str,
    verb: &str,
) -> ApiResult<(String, Value)> {
    let mut c = c.into();
    let doc = content::validate_entry(fields, map).map_err(|e| write_failed(verb, e))?;
    let mut errors = crate::lookup::taxonomies::missing_entry_terms(&mut c, space, &doc).await?;
    for f in content::unique_fields(fields) {
        if let Some(v) = doc.get(&f.uid) {
            if entries::value_taken(&mut c, probe, &f.uid, v).await? {
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
    let mut p = ListParams::from_query(&q)?;
    crate::lookup::taxonomies::resolve_hierarchy(&mut c, &ctx.space, p.filter.as_mut()).await?;
    let (items, total) = entries::list(
        &mut c,
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
            postings: Some(state.db().postings()),
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

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid)): Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Entries, Op::Read).on_content_type(&ct))?;
    let mut r = LazyReader::new(state.db());
    let locale = locale_of_lazy(&mut r, &ctx, &q).await?;
    // An entry found is of an existing content type (deleting a type deletes its entries), so
    // the type is looked up only to tell "no such type" (118) from "no such entry" (141).
    let found = match load_with_publications(&mut r, &ctx, &ct, &uid, &locale).await {
        Ok(found) => found,
        Err(e) => {
            content_type_exists(r.get().await?, &ctx, &ct).await?;
            return Err(e);
        }
    };
    let (entry, pubs) = &*found;
    if let Some(v) = q.get("version") {
        let mut entry = entry.clone();
        let n: i64 = v
            .parse()
            .map_err(|_| ApiError::invalid("version", "must be a whole number."))?;
        let (doc, by, at) = entries::version(r.get().await?, &ctx.space, &uid, &entry.locale, n)
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
        return Ok(answer(&entry, pubs, &q));
    }
    Ok(answer(entry, pubs, &q))
}

/// An entry read's body: the entry with its publications, projected as the query asks.
fn answer(entry: &Entry, pubs: &[Publication], q: &Query) -> Json<Value> {
    let mut v = entry_json(entry, Some(pubs));
    project(&mut v, &q.all("only[BASE][]"), &q.all("except[BASE][]"));
    Json(json!({ "entry": v }))
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
    let mut tx = state.db().write().await?;
    let fields = content_type(tx.exec(), &ctx, &ct).await?;
    let locale = locale_of(tx.exec(), &ctx, &q).await?;
    let uid = headwater_core::ids::new_uid();
    let probe = UniqueProbe {
        stack_uid: &ctx.space,
        content_type_uid: &ct,
        locale: &locale,
        except_uid: &uid,
    };
    let (title, doc) = validate(tx.exec(), &fields, map, &probe, &ctx.space, "creation").await?;
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
    // The entry, its audit record and the stack's webhooks in one call to the database.
    let mut tail = Batch::new();
    audit::stage(
        &mut tail,
        &actor,
        ctx.audit("create", "entry", &uid, &title),
    );
    let hooks_at = webhooks::stage_lookup(&mut tail, &ctx.stack.uid);
    let (entry, rows) = entries::insert_with(tx.exec(), &w, &actor, tail).await?;
    let hooks = webhooks::hooks_of(&rows[hooks_at])?;
    events::emit_to(
        tx.exec(),
        &ctx,
        &hooks,
        WebhookEvent::entry("create", &ct, entry_json(&entry, None)),
    )
    .await?;
    tx.commit().await?;
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
    let mut tx = state.db().begin().await?;
    let fields = content_type(&mut tx, &ctx, &ct).await?;
    let locale = locale_of(&mut tx, &ctx, &q).await?;
    let current = entries::get(&mut tx, &ctx.space, &ct, &uid, &locale).await?;
    if current.is_none()
        && entries::get(&mut tx, &ctx.space, &ct, &uid, &ctx.stack.master_locale)
            .await?
            .is_none()
    {
        return Err(entry_not_found());
    }
    // WF-4: a workflow stage may lock the entry in this locale.
    crate::routes::entry_extras::check_entry_lock(&mut tx, &ctx, &uid, &locale).await?;
    let probe = UniqueProbe {
        stack_uid: &ctx.space,
        content_type_uid: &ct,
        locale: &locale,
        except_uid: &uid,
    };
    let (title, doc) = validate(&mut tx, &fields, map, &probe, &ctx.space, "update").await?;
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
        None => entries::insert(&mut tx, &w, &actor).await?,
        Some(cur) => match entries::update(&mut tx, &w, expected, &actor).await? {
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
    tx.commit().await?;
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
    let entry = load(&mut tx, &ctx, &ct, &uid, &locale).await?;
    // A locale other than the master removes only that localization.
    let only_locale =
        (q.get("locale").is_some() && locale != ctx.stack.master_locale).then_some(locale.as_str());
    if only_locale.is_some() && entry.locale != locale {
        return Err(ApiError::invalid(
            "locale",
            format!("the entry is not localized in '{locale}'."),
        ));
    }
    crate::routes::entry_extras::check_entry_lock(&mut tx, &ctx, &uid, &entry.locale).await?;
    entries::delete(&mut tx, &ctx.space, &uid, only_locale).await?;
    headwater_store::repo::workflows::forget_entry(&mut tx, &ctx.space, &uid, only_locale).await?;
    headwater_store::repo::extensions::forget_entry(&mut tx, &ctx.space, &uid, only_locale).await?;
    audit::record(&mut tx, &actor, event(&ctx, "delete", &entry)).await?;
    events::emit(
        &mut tx,
        &ctx,
        WebhookEvent::entry("delete", &ct, entry_json(&entry, None)),
    )
    .await?;
    tx.commit().await?;
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
    let entry = load(&mut c, &ctx, &ct, &uid, &locale).await?;
    let all = entries::versions(&mut c, &ctx.space, &uid, &entry.locale).await?;
    let names =
        crate::routes::entry_extras::version_names_json(&mut c, &ctx.space, &uid, &entry.locale)
            .await?;
    // `named=true`: only the versions that have a name.
    let named_only = q.flag("named");
    let out: Vec<Value> = all
        .iter()
        .filter(|(v, _, _)| !named_only || names.contains_key(v))
        .map(|(v, by, at)| {
            let mut row = json!({"_version": v, "locale": entry.locale, "created_by": by,
                   "created_at": at, "updated_by": by, "updated_at": at});
            if let Some(name) = names.get(v) {
                row["_version_name"] = name.clone();
            }
            row
        })
        .collect();
    let n = out.len() as i64;
    Ok(listed(
        "versions",
        out,
        q.flag("include_count").then_some(n),
    ))
}

/// `{"entry": {"environments": [...], "locales": [...]}, "locale": "…", "version": N}`:
/// parse, plan, apply (see [`crate::publish`]).
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
    let scheduled_at = jobs::scheduled_at(body.0.get("scheduled_at"), "scheduled_at")?;
    let nested = publish::nested_requested(q, &body.0) || publish::nested_requested(q, spec);
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
    let version =
        publish::version(body.0.get("version")).map_err(|m| ApiError::invalid("version", m))?;
    let mut tx = state.db().write().await?;
    content_type_exists(tx.exec(), ctx, ct).await?;
    if locale_codes.is_empty() {
        locale_codes.push(locale_of(tx.exec(), ctx, q).await?);
    }
    // An entry missing in every locale is "not found" (141), not an invalid setting.
    load(tx.exec(), ctx, ct, uid, &ctx.stack.master_locale).await?;
    let mut plan = Plan::new(tx.exec(), ctx, Gate::Request).await?;
    let envs = plan
        .environments(tx.exec(), ctx, &env_names, |_| "entry.environments".into())
        .await?;
    plan.locales(tx.exec(), ctx, &locale_codes, |_| "entry.locales".into())
        .await?;
    if plan.errors.is_empty() {
        let item = EntryItem {
            at: "",
            content_type: ct,
            uid,
            fallback: None,
            version,
        };
        plan.entry(tx.exec(), ctx, &item, &locale_codes, &envs, publish)
            .await?;
        if nested && plan.errors.is_empty() {
            plan.references(state, tx.exec(), ctx, &locale_codes, &envs, publish)
                .await?;
        }
    }
    if let Some(e) = plan.refusal() {
        return Err(e);
    }
    if let Some(at) = scheduled_at.as_deref() {
        // Checked now, carried out then (as this publish would be, rules included).
        let item = NewItem {
            item_type: "entry",
            action: None,
            item_uid: uid,
            content_type_uid: Some(ct),
            locale: None,
            version,
        };
        let job_id = jobs::queue(
            tx.exec(),
            ctx,
            Queued {
                publish,
                source: "entry",
                environments: &env_names,
                locales: &locale_codes,
                scheduled_at: Some(at),
                items: vec![item],
                release: None,
                nested,
                skip_held: false,
            },
        )
        .await?;
        tx.commit().await?;
        return Ok((
            StatusCode::OK,
            Json(json!({
                "notice": "The requested action has been scheduled.",
                "job_id": job_id,
            })),
        ));
    }
    let done = plan.apply(tx.exec(), ctx).await?;
    tx.commit().await?;
    if done.requests.is_empty() {
        return Ok(notice("The requested action has been performed."));
    }
    let what = if done.performed > 0 {
        "Part of the requested action has been performed; the rest needs approval"
    } else {
        "The requested action needs approval"
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "notice": format!("{what}: a publish request was sent to the approvers of the publish rule."),
            "publish_requests": done.requests,
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
    load(&mut c, &ctx, &ct, &uid, &ctx.stack.master_locale).await?;
    let mut out = Vec::new();
    for l in locales::list(&mut c, &ctx.space).await? {
        let localized = entries::get(&mut c, &ctx.space, &ct, &uid, &l.code)
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

/// `GET …/entries/{uid}/export[?locale=]`: the entry itself, unwrapped, as Contentstack's
/// export answers (a file that `…/import` takes back).
pub async fn export(
    state: State<AppState>,
    ctx: StackCtx,
    path: Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    let Json(mut v) = fetch(state, ctx, path, q).await?;
    Ok(Json(v["entry"].take()))
}

/// `POST …/entries/import[?locale=]`: an entry JSON file (multipart part `entry`, bare or
/// wrapped in `{"entry": …}`) created as `POST …/entries` with that body would create it. Its
/// system fields (uid, version, dates) are not taken over: the entry gets a new uid.
pub async fn import(
    state: State<AppState>,
    ctx: StackCtx,
    Path(ct): Path<String>,
    q: Query,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Entries, Op::Create).on_content_type(&ct))?;
    let limit = state.config().max_body_bytes;
    let body = ImportFile::read(req, "entry", limit)
        .await?
        .as_body("entry");
    let (status, Json(mut answer)) = create(state, ctx, Path(ct), q, body).await?;
    answer["notice"] = json!("Entry imported successfully.");
    Ok((status, Json(answer)))
}

/// `POST …/entries/{uid}/import?overwrite=true[&locale=]`: the file replaces entry `uid` in
/// the locale as `PUT` would (a new version; the file's `_version` is not checked). Without
/// `overwrite=true` an existing entry is left alone and the import refused.
pub async fn import_existing(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid)): Path<(String, String)>,
    q: Query,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Entries, Op::Update).on_content_type(&ct))?;
    let limit = state.config().max_body_bytes;
    let mut file = ImportFile::read(req, "entry", limit).await?;
    if !q.flag("overwrite") {
        return Err(write_failed(
            "import",
            FieldErrors::from([(
                "uid".to_string(),
                vec![
                    "names the entry this file would replace: send overwrite=true to replace it."
                        .to_string(),
                ],
            )]),
        ));
    }
    file.object.remove("_version");
    let body = file.as_body("entry");
    let (status, Json(mut answer)) = update(State(state), ctx, Path((ct, uid)), q, body).await?;
    answer["notice"] = json!("Entry imported successfully.");
    Ok((status, Json(answer)))
}
