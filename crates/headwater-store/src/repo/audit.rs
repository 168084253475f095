//! The audit log: one row per change, written in the same transaction as the change.

use super::{Actor, Conn};
use crate::batch::Batch;
use crate::error::Result;
use crate::exec::Exec;
use crate::row::*;
use headwater_core::clock;

#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub uid: String,
    pub org_uid: Option<String>,
    pub stack_uid: Option<String>,
    pub actor_kind: String,
    pub actor_uid: String,
    pub action: String,
    pub module: String,
    pub target_uid: Option<String>,
    pub target_title: Option<String>,
    pub created_at: String,
}

/// What happened, to what.
pub struct Event<'a> {
    pub org_uid: Option<&'a str>,
    pub stack_uid: Option<&'a str>,
    pub action: &'a str,
    pub module: &'a str,
    pub target_uid: Option<&'a str>,
    pub target_title: Option<&'a str>,
}

pub async fn record<'e>(c: impl Into<Exec<'e>>, actor: &Actor, e: Event<'_>) -> Result<()> {
    let mut b = Batch::new();
    stage(&mut b, actor, e);
    b.run(c).await?;
    Ok(())
}

/// [`record`] as a statement of a batch (run with the change's other statements).
pub fn stage(b: &mut Batch, actor: &Actor, e: Event<'_>) {
    b.add(
        "INSERT INTO audit_log (uid, org_uid, stack_uid, actor_kind, actor_uid, action, module, \
         target_uid, target_title, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(headwater_core::ids::new_uid())
    .bind(e.org_uid)
    .bind(e.stack_uid)
    .bind(actor.kind())
    .bind(actor.uid())
    .bind(e.action)
    .bind(e.module)
    .bind(e.target_uid)
    .bind(e.target_title)
    .bind(clock::now());
}

const COLS: &str = "uid, org_uid, stack_uid, actor_kind, actor_uid, action, module, target_uid, \
                    target_title, created_at";

fn from_row(r: &(impl ReadRow + ?Sized)) -> Result<AuditEntry> {
    Ok(AuditEntry {
        uid: s(r, "uid")?,
        org_uid: os(r, "org_uid")?,
        stack_uid: os(r, "stack_uid")?,
        actor_kind: s(r, "actor_kind")?,
        actor_uid: s(r, "actor_uid")?,
        action: s(r, "action")?,
        module: s(r, "module")?,
        target_uid: os(r, "target_uid")?,
        target_title: os(r, "target_title")?,
        created_at: s(r, "created_at")?,
    })
}

pub async fn get(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Option<AuditEntry>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM audit_log WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(stack_uid)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A stack's audit entries, newest first.
pub async fn list(
    c: &mut Conn,
    stack_uid: &str,
    skip: i64,
    limit: i64,
) -> Result<(Vec<AuditEntry>, i64)> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM audit_log WHERE stack_uid = $1 ORDER BY seq DESC LIMIT $2 OFFSET $3"
    ))
    .bind(stack_uid)
    .bind(limit)
    .bind(skip)
    .fetch_all(&mut *c)
    .await?;
    let total = sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE stack_uid = $1")
        .bind(stack_uid)
        .fetch_one(c)
        .await?;
    Ok((
        rows.iter().map(from_row).collect::<Result<_>>()?,
        i(&total, "n")?,
    ))
}

/// An organization's audit entries (its stacks' and its own), newest first.
pub async fn list_org(
    c: &mut Conn,
    org_uid: &str,
    skip: i64,
    limit: i64,
) -> Result<(Vec<AuditEntry>, i64)> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM audit_log WHERE org_uid = $1 ORDER BY seq DESC LIMIT $2 OFFSET $3"
    ))
    .bind(org_uid)
    .bind(limit)
    .bind(skip)
    .fetch_all(&mut *c)
    .await?;
    let total = sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE org_uid = $1")
        .bind(org_uid)
        .fetch_one(c)
        .await?;
    Ok((
        rows.iter().map(from_row).collect::<Result<_>>()?,
        i(&total, "n")?,
    ))
}
