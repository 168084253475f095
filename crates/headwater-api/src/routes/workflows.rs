//! Workflows (`/v3/workflows`), publish rules (`/v3/workflows/publishing_rules`), entry stages
//! and publish requests (`POST …/entries/{uid}/workflow`).
//!
//! - A workflow gives the content types it names (on the branches it names) a set of stages;
//!   each stage says who may move an entry into it (`SYS_ACL`) and which stages may follow it
//!   (`next_available_stages`).
//! - A publish rule says that publishing (or unpublishing) entries of some content types, in some
//!   locales, to one environment needs approval by named users or roles — optionally only once
//!   the entry is in a given stage. A publish by anyone but an approver becomes a publish
//!   request; an approver accepts it (the publish happens then) or rejects it (nothing is
//!   published; the requester reads the reason on the entry's workflow).
//! - Permissions come from the policy: the module decision, then WF-1 (approvers decide,
//!   never a management token: MT-9), WF-2 (who may skip the request), WF-3 (stage transitions).

use crate::auth::{Principal, StackCtx};
use crate::body::{Fields, JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, Event};
use crate::lookup::entries::{content_type_exists, entry_json, load, locale_of};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{self, Action, Module, Named, Op, Person};
use headwater_store::repo::audit;
use headwater_store::repo::environments::{self, Environment};
use headwater_store::repo::publications::{self, Target};
use headwater_store::repo::workflows::{
    self, NewRequest, PublishRequest, Rule, RuleWrite, StageChange, Workflow, WorkflowWrite,
};
use headwater_store::repo::{branches, schemas, stacks, Conn};
use headwater_store::StoreError;
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------- shared helpers

/// The user behind the request, with their role uids in the stack (None for a token).
async fn person(c: &mut Conn, ctx: &StackCtx) -> ApiResult<Option<Person>> {
    let Principal::User { user, .. } = &ctx.principal else {
        return Ok(None);
    };
    let role_uids = stacks::membership(c, &ctx.stack.uid, &user.uid)
        .await?
        .map(|m| vec![m.role_uid])
        .unwrap_or_default();
    Ok(Some(Person {
        uid: user.uid.clone(),
        role_uids,
    }))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// A list of strings in a body (`default` when absent).
fn string_list(f: &Map<String, Value>, key: &str, field: &str, default: Value) -> ApiResult<Value> {
    match f.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Ok(Value::Array(a.clone())),
        Some(_) => Err(ApiError::invalid(
            &format!("{field}.{key}"),
            "must be an array of strings.",
        )),
    }
}

fn names_match(list: &Value, wanted: &str, empty_means_all: bool) -> bool {
    let l = strings(list);
    (empty_means_all && l.is_empty()) || l.iter().any(|x| x == "$all" || x == wanted)
}

async fn check_branches(c: &mut Conn, ctx: &StackCtx, list: &Value, field: &str) -> ApiResult<()> {
    for b in strings(list) {
        if branches::get(c, &ctx.stack.uid, &b).await?.is_none() {
            return Err(ApiError::invalid(
                &format!("{field}.branches"),
                format!("'{b}' is not a branch of this stack."),
            ));
        }
    }
    Ok(())
}

async fn check_content_types(
    c: &mut Conn,
    ctx: &StackCtx,
    list: &Value,
    field: &str,
) -> ApiResult<()> {
    for ct in strings(list).iter().filter(|ct| *ct != "$all") {
        if !schemas::exists(c, &ctx.space, schemas::Kind::ContentType, ct).await? {
            return Err(ApiError::invalid(
                &format!("{field}.content_types"),
                format!("'{ct}' is not a content type of this stack."),
            ));
        }
    }
    Ok(())
}

/// The `branches` (default `main`) and `content_types` (default `$all`) a workflow or rule
/// applies to, each checked to exist; `current` gives the values an update leaves out.
async fn reach(
    c: &mut Conn,
    ctx: &StackCtx,
    map: &Map<String, Value>,
    field: &str,
    current: Option<(&Value, &Value)>,
) -> ApiResult<(Value, Value)> {
    let branches = string_list(
        map,
        "branches",
        field,
        current.map_or_else(|| json!(["main"]), |(b, _)| b.clone()),
    )?;
    check_branches(c, ctx, &branches, field).await?;
    let content_types = string_list(
        map,
        "content_types",
        field,
        current.map_or_else(|| json!(["$all"]), |(_, t)| t.clone()),
    )?;
    check_content_types(c, ctx, &content_types, field).await?;
    Ok((branches, content_types))
}

// ---------------------------------------------------------------- workflows

fn workflow_json(w: &Workflow, api_key: &str, org_uid: &str) -> Value {
    json!({
        "uid": w.uid,
        "name": w.name,
        "description": w.description,
        "enabled": w.enabled,
        "branches": w.branches,
        "content_types": w.content_types,
        "admin_users": w.admin_users,
        "workflow_stages": w.stages,
        "api_key": api_key,
        "org_uid": org_uid,
        "created_by": w.created_by,
        "updated_by": w.updated_by,
        "created_at": w.created_at,
        "updated_at": w.updated_at,
        "deleted_at": false,
    })
}

