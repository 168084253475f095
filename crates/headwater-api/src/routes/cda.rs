//! The Content Delivery API: published content, read with a delivery token
//! (`api_key` + `access_token` headers, `environment` parameter). Served under `/cda/v3/…` on
//! the main port, and at `/v3/…` on the delivery port when `--cda-listen` is set, so the
//! delivery SDKs can use it as their host.

use crate::auth::DeliveryCtx;
use crate::body::Query;
use crate::error::{ApiError, ApiResult};
use crate::lookup::assets::{asset_json, base_url};
use crate::lookup::entries::{entry_json, project, ListParams};
use crate::lookup::schemas::{doc_json, not_found};
use crate::routes::listed;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use headwater_core::policy::{Action, Module, Op};
use headwater_core::query::{Cond, Op as QOp, Scalar};
use headwater_store::repo::entries::{self, Entry, ListQuery};
use headwater_store::repo::schemas::{self, Kind};
use headwater_store::repo::{assets, locales, taxonomies, Conn};
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v3/content_types", get(content_types))
        .route("/v3/content_types/{ct}", get(content_type))
        .route("/v3/content_types/{ct}/entries", get(list_entries))
        .route("/v3/content_types/{ct}/entries/{uid}", get(fetch_entry))
        .route("/v3/assets", get(list_assets))
        .route("/v3/assets/{uid}", get(fetch_asset))
        .route("/v3/taxonomies", get(list_taxonomies))
        .route("/v3/taxonomies/entries", get(taxonomy_entries))
        .route("/v3/taxonomies/{uid}", get(fetch_taxonomy))
        .route("/v3/taxonomies/{uid}/terms", get(list_terms))
        .route("/v3/taxonomies/{uid}/terms/{term}", get(fetch_term))
}

async fn locale_of(c: &mut Conn, ctx: &DeliveryCtx, q: &Query) -> ApiResult<String> {
    let code = q
        .get("locale")
        .filter(|l| !l.is_empty())
        .unwrap_or(&ctx.stack.master_locale)
        .to_lowercase();
    if locales::by_code(c, &ctx.space, &code).await?.is_none() {
        return Err(ApiError::invalid(
            "locale",
            format!("'{code}' is not a locale of this stack."),
        ));
    }
    Ok(code)
}

async fn check_type(c: &mut Conn, ctx: &DeliveryCtx, ct: &str) -> ApiResult<()> {
    schemas::get(c, &ctx.space, Kind::ContentType, ct)
        .await?
        .map(|_| ())
        .ok_or_else(|| not_found("Content Type", ct))
}

fn delivered(ctx: &DeliveryCtx, e: &Entry) -> Value {
    let mut v = entry_json(e, None);
    v["publish_details"] = json!({"environment": ctx.environment_uid, "locale": e.locale, "time": e.updated_at, "user": e.updated_by});
    v
}

async fn published(
    c: &mut Conn,
    postings: &std::sync::Arc<headwater_store::postings::Postings>,
    ctx: &DeliveryCtx,
    ct: &str,
    locale: &str,
    p: &ListParams<'_>,
) -> ApiResult<(Vec<Entry>, i64)> {
    Ok(entries::list(
        c,
        &ListQuery {
            stack_uid: &ctx.space,
            content_type_uid: ct,
            locale,
            master_locale: &ctx.stack.master_locale,
            filter: p.filter.as_ref(),
            sort: p.sort,
            skip: p.skip,
            limit: p.limit,
            published_in: Some(&ctx.environment_uid),
            postings: Some(postings),
        },
    )
    .await?)
}

async fn content_types(
    State(state): State<AppState>,
    ctx: DeliveryCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::ContentTypes, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let mut c = state.db().reader().await?;
    let (items, total) = schemas::list(&mut c, &ctx.space, Kind::ContentType, skip, limit).await?;
    Ok(listed(
        "content_types",
        items.iter().map(doc_json).collect(),
        q.flag("include_count").then_some(total),
    ))
}

async fn content_type(
    State(state): State<AppState>,
    ctx: DeliveryCtx,
    Path(ct): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::ContentTypes, Op::Read).on_content_type(&ct))?;
    let mut c = state.db().reader().await?;
    let d = schemas::get(&mut c, &ctx.space, Kind::ContentType, &ct)
        .await?
        .ok_or_else(|| not_found("Content Type", &ct))?;
    Ok(Json(json!({ "content_type": doc_json(&d) })))
}

