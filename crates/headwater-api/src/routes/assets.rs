//! Assets (`/v3/assets`): multipart uploads streamed to storage, metadata, versions, folders,
//! publishing, and the public download URL each asset carries.

use crate::auth::{header, StackCtx};
use crate::body::{JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::lookup::assets::{asset_event, asset_json, base_url, encode_segment};
use crate::publish::jobs::{self, Queued};
use crate::publish::{self, Gate, Plan};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use crate::storage::{safe_filename, PutError};
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_store::repo::assets::{self, Asset, FileInfo, Meta};
use headwater_store::repo::audit::{self, Event};
use headwater_store::repo::publications;
use headwater_store::repo::publish_jobs::NewItem;
use headwater_store::repo::stacks;
use serde_json::{json, Map, Value};

fn tags_from(v: Option<&Value>) -> ApiResult<Option<Value>> {
    Ok(match v {
        None => None,
        Some(Value::Null) => Some(json!([])),
        Some(Value::String(s)) => Some(json!(s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>())),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Some(Value::Array(a.clone())),
        Some(_) => {
            return Err(ApiError::invalid(
                "asset.tags",
                "must be an array of strings or a comma-separated string.",
            ))
        }
    })
}

/// An upload: the text fields and, when a file came, where it was stored.
struct Upload {
    fields: Map<String, Value>,
    file: Option<(String, String, i64, String)>,
}

fn upload_error(e: PutError, limit: usize) -> ApiError {
    match e {
        PutError::TooLarge => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            crate::error::code::BODY_TOO_LARGE,
            format!("The file is larger than this server accepts ({limit} bytes)."),
        ),
        PutError::Source(m) => ApiError::bad_body(format!("The upload could not be read: {m}")),
        PutError::Io(e) => {
            tracing::error!(error = %e, "asset storage failed");
            if crate::storage::is_storage_full(&e) {
                ApiError::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    crate::error::code::UNAVAILABLE,
                    "The server's storage is full; nothing was written.",
                )
            } else {
                ApiError::internal()
            }
        }
    }
}

/// Reads `asset[upload]`, `asset[title]`, `asset[description]`, `asset[tags]` and
/// `asset[parent_uid]`, streaming the file into storage.
/// A part refused after the file was stored (an oversized title, a malformed part) takes the
/// stored file away with it: a refused upload leaves nothing behind.
async fn read_multipart(
    state: &AppState,
    stack_uid: &str,
    asset_uid: &str,
    mut mp: Multipart,
) -> ApiResult<Upload> {
    let mut up = Upload {
        fields: Map::new(),
        file: None,
    };
    match read_parts(state, stack_uid, asset_uid, &mut mp, &mut up).await {
        Ok(()) => Ok(up),
        Err(e) => {
            if let Some((_, _, _, key)) = &up.file {
                state.storage().delete(key).await;
            }
            drain(&mut mp).await;
            Err(e)
        }
    }
}