fn wf_json(ctx: &StackCtx, w: &Workflow) -> Value {
    workflow_json(w, &ctx.stack.api_key, &ctx.stack.org_uid)
}

/// Normalizes the stages: each needs a name; a uid is given to those without one; who may move
/// entries in (`SYS_ACL`) defaults to everyone and what may follow to any stage.
fn normalize_stages(v: Option<&Value>, current: Option<&Value>) -> ApiResult<Value> {
    let stages = match (v, current) {
        (None | Some(Value::Null), Some(c)) => return Ok(c.clone()),
        (Some(Value::Array(a)), _) if !a.is_empty() => a.clone(),
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
        let Value::Object(mut m) = s else {
            return Err(ApiError::invalid(
                &format!("workflow.workflow_stages[{i}]"),
                "must be an object.",
            ));
        };
        if m.get("name")
            .and_then(Value::as_str)
            .is_none_or(|n| n.trim().is_empty())
        {
            return Err(ApiError::invalid(
                &format!("workflow.workflow_stages[{i}].name"),
                "is required.",
            ));
        }
        let uid = match m.get("uid").and_then(Value::as_str) {
            Some(u) if !u.is_empty() => u.to_string(),
            _ => headwater_core::ids::new_uid(),
        };
        if !seen.insert(uid.clone()) {
            return Err(ApiError::invalid(
                &format!("workflow.workflow_stages[{i}].uid"),
                format!("'{uid}' names two stages."),
            ));
        }
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
    let map = body.wrapped("workflow")?;
    let f = Fields::new(map, "workflow");
    let name = match (f.opt_str("name")?, current) {
        (Some(n), _) if !n.trim().is_empty() => n.trim().to_string(),
        (None, Some(w)) => w.name.clone(),
        _ => return Err(ApiError::invalid("workflow.name", "is required.")),
    };
    let description = f
        .opt_str("description")?
        .map(str::to_string)
        .or_else(|| current.map(|w| w.description.clone()))
        .unwrap_or_default();
    let enabled = f
        .opt_bool("enabled")?
        .or(current.map(|w| w.enabled))
        .unwrap_or(true);
    let (branches, content_types) = reach(
        c,
        ctx,
        map,
        "workflow",
        current.map(|w| (&w.branches, &w.content_types)),
    )
    .await?;
    let admin_users = match map.get("admin_users") {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => current.map_or_else(
            || json!({"users": [], "roles": []}),
            |w| w.admin_users.clone(),
        ),
    };
    let stages = normalize_stages(map.get("workflow_stages"), current.map(|w| &w.stages))?;
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
    tx.commit().await.map_err(StoreError::from)?;
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
    tx.commit().await.map_err(StoreError::from)?;
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
    tx.commit().await.map_err(StoreError::from)?;
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
    tx.commit().await.map_err(StoreError::from)?;
    let mut body = wf_json(&ctx, &w);
    body["deleted_at"] = json!(headwater_core::clock::now());
    Ok(updated("Workflow deleted successfully.", "workflow", body))
}

// ---------------------------------------------------------------- publish rules

fn rule_json(r: &Rule, env: Option<&Environment>) -> Value {
    json!({
        "uid": r.uid,
        "workflow": r.workflow_uid,
        "workflow_stage": r.workflow_stage,
        "actions": r.actions,
        "branches": r.branches,
        "content_types": r.content_types,
        "locales": r.locales,
        "environment": r.environment_uid,
        "environment_name": env.map(|e| e.name.as_str()),
        "approvers": r.approvers,
        "disable_approver_publishing": r.disable_approver_publishing,
        "status": true,
        "created_by": r.created_by,
        "updated_by": r.updated_by,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    })
}

async fn rule_json_with_env(c: &mut Conn, ctx: &StackCtx, r: &Rule) -> ApiResult<Value> {
    let env = environments::by_name(c, &ctx.stack.uid, &r.environment_uid).await?;
    Ok(rule_json(r, env.as_ref()))
}

struct RuleBody {
    workflow_uid: Option<String>,
    workflow_stage: Option<String>,
    actions: Value,
    branches: Value,
    content_types: Value,
    locales: Value,
    environment_uid: String,
    approvers: Value,
    disable_approver_publishing: bool,
}

async fn rule_from_body(
    c: &mut Conn,
    ctx: &StackCtx,
    body: &JsonBody,
    current: Option<&Rule>,
) -> ApiResult<RuleBody> {
    let map = body.wrapped("publishing_rule")?;
    let f = Fields::new(map, "publishing_rule");
    let env_name = f
        .opt_str("environment")?
        .map(str::to_string)
        .or_else(|| current.map(|r| r.environment_uid.clone()))
        .ok_or_else(|| ApiError::invalid("publishing_rule.environment", "is required."))?;
    let env = environments::by_name(c, &ctx.stack.uid, &env_name)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "publishing_rule.environment",
                format!("'{env_name}' is not an environment of this stack."),
            )
        })?;
    let actions = string_list(
        map,
        "actions",
        "publishing_rule",
        current.map_or_else(|| json!(["publish", "unpublish"]), |r| r.actions.clone()),
    )?;
    let acts = strings(&actions);
    if acts.is_empty() || acts.iter().any(|a| a != "publish" && a != "unpublish") {
        return Err(ApiError::invalid(
            "publishing_rule.actions",
            "must name 'publish', 'unpublish' or both.",
        ));
    }
    let (branches, content_types) = reach(
        c,
        ctx,
        map,
        "publishing_rule",
        current.map(|r| (&r.branches, &r.content_types)),
    )
    .await?;
    let locales = string_list(
        map,
        "locales",
        "publishing_rule",
        current.map_or_else(|| json!([]), |r| r.locales.clone()),
    )?;
    let approvers = match map.get("approvers") {
        Some(v @ Value::Object(_)) => v.clone(),
        None | Some(Value::Null) if current.is_some() => current.expect("some").approvers.clone(),
        _ => {
            return Err(ApiError::invalid(
                "publishing_rule.approvers",
                "is required: {\"users\": [...], \"roles\": [...]}.",
            ))
        }
    };
    let named = Named::from_json(&approvers);
    if named.users.is_empty() && named.roles.is_empty() {
        return Err(ApiError::invalid(
            "publishing_rule.approvers",
            "must name at least one user or role.",
        ));
    }
    let workflow_uid = match map.get("workflow") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::String(_)) | Some(Value::Null) => None,
        None => current.and_then(|r| r.workflow_uid.clone()),
        Some(_) => {
            return Err(ApiError::invalid(
                "publishing_rule.workflow",
                "must be a workflow uid.",
            ))
        }
    };
    let workflow_stage = match map.get("workflow_stage") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::String(_)) | Some(Value::Null) => None,
        None => current.and_then(|r| r.workflow_stage.clone()),
        Some(_) => {
            return Err(ApiError::invalid(
                "publishing_rule.workflow_stage",
                "must be a stage uid.",
            ))
        }
    };
    if let Some(stage) = &workflow_stage {
        let Some(wf) = &workflow_uid else {
            return Err(ApiError::invalid(
                "publishing_rule.workflow",
                "is required with workflow_stage.",
            ));
        };
        let w = workflows::workflow(c, &ctx.stack.uid, wf)
            .await?
            .ok_or_else(|| {
                ApiError::invalid(
                    "publishing_rule.workflow",
                    format!("'{wf}' is not a workflow of this stack."),
                )
            })?;
        if stage_of(&w, stage).is_none() {
            return Err(ApiError::invalid(
                "publishing_rule.workflow_stage",
                format!("'{stage}' is not a stage of workflow '{}'.", w.name),
            ));
        }
    }
    let disable_approver_publishing = f
        .opt_bool("disable_approver_publishing")?
        .or(current.map(|r| r.disable_approver_publishing))
        .unwrap_or(false);
    Ok(RuleBody {
        workflow_uid,
        workflow_stage,
        actions,
        branches,
        content_types,
        locales,
        environment_uid: env.uid,
        approvers,
        disable_approver_publishing,
    })
}

