//! Workflows, publish rules, entry stages and publish requests.

use super::{Actor, Conn};
use crate::batch::Statement;
use crate::error::Result;
use crate::exec::Exec;
use crate::row::*;
use headwater_core::clock;
use serde_json::Value;

#[derive(Clone, Debug)]
pub struct Workflow {
    pub uid: String,
    pub stack_uid: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub branches: Value,
    pub content_types: Value,
    pub admin_users: Value,
    /// The stages, as stored: `[{uid, name, color, next_available_stages, SYS_ACL, …}]`.
    pub stages: Value,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// What a workflow is made of (create and update).
pub struct WorkflowWrite<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub enabled: bool,
    pub branches: &'a Value,
    pub content_types: &'a Value,
    pub admin_users: &'a Value,
    pub stages: &'a Value,
}

const WF_COLS: &str = "uid, stack_uid, name, description, enabled, branches, content_types, \
                       admin_users, stages, created_by, updated_by, created_at, updated_at";

fn workflow_from_row(r: &(impl ReadRow + ?Sized)) -> Result<Workflow> {
    Ok(Workflow {
        uid: s(r, "uid")?,
        stack_uid: s(r, "stack_uid")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        enabled: b(r, "enabled")?,
        branches: json(r, "branches")?,
        content_types: json(r, "content_types")?,
        admin_users: json(r, "admin_users")?,
        stages: json(r, "stages")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

pub async fn insert_workflow(
    c: &mut Conn,
    stack_uid: &str,
    w: &WorkflowWrite<'_>,
    actor: &Actor,
) -> Result<Workflow> {
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    sqlx::query(
        "INSERT INTO workflows (uid, stack_uid, name, description, enabled, branches, content_types, \
         admin_users, stages, created_by, updated_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $11)",
    )
    .bind(&uid)
    .bind(stack_uid)
    .bind(w.name)
    .bind(w.description)
    .bind(w.enabled as i64)
    .bind(w.branches.to_string())
    .bind(w.content_types.to_string())
    .bind(w.admin_users.to_string())
    .bind(w.stages.to_string())
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(workflow(c, stack_uid, &uid).await?.expect("just inserted"))
}

pub async fn update_workflow(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    w: &WorkflowWrite<'_>,
    actor: &Actor,
) -> Result<Option<Workflow>> {
    sqlx::query(
        "UPDATE workflows SET name = $1, description = $2, enabled = $3, branches = $4, \
         content_types = $5, admin_users = $6, stages = $7, updated_by = $8, updated_at = $9 \
         WHERE stack_uid = $10 AND uid = $11",
    )
    .bind(w.name)
    .bind(w.description)
    .bind(w.enabled as i64)
    .bind(w.branches.to_string())
    .bind(w.content_types.to_string())
    .bind(w.admin_users.to_string())
    .bind(w.stages.to_string())
    .bind(actor.uid())
    .bind(clock::now())
    .bind(stack_uid)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    workflow(c, stack_uid, uid).await
}

pub async fn workflow<'e>(
    c: impl Into<Exec<'e>>,
    stack_uid: &str,
    uid: &str,
) -> Result<Option<Workflow>> {
    let mut c = c.into();
    let row = Statement::new(format!(
        "SELECT {WF_COLS} FROM workflows WHERE stack_uid = $1 AND uid = $2"
    ))
    .arg(stack_uid)
    .arg(uid)
    .fetch_optional(&mut c)
    .await?;
    row.as_ref().map(workflow_from_row).transpose()
}

pub async fn workflows(c: &mut Conn, stack_uid: &str) -> Result<Vec<Workflow>> {
    let rows = sqlx::query(&format!(
        "SELECT {WF_COLS} FROM workflows WHERE stack_uid = $1 ORDER BY created_at, uid"
    ))
    .bind(stack_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(workflow_from_row).collect()
}

pub async fn delete_workflow(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<bool> {
    sqlx::query("DELETE FROM entry_stages WHERE workflow_uid = $1")
        .bind(uid)
        .execute(&mut *c)
        .await?;
    let r = sqlx::query("DELETE FROM workflows WHERE stack_uid = $1 AND uid = $2")
        .bind(stack_uid)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub uid: String,
    pub stack_uid: String,
    pub workflow_uid: Option<String>,
    pub workflow_stage: Option<String>,
    pub actions: Value,
    pub branches: Value,
    pub content_types: Value,
    pub locales: Value,
    pub environment_uid: String,
    pub approvers: Value,
    pub disable_approver_publishing: bool,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

pub struct RuleWrite<'a> {
    pub workflow_uid: Option<&'a str>,
    pub workflow_stage: Option<&'a str>,
    pub actions: &'a Value,
    pub branches: &'a Value,
    pub content_types: &'a Value,
    pub locales: &'a Value,
    pub environment_uid: &'a str,
    pub approvers: &'a Value,
    pub disable_approver_publishing: bool,
}

const RULE_COLS: &str = "uid, stack_uid, workflow_uid, workflow_stage, actions, branches, \
    content_types, locales, environment_uid, approvers, disable_approver_publishing, created_by, \
    updated_by, created_at, updated_at";

fn rule_from_row(r: &(impl ReadRow + ?Sized)) -> Result<Rule> {
    Ok(Rule {
        uid: s(r, "uid")?,
        stack_uid: s(r, "stack_uid")?,
        workflow_uid: os(r, "workflow_uid")?,
        workflow_stage: os(r, "workflow_stage")?,
        actions: json(r, "actions")?,
        branches: json(r, "branches")?,
        content_types: json(r, "content_types")?,
        locales: json(r, "locales")?,
        environment_uid: s(r, "environment_uid")?,
        approvers: json(r, "approvers")?,
        disable_approver_publishing: b(r, "disable_approver_publishing")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

pub async fn insert_rule(
    c: &mut Conn,
    stack_uid: &str,
    w: &RuleWrite<'_>,
    actor: &Actor,
) -> Result<Rule> {
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    sqlx::query(
        "INSERT INTO publish_rules (uid, stack_uid, workflow_uid, workflow_stage, actions, branches, \
         content_types, locales, environment_uid, approvers, disable_approver_publishing, \
         created_by, updated_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $13)",
    )
    .bind(&uid)
    .bind(stack_uid)
    .bind(w.workflow_uid)
    .bind(w.workflow_stage)
    .bind(w.actions.to_string())
    .bind(w.branches.to_string())
    .bind(w.content_types.to_string())
    .bind(w.locales.to_string())
    .bind(w.environment_uid)
    .bind(w.approvers.to_string())
    .bind(w.disable_approver_publishing as i64)
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(rule(c, stack_uid, &uid).await?.expect("just inserted"))
}

pub async fn update_rule(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    w: &RuleWrite<'_>,
    actor: &Actor,
) -> Result<Option<Rule>> {
    sqlx::query(
        "UPDATE publish_rules SET workflow_uid = $1, workflow_stage = $2, actions = $3, \
         branches = $4, content_types = $5, locales = $6, environment_uid = $7, approvers = $8, \
         disable_approver_publishing = $9, updated_by = $10, updated_at = $11 \
         WHERE stack_uid = $12 AND uid = $13",
    )
    .bind(w.workflow_uid)
    .bind(w.workflow_stage)
    .bind(w.actions.to_string())
    .bind(w.branches.to_string())
    .bind(w.content_types.to_string())
    .bind(w.locales.to_string())
    .bind(w.environment_uid)
    .bind(w.approvers.to_string())
    .bind(w.disable_approver_publishing as i64)
    .bind(actor.uid())
    .bind(clock::now())
    .bind(stack_uid)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    rule(c, stack_uid, uid).await
}

pub async fn rule(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Option<Rule>> {
    let row = sqlx::query(&format!(
        "SELECT {RULE_COLS} FROM publish_rules WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(stack_uid)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(rule_from_row).transpose()
}

pub async fn rules<'e>(c: impl Into<Exec<'e>>, stack_uid: &str) -> Result<Vec<Rule>> {
    let rows = Statement::new(format!(
        "SELECT {RULE_COLS} FROM publish_rules WHERE stack_uid = $1 ORDER BY created_at, uid"
    ))
    .arg(stack_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(rule_from_row).collect()
}

pub async fn delete_rule(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM publish_rules WHERE stack_uid = $1 AND uid = $2")
        .bind(stack_uid)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// An entry's current stage in a locale.
#[derive(Clone, Debug)]
pub struct EntryStage {
    pub workflow_uid: String,
    pub stage_uid: String,
    pub updated_by: String,
    pub updated_at: String,
}

pub async fn entry_stage<'e>(
    c: impl Into<Exec<'e>>,
    space: &str,
    entry_uid: &str,
    locale: &str,
) -> Result<Option<EntryStage>> {
    let mut c = c.into();
    let row = Statement::new(
        "SELECT workflow_uid, stage_uid, updated_by, updated_at FROM entry_stages \
         WHERE stack_uid = $1 AND entry_uid = $2 AND locale = $3",
    )
    .arg(space)
    .arg(entry_uid)
    .arg(locale)
    .fetch_optional(&mut c)
    .await?;
    row.map(|r| {
        Ok(EntryStage {
            workflow_uid: s(&r, "workflow_uid")?,
            stage_uid: s(&r, "stage_uid")?,
            updated_by: s(&r, "updated_by")?,
            updated_at: s(&r, "updated_at")?,
        })
    })
    .transpose()
}

/// A stage change, recorded in the history too.
pub struct StageChange<'a> {
    pub space: &'a str,
    pub entry_uid: &'a str,
    pub locale: &'a str,
    pub workflow_uid: &'a str,
    pub stage_uid: &'a str,
    pub comment: &'a str,
    pub due_date: Option<&'a str>,
    pub assigned_to: &'a Value,
}

pub async fn set_entry_stage(c: &mut Conn, ch: &StageChange<'_>, actor: &Actor) -> Result<()> {
    let now = clock::now();
    let updated = sqlx::query(
        "UPDATE entry_stages SET workflow_uid = $1, stage_uid = $2, updated_by = $3, updated_at = $4 \
         WHERE stack_uid = $5 AND entry_uid = $6 AND locale = $7",
    )
    .bind(ch.workflow_uid)
    .bind(ch.stage_uid)
    .bind(actor.uid())
    .bind(&now)
    .bind(ch.space)
    .bind(ch.entry_uid)
    .bind(ch.locale)
    .execute(&mut *c)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO entry_stages (stack_uid, entry_uid, locale, workflow_uid, stage_uid, \
             updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(ch.space)
        .bind(ch.entry_uid)
        .bind(ch.locale)
        .bind(ch.workflow_uid)
        .bind(ch.stage_uid)
        .bind(actor.uid())
        .bind(&now)
        .execute(&mut *c)
        .await?;
    }
    sqlx::query(
        "INSERT INTO entry_stage_history (uid, stack_uid, entry_uid, locale, workflow_uid, \
         stage_uid, comment, due_date, assigned_to, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(headwater_core::ids::new_uid())
    .bind(ch.space)
    .bind(ch.entry_uid)
    .bind(ch.locale)
    .bind(ch.workflow_uid)
    .bind(ch.stage_uid)
    .bind(ch.comment)
    .bind(ch.due_date)
    .bind(ch.assigned_to.to_string())
    .bind(actor.uid())
    .bind(&now)
    .execute(c)
    .await?;
    Ok(())
}

/// The stage history of an entry in a locale, oldest first:
/// `(workflow_uid, stage_uid, comment, due_date, assigned_to, created_by, created_at)`.
pub async fn stage_history(
    c: &mut Conn,
    space: &str,
    entry_uid: &str,
    locale: &str,
) -> Result<Vec<Value>> {
    let rows = sqlx::query(
        "SELECT workflow_uid, stage_uid, comment, due_date, assigned_to, created_by, created_at \
         FROM entry_stage_history WHERE stack_uid = $1 AND entry_uid = $2 AND locale = $3 \
         ORDER BY created_at, uid",
    )
    .bind(space)
    .bind(entry_uid)
    .bind(locale)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok({
                serde_json::json!({
                    "workflow": s(r, "workflow_uid")?,
                    "workflow_stage": s(r, "stage_uid")?,
                    "comment": s(r, "comment")?,
                    "due_date": os(r, "due_date")?,
                    "assigned_to": json(r, "assigned_to")?,
                    "updated_by": s(r, "created_by")?,
                    "updated_at": s(r, "created_at")?,
                })
            })
        })
        .collect()
}

#[derive(Clone, Debug)]
pub struct PublishRequest {
    pub uid: String,
    pub space: String,
    pub content_type_uid: String,
    pub entry_uid: String,
    pub locale: String,
    pub version: i64,
    pub rule_uid: String,
    pub action: String,
    pub environment_uid: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub comment: String,
    pub requested_by: String,
    pub requested_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_comment: Option<String>,
}

const REQ_COLS: &str = "uid, stack_uid, content_type_uid, entry_uid, locale, version, rule_uid, \
    action, environment_uid, status, comment, requested_by, requested_at, decided_by, decided_at, \
    decision_comment";

fn request_from_row(r: &(impl ReadRow + ?Sized)) -> Result<PublishRequest> {
    Ok(PublishRequest {
        uid: s(r, "uid")?,
        space: s(r, "stack_uid")?,
        content_type_uid: s(r, "content_type_uid")?,
        entry_uid: s(r, "entry_uid")?,
        locale: s(r, "locale")?,
        version: i(r, "version")?,
        rule_uid: s(r, "rule_uid")?,
        action: s(r, "action")?,
        environment_uid: s(r, "environment_uid")?,
        status: s(r, "status")?,
        comment: s(r, "comment")?,
        requested_by: s(r, "requested_by")?,
        requested_at: s(r, "requested_at")?,
        decided_by: os(r, "decided_by")?,
        decided_at: os(r, "decided_at")?,
        decision_comment: os(r, "decision_comment")?,
    })
}

pub struct NewRequest<'a> {
    pub space: &'a str,
    pub content_type_uid: &'a str,
    pub entry_uid: &'a str,
    pub locale: &'a str,
    pub version: i64,
    pub rule_uid: &'a str,
    pub action: &'a str,
    pub environment_uid: &'a str,
    pub comment: &'a str,
}

/// Records a pending request, or returns the pending one already asking for the same thing.
pub async fn request<'e>(
    c: impl Into<Exec<'e>>,
    n: &NewRequest<'_>,
    actor: &Actor,
) -> Result<PublishRequest> {
    let mut c = c.into();
    if let Some(existing) =
        pending(&mut c, n.space, n.entry_uid, n.locale, n.rule_uid, n.action).await?
    {
        return Ok(existing);
    }
    let uid = headwater_core::ids::new_uid();
    Statement::new(
        "INSERT INTO publish_requests (uid, stack_uid, content_type_uid, entry_uid, locale, version, \
         rule_uid, action, environment_uid, status, comment, requested_by, requested_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12)",
    )
    .arg(&uid)
    .arg(n.space)
    .arg(n.content_type_uid)
    .arg(n.entry_uid)
    .arg(n.locale)
    .arg(n.version)
    .arg(n.rule_uid)
    .arg(n.action)
    .arg(n.environment_uid)
    .arg(n.comment)
    .arg(actor.uid())
    .arg(clock::now())
    .execute(&mut c)
    .await?;
    Ok(by_uid(&mut c, &uid).await?.expect("just inserted"))
}

pub async fn by_uid<'e>(c: impl Into<Exec<'e>>, uid: &str) -> Result<Option<PublishRequest>> {
    let mut c = c.into();
    let row = Statement::new(format!(
        "SELECT {REQ_COLS} FROM publish_requests WHERE uid = $1"
    ))
    .arg(uid)
    .fetch_optional(&mut c)
    .await?;
    row.as_ref().map(request_from_row).transpose()
}

pub async fn pending<'e>(
    c: impl Into<Exec<'e>>,
    space: &str,
    entry_uid: &str,
    locale: &str,
    rule_uid: &str,
    action: &str,
) -> Result<Option<PublishRequest>> {
    let mut c = c.into();
    let row = Statement::new(format!(
        "SELECT {REQ_COLS} FROM publish_requests WHERE stack_uid = $1 AND entry_uid = $2 \
         AND locale = $3 AND rule_uid = $4 AND action = $5 AND status = 'pending'"
    ))
    .arg(space)
    .arg(entry_uid)
    .arg(locale)
    .arg(rule_uid)
    .arg(action)
    .fetch_optional(&mut c)
    .await?;
    row.as_ref().map(request_from_row).transpose()
}

/// Every request of an entry in a locale, newest first.
pub async fn requests_of_entry(
    c: &mut Conn,
    space: &str,
    entry_uid: &str,
    locale: &str,
) -> Result<Vec<PublishRequest>> {
    let rows = sqlx::query(&format!(
        "SELECT {REQ_COLS} FROM publish_requests WHERE stack_uid = $1 AND entry_uid = $2 \
         AND locale = $3 ORDER BY requested_at DESC, uid"
    ))
    .bind(space)
    .bind(entry_uid)
    .bind(locale)
    .fetch_all(c)
    .await?;
    rows.iter().map(request_from_row).collect()
}

/// Pending requests under the given rules (for an approver's assignments).
pub async fn pending_for_rules(c: &mut Conn, rule_uids: &[String]) -> Result<Vec<PublishRequest>> {
    let mut out = Vec::new();
    for r in rule_uids {
        let rows = sqlx::query(&format!(
            "SELECT {REQ_COLS} FROM publish_requests WHERE rule_uid = $1 AND status = 'pending' \
             ORDER BY requested_at, uid"
        ))
        .bind(r)
        .fetch_all(&mut *c)
        .await?;
        for row in &rows {
            out.push(request_from_row(row)?);
        }
    }
    Ok(out)
}

/// Settles a pending request; false when it was no longer pending (decided concurrently).
pub async fn decide(
    c: &mut Conn,
    uid: &str,
    approved: bool,
    comment: &str,
    actor: &Actor,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE publish_requests SET status = $1, decided_by = $2, decided_at = $3, \
         decision_comment = $4 WHERE uid = $5 AND status = 'pending'",
    )
    .bind(if approved { "approved" } else { "rejected" })
    .bind(actor.uid())
    .bind(clock::now())
    .bind(comment)
    .bind(uid)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Removes an entry's stages, stage history and publish requests (all locales, or one).
pub async fn forget_entry(
    c: &mut Conn,
    space: &str,
    entry_uid: &str,
    locale: Option<&str>,
) -> Result<()> {
    let filter = if locale.is_some() {
        " AND locale = $3"
    } else {
        ""
    };
    for table in ["entry_stages", "entry_stage_history", "publish_requests"] {
        let sql = format!("DELETE FROM {table} WHERE stack_uid = $1 AND entry_uid = $2{filter}");
        let mut q = sqlx::query(&sql).bind(space).bind(entry_uid);
        if let Some(l) = locale {
            q = q.bind(l);
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// Removes the stages, stage history and publish requests of a content type's entries; call it
/// before the entries themselves are deleted.
pub async fn forget_content_type(c: &mut Conn, space: &str, content_type_uid: &str) -> Result<()> {
    for sql in [
        "DELETE FROM entry_stages WHERE stack_uid = $1 AND entry_uid IN \
         (SELECT uid FROM entries WHERE stack_uid = $1 AND content_type_uid = $2)",
        "DELETE FROM entry_stage_history WHERE stack_uid = $1 AND entry_uid IN \
         (SELECT uid FROM entries WHERE stack_uid = $1 AND content_type_uid = $2)",
        "DELETE FROM publish_requests WHERE stack_uid = $1 AND content_type_uid = $2",
    ] {
        sqlx::query(sql)
            .bind(space)
            .bind(content_type_uid)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}