/// Reads and discards what is left of a refused upload, so a client still sending gets the
/// refusal (507, 422, …) rather than a broken connection. Bounded like any upload: the body
/// limit (`--max-upload-bytes`) and the body idle timeout still apply, and nothing is stored.
async fn drain(mp: &mut Multipart) {
    while let Ok(Some(mut field)) = mp.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

async fn read_parts(
    state: &AppState,
    stack_uid: &str,
    asset_uid: &str,
    mp: &mut Multipart,
    up: &mut Upload,
) -> ApiResult<()> {
    let Upload { fields, file } = up;
    let limit = state.config().max_upload_bytes;
    loop {
        let field = match mp.next_field().await {
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
            .strip_prefix("asset[")
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(&name)
            .to_string();
        if key == "upload" {
            if file.is_some() {
                return Err(ApiError::invalid(
                    "asset[upload]",
                    "send one file per request.",
                ));
            }
            let filename = safe_filename(field.file_name().unwrap_or("file"));
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_string();
            let storage_key = format!(
                "{stack_uid}/{asset_uid}/{}/{filename}",
                headwater_core::ids::new_uid()
            );
            let size = state
                .storage()
                .put(&storage_key, limit as u64, field)
                .await
                .map_err(|e| upload_error(e, limit))?;
            *file = Some((filename, content_type, size as i64, storage_key));
        } else {
            let text = read_text_field(field, &name).await?;
            fields.insert(key, Value::String(text));
        }
    }
    Ok(())
}

/// The largest text field of a multipart upload (`asset[title]`, `asset[description]`, …).
pub const MAX_MULTIPART_TEXT_BYTES: usize = 64 * 1024;

/// A multipart text field, read up to [`MAX_MULTIPART_TEXT_BYTES`]: a longer one is refused
/// as soon as it passes the limit, without reading the rest.
async fn read_text_field(
    mut field: axum::extract::multipart::Field<'_>,
    name: &str,
) -> ApiResult<String> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_body(format!(
            "The multipart field '{name}' could not be read: {e}"
        ))
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        if bytes.len() + chunk.len() > MAX_MULTIPART_TEXT_BYTES {
            return Err(ApiError::invalid(
                name,
                format!("is longer than {MAX_MULTIPART_TEXT_BYTES} bytes."),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| ApiError::invalid(name, "is not valid UTF-8."))
}

async fn check_folder(state: &AppState, ctx: &StackCtx, parent: Option<&str>) -> ApiResult<()> {
    if let Some(p) = parent {
        let mut c = state.db().reader().await?;
        match assets::get(&mut c, &ctx.space, p).await? {
            Some(a) if a.is_dir => {}
            _ => {
                return Err(ApiError::invalid(
                    "asset.parent_uid",
                    format!("'{p}' is not a folder of this stack."),
                ))
            }
        }
    }
    Ok(())
}

fn event<'a>(ctx: &'a StackCtx, action: &'a str, a: &'a Asset) -> Event<'a> {
    ctx.audit(
        action,
        if a.is_dir { "folder" } else { "asset" },
        &a.uid,
        &a.title,
    )
}

/// Text fields of a multipart upload are held to what JSON bodies are: no U+0000 (checked
/// after the file is stored, so that a refusal removes it like any other).
fn refuse_nul(fields: &Map<String, Value>) -> ApiResult<()> {
    match crate::body::nul_path(fields, "") {
        Some(key) => Err(crate::body::nul_refused(&format!("asset[{key}]"))),
        None => Ok(()),
    }
}

fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

/// `POST /v3/assets` (multipart).
pub async fn create(
    State(state): State<AppState>,
    ctx: StackCtx,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Assets, Op::Create))?;
    let mp = mp.map_err(|e| {
        ApiError::bad_body(format!(
            "Upload assets as multipart/form-data with an asset[upload] file: {e}"
        ))
    })?;
    let uid = headwater_core::ids::new_uid();
    let up = read_multipart(&state, &ctx.space, &uid, mp).await?;
    let Some((filename, content_type, size, key)) = up.file else {
        return Err(ApiError::invalid(
            "asset[upload]",
            "is required: the file to upload.",
        ));
    };
    let result = async {
        refuse_nul(&up.fields)?;
        let parent = str_of(&up.fields, "parent_uid").filter(|p| !p.is_empty());
        check_folder(&state, &ctx, parent).await?;
        let tags = tags_from(up.fields.get("tags"))?.unwrap_or_else(|| json!([]));
        let title = str_of(&up.fields, "title")
            .filter(|t| !t.is_empty())
            .unwrap_or(&filename)
            .to_string();
        let meta = Meta {
            title: &title,
            description: str_of(&up.fields, "description").unwrap_or(""),
            parent_uid: parent,
            tags: &tags,
        };
        let info = FileInfo {
            filename: &filename,
            content_type: &content_type,
            file_size: size,
            storage_key: &key,
        };
        let actor = ctx.actor();
        let mut tx = state.db().begin().await?;
        let asset = assets::insert(&mut tx, &ctx.space, &uid, &meta, Some(&info), &actor).await?;
        audit::record(&mut tx, &actor, event(&ctx, "create", &asset)).await?;
        events::emit(&mut tx, &ctx, asset_event(&state, &ctx, "create", &asset)).await?;
        tx.commit().await?;
        Ok::<Asset, ApiError>(asset)
    }
    .await;
    match result {
        Ok(asset) => Ok(created(
            "Asset created successfully.",
            "asset",
            asset_json(
                &asset,
                &ctx.stack.api_key,
                &ctx.branch,
                &base_url(&state, &headers),
                Some(&[]),
            ),
        )),
        Err(e) => {
            state.storage().delete(&key).await;
            Err(e)
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    headers: HeaderMap,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Assets, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let folder = q.get("folder").filter(|f| !f.is_empty());
    let (dirs, cond) = list_query(&q)?;
    let dirs_only = dirs == Some(true);
    let sort = match (q.get("asc"), q.get("desc")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                crate::error::code::VALIDATION,
                "Send either asc or desc, not both.",
            )
            .field("asc", "cannot be combined with desc."))
        }
        (Some(f), None) => Some((f, true)),
        (None, Some(f)) => Some((f, false)),
        (None, None) => None,
    };
    let mut c = state.db().reader().await?;
    // Without a folder, every file of the stack is listed (as Contentstack does);
    // `query={"is_dir": true}` lists every folder instead.
    let lq = assets::ListQuery {
        dirs: dirs_only,
        folder,
        anywhere: folder.is_none(),
        cond: cond.as_ref(),
        sort,
        skip,
        limit,
    };
    let (items, total) = assets::list_query(&mut c, &ctx.space, &lq)
        .await?
        .map_err(|r| query_refused(&r.0))?;
    if q.flag("count") {
        return Ok(Json(json!({ "assets": total })));
    }
    let mut out: Vec<Value> = Vec::new();
    if q.flag("include_folders") && !dirs_only {
        let (dirs, _) =
            assets::list(&mut c, &ctx.space, true, folder, folder.is_none(), 0, 100).await?;
        out.extend(
            dirs.iter()
                .map(|a| asset_json(a, &ctx.stack.api_key, &ctx.branch, "", None)),
        );
    }
    let pubs = if q.flag("include_publish_details") {
        let uids: Vec<String> = items.iter().map(|a| a.uid.clone()).collect();
        Some(publications::of_items(&mut c, &ctx.space, "asset", &uids).await?)
    } else {
        None
    };
    // `relative_urls=true`: the file URLs name only the path, without this server's origin.
    let base = if q.flag("relative_urls") {
        String::new()
    } else {
        base_url(&state, &headers)
    };
    out.extend(
        items
            .iter()
            .map(|a| asset_json(a, &ctx.stack.api_key, &ctx.branch, &base, pubs.as_deref())),
    );
    Ok(listed(
        "assets",
        out,
        q.flag("include_count").then_some(total),
    ))
}