fn rule_write(b: &RuleBody) -> RuleWrite<'_> {
    RuleWrite {
        workflow_uid: b.workflow_uid.as_deref(),
        workflow_stage: b.workflow_stage.as_deref(),
        actions: &b.actions,
        branches: &b.branches,
        content_types: &b.content_types,
        locales: &b.locales,
        environment_uid: &b.environment_uid,
        approvers: &b.approvers,
        disable_approver_publishing: b.disable_approver_publishing,
    }
}

pub async fn list_rules(
    State(state): State<AppState>,
    ctx: StackCtx,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Workflows, Op::Read))?;
    let (skip, limit, _) = q.page()?;
    let wanted: Vec<String> = q
        .get("content_types")
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
        .unwrap_or_default();
    let mut c = state.db().reader().await?;
    let all: Vec<Rule> = workflows::rules(&mut c, &ctx.stack.uid)
        .await?
        .into_iter()
        .filter(|r| {
            wanted.is_empty()
                || wanted
                    .iter()
                    .any(|ct| names_match(&r.content_types, ct, false))
        })
        .collect();
    let total = all.len() as i64;
    let mut out = Vec::new();
    for r in all.iter().skip(skip as usize).take(limit as usize) {
        out.push(rule_json_with_env(&mut c, &ctx, r).await?);
    }
    Ok(listed(
        "publishing_rules",
        out,
        q.flag("include_count").then_some(total),
    ))
}

