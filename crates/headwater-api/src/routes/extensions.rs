//! Extensions (`/v3/extensions`): custom fields, widgets, dashboards, asset sidebar widgets and
//! JSON RTE plugins, kept in the request's branch. Created from JSON (`src` or `srcdoc`) or
//! uploaded as multipart (`extension[upload]`, an HTML file that becomes the `srcdoc`).
//!
//! An extension's `srcdoc` is only ever returned inside JSON answers (which carry `nosniff`);
//! Headwater never serves it as a document of its own origin (SEC-6). The app that hosts the
//! extension renders it in a sandboxed frame of its own.

use crate::auth::{header, StackCtx};
use crate::body::{Fields, JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_store::repo::audit;
use headwater_store::repo::extensions::{self, Extension};
use serde_json::{json, Map, Value};

/// The extension types Contentstack knows.
pub(crate) const TYPES: [&str; 5] = [
    "field",
    "widget",
    "dashboard",
    "asset_sidebar_widget",
    "rte_plugin",
];

/// The data types a custom field may store.
const DATA_TYPES: [&str; 7] = [
    "text",
    "number",
    "isodate",
    "boolean",
    "json",
    "reference",
    "file",
];

/// The largest extension source (`srcdoc`, JSON or uploaded file) accepted.
pub const MAX_SRCDOC_BYTES: usize = 1024 * 1024;

/// Attributes kept in the stored body (everything an extension has but its uid, title, type
/// and system fields).
const BODY_KEYS: [&str; 8] = [
    "data_type",
    "tags",
    "src",
    "srcdoc",
    "multiple",
    "config",
    "scope",
    "enable",
];

pub(crate) fn extension_json(e: &Extension) -> Value {
    let mut v = json!({
        "uid": e.uid,
        "title": e.title,
        "type": e.kind,
        "tags": [],
        "config": {},
        "_version": e.version,
        "created_by": e.created_by,
        "updated_by": e.updated_by,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
    });
    if let Value::Object(body) = &e.body {
        for (k, x) in body {
            v[k.as_str()] = x.clone();
        }
    }
    v
}

fn err(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(&format!("extension.{field}"), message)
}

/// Checks a whole extension (after merging an update onto the stored one) and splits it into
/// `(title, type, body)`.
fn checked(map: &Map<String, Value>) -> ApiResult<(String, String, Value)> {
    let f = Fields::new(map, "extension");
    let title = f.req_str("title")?.trim().to_string();
    let kind = f.req_str("type")?.to_string();
    if !TYPES.contains(&kind.as_str()) {
        return Err(err("type", format!("must be one of {}.", TYPES.join(", "))));
    }
    let mut body = Map::new();
    for k in BODY_KEYS {
        if let Some(v) = map.get(k).filter(|v| !v.is_null()) {
            body.insert(k.to_string(), v.clone());
        }
    }
    let src = f.opt_str("src")?.filter(|s| !s.trim().is_empty());
    let srcdoc = f.opt_str("srcdoc")?.filter(|s| !s.is_empty());
    match (src, srcdoc) {
        (None, None) => return Err(err(
            "src",
            "is required: send 'src' (a URL) or 'srcdoc' (the extension's HTML), or upload a file.",
        )),
        (Some(_), Some(_)) => {
            return Err(err("srcdoc", "send either 'src' or 'srcdoc', not both."));
        }
        (Some(u), None) => {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(err("src", "must be an http(s) URL."));
            }
        }
        (None, Some(doc)) => {
            if doc.len() > MAX_SRCDOC_BYTES {
                return Err(err(
                    "srcdoc",
                    format!("is longer than {MAX_SRCDOC_BYTES} bytes."),
                ));
            }
        }
    }
    if kind == "field" {
        let dt = f.req_str("data_type")?;
        if !DATA_TYPES.contains(&dt) {
            return Err(err(
                "data_type",
                format!("must be one of {}.", DATA_TYPES.join(", ")),
            ));
        }
    }
    match map.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
        Some(_) => return Err(err("tags", "must be an array of strings.")),
    }
    for k in ["multiple", "enable"] {
        f.opt_bool(k)?;
    }
    match map.get("config") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(_) => return Err(err("config", "must be an object.")),
    }
    match map.get("scope") {
        None | Some(Value::Null) => {}
        Some(Value::Object(s)) => match s.get("content_types") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
            Some(_) => {
                return Err(err(
                    "scope.content_types",
                    "must be an array of content type uids (or \"$all\").",
                ))
            }
        },
        Some(_) => return Err(err("scope", "must be an object.")),
    }
    if matches!(kind.as_str(), "widget" | "asset_sidebar_widget") && !body.contains_key("scope") {
        body.insert("scope".into(), json!({"content_types": ["$all"]}));
    }
    if kind == "field" && !body.contains_key("multiple") {
        body.insert("multiple".into(), json!(false));
    }
    if let Some(key) = crate::body::nul_path(&body, "") {
        return Err(crate::body::nul_refused(&format!("extension.{key}")));
    }
    Ok((title, kind, Value::Object(body)))
}