async fn load(state: &AppState, ctx: &StackCtx, uid: &str, dir: bool) -> ApiResult<Asset> {
    let mut c = state.db().reader().await?;
    match assets::get(&mut c, &ctx.space, uid).await? {
        Some(a) if a.is_dir == dir => Ok(a),
        _ => Err(ApiError::not_found(if dir { "folder" } else { "asset" })),
    }
}

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Assets, Op::Read))?;
    let a = load(&state, &ctx, &uid, false).await?;
    let mut c = state.db().reader().await?;
    let pubs =
        publications::of_items(&mut c, &ctx.space, "asset", std::slice::from_ref(&uid)).await?;
    Ok(Json(
        json!({ "asset": asset_json(&a, &ctx.stack.api_key, &ctx.branch, &base_url(&state, &headers), Some(&pubs)) }),
    ))
}

/// `PUT /v3/assets/{uid}`: JSON `{"asset": {title, description, tags, parent_uid}}`, or
/// multipart with a new `asset[upload]` (a new version).
pub async fn update(
    State(state): State<AppState>,
    ctx: StackCtx,
    headers: HeaderMap,
    Path(uid): Path<String>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Assets, Op::Update))?;
    let current = load(&state, &ctx, &uid, false).await?;
    let is_multipart =
        header(&headers, "content-type").is_some_and(|c| c.starts_with("multipart/"));
    let (fields, file) = if is_multipart {
        let mp = Multipart::from_request(req, &state)
            .await
            .map_err(|e| ApiError::bad_body(format!("The multipart body is malformed: {e}")))?;
        let up = read_multipart(&state, &ctx.space, &uid, mp).await?;
        (up.fields, up.file)
    } else {
        let body = JsonBody::from_request(req, &state).await?;
        (body.wrapped("asset")?.clone(), None)
    };
    let key = file.as_ref().map(|f| f.3.clone());
    let result = async {
        refuse_nul(&fields)?;
        let parent = match fields.get("parent_uid") {
            None => current.parent_uid.clone(),
            Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(ApiError::invalid(
                    "asset.parent_uid",
                    "must be a folder uid or null.",
                ))
            }
        };
        check_folder(&state, &ctx, parent.as_deref()).await?;
        let tags = tags_from(fields.get("tags"))?.unwrap_or(current.tags.clone());
        let title = str_of(&fields, "title")
            .filter(|t| !t.is_empty())
            .unwrap_or(&current.title)
            .to_string();
        let description = str_of(&fields, "description")
            .unwrap_or(&current.description)
            .to_string();
        let meta = Meta {
            title: &title,
            description: &description,
            parent_uid: parent.as_deref(),
            tags: &tags,
        };
        let info = file.as_ref().map(|(f, ct, size, key)| FileInfo {
            filename: f,
            content_type: ct,
            file_size: *size,
            storage_key: key,
        });
        let actor = ctx.actor();
        let mut tx = state.db().begin().await?;
        let asset = assets::update(&mut tx, &ctx.space, &uid, &meta, info.as_ref(), &actor)
            .await?
            .ok_or_else(|| ApiError::not_found("asset"))?;
        audit::record(&mut tx, &actor, event(&ctx, "update", &asset)).await?;
        events::emit(&mut tx, &ctx, asset_event(&state, &ctx, "update", &asset)).await?;
        tx.commit().await?;
        Ok(asset)
    }
    .await;
    match result {
        Ok(asset) => Ok(updated(
            "Asset updated successfully.",
            "asset",
            asset_json(
                &asset,
                &ctx.stack.api_key,
                &ctx.branch,
                &base_url(&state, &headers),
                None,
            ),
        )),
        Err(e) => {
            if let Some(k) = key {
                state.storage().delete(&k).await;
            }
            Err(e)
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Assets, Op::Delete))?;
    let current = load(&state, &ctx, &uid, false).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let keys = assets::storage_keys(&mut tx, &ctx.space, &uid).await?;
    assets::delete(&mut tx, &ctx.space, &uid).await?;
    // Another branch's copy of the asset may share these files.
    let keys = assets::unreferenced(&mut tx, keys).await?;
    audit::record(&mut tx, &actor, event(&ctx, "delete", &current)).await?;
    events::emit(&mut tx, &ctx, asset_event(&state, &ctx, "delete", &current)).await?;
    tx.commit().await?;
    // Files go after the rows: a crash in between leaves an unreferenced file, never a dangling row.
    for k in keys {
        state.storage().delete(&k).await;
    }
    Ok(notice("Asset deleted successfully."))
}