pub async fn fetch_rule(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Workflows, Op::Read))?;
    let mut c = state.db().reader().await?;
    let r = workflows::rule(&mut c, &ctx.stack.uid, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("publish rule"))?;
    Ok(Json(
        json!({ "publishing_rule": rule_json_with_env(&mut c, &ctx, &r).await? }),
    ))
}

pub async fn create_rule(
    State(state): State<AppState>,
    ctx: StackCtx,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Workflows, Op::Create))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let b = rule_from_body(&mut tx, &ctx, &body, None).await?;
    let r = workflows::insert_rule(&mut tx, &ctx.stack.uid, &rule_write(&b), &actor).await?;
    let out = finish_rule(tx, &ctx, &r, "create").await?;
    Ok(created(
        "Publish rule created successfully.",
        "publishing_rule",
        out,
    ))
}

/// Audits a rule's creation or change, commits, and renders the rule.
async fn finish_rule(
    mut tx: headwater_store::Tx,
    ctx: &StackCtx,
    r: &Rule,
    verb: &str,
) -> ApiResult<Value> {
    audit::record(
        &mut tx,
        &ctx.actor(),
        ctx.audit(verb, "publish_rule", &r.uid, &r.uid),
    )
    .await?;
    let out = rule_json_with_env(&mut tx, ctx, r).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(out)
}

pub async fn update_rule(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Workflows, Op::Update))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    let current = workflows::rule(&mut tx, &ctx.stack.uid, &uid)
        .await?
        .ok_or_else(|| ApiError::not_found("publish rule"))?;
    let b = rule_from_body(&mut tx, &ctx, &body, Some(&current)).await?;
    let r = workflows::update_rule(&mut tx, &ctx.stack.uid, &uid, &rule_write(&b), &actor)
        .await?
        .ok_or_else(|| ApiError::not_found("publish rule"))?;
    let out = finish_rule(tx, &ctx, &r, "update").await?;
    Ok(updated(
        "Publish rule updated successfully.",
        "publishing_rule",
        out,
    ))
}

pub async fn delete_rule(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Workflows, Op::Delete))?;
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    if !workflows::delete_rule(&mut tx, &ctx.stack.uid, &uid).await? {
        return Err(ApiError::not_found("publish rule"));
    }
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("delete", "publish_rule", &uid, &uid),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(notice("Publish rule deleted successfully."))
}

/// `GET /v3/workflows/content_type/{ct}?action=&locale=&environment=`: the rules that apply.
pub async fn rules_of_content_type(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path(ct): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Workflows, Op::Read))?;
    let mut c = state.db().reader().await?;
    let env = match q.get("environment").filter(|e| !e.is_empty()) {
        Some(e) => Some(
            environments::by_name(&mut c, &ctx.stack.uid, e)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(
                        "environment",
                        format!("'{e}' is not an environment of this stack."),
                    )
                })?
                .uid,
        ),
        None => None,
    };
    let mut out = Vec::new();
    for r in workflows::rules(&mut c, &ctx.stack.uid).await? {
        let fits = names_match(&r.content_types, &ct, false)
            && names_match(&r.branches, &ctx.branch, true)
            && q.get("action")
                .is_none_or(|a| names_match(&r.actions, a, false))
            && q.get("locale")
                .is_none_or(|l| names_match(&r.locales, l, true))
            && env.as_deref().is_none_or(|e| e == r.environment_uid);
        if fits {
            let mut v = rule_json_with_env(&mut c, &ctx, &r).await?;
            v["approvers"] = json!(Named::from_json(&r.approvers).users);
            out.push(v);
        }
    }
    Ok(listed("publishing_rules", out, None))
}

// ---------------------------------------------------------------- entry stages

fn stage_of<'a>(w: &'a Workflow, stage_uid: &str) -> Option<&'a Value> {
    w.stages
        .as_array()?
        .iter()
        .find(|s| s.get("uid").and_then(Value::as_str) == Some(stage_uid))
}

fn stage_name(s: &Value) -> &str {
    s.get("name").and_then(Value::as_str).unwrap_or("")
}

/// Who may move entries into a stage: `SYS_ACL.users.uids` and `SYS_ACL.roles.uids`.
fn stage_acl(stage: &Value) -> Named {
    let acl = stage.get("SYS_ACL");
    match acl {
        None | Some(Value::Null) => Named {
            users: vec!["$all".into()],
            roles: vec![],
        },
        Some(acl) => Named::from_json(&json!({
            "users": acl.pointer("/users/uids").cloned().unwrap_or(json!([])),
            "roles": acl.pointer("/roles/uids").cloned().unwrap_or(json!([])),
        })),
    }
}

