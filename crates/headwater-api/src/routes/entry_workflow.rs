//! An entry's workflow (`…/entries/{uid}/workflow`): its stage (moved through the stages of the
//! workflow that governs its content type, WF-3) and its publish requests — sent when a publish
//! rule holds a publish, accepted (the publish happens then, through [`crate::publish`]) or
//! rejected by the rule's approvers (WF-1; never a management token: MT-9); and the caller's
//! assignments.

use crate::auth::StackCtx;
use crate::body::{Fields, JsonBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, Event};
use crate::lookup::entries::{content_type_exists, entry_json, load, locale_of};
use crate::publish::rules::{
    self, names_match, person, require_stage, stage_name, stage_of, StageInput,
};
use crate::publish::{self, env_name, request_json};
use crate::routes::{listed, notice};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use headwater_core::policy::{self, Action, Module, Named, Op};
use headwater_store::repo::audit;
use headwater_store::repo::workflows::{self, NewRequest};
use serde_json::{json, Value};

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
    let input = StageInput::parse(stage)?;
    let mut tx = state.db().begin().await?;
    content_type_exists(&mut tx, ctx, ct).await?;
    let locale = locale_of(&mut tx, ctx, q).await?;
    rules::set_stage(&mut tx, ctx, ct, uid, &locale, &input).await?;
    tx.commit().await?;
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
    let entry = load(&mut tx, ctx, ct, uid, &locale).await?;
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
        let mut sent = Vec::new();
        for a in actions.iter().filter(|a| applies(a)) {
            let req = workflows::request(
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
            sent.push(req);
        }
        audit::record(
            &mut tx,
            &actor,
            ctx.audit("publish_request", "entry", uid, &entry.title),
        )
        .await?;
        for req in &sent {
            events::emit(
                &mut tx,
                ctx,
                Event::entry("publish_request", ct, entry_json(&entry, None))
                    .with("publish_request", request_json(req, &env)),
            )
            .await?;
        }
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
        let mut settled = Vec::new();
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
                publish::carry_out(&mut tx, ctx, &req).await?;
            }
            settled.extend(workflows::by_uid(&mut tx, &req.uid).await?);
        }
        if settled.is_empty() {
            return Err(ApiError::invalid(
                "workflow.publishing_rule",
                format!("there is no pending request to {action} this entry under publish rule '{rule_uid}'."),
            ));
        }
        let verb = if approved { "accepted" } else { "rejected" };
        for req in &settled {
            events::emit(
                &mut tx,
                ctx,
                Event::entry("publish_request", ct, entry_json(&entry, None))
                    .with("publish_request", request_json(req, &env)),
            )
            .await?;
        }
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
    tx.commit().await?;
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
    load(&mut c, &ctx, &ct, &uid, &locale).await?;
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
