//! Delivery tokens (`/v3/stacks/delivery_tokens`): read-only credentials for the Content
//! Delivery API, scoped to environments. Managed by the stack's owner, admins and developers
//! with an authtoken (the policy decides). Unlike Contentstack, which returns a delivery
//! token's value on every read, Headwater shows it once, at creation, and stores only its hash.

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::error::{code, ApiError, ApiResult};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use crate::wire::{
    self,
    delivery_tokens::{
        DeliveryReadAcl, DeliveryScopeEnvironment, DeliveryScopeMetadata, DeliveryScopeOut,
        DeliveryTokenBody, DeliveryTokenOut,
    },
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_core::secret::{self, SecretKind};
use headwater_store::repo::audit::{self, Event};
use headwater_store::repo::delivery_tokens::{self, DeliveryToken, MAX_PER_STACK};
use headwater_store::repo::environments::{self, Environment};
use headwater_store::repo::Conn;
use headwater_store::StoreError;
use serde_json::{json, Value};

async fn token_json(c: &mut Conn, t: &DeliveryToken, secret: Option<&str>) -> ApiResult<Value> {
    let mut environments = Vec::new();
    for uid in &t.environments {
        if let Some(e) = environments::by_name(&mut *c, &t.stack_uid, uid).await? {
            environments.push(DeliveryScopeEnvironment {
                uid: e.uid,
                name: e.name,
                urls: e.urls,
                version: e.version,
            });
        }
    }
    let metadata = |suffix: &str| DeliveryScopeMetadata {
        uid: format!("{}_{suffix}", t.uid),
    };
    let scope = vec![
        DeliveryScopeOut::Environment {
            environments,
            acl: DeliveryReadAcl { read: true },
            metadata: metadata("env"),
        },
        DeliveryScopeOut::Branch {
            branches: t.branches(),
            acl: DeliveryReadAcl { read: true },
            metadata: metadata("branch"),
        },
    ];
    Ok(wire::to_value(&DeliveryTokenOut {
        uid: t.uid.clone(),
        name: t.name.clone(),
        description: t.description.clone(),
        scope,
        kind: "delivery".into(),
        token: secret.map(str::to_string),
        created_by: t.created_by.clone(),
        updated_by: t.updated_by.clone(),
        created_at: t.created_at.clone(),
        updated_at: t.updated_at.clone(),
    }))
}

/// Reads `name`, `description` and the environments of `scope` (names or uids, which must exist).
async fn validate(
    c: &mut Conn,
    stack_uid: &str,
    body: &JsonBody,
    current: Option<&DeliveryToken>,
) -> ApiResult<(String, String, Value, Vec<String>)> {
    let sent: DeliveryTokenBody = wire::parse(body, "token")?;
    let name = match (sent.name, current) {
        (None, Some(t)) => t.name.clone(),
        (name, _) => wire::required(name, "token.name")?,
    };
    let description = sent
        .description
        .or_else(|| current.map(|t| t.description.clone()))
        .unwrap_or_default();
    let scope = match (sent.scope, current) {
        (Some(scope), _) => scope.unwrap_or_default(),
        (None, Some(t)) => wire::from_value(&t.scope, "token.scope")?,
        (None, None) => return Err(ApiError::invalid("token.scope", "is required: [{\"module\": \"environment\", \"environments\": [...], \"acl\": {\"read\": true}}].")),
    };
    let of = |module: &'static str| scope.iter().filter(move |i| i.module == module);
    let names: Vec<String> = of("environment")
        .flat_map(|i| i.environments.iter().map(|e| e.name().to_string()))
        .collect();
    if names.is_empty() {
        // Contentstack keys this refusal by the scope member it lacks; a scope without a
        // branch or alias item also hears about that, as Contentstack's own suite expects.
        let mut e = ApiError::invalid(
            "token.scope.environments",
            "must name at least one environment.",
        );
        if of("branch").chain(of("branch_alias")).next().is_none() {
            e = e.field(
                "scope.branch_or_alias",
                "name a branch or alias with the environments (main is assumed when only environments are named).",
            );
        }
        return Err(e);
    }
    let mut envs: Vec<Environment> = Vec::new();
    for n in &names {
        let e = environments::by_name(&mut *c, stack_uid, n)
            .await?
            .ok_or_else(|| {
                ApiError::invalid(
                    "token.scope",
                    format!("'{n}' is not an environment of this stack."),
                )
            })?;
        envs.push(e);
    }
    let uids = envs.iter().map(|e| e.uid.clone()).collect();
    // Branches: uids of existing branches; `main` alone when the scope names none.
    let branch_names: Vec<String> = of("branch").flat_map(|i| i.branches.clone()).collect();
    for b in &branch_names {
        if headwater_store::repo::branches::get(c, stack_uid, b)
            .await?
            .is_none()
        {
            return Err(ApiError::invalid(
                "token.scope",
                format!("'{b}' is not a branch of this stack."),
            ));
        }
    }
    let mut stored_scope =
        json!([{"module": "environment", "environments": names, "acl": {"read": true}}]);
    if !branch_names.is_empty() {
        stored_scope
            .as_array_mut()
            .expect("array")
            .push(json!({"module": "branch", "branches": branch_names, "acl": {"read": true}}));
    }
    Ok((name, description, stored_scope, uids))
}

fn event<'a>(ctx: &'a StackCtx, action: &'a str, t: &'a DeliveryToken) -> Event<'a> {
    ctx.audit(action, "delivery_token", &t.uid, &t.name)
}

