//! Branches (`/v3/stacks/branches`) and branch aliases (`/v3/stacks/branch_aliases`).
//!
//! A branch is a copy of another branch's content (content types, global fields, locales,
//! entries with their history, assets sharing the stored files) that then lives on its own;
//! every content request picks its branch with the `branch` header (a branch uid or an alias,
//! `main` by default). Creating and deleting branches and assigning aliases take an authtoken:
//! the policy refuses management tokens.

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::error::{code, ApiError, ApiResult};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use crate::wire::{
    self,
    branches::{AliasBody, AliasOut, BranchBody, BranchOut},
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_store::repo::assets;
use headwater_store::repo::audit;
use headwater_store::repo::branches::{self, Alias, Branch, MAIN};
use serde_json::{json, Value};

/// Branch and alias uids: lowercase letters, digits and `_`, at most 15 characters.
fn valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 15
        && uid
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn branch_error(message: String, field: &str, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code::BRANCH_NOT_FOUND,
        message,
    )
    .field(crate::error::error_key(field), what)
}

fn unknown_branch(uid: &str) -> ApiError {
    branch_error(
        format!("The branch '{uid}' doesn't exist in this stack."),
        "branch",
        "is not valid.",
    )
}

fn branch_json(b: &Branch, aliases: &[Alias]) -> Value {
    wire::to_value(&BranchOut::new(b, aliases))
}

fn alias_json(a: &Alias, target: Option<&Branch>) -> Value {
    wire::to_value(&AliasOut::new(a, target))
}

pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Branches, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let mut c = state.db().reader().await?;
    let all = branches::list(&mut c, &ctx.stack.uid).await?;
    let aliases = branches::aliases(&mut c, &ctx.stack.uid).await?;
    let total = all.len() as i64;
    if q.flag("count") {
        return Ok(Json(json!({ "branches": total })));
    }
    let items = all
        .iter()
        .skip(skip as usize)
        .take(limit as usize)
        .map(|b| branch_json(b, &aliases))
        .collect();
    Ok(listed(
        "branches",
        items,
        q.flag("include_count").then_some(total),
    ))
}

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Branches, Op::Read))?;
    let mut c = state.db().reader().await?;
    let b = branches::get(&mut c, &ctx.stack.uid, &uid)
        .await?
        .ok_or_else(|| unknown_branch(&uid))?;
    let aliases = branches::aliases(&mut c, &ctx.stack.uid).await?;
    Ok(Json(json!({ "branch": branch_json(&b, &aliases) })))
}

/// `POST /v3/stacks/branches` `{"branch": {"uid", "source"}}`: copies `source` (default `main`)
/// in one transaction.
pub async fn create(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Branches, Op::Create))?;
    let sent: BranchBody = wire::parse(&body, "branch")?;
    let uid = wire::required(sent.uid, "branch.uid")?;
    let source = sent
        .source
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| MAIN.to_string());
    if !valid_uid(&uid) {
        return Err(branch_error(
            format!("The branch uid '{uid}' is not valid: use at most 15 lowercase letters, digits or '_'."),
            "branch.uid",
            "may contain at most 15 lowercase letters, digits or '_'.",
        ));
    }
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    if branches::get(&mut tx, &ctx.stack.uid, &uid)
        .await?
        .is_some()
        || branches::alias(&mut tx, &ctx.stack.uid, &uid)
            .await?
            .is_some()
    {
        return Err(branch_error(
            format!("A branch or alias named '{uid}' already exists in this stack."),
            "branch.uid",
            "is already taken.",
        ));
    }
    let from = branches::get(&mut tx, &ctx.stack.uid, &source)
        .await?
        .ok_or_else(|| {
            branch_error(
                format!("The source branch '{source}' doesn't exist in this stack."),
                "branch.source",
                "is not valid.",
            )
        })?;
    let b = branches::create(&mut tx, &ctx.stack.uid, &uid, &from, &actor).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("create", "branch", &b.uid, &b.uid),
    )
    .await?;
    tx.commit().await?;
    Ok(created(
        "Branch created successfully.",
        "branch",
        branch_json(&b, &[]),
    ))
}