pub async fn versions(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Assets, Op::Read))?;
    load(&state, &ctx, &uid, false).await?;
    let mut c = state.db().reader().await?;
    let all = assets::versions(&mut c, &ctx.space, &uid).await?;
    let out = all
        .iter()
        .map(|(v, f, size, by, at)| json!({"_version": v, "filename": f, "file_size": size.to_string(), "created_by": by, "created_at": at}))
        .collect();
    Ok(listed("versions", out, None))
}

/// `GET /v3/assets/{api_key}/{uid}/{version}/{filename}`: the file itself. Public, like
/// Contentstack's asset URLs (the uid is unguessable).
///
/// Uploaded files must never run as this origin, where the API and its credentials live
/// (SEC-6): every file is sent with `X-Content-Type-Options: nosniff` and a sandboxing
/// Content-Security-Policy, and types a browser would execute (HTML, SVG, XML, scripts) as
/// attachments. With a separate asset origin (`--assets-public-url`), a download asked of any
/// other host is redirected there, so file bytes never come from the API's origin.
pub async fn download(
    State(state): State<AppState>,
    Path((api_key, uid, version, name)): Path<(String, String, String, String)>,
    query: crate::body::Query,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult<Response> {
    if let Some(origin) = &state.config().assets_public_url {
        if !same_host(origin, header(&headers, "host")) {
            let mut to = format!(
                "{}/v3/assets/{}/{}/{}/{}",
                origin.trim_end_matches('/'),
                encode_segment(&api_key),
                encode_segment(&uid),
                encode_segment(&version),
                encode_segment(&name)
            );
            if let Some(q) = uri.query() {
                to.push('?');
                to.push_str(q);
            }
            return Ok((
                StatusCode::PERMANENT_REDIRECT,
                [(axum::http::header::LOCATION, to)],
            )
                .into_response());
        }
    }
    let version: i64 = version.parse().map_err(|_| ApiError::not_found("asset"))?;
    let mut c = state.db().reader().await?;
    let stack = stacks::by_api_key(&mut c, &api_key)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    let space = match query.get("branch").filter(|b| *b != "main") {
        None => stack.uid.clone(),
        Some(b) => {
            headwater_store::repo::branches::get(&mut c, &stack.uid, b)
                .await?
                .ok_or_else(|| ApiError::not_found("asset"))?
                .space_uid
        }
    };
    let (filename, content_type, key) = assets::file_of(&mut c, &space, &uid, version)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    drop(c);
    let object = state.storage().get(&key).await.map_err(|e| {
        tracing::error!(error = %e, key = %key, "asset file missing from storage");
        ApiError::not_found("asset file")
    })?;
    let len = object.len;
    let mut resp = object.body.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert("content-type", v);
    }
    if let Some(n) = len {
        h.insert("content-length", HeaderValue::from(n));
    }
    let disposition = if is_active_type(&content_type) {
        "attachment"
    } else {
        "inline"
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{disposition}; filename=\"{}\"",
        safe_filename(&filename)
    )) {
        h.insert("content-disposition", v);
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(FILE_CSP),
    );
    Ok(resp)
}