fn duplicate(name: &str) -> ApiError {
    ApiError::invalid(
        "token.name",
        format!("a delivery token named '{name}' already exists."),
    )
}

pub async fn create(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::DeliveryTokens, Op::Create))?;
    let actor = ctx.actor();
    let new_secret = secret::generate(SecretKind::DeliveryToken);
    let mut tx = state.db().begin().await?;
    let (name, description, scope, envs) = validate(&mut tx, &ctx.stack.uid, &body, None).await?;
    let fields = delivery_tokens::Fields {
        name: &name,
        description: &description,
        scope: &scope,
        environments: &envs,
    };
    let token = match delivery_tokens::create_capped(
        &mut tx,
        &ctx.stack.uid,
        &fields,
        &new_secret.hash,
        &actor,
    )
    .await
    {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code::DELIVERY_TOKEN_LIMIT,
                format!("This stack already has the maximum of {MAX_PER_STACK} delivery tokens."),
            ))
        }
        Err(StoreError::Conflict(_)) => return Err(duplicate(&name)),
        Err(e) => return Err(e.into()),
    };
    audit::record(&mut tx, &actor, event(&ctx, "create", &token)).await?;
    let out = token_json(&mut tx, &token, Some(&new_secret.plaintext)).await?;
    tx.commit().await?;
    Ok(created(
        "Delivery Token created successfully.",
        "token",
        out,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::DeliveryTokens, Op::Read))?;
    let mut c = state.db().reader().await?;
    let all = delivery_tokens::list(&mut c, &ctx.stack.uid).await?;
    let mut out = Vec::new();
    for t in &all {
        out.push(token_json(&mut c, t, None).await?);
    }
    let n = out.len() as i64;
    Ok(listed("tokens", out, q.flag("include_count").then_some(n)))
}

async fn load(state: &AppState, ctx: &StackCtx, uid: &str) -> ApiResult<DeliveryToken> {
    let mut c = state.db().reader().await?;
    delivery_tokens::get(&mut c, &ctx.stack.uid, uid)
        .await?
        .ok_or_else(|| ApiError::not_found("delivery token"))
}

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::DeliveryTokens, Op::Read))?;
    let t = load(&state, &ctx, &uid).await?;
    let mut c = state.db().reader().await?;
    Ok(Json(
        json!({ "token": token_json(&mut c, &t, None).await? }),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::DeliveryTokens, Op::Update))?;
    let current = load(&state, &ctx, &uid).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let (name, description, scope, envs) =
        validate(&mut tx, &ctx.stack.uid, &body, Some(&current)).await?;
    let fields = delivery_tokens::Fields {
        name: &name,
        description: &description,
        scope: &scope,
        environments: &envs,
    };
    let token = match delivery_tokens::update(&mut tx, &ctx.stack.uid, &uid, &fields, &actor).await
    {
        Ok(Some(t)) => t,
        Ok(None) => return Err(ApiError::not_found("delivery token")),
        Err(StoreError::Conflict(_)) => return Err(duplicate(&name)),
        Err(e) => return Err(e.into()),
    };
    audit::record(&mut tx, &actor, event(&ctx, "update", &token)).await?;
    let out = token_json(&mut tx, &token, None).await?;
    tx.commit().await?;
    Ok(updated(
        "Delivery Token updated successfully.",
        "token",
        out,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::DeliveryTokens, Op::Delete))?;
    let current = load(&state, &ctx, &uid).await?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    delivery_tokens::delete(&mut tx, &ctx.stack.uid, &uid).await?;
    audit::record(&mut tx, &actor, event(&ctx, "delete", &current)).await?;
    tx.commit().await?;
    Ok(notice("Delivery Token deleted successfully."))
}
