//! Stack roles (`/v3/roles`). The built-in roles can be read and assigned but not changed.

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use crate::wire::{
    self,
    roles::{RoleBody, RoleOut, RoleRule},
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_store::repo::audit::{self, Event};
use headwater_store::repo::roles::{self, Role};
use headwater_store::StoreError;
use serde_json::{json, Value};

fn role_json(r: &Role, api_key: &str) -> Value {
    wire::to_value(&RoleOut::new(r, api_key))
}

/// Rules as sent (`null` empties them); each names a module and has an `acl` object, and the
/// policy reads them as written.
fn rules(sent: Option<Vec<RoleRule>>) -> Value {
    wire::to_value(&sent.unwrap_or_default())
}

fn role_event<'a>(ctx: &'a StackCtx, action: &'a str, r: &'a Role) -> Event<'a> {
    ctx.audit(action, "role", &r.uid, &r.name)
}

fn duplicate(name: &str) -> ApiError {
    ApiError::invalid(
        "role.name",
        format!("a role named '{name}' already exists."),
    )
}

pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Roles, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let mut c = state.db().reader().await?;
    let all = roles::list(&mut c, &ctx.stack.uid).await?;
    let count = q.flag("include_count").then_some(all.len() as i64);
    Ok(listed(
        "roles",
        all.iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|r| role_json(r, &ctx.stack.api_key))
            .collect(),
        count,
    ))
}

async fn load(state: &AppState, ctx: &StackCtx, uid: &str) -> ApiResult<Role> {
    let mut c = state.db().reader().await?;
    roles::get(&mut c, &ctx.stack.uid, uid)
        .await?
        .ok_or_else(|| ApiError::not_found("role"))
}

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Roles, Op::Read))?;
    let r = load(&state, &ctx, &uid).await?;
    Ok(Json(json!({ "role": role_json(&r, &ctx.stack.api_key) })))
}

pub async fn create(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Roles, Op::Create))?;
    let sent: RoleBody = wire::parse(&body, "role")?;
    let name = wire::required(sent.name, "role.name")?;
    let description = sent.description.unwrap_or_default();
    let rules = rules(sent.rules.flatten());
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let role = match roles::insert(
        &mut tx,
        &ctx.stack.uid,
        &name,
        &description,
        None,
        &rules,
        &actor,
    )
    .await
    {
        Ok(r) => r,
        Err(StoreError::Conflict(_)) => return Err(duplicate(&name)),
        Err(e) => return Err(e.into()),
    };
    audit::record(&mut tx, &actor, role_event(&ctx, "create", &role)).await?;
    tx.commit().await?;
    Ok(created(
        "The role created successfully.",
        "role",
        role_json(&role, &ctx.stack.api_key),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Roles, Op::Update))?;
    let current = load(&state, &ctx, &uid).await?;
    if current.builtin.is_some() {
        return Err(ApiError::invalid(
            "role",
            "built-in roles cannot be changed.",
        ));
    }
    let sent: RoleBody = wire::parse(&body, "role")?;
    let name = wire::not_blank(sent.name, "role.name")?.unwrap_or_else(|| current.name.clone());
    let description = sent
        .description
        .unwrap_or_else(|| current.description.clone());
    let rules = match sent.rules {
        None => current.rules.clone(),
        Some(sent) => rules(sent),
    };
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let role = match roles::update(
        &mut tx,
        &ctx.stack.uid,
        &uid,
        &name,
        &description,
        &rules,
        &actor,
    )
    .await
    {
        Ok(Some(r)) => r,
        Ok(None) => return Err(ApiError::not_found("role")),
        Err(StoreError::Conflict(_)) => return Err(duplicate(&name)),
        Err(e) => return Err(e.into()),
    };
    audit::record(&mut tx, &actor, role_event(&ctx, "update", &role)).await?;
    tx.commit().await?;
    Ok(updated(
        "The role updated successfully.",
        "role",
        role_json(&role, &ctx.stack.api_key),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Roles, Op::Delete))?;
    let current = load(&state, &ctx, &uid).await?;
    if current.builtin.is_some() {
        return Err(ApiError::invalid(
            "role",
            "built-in roles cannot be deleted.",
        ));
    }
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    if roles::member_count(&mut tx, &uid).await? > 0 {
        return Err(ApiError::invalid(
            "role",
            "is assigned to users of this stack; give them another role first.",
        ));
    }
    roles::delete(&mut tx, &ctx.stack.uid, &uid).await?;
    audit::record(&mut tx, &actor, role_event(&ctx, "delete", &current)).await?;
    tx.commit().await?;
    Ok(notice("The role deleted successfully."))
}
