//! The audit log (`/v3/audit-logs`): who changed what, a person or a management token.

use crate::auth::StackCtx;
use crate::body::Query;
use crate::error::{ApiError, ApiResult};
use crate::routes::listed;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_store::repo::audit::{self, AuditEntry};
use serde_json::{json, Value};

fn entry_json(e: &AuditEntry) -> Value {
    json!({
        "uid": e.uid,
        "stack": e.stack_uid,
        "created_at": e.created_at,
        "created_by": e.actor_uid,
        "actor": {"type": e.actor_kind, "uid": e.actor_uid},
        "module": e.module,
        "event_type": e.action,
        "metadata": {"uid": e.target_uid, "title": e.target_title},
    })
}

pub async fn list(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::AuditLog, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let mut c = state.db().reader().await?;
    let (items, total) = audit::list(&mut c, &ctx.stack.uid, skip, limit).await?;
    Ok(listed(
        "logs",
        items.iter().map(entry_json).collect(),
        q.flag("include_count").then_some(total),
    ))
}

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::AuditLog, Op::Read))?;
    let mut c = state.db().reader().await?;
    let e = audit::get(&mut c, &ctx.stack.uid, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("audit log item"))?;
    Ok(Json(json!({ "log": entry_json(&e) })))
}