/// Reads an upload: `extension[title]`, `[type]`, `[data_type]`, `[tags]` (comma-separated),
/// `[multiple]`, `[enable]`, `[scope]` (JSON), `[config]` (JSON), `[src]` and the file
/// `extension[upload]` (UTF-8 HTML, at most [`MAX_SRCDOC_BYTES`]), as an extension object.
async fn read_upload(mut mp: Multipart) -> ApiResult<Map<String, Value>> {
    let mut out = Map::new();
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(ApiError::bad_body(format!(
                    "The multipart body is malformed: {e}"
                )))
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let key = name
            .strip_prefix("extension[")
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(&name)
            .to_string();
        let limit = if key == "upload" {
            MAX_SRCDOC_BYTES
        } else {
            crate::routes::assets::MAX_MULTIPART_TEXT_BYTES
        };
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > limit {
                        return Err(ApiError::invalid(
                            &name,
                            format!("is longer than {limit} bytes."),
                        ));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(ApiError::bad_body(format!(
                        "The multipart field '{name}' could not be read: {e}"
                    )))
                }
            }
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| ApiError::invalid(&name, "is not valid UTF-8 text."))?;
        let value = match key.as_str() {
            "upload" => {
                out.insert("srcdoc".into(), Value::String(text));
                continue;
            }
            "tags" => json!(text
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()),
            // The Python client sends Python's `True` / `False`.
            "multiple" | "enable" => match text.to_ascii_lowercase().as_str() {
                "true" => json!(true),
                "false" => json!(false),
                _ => return Err(ApiError::invalid(&name, "must be true or false.")),
            },
            "scope" | "config" => serde_json::from_str::<Value>(&text)
                .ok()
                .filter(Value::is_object)
                .ok_or_else(|| ApiError::invalid(&name, "must be a JSON object."))?,
            _ => Value::String(text),
        };
        out.insert(key, value);
    }
    Ok(out)
}

async fn body_of(
    state: &AppState,
    headers: &HeaderMap,
    req: Request,
) -> ApiResult<Map<String, Value>> {
    let multipart = header(headers, "content-type").is_some_and(|c| c.starts_with("multipart/"));
    if !multipart {
        let body = JsonBody::from_request(req, state).await?;
        return Ok(body.wrapped("extension")?.clone());
    }
    // The Python client keeps the multipart Content-Type of an earlier upload on later JSON
    // requests: a body that is a JSON object is read as JSON whatever the header says.
    let limit = state
        .config()
        .max_body_bytes
        .max(MAX_SRCDOC_BYTES + 256 * 1024);
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| crate::body::too_large())?;
    if bytes.trim_ascii_start().starts_with(b"{") {
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        let body = JsonBody::from_request(req, state).await?;
        return Ok(body.wrapped("extension")?.clone());
    }
    let req = Request::from_parts(parts, axum::body::Body::from(bytes));
    let mp = Multipart::from_request(req, state)
        .await
        .map_err(|e| ApiError::bad_body(format!("The multipart body is malformed: {e}")))?;
    read_upload(mp).await
}

