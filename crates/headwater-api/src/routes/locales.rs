//! Languages of a stack (`/v3/locales/{code}`). The master locale comes with the stack.

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use crate::wire::{
    self,
    locales::{LocaleBody, LocaleOut},
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_store::repo::audit::{self, Event};
use headwater_store::repo::locales::{self, Locale};
use headwater_store::StoreError;
use serde_json::{json, Value};

const LOCALE_EXISTS: i64 = 247;

fn locale_json(l: &Locale) -> Value {
    wire::to_value(&LocaleOut::from(l))
}

/// Locale codes: lowercase letters, digits and '-', like `en-us` or `zh-hans-cn`.
pub(crate) fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 16
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn event<'a>(ctx: &'a StackCtx, action: &'a str, l: &'a Locale) -> Event<'a> {
    ctx.audit(action, "locale", &l.uid, &l.code)
}

async fn check_fallback(
    state: &AppState,
    ctx: &StackCtx,
    code: &str,
    fallback: Option<&str>,
) -> ApiResult<()> {
    if let Some(f) = fallback {
        if f == code {
            return Err(ApiError::invalid(
                "locale.fallback_locale",
                "cannot be the locale itself.",
            ));
        }
        let mut c = state.db().reader().await?;
        if locales::by_code(&mut c, &ctx.space, f).await?.is_none() {
            return Err(ApiError::invalid(
                "locale.fallback_locale",
                format!("'{f}' is not a locale of this stack."),
            ));
        }
    }
    Ok(())
}

pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Locales, Op::Read))?;
    let mut c = state.db().reader().await?;
    let all = locales::list(&mut c, &ctx.space).await?;
    let n = all.len() as i64;
    Ok(listed(
        "locales",
        all.iter().map(locale_json).collect(),
        q.flag("include_count").then_some(n),
    ))
}

async fn load(state: &AppState, ctx: &StackCtx, code: &str) -> ApiResult<Locale> {
    let mut c = state.db().reader().await?;
    locales::by_code(&mut c, &ctx.space, code)
        .await?
        .ok_or_else(|| ApiError::not_found("locale"))
}

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(code): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Locales, Op::Read))?;
    let l = load(&state, &ctx, &code).await?;
    Ok(Json(json!({ "locale": locale_json(&l) })))
}

pub async fn create(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Locales, Op::Create))?;
    let sent: LocaleBody = wire::parse(&body, "locale")?;
    let code = wire::required(sent.code, "locale.code")?.to_lowercase();
    if !valid_code(&code) {
        return Err(ApiError::invalid(
            "locale.code",
            "must be a locale code such as fr-fr.",
        ));
    }
    let name = sent
        .name
        .unwrap_or_else(|| headwater_store::locale_name(&code));
    let fallback = sent
        .fallback_locale
        .flatten()
        .or_else(|| Some(ctx.stack.master_locale.clone()));
    check_fallback(&state, &ctx, &code, fallback.as_deref()).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let l = match locales::insert(
        &mut tx,
        &ctx.space,
        &code,
        &name,
        fallback.as_deref(),
        &actor,
    )
    .await
    {
        Ok(l) => l,
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                LOCALE_EXISTS,
                format!("The language '{code}' already exists in this stack."),
            )
            .field("code", "is not unique."))
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(&mut tx, &actor, event(&ctx, "create", &l)).await?;
    tx.commit().await?;
    Ok(created(
        "Language added successfully.",
        "locale",
        locale_json(&l),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(code): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Locales, Op::Update))?;
    let current = load(&state, &ctx, &code).await?;
    // `code` in the body is read (it must be a string) but never applied: the path names the
    // locale, and Contentstack's update changes only the name and the fallback.
    let sent: LocaleBody = wire::parse(&body, "locale")?;
    let name = sent.name.unwrap_or(current.name.clone());
    let fallback = sent
        .fallback_locale
        .unwrap_or_else(|| current.fallback_locale.clone());
    let fallback = if code == ctx.stack.master_locale {
        None
    } else {
        fallback
    };
    check_fallback(&state, &ctx, &code, fallback.as_deref()).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let l = locales::update(
        &mut tx,
        &ctx.space,
        &code,
        &name,
        fallback.as_deref(),
        &actor,
    )
    .await?
    .ok_or_else(|| ApiError::not_found("locale"))?;
    audit::record(&mut tx, &actor, event(&ctx, "update", &l)).await?;
    tx.commit().await?;
    Ok(updated(
        "Language updated successfully.",
        "locale",
        locale_json(&l),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(code): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Locales, Op::Delete))?;
    let current = load(&state, &ctx, &code).await?;
    if code == ctx.stack.master_locale {
        return Err(ApiError::invalid(
            "locale",
            "the master locale cannot be removed.",
        ));
    }
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    locales::delete(&mut tx, &ctx.space, &code).await?;
    audit::record(&mut tx, &actor, event(&ctx, "delete", &current)).await?;
    tx.commit().await?;
    Ok(notice("Language removed successfully."))
}