/// The enabled workflow that governs a content type on the request's branch.
async fn workflow_for(c: &mut Conn, ctx: &StackCtx, ct: &str) -> ApiResult<Option<Workflow>> {
    Ok(workflows::workflows(c, &ctx.stack.uid)
        .await?
        .into_iter()
        .find(|w| {
            w.enabled
                && names_match(&w.branches, &ctx.branch, true)
                && names_match(&w.content_types, ct, false)
        }))
}

/// The stack's publish rules and the caller, loaded once per request: a publish, a bulk
/// publish or a release deploy asks about many (entry, locale, environment) targets.
pub(crate) struct PublishRules {
    rules: Vec<Rule>,
    person: Option<Person>,
}

impl PublishRules {
    pub(crate) async fn load(c: &mut Conn, ctx: &StackCtx) -> ApiResult<PublishRules> {
        let rules = workflows::rules(c, &ctx.stack.uid).await?;
        // Who the caller is matters only when some rule may apply.
        let person = if rules.is_empty() {
            None
        } else {
            person(c, ctx).await?
        };
        Ok(PublishRules { rules, person })
    }

    /// The rule that applies to publishing (or unpublishing) an entry of `ct` in `locale` to
    /// `env`.
    fn rule_for(
        &self,
        ctx: &StackCtx,
        ct: &str,
        locale: &str,
        env_uid: &str,
        action: &str,
    ) -> Option<&Rule> {
        self.rules.iter().find(|r| {
            r.environment_uid == env_uid
                && names_match(&r.actions, action, false)
                && names_match(&r.content_types, ct, false)
                && names_match(&r.locales, locale, true)
                && names_match(&r.branches, &ctx.branch, true)
        })
    }

    /// The rule that would hold this publish (or unpublish) for approval by this caller, if any
    /// (WF-2 decides who may skip it).
    pub(crate) fn blocking(
        &self,
        ctx: &StackCtx,
        ct: &str,
        locale: &str,
        env_uid: &str,
        publish: bool,
    ) -> Option<&Rule> {
        let action = if publish { "publish" } else { "unpublish" };
        self.rule_for(ctx, ct, locale, env_uid, action)
            .filter(|rule| {
                !policy::may_skip_approval(
                    &ctx.subject,
                    self.person.as_ref(),
                    &Named::from_json(&rule.approvers),
                    rule.disable_approver_publishing,
                )
            })
    }

    /// What the publish handler does for one (entry, locale, environment): `None` to go ahead,
    /// or the publish request sent instead. A rule that requires a stage refuses an entry
    /// outside it, whoever asks.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn gate(
        &self,
        c: &mut Conn,
        ctx: &StackCtx,
        ct: &str,
        entry_uid: &str,
        locale: &str,
        version: i64,
        env_uid: &str,
        publish: bool,
    ) -> ApiResult<Option<(PublishRequest, Rule)>> {
        let action = if publish { "publish" } else { "unpublish" };
        let Some(rule) = self.rule_for(ctx, ct, locale, env_uid, action) else {
            return Ok(None);
        };
        require_stage(c, ctx, rule, entry_uid, locale).await?;
        if self.blocking(ctx, ct, locale, env_uid, publish).is_none() {
            return Ok(None);
        }
        let req = workflows::request(
            c,
            &NewRequest {
                space: &ctx.space,
                content_type_uid: ct,
                entry_uid,
                locale,
                version,
                rule_uid: &rule.uid,
                action,
                environment_uid: env_uid,
                comment: "",
            },
            &ctx.actor(),
        )
        .await?;
        Ok(Some((req, rule.clone())))
    }
}

/// Refuses a request while the entry is not in the stage the rule requires.
async fn require_stage(
    c: &mut Conn,
    ctx: &StackCtx,
    rule: &Rule,
    entry_uid: &str,
    locale: &str,
) -> ApiResult<()> {
    let Some(stage) = &rule.workflow_stage else {
        return Ok(());
    };
    let current = workflows::entry_stage(c, &ctx.space, entry_uid, locale).await?;
    if current.as_ref().map(|s| &s.stage_uid) == Some(stage) {
        return Ok(());
    }
    let name = match &rule.workflow_uid {
        Some(wf) => workflows::workflow(c, &ctx.stack.uid, wf)
            .await?
            .and_then(|w| stage_of(&w, stage).map(|s| stage_name(s).to_string()))
            .unwrap_or_else(|| stage.clone()),
        None => stage.clone(),
    };
    Err(ApiError::invalid(
        "workflow_stage",
        format!("publish rule '{}' applies only to entries in the stage '{name}'; move the entry there first.", rule.uid),
    ))
}

