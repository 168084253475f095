//! Content types (`/v3/content_types`) and global fields (`/v3/global_fields`): a uid, a title
//! and a schema of fields. One implementation serves both; [`Kind`] names the differences.
//!
//! Schema changes: when entries exist, an update that removes a field or changes a field's
//! type or multiplicity is refused (422 naming the fields), so stored content is never orphaned.
//! Adding fields and changing validations is always allowed; they apply to the next write.
//!
//! Import (`…/import`, a multipart JSON file) runs the same create or update; export
//! (`…/{uid}/export`) answers the object unwrapped.

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::import_file::ImportFile;
use crate::lookup::schemas::{doc_json, fields_of, global_schemas, not_found};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use axum::extract::Request;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::content::{self, Field};
use headwater_core::policy::{Action, Module, Op};
use headwater_core::scope::FieldErrors;
use headwater_store::repo::audit::{self, Event};
use headwater_store::repo::entries;
use headwater_store::repo::schemas::{self, Kind, SchemaDoc, SchemaWrite};
use headwater_store::StoreError;
use serde_json::{json, Map, Value};

/// Content types' errors use Contentstack's codes 115 (write failed) and 118 (not found, in
/// [`crate::lookup::schemas`]).
const WRITE_FAILED: i64 = 115;

struct Spec {
    kind: Kind,
    module: Module,
    key: &'static str,
    plural: &'static str,
    label: &'static str,
}

const CONTENT_TYPE: Spec = Spec {
    kind: Kind::ContentType,
    module: Module::ContentTypes,
    key: "content_type",
    plural: "content_types",
    label: "Content Type",
};

const GLOBAL_FIELD: Spec = Spec {
    kind: Kind::GlobalField,
    module: Module::GlobalFields,
    key: "global_field",
    plural: "global_fields",
    label: "Global Field",
};

fn write_failed(spec: &Spec, verb: &str, errors: FieldErrors) -> ApiError {
    let mut e = ApiError::validation(
        format!("{} {verb} failed. Please try again.", spec.label),
        errors,
    );
    e.code = WRITE_FAILED;
    e
}

async fn list(spec: &Spec, state: &AppState, ctx: &StackCtx, q: &Query) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(spec.module, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let mut c = state.db().reader().await?;
    let (items, total) = schemas::list(&mut c, &ctx.space, spec.kind, skip, limit).await?;
    if q.flag("count") {
        return Ok(Json(json!({ spec.plural: total })));
    }
    Ok(listed(
        spec.plural,
        items.iter().map(doc_json).collect(),
        q.flag("include_count").then_some(total),
    ))
}

async fn load(spec: &Spec, state: &AppState, ctx: &StackCtx, uid: &str) -> ApiResult<SchemaDoc> {
    let mut c = state.db().reader().await?;
    schemas::get(&mut c, &ctx.space, spec.kind, uid)
        .await?
        .ok_or_else(|| not_found(spec.label, uid))
}

async fn fetch(spec: &Spec, state: &AppState, ctx: &StackCtx, uid: &str) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(spec.module, Op::Read).on_content_type(uid))?;
    let d = load(spec, state, ctx, uid).await?;
    Ok(Json(json!({ spec.key: doc_json(&d) })))
}

struct Parsed {
    uid: String,
    title: String,
    description: String,
    schema: Value,
    options: Value,
    fields: Vec<Field>,
}

