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
use headwater_store::repo::{assets, locales, Conn};
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v3/content_types", get(content_types))
        .route("/v3/content_types/{ct}", get(content_type))
        .route("/v3/content_types/{ct}/entries", get(list_entries))
        .route("/v3/content_types/{ct}/entries/{uid}", get(fetch_entry))
        .route("/v3/assets", get(list_assets))
        .route("/v3/assets/{uid}", get(fetch_asset))
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
    let (items, total) = published(&mut c, &ctx, &ct, &locale, &p).await?;
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
    let (items, _) = published(&mut c, &ctx, &ct, &locale, &p).await?;
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