/// `GET /v3/assets/{api_key}/{uid}`: the current version of an asset's file, served like
/// [`download`] (SEC-6); with `?version=n`, that version.
pub async fn download_latest(
    State(state): State<AppState>,
    Path((api_key, uid)): Path<(String, String)>,
    query: crate::body::Query,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult<Response> {
    let version = match query.get("version") {
        Some(v) => v.to_string(),
        None => {
            let mut c = state.db().reader().await?;
            let stack = stacks::by_api_key(&mut c, &api_key)
                .await?
                .ok_or_else(|| ApiError::not_found("asset"))?;
            let space = match query.get("branch").filter(|b| *b != "main") {
                None => stack.uid.clone(),
                Some(b) => {
                    headwater_store::repo::branches::get(&mut c, &stack.uid, b)
                        .await?
                        .ok_or_else(|| ApiError::not_found("asset"))?
                        .space_uid
                }
            };
            assets::current_version(&mut c, &space, &uid)
                .await?
                .ok_or_else(|| ApiError::not_found("asset"))?
                .to_string()
        }
    };
    download(
        State(state),
        Path((api_key, uid, version, "file".to_string())),
        query,
        headers,
        uri,
    )
    .await
}

/// The policy every asset file is served under: no script, no plug-in, no form, and a unique
/// opaque origin (`sandbox`) for any document a browser makes of it. Images, video and
/// audio still display when opened directly.
const FILE_CSP: &str = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; \
                        style-src 'unsafe-inline'; frame-ancestors 'none'";

/// Whether a browser opening a file of this type could run script or markup in it: HTML,
/// XHTML, SVG, XML and script types, and anything not a plain image, audio, video, font, PDF
/// or data type. Such files are served as attachments.
fn is_active_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let passive = match essence.split_once('/') {
        Some(("image", sub)) => !sub.contains("svg") && !sub.contains("xml"),
        Some(("audio" | "video" | "font", _)) => true,
        Some(("text", sub)) => matches!(sub, "plain" | "csv" | "markdown"),
        Some(("application", sub)) => {
            matches!(
                sub,
                "pdf" | "json" | "octet-stream" | "zip" | "gzip" | "x-tar" | "msword" | "rtf"
            ) || sub.starts_with("vnd.openxmlformats-")
                || sub.starts_with("vnd.ms-")
                || sub.starts_with("vnd.oasis.opendocument.")
        }
        _ => false,
    };
    !passive
}

/// Whether `host` (a `Host` header) names the same host and port as `origin` (a URL).
fn same_host(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    let rest = origin.split_once("://").map(|(_, r)| r).unwrap_or(origin);
    let authority = rest.split('/').next().unwrap_or_default();
    let default_port = if origin.starts_with("https://") {
        ":443"
    } else {
        ":80"
    };
    let strip = |a: &str| -> String {
        let a = a.to_ascii_lowercase();
        a.strip_suffix(default_port)
            .map(str::to_string)
            .unwrap_or(a)
    };
    strip(authority) == strip(host)
}

