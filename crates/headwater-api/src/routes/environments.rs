//! Publishing environments (`/v3/environments/{name}`), addressed by name as Contentstack does.

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use crate::wire::{
    self,
    environments::{EnvironmentBody, EnvironmentOut, EnvironmentUrl},
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_store::repo::audit::{self, Event};
use headwater_store::repo::environments::{self, Environment};
use headwater_store::StoreError;
use serde_json::{json, Value};

fn env_json(e: &Environment) -> Value {
    wire::to_value(&EnvironmentOut::from(e))
}

fn validate_name(name: &str) -> ApiResult<()> {
    if name.len() > 100
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.'))
    {
        return Err(ApiError::invalid(
            "environment.name",
            "may contain letters, digits, spaces, '-', '_' and '.', at most 100 characters.",
        ));
    }
    Ok(())
}

/// `urls` as sent (`null` empties it), or `current` when absent.
fn urls(sent: Option<Option<Vec<EnvironmentUrl>>>, current: Option<&Value>) -> Value {
    match sent {
        None => current.cloned().unwrap_or_else(|| json!([])),
        Some(list) => wire::to_value(&list.unwrap_or_default()),
    }
}

fn env_event<'a>(ctx: &'a StackCtx, action: &'a str, e: &'a Environment) -> Event<'a> {
    ctx.audit(action, "environment", &e.uid, &e.name)
}

fn duplicate(name: &str) -> ApiError {
    ApiError::invalid(
        "environment.name",
        format!("an environment named '{name}' already exists."),
    )
}

pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Environments, Op::Read))?;
    let (skip, limit, asc) = q.page()?;
    let mut c = state.db().reader().await?;
    let (items, total) = environments::list(&mut c, &ctx.stack.uid, skip, limit, asc).await?;
    if q.flag("count") {
        return Ok(Json(json!({ "environments": total })));
    }
    Ok(listed(
        "environments",
        items.iter().map(env_json).collect(),
        q.flag("include_count").then_some(total),
    ))
}

async fn load(state: &AppState, ctx: &StackCtx, name: &str) -> ApiResult<Environment> {
    let mut c = state.db().reader().await?;
    environments::by_name(&mut c, &ctx.stack.uid, name)
        .await?
        .ok_or_else(|| ApiError::not_found("environment"))
}

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Environments, Op::Read))?;
    let e = load(&state, &ctx, &name).await?;
    Ok(Json(json!({ "environment": env_json(&e) })))
}

pub async fn create(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Environments, Op::Create))?;
    let sent: EnvironmentBody = wire::parse(&body, "environment")?;
    let name = wire::required(sent.name, "environment.name")?;
    validate_name(&name)?;
    let urls = urls(sent.urls, None);
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let env = match environments::insert(&mut tx, &ctx.stack.uid, &name, &urls, &actor).await {
        Ok(e) => e,
        Err(StoreError::Conflict(_)) => return Err(duplicate(&name)),
        Err(e) => return Err(e.into()),
    };
    audit::record(&mut tx, &actor, env_event(&ctx, "create", &env)).await?;
    tx.commit().await?;
    Ok(created(
        "Environment created successfully.",
        "environment",
        env_json(&env),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(name): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Environments, Op::Update))?;
    let current = load(&state, &ctx, &name).await?;
    let sent: EnvironmentBody = wire::parse(&body, "environment")?;
    let new_name =
        wire::not_blank(sent.name, "environment.name")?.unwrap_or_else(|| current.name.clone());
    validate_name(&new_name)?;
    let urls = urls(sent.urls, Some(&current.urls));
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let env = match environments::update(
        &mut tx,
        &ctx.stack.uid,
        &current.uid,
        &new_name,
        &urls,
        &actor,
    )
    .await
    {
        Ok(Some(e)) => e,
        Ok(None) => return Err(ApiError::not_found("environment")),
        Err(StoreError::Conflict(_)) => return Err(duplicate(&new_name)),
        Err(e) => return Err(e.into()),
    };
    audit::record(&mut tx, &actor, env_event(&ctx, "update", &env)).await?;
    tx.commit().await?;
    Ok(updated(
        "Environment updated successfully.",
        "environment",
        env_json(&env),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(name): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Environments, Op::Delete))?;
    let current = load(&state, &ctx, &name).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    if !environments::delete(&mut tx, &ctx.stack.uid, &current.uid).await? {
        return Err(ApiError::not_found("environment"));
    }
    audit::record(&mut tx, &actor, env_event(&ctx, "delete", &current)).await?;
    tx.commit().await?;
    Ok(notice("Environment deleted successfully."))
}