/// Carries out an accepted request.
async fn carry_out(
    c: &mut Conn,
    ctx: &StackCtx,
    r: &PublishRequest,
    state: &AppState,
) -> ApiResult<()> {
    let backend = state.db().backend();
    let entry = load(state, c, ctx, &r.content_type_uid, &r.entry_uid, &r.locale).await?;
    let target = Target {
        stack_uid: &ctx.space,
        item_type: "entry",
        item_uid: &r.entry_uid,
        content_type_uid: Some(&r.content_type_uid),
        locale: &r.locale,
        environment_uid: &r.environment_uid,
        source_locale: Some(&entry.locale),
    };
    if r.action == "publish" {
        if headwater_store::repo::entries::version(
            c,
            backend,
            &ctx.space,
            &r.entry_uid,
            &entry.locale,
            r.version,
        )
        .await?
        .is_none()
        {
            return Err(ApiError::invalid(
                "version",
                format!("version {} of this entry no longer exists.", r.version),
            ));
        }
        publications::publish(c, &target, r.version, &ctx.actor()).await?;
    } else {
        publications::unpublish(c, &target).await?;
    }
    Ok(())
}

fn request_json(r: &PublishRequest, env_name: &str) -> Value {
    json!({
        "uid": r.uid,
        "publishing_rule": r.rule_uid,
        "action": r.action,
        "environment": r.environment_uid,
        "environment_name": env_name,
        "locale": r.locale,
        "version": r.version,
        "status": r.status,
        "comment": r.comment,
        "requested_by": r.requested_by,
        "requested_at": r.requested_at,
        "decided_by": r.decided_by,
        "decided_at": r.decided_at,
        "decision_comment": r.decision_comment,
        "content_type": r.content_type_uid,
        "entry": r.entry_uid,
    })
}

async fn env_name(c: &mut Conn, ctx: &StackCtx, uid: &str) -> ApiResult<String> {
    Ok(environments::by_name(c, &ctx.stack.uid, uid)
        .await?
        .map(|e| e.name)
        .unwrap_or_else(|| uid.to_string()))
}

/// `POST /v3/content_types/{ct}/entries/{uid}/workflow?locale=`: `{"workflow": {"workflow_stage":
/// {…}}}` moves the entry to a stage; `{"workflow": {"publishing_rule": {uid, action, status,
/// comment}}}` requests (0), accepts (1) or rejects (-1) a publish or unpublish.
pub async fn entry_workflow(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid)): Path<(String, String)>,
    q: Query,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let map = body.wrapped("workflow")?;
    if let Some(stage) = map.get("workflow_stage") {
        return set_stage(&state, &ctx, &ct, &uid, &q, stage).await;
    }
    if let Some(pr) = map.get("publishing_rule") {
        return publish_request(&state, &ctx, &ct, &uid, &q, pr).await;
    }
    Err(ApiError::invalid(
        "workflow",
        "must hold 'workflow_stage' (to set a stage) or 'publishing_rule' (to request, accept or reject a publish).",
    ))
}