/// `POST /v3/assets/folders` `{"asset": {"name", "parent_uid"}}`.
pub async fn create_folder(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Assets, Op::Create))?;
    let m = body.wrapped("asset")?;
    let name = str_of(m, "name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid("asset.name", "is required."))?
        .to_string();
    let parent = str_of(m, "parent_uid").filter(|p| !p.is_empty());
    check_folder(&state, &ctx, parent).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let meta = Meta {
        title: &name,
        description: "",
        parent_uid: parent,
        tags: &json!([]),
    };
    let folder = assets::insert(
        &mut tx,
        &ctx.space,
        &headwater_core::ids::new_uid(),
        &meta,
        None,
        &actor,
    )
    .await?;
    audit::record(&mut tx, &actor, event(&ctx, "create", &folder)).await?;
    tx.commit().await?;
    Ok(created(
        "Folder created successfully.",
        "asset",
        asset_json(&folder, &ctx.stack.api_key, &ctx.branch, "", None),
    ))
}

pub async fn fetch_folder(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Assets, Op::Read))?;
    let f = load(&state, &ctx, &uid, true).await?;
    Ok(Json(
        json!({ "asset": asset_json(&f, &ctx.stack.api_key, &ctx.branch, "", None) }),
    ))
}

pub async fn update_folder(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Assets, Op::Update))?;
    let current = load(&state, &ctx, &uid, true).await?;
    let m = body.wrapped("asset")?;
    let name = str_of(m, "name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&current.title)
        .to_string();
    let parent = match m.get("parent_uid") {
        None => current.parent_uid.clone(),
        Some(v) => v.as_str().filter(|p| !p.is_empty()).map(str::to_string),
    };
    if parent.as_deref() == Some(uid.as_str()) {
        return Err(ApiError::invalid(
            "asset.parent_uid",
            "a folder cannot be inside itself.",
        ));
    }
    check_folder(&state, &ctx, parent.as_deref()).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let meta = Meta {
        title: &name,
        description: "",
        parent_uid: parent.as_deref(),
        tags: &json!([]),
    };
    let folder = assets::update(&mut tx, &ctx.space, &uid, &meta, None, &actor)
        .await?
        .ok_or_else(|| ApiError::not_found("folder"))?;
    audit::record(&mut tx, &actor, event(&ctx, "update", &folder)).await?;
    tx.commit().await?;
    Ok(updated(
        "Folder updated successfully.",
        "asset",
        asset_json(&folder, &ctx.stack.api_key, &ctx.branch, "", None),
    ))
}

pub async fn delete_folder(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Assets, Op::Delete))?;
    let current = load(&state, &ctx, &uid, true).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    if assets::children(&mut tx, &ctx.space, &uid).await? > 0 {
        return Err(ApiError::invalid(
            "asset",
            "the folder is not empty; move or delete what it holds first.",
        ));
    }
    assets::delete(&mut tx, &ctx.space, &uid).await?;
    audit::record(&mut tx, &actor, event(&ctx, "delete", &current)).await?;
    tx.commit().await?;
    Ok(notice("Folder deleted successfully."))
}

