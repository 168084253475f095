//! Publish rules (`/v3/workflows/publishing_rules`): publishing (or unpublishing) entries of
//! some content types, in some locales, to one environment needs approval by named users or
//! roles — optionally only once the entry is in a given stage. How a rule holds a publish is
//! decided in [`crate::publish::rules`].

use crate::auth::StackCtx;
use crate::body::{JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::publish::rules::{names_match, reach, stage_of, strings};
use crate::routes::{created, listed, notice, updated};
use crate::state::AppState;
use crate::wire::{
    self,
    publish_rules::{PublishRuleBody, PublishRuleOut},
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{Action, Module, Named, Op};
use headwater_store::repo::audit;
use headwater_store::repo::environments::{self, Environment};
use headwater_store::repo::workflows::{self, Rule, RuleWrite};
use headwater_store::repo::Conn;
use serde_json::{json, Value};

fn rule_json(r: &Rule, env: Option<&Environment>) -> Value {
    wire::to_value(&PublishRuleOut::new(r, env.map(|e| e.name.as_str())))
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

/// A sent uid (`null` or `""` removes it) or, when absent, the current one.
fn uid_or(sent: Option<Option<String>>, current: Option<String>) -> Option<String> {
    match sent {
        Some(s) => s.filter(|s| !s.is_empty()),
        None => current,
    }
}

async fn rule_from_body(
    c: &mut Conn,
    ctx: &StackCtx,
    body: &JsonBody,
    current: Option<&Rule>,
) -> ApiResult<RuleBody> {
    let sent: PublishRuleBody = wire::parse(body, "publishing_rule")?;
    let env_name = sent
        .environment
        .or_else(|| current.map(|r| r.environment_uid.clone()))
        .ok_or_else(|| ApiError::invalid("publishing_rule.environment", "is required."))?;
    let env = environments::by_name(&mut *c, &ctx.stack.uid, &env_name)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "publishing_rule.environment",
                format!("'{env_name}' is not an environment of this stack."),
            )
        })?;
    let actions = match sent.actions {
        Some(a) => json!(a),
        None => current.map_or_else(|| json!(["publish", "unpublish"]), |r| r.actions.clone()),
    };
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
        (sent.branches, sent.content_types),
        "publishing_rule",
        current.map(|r| (&r.branches, &r.content_types)),
    )
    .await?;
    let locales = match sent.locales {
        Some(l) => json!(l),
        None => current.map_or_else(|| json!([]), |r| r.locales.clone()),
    };
    let approvers = match (sent.approvers, current) {
        (Some(a), _) => Value::Object(a),
        (None, Some(r)) => r.approvers.clone(),
        (None, None) => {
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
    let workflow_uid = uid_or(sent.workflow, current.and_then(|r| r.workflow_uid.clone()));
    let workflow_stage = uid_or(
        sent.workflow_stage,
        current.and_then(|r| r.workflow_stage.clone()),
    );
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
    let disable_approver_publishing = sent
        .disable_approver_publishing
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
    tx.commit().await?;
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
    tx.commit().await?;
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