async fn set_stage(
    state: &AppState,
    ctx: &StackCtx,
    ct: &str,
    uid: &str,
    q: &Query,
    stage: &Value,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.authorize(&Action::new(Module::Entries, Op::Update).on_content_type(ct))?;
    let Value::Object(stage) = stage else {
        return Err(ApiError::invalid(
            "workflow.workflow_stage",
            "must be an object.",
        ));
    };
    let f = Fields::new(stage, "workflow.workflow_stage");
    let stage_uid = f.req_str("uid")?.to_string();
    let comment = f.opt_str("comment")?.unwrap_or("").to_string();
    let due_date = f.opt_str("due_date")?.map(str::to_string);
    let assigned_to = stage.get("assigned_to").cloned().unwrap_or(json!([]));
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    content_type_exists(&mut tx, ctx, ct).await?;
    let locale = locale_of(&mut tx, ctx, q).await?;
    let entry = load(state, &mut tx, ctx, ct, uid, &locale).await?;
    let wf = workflow_for(&mut tx, ctx, ct).await?.ok_or_else(|| {
        ApiError::invalid(
            "workflow.workflow_stage",
            format!(
                "no enabled workflow applies to the content type '{ct}' on the branch '{}'.",
                ctx.branch
            ),
        )
    })?;
    let target = stage_of(&wf, &stage_uid).ok_or_else(|| {
        ApiError::invalid(
            "workflow.workflow_stage.uid",
            format!(
                "'{stage_uid}' is not a stage of the workflow '{}'.",
                wf.name
            ),
        )
    })?;
    // The current stage names the stages that may follow it.
    if let Some(cur) = workflows::entry_stage(&mut tx, &ctx.space, uid, &locale).await? {
        if cur.workflow_uid == wf.uid && cur.stage_uid != stage_uid {
            if let Some(cur_stage) = stage_of(&wf, &cur.stage_uid) {
                let next = cur_stage
                    .get("next_available_stages")
                    .cloned()
                    .unwrap_or(json!(["$all"]));
                if !names_match(&next, &stage_uid, false) {
                    return Err(ApiError::invalid(
                        "workflow.workflow_stage.uid",
                        format!(
                            "an entry in the stage '{}' cannot move to '{}'.",
                            stage_name(cur_stage),
                            stage_name(target)
                        ),
                    ));
                }
            }
        }
    }
    let me = person(&mut tx, ctx).await?;
    policy::decide_transition(
        &ctx.subject,
        me.as_ref(),
        &stage_acl(target),
        stage_name(target),
    )
    .map_err(ApiError::forbidden)?;
    workflows::set_entry_stage(
        &mut tx,
        &StageChange {
            space: &ctx.space,
            entry_uid: uid,
            locale: &locale,
            workflow_uid: &wf.uid,
            stage_uid: &stage_uid,
            comment: &comment,
            due_date: due_date.as_deref(),
            assigned_to: &assigned_to,
        },
        &actor,
    )
    .await?;
    audit::record(
        &mut tx,
        &actor,
        ctx.audit("workflow_stage", "entry", uid, &entry.title),
    )
    .await?;
    let mut data = entry_json(&entry, None);
    data["_workflow"] = json!({"uid": stage_uid, "name": stage_name(target), "workflow": wf.uid, "comment": comment});
    events::emit(
        &mut tx,
        ctx,
        Event::entry("workflow_stage_change", ct, data),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(notice("Workflow stage updated successfully."))
}

async fn publish_request(
    state: &AppState,
    ctx: &StackCtx,
    ct: &str,
    uid: &str,
    q: &Query,
    pr: &Value,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Value::Object(pr) = pr else {
        return Err(ApiError::invalid(
            "workflow.publishing_rule",
            "must be an object.",
        ));
    };
    let f = Fields::new(pr, "workflow.publishing_rule");
    let rule_uid = f.req_str("uid")?.to_string();
    let action = f.opt_str("action")?.unwrap_or("publish").to_string();
    let actions: Vec<&str> = match action.as_str() {
        "publish" => vec!["publish"],
        "unpublish" => vec!["unpublish"],
        "both" => vec!["publish", "unpublish"],
        _ => {
            return Err(ApiError::invalid(
                "workflow.publishing_rule.action",
                "must be 'publish', 'unpublish' or 'both'.",
            ))
        }
    };
    let status = pr.get("status").and_then(Value::as_i64).ok_or_else(|| {
        ApiError::invalid(
            "workflow.publishing_rule.status",
            "is required: 0 (request), 1 (accept) or -1 (reject).",
        )
    })?;
    let comment = f.opt_str("comment")?.unwrap_or("").to_string();
    match status {
        0 => ctx.authorize(&Action::new(Module::Entries, Op::Publish).on_content_type(ct))?,
        1 | -1 => ctx.authorize(&Action::new(Module::PublishRequests, Op::Decide))?,
        _ => {
            return Err(ApiError::invalid(
                "workflow.publishing_rule.status",
                "must be 0 (request), 1 (accept) or -1 (reject).",
            ))
        }
    }
    let actor = ctx.actor();
    let mut tx = state.db().begin().await?;
    content_type_exists(&mut tx, ctx, ct).await?;
    let locale = locale_of(&mut tx, ctx, q).await?;
    let entry = load(state, &mut tx, ctx, ct, uid, &locale).await?;
    let rule = workflows::rule(&mut tx, &ctx.stack.uid, &rule_uid)
        .await?
        .ok_or_else(|| ApiError::not_found("publish rule"))?;
    let env = env_name(&mut tx, ctx, &rule.environment_uid).await?;
    let applies = |a: &str| {
        names_match(&rule.actions, a, false)
            && names_match(&rule.content_types, ct, false)
            && names_match(&rule.locales, &locale, true)
            && names_match(&rule.branches, &ctx.branch, true)
    };
    if !actions.iter().any(|a| applies(a)) {
        return Err(ApiError::invalid(
            "workflow.publishing_rule.uid",
            format!("publish rule '{rule_uid}' does not apply to this entry, locale, branch and action."),
        ));
    }
    let message = if status == 0 {
        require_stage(&mut tx, ctx, &rule, uid, &locale).await?;
        for a in actions.iter().filter(|a| applies(a)) {
            workflows::request(
                &mut tx,
                &NewRequest {
                    space: &ctx.space,
                    content_type_uid: ct,
                    entry_uid: uid,
                    locale: &locale,
                    version: entry.version,
                    rule_uid: &rule.uid,
                    action: a,
                    environment_uid: &rule.environment_uid,
                    comment: &comment,
                },
                &actor,
            )
            .await?;
        }
        audit::record(
            &mut tx,
            &actor,
            ctx.audit("publish_request", "entry", uid, &entry.title),
        )
        .await?;
        events::emit(
            &mut tx,
            ctx,
            Event::entry("publish_request", ct, entry_json(&entry, None))
                .with("publish_request", json!({"publishing_rule": rule.uid, "action": action, "status": "pending", "environment": env, "locale": locale})),
        )
        .await?;
        format!("You have sent an approval request to {action} the entry on {env} environment.")
    } else {
        let me = person(&mut tx, ctx).await?;
        policy::decide_approval(
            &ctx.subject,
            me.as_ref(),
            &Named::from_json(&rule.approvers),
            &rule.uid,
        )
        .map_err(ApiError::forbidden)?;
        let approved = status == 1;
        let mut settled = 0;
        for a in &actions {
            let Some(req) =
                workflows::pending(&mut tx, &ctx.space, uid, &locale, &rule.uid, a).await?
            else {
                continue;
            };
            if !workflows::decide(&mut tx, &req.uid, approved, &comment, &actor).await? {
                continue;
            }
            if approved {
                carry_out(&mut tx, ctx, &req, state).await?;
            }
            settled += 1;
        }
        if settled == 0 {
            return Err(ApiError::invalid(
                "workflow.publishing_rule",
                format!("there is no pending request to {action} this entry under publish rule '{rule_uid}'."),
            ));
        }
        let verb = if approved { "accepted" } else { "rejected" };
        events::emit(
            &mut tx,
            ctx,
            Event::entry("publish_request", ct, entry_json(&entry, None))
                .with("publish_request", json!({"publishing_rule": rule.uid, "action": action, "status": if approved { "approved" } else { "rejected" }, "environment": env, "locale": locale, "comment": comment})),
        )
        .await?;
        audit::record(
            &mut tx,
            &actor,
            ctx.audit(
                if approved {
                    "publish_request_accept"
                } else {
                    "publish_request_reject"
                },
                "entry",
                uid,
                &entry.title,
            ),
        )
        .await?;
        format!("You have {verb} the request to {action} entry on {env} environment.")
    };
    tx.commit().await.map_err(StoreError::from)?;
    Ok(notice(&message))
}

/// `GET /v3/content_types/{ct}/entries/{uid}/workflow?locale=`: the entry's stage, its stage
/// history and its publish requests (with the approver's reason when one was rejected).
pub async fn entry_workflow_details(
    State(state): State<AppState>,
    ctx: StackCtx,
    Path((ct, uid)): Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Entries, Op::Read).on_content_type(&ct))?;
    let mut c = state.db().reader().await?;
    content_type_exists(&mut c, &ctx, &ct).await?;
    let locale = locale_of(&mut c, &ctx, &q).await?;
    load(&state, &mut c, &ctx, &ct, &uid, &locale).await?;
    let stage = workflows::entry_stage(&mut c, &ctx.space, &uid, &locale).await?;
    let stage_json = match &stage {
        Some(s) => {
            let wf = workflows::workflow(&mut c, &ctx.stack.uid, &s.workflow_uid).await?;
            let name = wf
                .as_ref()
                .and_then(|w| stage_of(w, &s.stage_uid).map(|x| stage_name(x).to_string()));
            json!({"uid": s.stage_uid, "name": name, "workflow": s.workflow_uid, "updated_by": s.updated_by, "updated_at": s.updated_at})
        }
        None => Value::Null,
    };
    let history = workflows::stage_history(&mut c, &ctx.space, &uid, &locale).await?;
    let mut requests = Vec::new();
    for r in workflows::requests_of_entry(&mut c, &ctx.space, &uid, &locale).await? {
        let name = env_name(&mut c, &ctx, &r.environment_uid).await?;
        requests.push(request_json(&r, &name));
    }
    Ok(Json(json!({
        "workflow": {
            "workflow_stage": stage_json,
            "history": history,
            "publish_requests": requests,
        }
    })))
}