/// `{"asset": {"environments": [...], "locales": [...]}, "version": N}`: parse, plan, apply
/// (see [`crate::publish`]).
async fn publish_or_unpublish(
    state: &AppState,
    ctx: &StackCtx,
    uid: &str,
    body: &JsonBody,
    publish: bool,
) -> ApiResult<(StatusCode, Json<Value>)> {
    // Refused before the body is read when the scope cannot publish assets anywhere; checked
    // again with the environments once they are known (MT-18).
    ctx.authorize_publish_somewhere(Action::new(Module::Assets, Op::Publish))?;
    load(state, ctx, uid, false).await?;
    let spec = body.wrapped("asset")?;
    let list = |key: &str| -> Vec<String> {
        spec.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let env_names = list("environments");
    if env_names.is_empty() {
        return Err(ApiError::invalid(
            "asset.environments",
            "is required: a non-empty array.",
        ));
    }
    ctx.authorize(&Action::new(Module::Assets, Op::Publish).to_environments(&env_names))?;
    let mut codes = list("locales");
    if codes.is_empty() {
        codes.push(ctx.stack.master_locale.clone());
    }
    let version =
        publish::version(body.0.get("version")).map_err(|m| ApiError::invalid("version", m))?;
    let scheduled_at = jobs::scheduled_at(body.0.get("scheduled_at"), "scheduled_at")?;
    let mut tx = state.db().begin().await?;
    let mut plan = Plan::new(&mut tx, ctx, Gate::Request).await?;
    plan.locales(&mut tx, ctx, &codes, |_| "asset.locales".into())
        .await?;
    let envs = plan
        .environments(&mut tx, ctx, &env_names, |_| "asset.environments".into())
        .await?;
    if plan.errors.is_empty() {
        plan.asset(
            state, &mut tx, ctx, "", uid, version, &codes, &envs, publish,
        )
        .await?;
    }
    if let Some(e) = plan.refusal() {
        return Err(e);
    }
    if let Some(at) = scheduled_at.as_deref() {
        // Checked now, carried out then.
        let item = NewItem {
            item_type: "asset",
            action: None,
            item_uid: uid,
            content_type_uid: None,
            locale: None,
            version,
        };
        let job_id = jobs::queue(
            &mut tx,
            ctx,
            Queued {
                publish,
                source: "asset",
                environments: &env_names,
                locales: &codes,
                scheduled_at: Some(at),
                items: vec![item],
                release: None,
                nested: false,
                skip_held: false,
            },
        )
        .await?;
        tx.commit().await?;
        return Ok((
            StatusCode::OK,
            Json(serde_json::json!({
                "notice": "The requested action has been scheduled.",
                "job_id": job_id,
            })),
        ));
    }
    plan.apply(&mut tx, ctx).await?;
    tx.commit().await?;
    Ok(notice("The requested action has been performed."))
}

pub async fn publish(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    publish_or_unpublish(&state, &ctx, &uid, &body, true).await
}

pub async fn unpublish(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    publish_or_unpublish(&state, &ctx, &uid, &body, false).await
}

fn query_refused(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        crate::error::code::VALIDATION,
        format!("The asset list's query cannot be applied: {message}."),
    )
    .field("query", message.to_string())
}

/// The asset list's `query`: a top-level `"is_dir": true|false` chooses folders or files
/// (files by default); the rest filters with the entry query operators on the asset fields
/// ([`assets::QUERY_FIELDS`]). A filter the list cannot apply is refused, not ignored.
fn list_query(q: &Query) -> ApiResult<(Option<bool>, Option<headwater_core::query::Cond>)> {
    let Some(text) = q.get("query") else {
        return Ok((None, None));
    };
    let value: Value = serde_json::from_str(text)
        .map_err(|e| query_refused(&format!("it is not valid JSON ({e})")))?;
    let Value::Object(mut obj) = value else {
        return Err(query_refused("it must be a JSON object"));
    };
    let dirs = match obj.get("is_dir") {
        Some(Value::Bool(b)) => {
            let b = *b;
            obj.remove("is_dir");
            Some(b)
        }
        _ => None,
    };
    if obj.is_empty() {
        return Ok((dirs, None));
    }
    let cond = headwater_core::query::parse(&Value::Object(obj).to_string())
        .map_err(|e| query_refused(&e.0))?;
    Ok((dirs, Some(cond)))
}

#[cfg(test)]
mod file_type_tests {
    use super::{is_active_type, same_host};

    #[test]
    fn active_types_are_recognised() {
        for t in [
            "text/html",
            "text/html; charset=utf-8",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "application/xml",
            "text/javascript",
            "application/javascript",
            "application/x-shockwave-flash",
            "TEXT/HTML",
            "",
            "nonsense",
        ] {
            assert!(is_active_type(t), "{t}");
        }
        for t in [
            "image/png",
            "image/jpeg",
            "video/mp4",
            "audio/mpeg",
            "application/pdf",
            "text/plain; charset=utf-8",
            "application/json",
            "application/octet-stream",
        ] {
            assert!(!is_active_type(t), "{t}");
        }
    }

    #[test]
    fn hosts_are_compared_with_default_ports() {
        assert!(same_host(
            "https://files.example.com",
            Some("files.example.com")
        ));
        assert!(same_host(
            "https://files.example.com/",
            Some("files.example.com:443")
        ));
        assert!(same_host("http://127.0.0.1:9000", Some("127.0.0.1:9000")));
        assert!(!same_host("http://127.0.0.1:9000", Some("127.0.0.1:8080")));
        assert!(!same_host("https://files.example.com", None));
    }
}
