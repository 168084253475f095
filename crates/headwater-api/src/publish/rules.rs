//! Publish rules: which (content type, locale, branch, environment, action) needs approval,
//! who may skip it (WF-2, decided by the policy), and the stage a rule may require. Also the
//! reach of a workflow or rule (`branches`, `content_types`) and the stage lookups that the
//! workflow, publish rule and entry workflow routes share.

use crate::auth::{Principal, StackCtx};
use crate::error::{ApiError, ApiResult};
use headwater_core::policy::{self, Named, Person};
use headwater_store::repo::workflows::{self, NewRequest, PublishRequest, Rule, Workflow};
use headwater_store::repo::{branches, schemas, stacks, Conn};
use headwater_store::Exec;
use serde_json::{json, Map, Value};

/// The user behind the request, with their role uids in the stack (None for a token).
pub(crate) async fn person<'e>(
    c: impl Into<Exec<'e>>,
    ctx: &StackCtx,
) -> ApiResult<Option<Person>> {
    let mut c = c.into();
    let Principal::User { user, .. } = &ctx.principal else {
        return Ok(None);
    };
    let role_uids = stacks::membership(&mut c, &ctx.stack.uid, &user.uid)
        .await?
        .map(|m| vec![m.role_uid])
        .unwrap_or_default();
    Ok(Some(Person {
        uid: user.uid.clone(),
        role_uids,
    }))
}

pub(crate) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

pub(crate) fn names_match(list: &Value, wanted: &str, empty_means_all: bool) -> bool {
    let l = strings(list);
    (empty_means_all && l.is_empty()) || l.iter().any(|x| x == "$all" || x == wanted)
}