/// `DELETE /v3/stacks/branches/{uid}`: never `main`, never a branch an alias points at (the
/// alias would silently lose its target); the branch's content goes with it.
pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Branches, Op::Delete))?;
    if uid == MAIN {
        return Err(branch_error(
            "The main branch cannot be deleted.".into(),
            "branch",
            "is the main branch.",
        ));
    }
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let b = branches::get(&mut tx, &ctx.stack.uid, &uid)
        .await?
        .ok_or_else(|| unknown_branch(&uid))?;
    let pointing: Vec<String> = branches::aliases(&mut tx, &ctx.stack.uid)
        .await?
        .into_iter()
        .filter(|a| a.target_branch == uid)
        .map(|a| a.uid)
        .collect();
    if !pointing.is_empty() {
        return Err(branch_error(
            format!(
                "The branch '{uid}' cannot be deleted while aliases point at it: {}. Re-point or delete them first.",
                pointing.join(", ")
            ),
            "branch",
            "has aliases.",
        ));
    }
    let keys = branches::storage_keys(&mut tx, &b.space_uid).await?;
    branches::delete(&mut tx, &ctx.stack.uid, &uid).await?;
    let keys = assets::unreferenced(&mut tx, keys).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("delete", "branch", &b.uid, &b.uid),
    )
    .await?;
    tx.commit().await?;
    // Files no other branch shares go after the rows (a crash in between leaves a stray file).
    for k in keys {
        state.storage().delete(&k).await;
    }
    Ok(notice("Branch deleted successfully."))
}

pub async fn list_aliases(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::BranchAliases, Op::Read))?;
    let mut c = state.db().reader().await?;
    let all = branches::aliases(&mut c, &ctx.stack.uid).await?;
    let all_branches = branches::list(&mut c, &ctx.stack.uid).await?;
    let total = all.len() as i64;
    let items = all
        .iter()
        .map(|a| alias_json(a, all_branches.iter().find(|b| b.uid == a.target_branch)))
        .collect();
    Ok(listed(
        "branch_aliases",
        items,
        q.flag("include_count").then_some(total),
    ))
}

pub async fn fetch_alias(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::BranchAliases, Op::Read))?;
    let mut c = state.db().reader().await?;
    let a = branches::alias(&mut c, &ctx.stack.uid, &uid)
        .await?
        .ok_or_else(|| unknown_alias(&uid))?;
    let target = branches::get(&mut c, &ctx.stack.uid, &a.target_branch).await?;
    Ok(Json(
        json!({ "branch_alias": alias_json(&a, target.as_ref()) }),
    ))
}

fn unknown_alias(uid: &str) -> ApiError {
    branch_error(
        format!("The branch alias '{uid}' doesn't exist in this stack."),
        "branch_alias",
        "is not valid.",
    )
}

/// `PUT /v3/stacks/branch_aliases/{alias}` `{"branch_alias": {"target_branch"}}`: creates the
/// alias or re-points it.
pub async fn assign_alias(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::BranchAliases, Op::Update))?;
    let sent: AliasBody = wire::parse(&body, "branch_alias")?;
    let target = wire::required(sent.target_branch, "branch_alias.target_branch")?;
    if !valid_uid(&uid) || uid == MAIN {
        return Err(branch_error(
            format!("The alias uid '{uid}' is not valid: use at most 15 lowercase letters, digits or '_', and not 'main'."),
            "branch_alias.uid",
            "may contain at most 15 lowercase letters, digits or '_'.",
        ));
    }
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    if branches::get(&mut tx, &ctx.stack.uid, &uid)
        .await?
        .is_some()
    {
        return Err(branch_error(
            format!("'{uid}' is the name of a branch; an alias needs a name of its own."),
            "branch_alias.uid",
            "is already taken.",
        ));
    }
    let b = branches::get(&mut tx, &ctx.stack.uid, &target)
        .await?
        .ok_or_else(|| {
            branch_error(
                format!("The target branch '{target}' doesn't exist in this stack."),
                "branch_alias.target_branch",
                "is not valid.",
            )
        })?;
    let a = branches::assign_alias(&mut tx, &ctx.stack.uid, &uid, &target, &actor).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("update", "branch_alias", &a.uid, &target),
    )
    .await?;
    tx.commit().await?;
    Ok(updated(
        "Branch alias assigned successfully.",
        "branch_alias",
        alias_json(&a, Some(&b)),
    ))
}

pub async fn delete_alias(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::BranchAliases, Op::Delete))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let a = branches::alias(&mut tx, &ctx.stack.uid, &uid)
        .await?
        .ok_or_else(|| unknown_alias(&uid))?;
    branches::delete_alias(&mut tx, &ctx.stack.uid, &uid).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("delete", "branch_alias", &a.uid, &a.target_branch),
    )
    .await?;
    tx.commit().await?;
    Ok(notice("Branch alias deleted successfully."))
}