async fn list_entries(
    State(state): State<AppState>,
    ctx: DeliveryCtx,
    Path(ct): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Entries, Op::Read).on_content_type(&ct))?;
    let mut p = ListParams::from_query(&q)?;
    let mut c = state.db().reader().await?;
    check_type(&mut c, &ctx, &ct).await?;
    crate::lookup::taxonomies::resolve_hierarchy(&mut c, &ctx.space, p.filter.as_mut()).await?;
    let locale = locale_of(&mut c, &ctx, &q).await?;
    let (items, total) = published(&mut c, state.db().postings(), &ctx, &ct, &locale, &p).await?;
    if q.flag("count") {
        return Ok(Json(json!({ "entries": total })));
    }
    let (only, except) = (q.all("only[BASE][]"), q.all("except[BASE][]"));
    let out = items
        .iter()
        .map(|e| {
            let mut v = delivered(&ctx, e);
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

async fn fetch_entry(
    State(state): State<AppState>,
    ctx: DeliveryCtx,
    Path((ct, uid)): Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Entries, Op::Read).on_content_type(&ct))?;
    let mut c = state.db().reader().await?;
    check_type(&mut c, &ctx, &ct).await?;
    let locale = locale_of(&mut c, &ctx, &q).await?;
    let p = ListParams {
        filter: Some(Cond::Cmp {
            path: vec!["uid".into()],
            op: QOp::Eq(Scalar::Text(uid)),
        }),
        sort: None,
        skip: 0,
        limit: 1,
    };
    let (items, _) = published(&mut c, state.db().postings(), &ctx, &ct, &locale, &p).await?;
    let e = items.first().ok_or_else(|| ApiError::not_found("entry"))?;
    Ok(Json(json!({ "entry": delivered(&ctx, e) })))
}

async fn published_assets(
    state: &AppState,
    ctx: &DeliveryCtx,
    q: &Query,
    headers: &HeaderMap,
    uid: Option<&str>,
) -> ApiResult<Vec<Value>> {
    let mut c = state.db().reader().await?;
    let locale = locale_of(&mut c, ctx, q).await?;
    let base = base_url(state, headers);
    let mut out = Vec::new();
    for (mut a, version) in
        assets::published(&mut c, &ctx.space, &ctx.environment_uid, &locale, uid).await?
    {
        // Deliver the published version's file, even when a newer one was uploaded since.
        if let Some((filename, content_type, size)) =
            assets::version_meta(&mut c, &ctx.space, &a.uid, version).await?
        {
            a.filename = filename;
            a.content_type = content_type;
            a.file_size = size;
            a.version = version;
        }
        let mut v = asset_json(&a, &ctx.stack.api_key, &ctx.branch, &base, None);
        v["publish_details"] = json!({"environment": ctx.environment_uid, "locale": locale});
        out.push(v);
    }
    Ok(out)
}

async fn list_assets(
    State(state): State<AppState>,
    ctx: DeliveryCtx,
    headers: HeaderMap,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Assets, Op::Read))?;
    let all = published_assets(&state, &ctx, &q, &headers, None).await?;
    let n = all.len() as i64;
    Ok(listed("assets", all, q.flag("include_count").then_some(n)))
}

async fn fetch_asset(
    State(state): State<AppState>,
    ctx: DeliveryCtx,
    headers: HeaderMap,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Assets, Op::Read))?;
    let mut all = published_assets(&state, &ctx, &q, &headers, Some(&uid)).await?;
    let a = all.pop().ok_or_else(|| ApiError::not_found("asset"))?;
    Ok(Json(json!({ "asset": a })))
}

/// The taxonomies published in the environment and locale: each the snapshot written when it
/// was published (`{"taxonomy": {…}, "terms": […]}`).
async fn published_taxonomies(
    c: &mut Conn,
    ctx: &DeliveryCtx,
    q: &Query,
    uid: Option<&str>,
) -> ApiResult<Vec<Value>> {
    let locale = locale_of(c, ctx, q).await?;
    taxonomies::published(c, &ctx.space, &ctx.environment_uid, &locale, uid)
        .await?
        .into_iter()
        .map(|p| {
            serde_json::from_str::<Value>(&p.snapshot).map_err(|e| {
                tracing::error!(taxonomy = %p.taxonomy_uid, error = %e, "unreadable taxonomy snapshot");
                ApiError::internal()
            })
        })
        .collect()
}

async fn published_taxonomy(
    state: &AppState,
    ctx: &DeliveryCtx,
    q: &Query,
    uid: &str,
) -> ApiResult<Value> {
    let mut c = state.db().reader().await?;
    published_taxonomies(&mut c, ctx, q, Some(uid))
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("taxonomy"))
}

