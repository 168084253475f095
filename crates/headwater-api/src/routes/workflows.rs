//! Workflows (`/v3/workflows`): a workflow gives the content types it names (on the branches it
//! names) a set of stages; each stage says who may move an entry into it (`SYS_ACL`) and which
//! stages may follow it (`next_available_stages`). Publish rules are in
//! [`super::publish_rules`], entry stages and publish requests in [`super::entry_workflow`].

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::publish::rules::{reach, strings};
use crate::routes::{created, listed, updated};
use crate::state::AppState;
use crate::wire::{
    self,
    workflows::{WorkflowBody, WorkflowOut, WorkflowStage},
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Op};
use headwater_store::repo::audit;
use headwater_store::repo::workflows::{self, Workflow, WorkflowWrite};
use headwater_store::repo::Conn;
use serde_json::{json, Value};

fn wf_json(ctx: &StackCtx, w: &Workflow) -> Value {
    wire::to_value(&WorkflowOut::new(w, &ctx.stack.api_key, &ctx.stack.org_uid))
}

/// Normalizes the stages: each needs a name; a uid is given to those without one; who may move
/// entries in (`SYS_ACL`) defaults to everyone and what may follow to any stage.
fn normalize_stages(sent: Option<Vec<WorkflowStage>>, current: Option<&Value>) -> ApiResult<Value> {
    let stages = match (sent, current) {
        (None, Some(c)) => return Ok(c.clone()),
        (Some(a), _) if !a.is_empty() => a,
        _ => {
            return Err(ApiError::invalid(
                "workflow.workflow_stages",
                "is required: a non-empty array of stages.",
            ))
        }
    };
    let mut out = Vec::with_capacity(stages.len());
    let mut seen = std::collections::HashSet::new();
    for (i, s) in stages.into_iter().enumerate() {
        let name = match s.name {
            Some(n) if !n.trim().is_empty() => n,
            _ => {
                return Err(ApiError::invalid(
                    &format!("workflow.workflow_stages[{i}].name"),
                    "is required.",
                ))
            }
        };
        let uid = match s.uid {
            Some(u) if !u.is_empty() => u,
            _ => headwater_core::ids::new_uid(),
        };
        if !seen.insert(uid.clone()) {
            return Err(ApiError::invalid(
                &format!("workflow.workflow_stages[{i}].uid"),
                format!("'{uid}' names two stages."),
            ));
        }
        let mut m = s.extra;
        m.insert("name".into(), json!(name));
        m.insert("uid".into(), json!(uid));
        m.entry("next_available_stages")
            .or_insert_with(|| json!(["$all"]));
        m.entry("SYS_ACL").or_insert_with(
            || json!({"others": {}, "users": {"uids": ["$all"]}, "roles": {"uids": []}}),
        );
        m.entry("color").or_insert_with(|| json!("#2196f3"));
        out.push(Value::Object(m));
    }
    Ok(Value::Array(out))
}

async fn workflow_from_body(
    c: &mut Conn,
    ctx: &StackCtx,
    body: &JsonBody,
    current: Option<&Workflow>,
) -> ApiResult<(String, String, bool, Value, Value, Value, Value)> {
    let sent: WorkflowBody = wire::parse(body, "workflow")?;
    let name = match (sent.name, current) {
        (Some(n), _) if !n.trim().is_empty() => n.trim().to_string(),
        (None, Some(w)) => w.name.clone(),
        _ => return Err(ApiError::invalid("workflow.name", "is required.")),
    };
    let description = sent
        .description
        .or_else(|| current.map(|w| w.description.clone()))
        .unwrap_or_default();
    let enabled = sent.enabled.or(current.map(|w| w.enabled)).unwrap_or(true);
    let (branches, content_types) = reach(
        c,
        ctx,
        (sent.branches, sent.content_types),
        "workflow",
        current.map(|w| (&w.branches, &w.content_types)),
    )
    .await?;
    let admin_users = match sent.admin_users {
        Some(m) => Value::Object(m),
        None => current.map_or_else(
            || json!({"users": [], "roles": []}),
            |w| w.admin_users.clone(),
        ),
    };
    let stages = normalize_stages(sent.workflow_stages, current.map(|w| &w.stages))?;
    Ok((
        name,
        description,
        enabled,
        branches,
        content_types,
        admin_users,
        stages,
    ))
}