/// `GET /v3/user/assignments`: the pending publish requests the caller may decide.
pub async fn assignments(State(state): State<AppState>, ctx: StackCtx) -> ApiResult<Json<Value>> {
    ctx.authorize(&Action::new(Module::Entries, Op::Read))?;
    let mut c = state.db().reader().await?;
    let Some(me) = person(&mut c, &ctx).await? else {
        return Ok(listed("assignments", Vec::new(), None));
    };
    let mine: Vec<String> = workflows::rules(&mut c, &ctx.stack.uid)
        .await?
        .into_iter()
        .filter(|r| {
            policy::decide_approval(
                &ctx.subject,
                Some(&me),
                &Named::from_json(&r.approvers),
                &r.uid,
            )
            .is_ok()
        })
        .map(|r| r.uid)
        .collect();
    let mut out = Vec::new();
    for r in workflows::pending_for_rules(&mut c, &mine).await? {
        if r.space != ctx.space {
            continue;
        }
        let name = env_name(&mut c, &ctx, &r.environment_uid).await?;
        let mut v = request_json(&r, &name);
        v["type"] = json!("publishing_rule");
        v["api_key"] = json!(ctx.stack.api_key);
        v["entry_uid"] = json!(r.entry_uid);
        v["content_type"] = json!(r.content_type_uid);
        out.push(v);
    }
    Ok(listed("assignments", out, None))
}
