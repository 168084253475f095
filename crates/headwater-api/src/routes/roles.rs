//! Stack roles (`/v3/roles`). The built-in roles can be read and assigned but not changed.

use crate::auth::StackCtx;
use crate::body::{Fields, JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_store::repo::audit::{self, Event};
use headwater_store::repo::roles::{self, Role};
use headwater_store::StoreError;
use serde_json::{json, Value};

fn role_json(r: &Role, api_key: &str) -> Value {
    json!({
        "uid": r.uid,
        "name": r.name,
        "description": r.description,
        "rules": r.rules,
        "api_key": api_key,
        "admin": r.builtin.as_deref() == Some("admin"),
        "default": r.builtin.is_some(),
        "users": [],
        "roles": [],
        "created_by": r.created_by,
        "updated_by": r.updated_by,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    })
}

/// Rules must be an array of objects each naming a module; the policy reads them as written.
fn validate_rules(v: Option<&Value>) -> ApiResult<Value> {
    match v {
        None | Some(Value::Null) => Ok(json!([])),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if item.get("module").and_then(Value::as_str).is_none() {
                    return Err(ApiError::invalid(
                        &format!("role.rules[{i}].module"),
                        "is required and must be a string.",
                    ));
                }
                if !item.get("acl").is_some_and(Value::is_object) {
                    return Err(ApiError::invalid(
                        &format!("role.rules[{i}].acl"),
                        "is required and must be an object.",
                    ));
                }
            }
            Ok(Value::Array(items.clone()))
        }
        Some(_) => Err(ApiError::invalid(
            "role.rules",
            "must be an array of rule objects.",
        )),
    }
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
    let mut c = state.db().reader().await?;
    let all = roles::list(&mut c, &ctx.stack.uid).await?;
    let count = q.flag("include_count").then_some(all.len() as i64);
    Ok(listed(
        "roles",
        all.iter()
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
    let map = body.wrapped("role")?;
    let f = Fields::new(map, "role");
    let name = f.req_str("name")?.trim().to_string();
    let description = f.opt_str("description")?.unwrap_or("").to_string();
    let rules = validate_rules(map.get("rules"))?;
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
    let map = body.wrapped("role")?;
    let f = Fields::new(map, "role");
    let name = match f.opt_str("name")? {
        Some(n) if !n.trim().is_empty() => n.trim().to_string(),
        Some(_) => return Err(ApiError::invalid("role.name", "must not be blank.")),
        None => current.name.clone(),
    };
    let description = f
        .opt_str("description")?
        .map(str::to_string)
        .unwrap_or(current.description.clone());
    let rules = match map.get("rules") {
        None => current.rules.clone(),
        v => validate_rules(v)?,
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