async fn parse_body(
    spec: &Spec,
    state: &AppState,
    ctx: &StackCtx,
    map: &Map<String, Value>,
    current: Option<&SchemaDoc>,
    verb: &str,
) -> ApiResult<Parsed> {
    let mut errors = FieldErrors::new();
    let mut err = |k: &str, m: &str| errors.entry(k.to_string()).or_default().push(m.to_string());
    let str_field = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_string);
    let title = str_field("title")
        .or_else(|| current.map(|c| c.title.clone()))
        .unwrap_or_default();
    if title.trim().is_empty() {
        err("title", "is required.");
    }
    let uid = match current {
        Some(c) => c.uid.clone(),
        None => str_field("uid").unwrap_or_default(),
    };
    if current.is_none() && !content::is_schema_uid(&uid) {
        err(
            "uid",
            "is required: lowercase letters, digits and '_', starting with a letter.",
        );
    }
    let description = str_field("description")
        .or_else(|| current.map(|c| c.description.clone()))
        .unwrap_or_default();
    let options = match map.get("options") {
        Some(Value::Object(o)) => Value::Object(o.clone()),
        Some(Value::Null) | None => current
            .map(|c| c.options.clone())
            .unwrap_or_else(|| json!({})),
        Some(_) => {
            err("options", "must be an object.");
            Value::Null
        }
    };
    let mut schema = map
        .get("schema")
        .cloned()
        .or_else(|| current.map(|c| c.schema.clone()))
        .unwrap_or(Value::Null);
    content::fill_field_defaults(&mut schema);
    let mut c = state.db().reader().await?;
    let globals = global_schemas(&mut c, &ctx.space).await?;
    errors.extend(crate::lookup::schemas::check_extensions(&mut c, &ctx.space, &schema).await?);
    drop(c);
    // A global field's own uid starts the chain of global fields being resolved, so that a
    // reference back to it (directly or through others) is refused as a cycle.
    let own_uid = (spec.kind == Kind::GlobalField).then_some(uid.as_str());
    let lookup = |g: &str| globals.get(g).cloned();
    let parsed =
        content::parse_schema_of(own_uid, &schema, spec.kind == Kind::ContentType, &lookup);
    let fields = match parsed {
        Ok(f) => f,
        Err(e) => {
            errors.extend(e);
            Vec::new()
        }
    };
    // A taxonomy field names existing taxonomies (one named before and deleted since with
    // `force` stays accepted, so that the rest of the content type can still change).
    if let Some(pos) = fields
        .iter()
        .position(|f| f.data_type == content::DataType::Taxonomy)
    {
        let before = current
            .map(|c| crate::lookup::taxonomies::named_taxonomies(&c.schema))
            .unwrap_or_default();
        let mut c = state.db().reader().await?;
        for (i, r) in fields[pos].taxonomies.iter().enumerate() {
            if !before.contains(&r.taxonomy_uid)
                && headwater_store::repo::taxonomies::get(&mut c, &ctx.space, &r.taxonomy_uid)
                    .await?
                    .is_none()
            {
                errors
                    .entry(format!("schema[{pos}].taxonomies[{i}].taxonomy_uid"))
                    .or_default()
                    .push(format!(
                        "'{}' is not a taxonomy of this stack.",
                        r.taxonomy_uid
                    ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(write_failed(spec, verb, errors));
    }
    Ok(Parsed {
        uid,
        title,
        description,
        schema,
        options,
        fields,
    })
}

fn event<'a>(spec: &'a Spec, ctx: &'a StackCtx, action: &'a str, d: &'a SchemaDoc) -> Event<'a> {
    ctx.audit(action, spec.key, &d.uid, &d.title)
}

async fn create(
    spec: &Spec,
    state: &AppState,
    ctx: &StackCtx,
    body: &JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(spec.module, Op::Create))?;
    let p = parse_body(spec, state, ctx, body.wrapped(spec.key)?, None, "creation").await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let write = SchemaWrite {
        uid: &p.uid,
        title: &p.title,
        description: &p.description,
        schema: &p.schema,
        options: &p.options,
    };
    let d = match schemas::insert(&mut tx, &ctx.space, spec.kind, &write, &actor).await {
        Ok(d) => d,
        Err(StoreError::Conflict(_)) => {
            return Err(write_failed(
                spec,
                "creation",
                FieldErrors::from([("uid".to_string(), vec!["is not unique.".to_string()])]),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(&mut tx, &actor, event(spec, ctx, "create", &d)).await?;
    tx.commit().await?;
    Ok(created(
        &format!("{} created successfully.", spec.label),
        spec.key,
        doc_json(&d),
    ))
}

async fn update(
    spec: &Spec,
    state: &AppState,
    ctx: &StackCtx,
    uid: &str,
    body: &JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(spec.module, Op::Update).on_content_type(uid))?;
    let current = load(spec, state, ctx, uid).await?;
    let p = parse_body(
        spec,
        state,
        ctx,
        body.wrapped(spec.key)?,
        Some(&current),
        "update",
    )
    .await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    if spec.kind == Kind::ContentType && entries::count_of_type(&mut tx, &ctx.space, uid).await? > 0
    {
        let globals = global_schemas(&mut tx, &ctx.space).await?;
        if let Ok(old) = fields_of(&current.schema, false, &globals) {
            let breaking = content::breaking_changes(&old, &p.fields, "");
            if !breaking.is_empty() {
                return Err(write_failed(
                    spec,
                    "update",
                    FieldErrors::from([(
                        "schema".to_string(),
                        breaking
                            .into_iter()
                            .map(|b| format!("{b}: entries hold data for it. Remove those entries or keep the field."))
                            .collect(),
                    )]),
                ));
            }
        }
    }
    let write = SchemaWrite {
        uid,
        title: &p.title,
        description: &p.description,
        schema: &p.schema,
        options: &p.options,
    };
    let d = schemas::update(&mut tx, &ctx.space, spec.kind, &write, &actor)
        .await?
        .ok_or_else(|| not_found(spec.label, uid))?;
    audit::record(&mut tx, &actor, event(spec, ctx, "update", &d)).await?;
    tx.commit().await?;
    Ok(updated(
        &format!("{} updated successfully.", spec.label),
        spec.key,
        doc_json(&d),
    ))
}

async fn delete(
    spec: &Spec,
    state: &AppState,
    ctx: &StackCtx,
    uid: &str,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(spec.module, Op::Delete).on_content_type(uid))?;
    let current = load(spec, state, ctx, uid).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    if spec.kind == Kind::GlobalField {
        let users = schemas::referencing(&mut tx, &ctx.space, uid).await?;
        if !users.is_empty() {
            return Err(write_failed(
                spec,
                "deletion",
                FieldErrors::from([(
                    "uid".to_string(),
                    vec![format!("is used by: {}.", users.join(", "))],
                )]),
            ));
        }
    } else {
        headwater_store::repo::workflows::forget_content_type(&mut tx, &ctx.space, uid).await?;
        entries::delete_all_of_type(&mut tx, &ctx.space, uid).await?;
    }
    schemas::delete(&mut tx, &ctx.space, spec.kind, uid).await?;
    audit::record(&mut tx, &actor, event(spec, ctx, "delete", &current)).await?;
    tx.commit().await?;
    Ok(notice(&format!("{} deleted successfully.", spec.label)))
}

pub async fn list_content_types(
    State(s): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    list(&CONTENT_TYPE, &s, &ctx, &q).await
}
pub async fn create_content_type(
    State(s): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    create(&CONTENT_TYPE, &s, &ctx, &body).await
}
pub async fn fetch_content_type(
    State(s): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    fetch(&CONTENT_TYPE, &s, &ctx, &uid).await
}
pub async fn update_content_type(
    State(s): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    update(&CONTENT_TYPE, &s, &ctx, &uid, &body).await
}
pub async fn delete_content_type(
    State(s): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    delete(&CONTENT_TYPE, &s, &ctx, &uid).await
}
pub async fn list_global_fields(
    State(s): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    list(&GLOBAL_FIELD, &s, &ctx, &q).await
}
pub async fn create_global_field(
    State(s): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    create(&GLOBAL_FIELD, &s, &ctx, &body).await
}
pub async fn fetch_global_field(
    State(s): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    fetch(&GLOBAL_FIELD, &s, &ctx, &uid).await
}
pub async fn update_global_field(
    State(s): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    update(&GLOBAL_FIELD, &s, &ctx, &uid, &body).await
}
pub async fn delete_global_field(
    State(s): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    delete(&GLOBAL_FIELD, &s, &ctx, &uid).await
}

/// `POST /v3/{content_types|global_fields}/import[?overwrite=true]`: the JSON file of one
/// content type or global field (multipart part `content_type` / `global_field`), created
/// exactly as `POST` with that body would create it (same validation, same errors). A uid
/// that exists is refused like a create, unless `overwrite=true`: then it is updated as `PUT`
/// would update it (including the refusal of changes that would orphan entries' data).
async fn import(
    spec: &Spec,
    state: &AppState,
    ctx: &StackCtx,
    q: &Query,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(spec.module, Op::Create))?;
    let overwrite = q.flag("overwrite");
    let file = ImportFile::read(req, spec.key, state.config().max_body_bytes).await?;
    let body = file.as_body(spec.key);
    let uid = file.str("uid").unwrap_or_default().to_string();
    let exists = if overwrite && content::is_schema_uid(&uid) {
        let mut c = state.db().reader().await?;
        schemas::exists(&mut c, &ctx.space, spec.kind, &uid).await?
    } else {
        false
    };
    let (status, Json(mut answer)) = if exists {
        update(spec, state, ctx, &uid, &body).await?
    } else {
        create(spec, state, ctx, &body).await?
    };
    answer["notice"] = json!(format!("{} imported successfully.", spec.label));
    Ok((status, Json(answer)))
}

/// `GET /v3/{content_types|global_fields}/{uid}/export`: the object itself, unwrapped, as
/// Contentstack's export answers (a file an import takes back). Only the current version is
/// kept, so `version` may name only it.
async fn export(
    spec: &Spec,
    state: &AppState,
    ctx: &StackCtx,
    uid: &str,
    q: &Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(spec.module, Op::Read).on_content_type(uid))?;
    let d = load(spec, state, ctx, uid).await?;
    if let Some(v) = q.get("version").filter(|v| !v.is_empty()) {
        if v.parse::<i64>().ok() != Some(d.version) {
            return Err(ApiError::not_found(&format!("{} version", spec.label)));
        }
    }
    Ok(Json(doc_json(&d)))
}

pub async fn import_content_type(
    State(s): State<AppState>,
    ctx: StackCtx,
    q: Query,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    import(&CONTENT_TYPE, &s, &ctx, &q, req).await
}
pub async fn export_content_type(
    State(s): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    export(&CONTENT_TYPE, &s, &ctx, &uid, &q).await
}
pub async fn import_global_field(
    State(s): State<AppState>,
    ctx: StackCtx,
    q: Query,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    import(&GLOBAL_FIELD, &s, &ctx, &q, req).await
}
pub async fn export_global_field(
    State(s): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    export(&GLOBAL_FIELD, &s, &ctx, &uid, &q).await
}