/// One enabled workflow per content type and branch: refuses an overlap.
async fn no_overlap(
    c: &mut Conn,
    ctx: &StackCtx,
    uid: Option<&str>,
    branches: &Value,
    content_types: &Value,
) -> ApiResult<()> {
    for other in workflows::workflows(c, &ctx.stack.uid).await? {
        if Some(other.uid.as_str()) == uid || !other.enabled {
            continue;
        }
        let shares_branch = strings(branches)
            .iter()
            .any(|b| strings(&other.branches).contains(b));
        let mine = strings(content_types);
        let theirs = strings(&other.content_types);
        let shares_type = mine.iter().any(|t| t == "$all" || theirs.contains(t))
            || theirs.iter().any(|t| t == "$all");
        if shares_branch && shares_type {
            return Err(ApiError::invalid(
                "workflow.content_types",
                format!(
                    "the workflow '{}' already covers these content types on these branches; a content type follows one workflow.",
                    other.name
                ),
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
    ctx.authorize(&Action::new(Module::Workflows, Op::Read))?;
    let mut c = state.db().reader().await?;
    let all = workflows::workflows(&mut c, &ctx.stack.uid).await?;
    let total = all.len() as i64;
    Ok(listed(
        "workflows",
        all.iter().map(|w| wf_json(&ctx, w)).collect(),
        q.flag("include_count").then_some(total),
    ))
}

async fn load_workflow(c: &mut Conn, ctx: &StackCtx, uid: &str) -> ApiResult<Workflow> {
    workflows::workflow(c, &ctx.stack.uid, uid)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow"))
}

pub async fn fetch(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Workflows, Op::Read))?;
    let mut c = state.db().reader().await?;
    let w = load_workflow(&mut c, &ctx, &uid).await?;
    Ok(Json(json!({ "workflow": wf_json(&ctx, &w) })))
}

pub async fn create(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Workflows, Op::Create))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let (name, description, enabled, branches, content_types, admin_users, stages) =
        workflow_from_body(&mut tx, &ctx, &body, None).await?;
    if enabled {
        no_overlap(&mut tx, &ctx, None, &branches, &content_types).await?;
    }
    let w = workflows::insert_workflow(
        &mut tx,
        &ctx.stack.uid,
        &WorkflowWrite {
            name: &name,
            description: &description,
            enabled,
            branches: &branches,
            content_types: &content_types,
            admin_users: &admin_users,
            stages: &stages,
        },
        &actor,
    )
    .await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("create", "workflow", &w.uid, &w.name),
    )
    .await?;
    tx.commit().await?;
    Ok(created(
        "Workflow created successfully.",
        "workflow",
        wf_json(&ctx, &w),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Workflows, Op::Update))?;
    let mut tx = state.db().begin().await?;
    let current = load_workflow(&mut tx, &ctx, &uid).await?;
    let (name, description, enabled, branches, content_types, admin_users, stages) =
        workflow_from_body(&mut tx, &ctx, &body, Some(&current)).await?;
    if enabled {
        no_overlap(&mut tx, &ctx, Some(&uid), &branches, &content_types).await?;
    }
    let w = write_workflow(
        &mut tx,
        &ctx,
        &uid,
        &WorkflowWrite {
            name: &name,
            description: &description,
            enabled,
            branches: &branches,
            content_types: &content_types,
            admin_users: &admin_users,
            stages: &stages,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(updated(
        "Workflow updated successfully.",
        "workflow",
        wf_json(&ctx, &w),
    ))
}

async fn write_workflow(
    tx: &mut Conn,
    ctx: &StackCtx,
    uid: &str,
    w: &WorkflowWrite<'_>,
) -> ApiResult<Workflow> {
    let actor = ctx.actor();
    let w = workflows::update_workflow(tx, &ctx.stack.uid, uid, w, &actor)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow"))?;
    audit::record(tx, &actor, ctx.audit("update", "workflow", &w.uid, &w.name)).await?;
    Ok(w)
}

async fn set_enabled(
    state: &AppState,
    ctx: &StackCtx,
    uid: &str,
    enabled: bool,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Workflows, Op::Update))?;
    let mut tx = state.db().begin().await?;
    let current = load_workflow(&mut tx, ctx, uid).await?;
    if enabled {
        no_overlap(
            &mut tx,
            ctx,
            Some(uid),
            &current.branches,
            &current.content_types,
        )
        .await?;
    }
    let w = write_workflow(
        &mut tx,
        ctx,
        uid,
        &WorkflowWrite {
            name: &current.name,
            description: &current.description,
            enabled,
            branches: &current.branches,
            content_types: &current.content_types,
            admin_users: &current.admin_users,
            stages: &current.stages,
        },
    )
    .await?;
    tx.commit().await?;
    let notice = if enabled {
        "Workflow enabled successfully."
    } else {
        "Workflow disabled successfully."
    };
    Ok(updated(notice, "workflow", wf_json(ctx, &w)))
}

/// `GET /v3/workflows/{uid}/enable` (a GET, as Contentstack has it).
pub async fn enable(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    set_enabled(&state, &ctx, &uid, true).await
}

pub async fn disable(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    set_enabled(&state, &ctx, &uid, false).await
}

pub async fn delete(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Workflows, Op::Delete))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let w = load_workflow(&mut tx, &ctx, &uid).await?;
    let used_by: Vec<String> = workflows::rules(&mut tx, &ctx.stack.uid)
        .await?
        .into_iter()
        .filter(|r| r.workflow_uid.as_deref() == Some(uid.as_str()))
        .map(|r| r.uid)
        .collect();
    if !used_by.is_empty() {
        return Err(ApiError::invalid(
            "workflow",
            format!(
                "publish rules depend on this workflow's stages: {}. Delete or change them first.",
                used_by.join(", ")
            ),
        ));
    }
    workflows::delete_workflow(&mut tx, &ctx.stack.uid, &uid).await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("delete", "workflow", &w.uid, &w.name),
    )
    .await?;
    tx.commit().await?;
    let mut body = wf_json(&ctx, &w);
    body["deleted_at"] = json!(headwater_core::clock::now());
    Ok(updated("Workflow deleted successfully.", "workflow", body))
}