pub(crate) async fn check_branches(
    c: &mut Conn,
    ctx: &StackCtx,
    list: &Value,
    field: &str,
) -> ApiResult<()> {
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

pub(crate) async fn check_content_types(
    c: &mut Conn,
    ctx: &StackCtx,
    list: &Value,
    field: &str,
) -> ApiResult<()> {
    for ct in strings(list).iter().filter(|ct| *ct != "$all") {
        if !schemas::exists(&mut *c, &ctx.space, schemas::Kind::ContentType, ct).await? {
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
pub(crate) async fn reach(
    c: &mut Conn,
    ctx: &StackCtx,
    sent: (Option<Vec<String>>, Option<Vec<String>>),
    field: &str,
    current: Option<(&Value, &Value)>,
) -> ApiResult<(Value, Value)> {
    let branches = match sent.0 {
        Some(b) => json!(b),
        None => current.map_or_else(|| json!(["main"]), |(b, _)| b.clone()),
    };
    check_branches(c, ctx, &branches, field).await?;
    let content_types = match sent.1 {
        Some(t) => json!(t),
        None => current.map_or_else(|| json!(["$all"]), |(_, t)| t.clone()),
    };
    check_content_types(c, ctx, &content_types, field).await?;
    Ok((branches, content_types))
}

pub(crate) fn stage_of<'a>(w: &'a Workflow, stage_uid: &str) -> Option<&'a Value> {
    w.stages
        .as_array()?
        .iter()
        .find(|s| s.get("uid").and_then(Value::as_str) == Some(stage_uid))
}

pub(crate) fn stage_name(s: &Value) -> &str {
    s.get("name").and_then(Value::as_str).unwrap_or("")
}

/// The stack's publish rules and the caller, loaded once per request: a publish, a bulk
/// publish or a release deploy asks about many (entry, locale, environment) targets.
pub(crate) struct PublishRules {
    rules: Vec<Rule>,
    person: Option<Person>,
}

impl PublishRules {
    pub(crate) async fn load<'e>(
        c: impl Into<Exec<'e>>,
        ctx: &StackCtx,
    ) -> ApiResult<PublishRules> {
        let mut c = c.into();
        let rules = workflows::rules(&mut c, &ctx.stack.uid).await?;
        // Who the caller is matters only when some rule may apply.
        let person = if rules.is_empty() {
            None
        } else {
            person(&mut c, ctx).await?
        };
        Ok(PublishRules { rules, person })
    }

    /// The rule that applies to publishing (or unpublishing) an entry of `ct` in `locale` to
    /// `env`.
    pub(crate) fn rule_for(
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
    pub(crate) async fn gate<'e>(
        &self,
        c: impl Into<Exec<'e>>,
        ctx: &StackCtx,
        ct: &str,
        entry_uid: &str,
        locale: &str,
        version: i64,
        env_uid: &str,
        publish: bool,
    ) -> ApiResult<Option<(PublishRequest, Rule)>> {
        let mut c = c.into();
        let action = if publish { "publish" } else { "unpublish" };
        let Some(rule) = self.rule_for(ctx, ct, locale, env_uid, action) else {
            return Ok(None);
        };
        require_stage(&mut c, ctx, rule, entry_uid, locale).await?;
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
pub(crate) async fn require_stage<'e>(
    c: impl Into<Exec<'e>>,
    ctx: &StackCtx,
    rule: &Rule,
    entry_uid: &str,
    locale: &str,
) -> ApiResult<()> {
    let mut c = c.into();
    let Some(stage) = &rule.workflow_stage else {
        return Ok(());
    };
    let current = workflows::entry_stage(&mut c, &ctx.space, entry_uid, locale).await?;
    if current.as_ref().map(|s| &s.stage_uid) == Some(stage) {
        return Ok(());
    }
    let name = match &rule.workflow_uid {
        Some(wf) => workflows::workflow(&mut c, &ctx.stack.uid, wf)
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

/// Who may move entries into a stage: `SYS_ACL.users.uids` and `SYS_ACL.roles.uids`.
pub(crate) fn stage_acl(stage: &Value) -> Named {
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
pub(crate) async fn workflow_for(
    c: &mut Conn,
    ctx: &StackCtx,
    ct: &str,
) -> ApiResult<Option<Workflow>> {
    Ok(workflows::workflows(c, &ctx.stack.uid)
        .await?
        .into_iter()
        .find(|w| {
            w.enabled
                && names_match(&w.branches, &ctx.branch, true)
                && names_match(&w.content_types, ct, false)
        }))
}

/// A stage change as asked: `{"uid", "comment", "due_date", "assigned_to"}` of
/// `workflow.workflow_stage`.
pub(crate) struct StageInput {
    pub uid: String,
    pub comment: String,
    pub due_date: Option<String>,
    pub assigned_to: Value,
}

impl StageInput {
    pub(crate) fn parse(stage: &Map<String, Value>) -> ApiResult<StageInput> {
        let f = crate::body::Fields::new(stage, "workflow.workflow_stage");
        Ok(StageInput {
            uid: f.req_str("uid")?.to_string(),
            comment: f.opt_str("comment")?.unwrap_or("").to_string(),
            due_date: f.opt_str("due_date")?.map(str::to_string),
            assigned_to: stage.get("assigned_to").cloned().unwrap_or(json!([])),
        })
    }
}

/// Moves an entry (in `locale`) to a stage of the workflow that governs its content type, in
/// the caller's write transaction: the stages that may follow the current one, the stage's
/// own ACL (WF-3, after the caller's entry `Update` decision), the audit row and the
/// `workflow_stage_change` webhook event. Used by the entry route and bulk workflow updates.
pub(crate) async fn set_stage(
    c: &mut Conn,
    ctx: &StackCtx,
    ct: &str,
    uid: &str,
    locale: &str,
    input: &StageInput,
) -> ApiResult<()> {
    use crate::events::{self, Event};
    use crate::lookup::entries::{entry_json, load};
    use headwater_store::repo::audit;
    use headwater_store::repo::workflows::StageChange;
    let actor = ctx.actor();
    let entry = load(&mut *c, ctx, ct, uid, locale).await?;
    let wf = workflow_for(c, ctx, ct).await?.ok_or_else(|| {
        ApiError::invalid(
            "workflow.workflow_stage",
            format!(
                "no enabled workflow applies to the content type '{ct}' on the branch '{}'.",
                ctx.branch
            ),
        )
    })?;
    let target = stage_of(&wf, &input.uid).ok_or_else(|| {
        ApiError::invalid(
            "workflow.workflow_stage.uid",
            format!(
                "'{}' is not a stage of the workflow '{}'.",
                input.uid, wf.name
            ),
        )
    })?;
    // The current stage names the stages that may follow it.
    if let Some(cur) = workflows::entry_stage(&mut *c, &ctx.space, uid, locale).await? {
        if cur.workflow_uid == wf.uid && cur.stage_uid != input.uid {
            if let Some(cur_stage) = stage_of(&wf, &cur.stage_uid) {
                let next = cur_stage
                    .get("next_available_stages")
                    .cloned()
                    .unwrap_or(json!(["$all"]));
                if !names_match(&next, &input.uid, false) {
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
    let me = person(&mut *c, ctx).await?;
    policy::decide_transition(
        &ctx.subject,
        me.as_ref(),
        &stage_acl(target),
        stage_name(target),
    )
    .map_err(ApiError::forbidden)?;
    workflows::set_entry_stage(
        c,
        &StageChange {
            space: &ctx.space,
            entry_uid: uid,
            locale,
            workflow_uid: &wf.uid,
            stage_uid: &input.uid,
            comment: &input.comment,
            due_date: input.due_date.as_deref(),
            assigned_to: &input.assigned_to,
        },
        &actor,
    )
    .await?;
    audit::record(
        &mut *c,
        &actor,
        ctx.audit("workflow_stage", "entry", uid, &entry.title),
    )
    .await?;
    let mut data = entry_json(&entry, None);
    data["_workflow"] = json!({"uid": input.uid, "name": stage_name(target), "workflow": wf.uid, "comment": input.comment});
    events::emit(c, ctx, Event::entry("workflow_stage_change", ct, data)).await?;
    Ok(())
}