/// The list's `query`: `{"type": "field"}` keeps one type; nothing else is filtered on, and a
/// filter it cannot apply is refused, not ignored.
fn type_filter(q: &Query) -> ApiResult<Option<String>> {
    let Some(text) = q.get("query") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            crate::error::code::VALIDATION,
            "The extension list's query supports only {\"type\": \"field\"|\"widget\"|\"dashboard\"|\"asset_sidebar_widget\"|\"rte_plugin\"}.",
        )
        .field("query", "supports only type.")
    };
    let value: Value = serde_json::from_str(text).map_err(|_| bad())?;
    let obj = value.as_object().ok_or_else(bad)?;
    match (obj.len(), obj.get("type")) {
        (0, _) => Ok(None),
        (1, Some(Value::String(t))) => Ok(Some(t.clone())),
        _ => Err(bad()),
    }
}

pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Extensions, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let kind = type_filter(&q)?;
    let mut c = state.db().reader().await?;
    let (items, total) = extensions::list(&mut c, &ctx.space, kind.as_deref(), skip, limit).await?;
    if q.flag("count") {
        return Ok(Json(json!({ "extensions": total })));
    }
    Ok(listed(
        "extensions",
        items.iter().map(extension_json).collect(),
        q.flag("include_count").then_some(total),
    ))
}

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Extensions, Op::Read))?;
    let mut c = state.db().reader().await?;
    let e = extensions::get(&mut c, &ctx.space, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("extension"))?;
    Ok(Json(json!({ "extension": extension_json(&e) })))
}

/// `POST /v3/extensions`: JSON `{"extension": {…}}` or a multipart upload.
pub async fn create(
    State(state): State<AppState>,
    ctx: StackCtx,
    headers: HeaderMap,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Extensions, Op::Create))?;
    let map = body_of(&state, &headers, req).await?;
    let (title, kind, body) = checked(&map)?;
    let actor = ctx.actor();
    let uid = headwater_core::ids::new_uid();
    let mut tx = state.db().begin().await?;
    let e = extensions::insert(&mut tx, &ctx.space, &uid, &title, &kind, &body, &actor).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("create", "extension", &e.uid, &e.title),
    )
    .await?;
    tx.commit().await?;
    Ok(created(
        "Extension created successfully.",
        "extension",
        extension_json(&e),
    ))
}

/// `PUT /v3/extensions/{uid}`: the attributes sent replace the stored ones; the others stay.
pub async fn update(
    State(state): State<AppState>,
    ctx: StackCtx,
    headers: HeaderMap,
    Path(uid): Path<String>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Extensions, Op::Update))?;
    let sent = body_of(&state, &headers, req).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let current = extensions::get(&mut tx, &ctx.space, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("extension"))?;
    let mut merged = match &current.body {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    merged.insert("title".into(), json!(current.title));
    merged.insert("type".into(), json!(current.kind));
    // A new source replaces the old one, whichever kind it was.
    if sent.contains_key("src") || sent.contains_key("srcdoc") {
        merged.remove("src");
        merged.remove("srcdoc");
    }
    for (k, v) in sent {
        if matches!(
            k.as_str(),
            "uid" | "_version" | "created_at" | "updated_at" | "created_by" | "updated_by"
        ) {
            continue;
        }
        merged.insert(k, v);
    }
    if merged.get("type") != Some(&json!(current.kind)) {
        return Err(err("type", "cannot be changed; create a new extension."));
    }
    let (title, kind, body) = checked(&merged)?;
    let e = extensions::update(&mut tx, &ctx.space, &uid, &title, &kind, &body, &actor)
        .await?
        .ok_or_else(|| ApiError::not_found("extension"))?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("update", "extension", &e.uid, &e.title),
    )
    .await?;
    tx.commit().await?;
    Ok(updated(
        "Extension updated successfully.",
        "extension",
        extension_json(&e),
    ))
}

/// `DELETE /v3/extensions/{uid}`. An extension a content type or global field still uses is
/// kept: the schema would name an extension that no longer exists.
pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Extensions, Op::Delete))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let e = extensions::get(&mut tx, &ctx.space, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("extension"))?;
    if let Some(user) = crate::lookup::schemas::extension_user(&mut tx, &ctx.space, &uid).await? {
        return Err(ApiError::invalid(
            "extension",
            format!("'{uid}' is used by the {user}; remove it from that schema first."),
        ));
    }
    extensions::delete(&mut tx, &ctx.space, &uid).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("delete", "extension", &e.uid, &e.title),
    )
    .await?;
    tx.commit().await?;
    Ok(notice("Extension deleted successfully."))
}