async fn list_taxonomies(
    State(state): State<AppState>,
    ctx: DeliveryCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let mut c = state.db().reader().await?;
    let all = published_taxonomies(&mut c, &ctx, &q, None).await?;
    let n = all.len() as i64;
    let items = all
        .into_iter()
        .skip(skip as usize)
        .take(limit as usize)
        .map(|mut s| s["taxonomy"].take())
        .collect();
    Ok(listed(
        "taxonomies",
        items,
        q.flag("include_count").then_some(n),
    ))
}

async fn fetch_taxonomy(
    State(state): State<AppState>,
    ctx: DeliveryCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    let mut s = published_taxonomy(&state, &ctx, &q, &uid).await?;
    Ok(Json(json!({ "taxonomy": s["taxonomy"].take() })))
}

/// The published terms, parents first, down to `depth` levels when given.
async fn list_terms(
    State(state): State<AppState>,
    ctx: DeliveryCtx,
    Path(uid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let depth = match q.get("depth") {
        None | Some("") => 0,
        Some(_) => q.int("depth", 0, headwater_core::taxonomy::MAX_DEPTH)?,
    };
    let mut s = published_taxonomy(&state, &ctx, &q, &uid).await?;
    let terms: Vec<Value> = match s["terms"].take() {
        Value::Array(a) => a,
        _ => Vec::new(),
    };
    let matching: Vec<Value> = terms
        .into_iter()
        .filter(|t| depth == 0 || t["depth"].as_i64().is_some_and(|d| d <= depth))
        .collect();
    let n = matching.len() as i64;
    let items = matching
        .into_iter()
        .skip(skip as usize)
        .take(limit as usize)
        .collect();
    Ok(listed("terms", items, q.flag("include_count").then_some(n)))
}

async fn fetch_term(
    State(state): State<AppState>,
    ctx: DeliveryCtx,
    Path((uid, term)): Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Taxonomies, Op::Read))?;
    let mut s = published_taxonomy(&state, &ctx, &q, &uid).await?;
    let found = match s["terms"].take() {
        Value::Array(a) => a.into_iter().find(|t| t["uid"] == term.as_str()),
        _ => None,
    };
    let t = found.ok_or_else(|| ApiError::not_found("term"))?;
    Ok(Json(json!({ "term": t })))
}

/// `GET /v3/taxonomies/entries?query={"taxonomies.<uid>": …}`: the published entries of every
/// content type that match, newest first (or by `asc`/`desc`), each with its
/// `_content_type_uid`.
async fn taxonomy_entries(
    State(state): State<AppState>,
    ctx: DeliveryCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Entries, Op::Read))?;
    let mut p = ListParams::from_query(&q)?;
    let mut c = state.db().reader().await?;
    crate::lookup::taxonomies::resolve_hierarchy(&mut c, &ctx.space, p.filter.as_mut()).await?;
    let locale = locale_of(&mut c, &ctx, &q).await?;
    let (skip, limit) = (p.skip, p.limit);
    // Each content type's first skip + limit matches, merged and cut to the page.
    let per_type = ListParams {
        filter: p.filter.take(),
        sort: p.sort,
        skip: 0,
        limit: skip + limit,
    };
    let (types, _) = schemas::list(&mut c, &ctx.space, Kind::ContentType, 0, i64::MAX).await?;
    let mut found: Vec<Entry> = Vec::new();
    let mut total = 0;
    for t in &types {
        let (items, n) = published(
            &mut c,
            state.db().postings(),
            &ctx,
            &t.uid,
            &locale,
            &per_type,
        )
        .await?;
        total += n;
        found.extend(items);
    }
    if q.flag("count") {
        return Ok(Json(json!({ "entries": total })));
    }
    match per_type.sort {
        Some((field, asc)) => found.sort_by(|a, b| {
            let key = |e: &Entry| {
                entry_json(e, None)
                    .get(field)
                    .cloned()
                    .unwrap_or(Value::Null)
            };
            let o = compare_values(&key(a), &key(b));
            if asc {
                o
            } else {
                o.reverse()
            }
        }),
        None => found.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.uid.cmp(&b.uid))),
    }
    let (only, except) = (q.all("only[BASE][]"), q.all("except[BASE][]"));
    let out = found
        .iter()
        .skip(skip as usize)
        .take(limit as usize)
        .map(|e| {
            let mut v = delivered(&ctx, e);
            v["_content_type_uid"] = json!(e.content_type_uid);
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

fn compare_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => a.to_string().cmp(&b.to_string()),
    }
}
