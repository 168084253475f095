//! Branch merges (the merge queue) and branch settings.
//!
//! A merge is applied in one write transaction; its record is written in that transaction
//! when it completes, or on its own after the rollback when it fails, so the queue lists both.

use super::{Actor, Conn};
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;
use serde_json::Value;
use sqlx::any::AnyRow;

#[derive(Clone, Debug)]
pub struct Merge {
    pub uid: String,
    pub stack_uid: String,
    pub base_branch: String,
    pub compare_branch: String,
    pub status: String,
    pub configuration: Value,
    pub summary: Value,
    pub errors: Value,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub merged_at: Option<String>,
}

/// A merge to record.
pub struct NewMerge<'a> {
    pub base_branch: &'a str,
    pub compare_branch: &'a str,
    /// `complete` or `failed`.
    pub status: &'a str,
    pub configuration: &'a Value,
    pub summary: &'a Value,
    pub errors: &'a Value,
}

const COLS: &str = "uid, stack_uid, base_branch, compare_branch, status, configuration, summary, \
                    errors, created_by, created_at, updated_at, merged_at";

fn from_row(r: &AnyRow) -> Result<Merge> {
    Ok(Merge {
        uid: s(r, "uid")?,
        stack_uid: s(r, "stack_uid")?,
        base_branch: s(r, "base_branch")?,
        compare_branch: s(r, "compare_branch")?,
        status: s(r, "status")?,
        configuration: json(r, "configuration")?,
        summary: json(r, "summary")?,
        errors: json(r, "errors")?,
        created_by: s(r, "created_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
        merged_at: os(r, "merged_at")?,
    })
}

/// Locks the base branch's row until the transaction ends (PostgreSQL), so that two merges
/// into one branch run one after the other; SQLite's single writer already serializes them.
pub async fn lock_branch(c: &mut Conn, stack_uid: &str, branch_uid: &str) -> Result<()> {
    let backend = crate::Backend::of(c);
    sqlx::query(&format!(
        "SELECT uid FROM branches WHERE stack_uid = $1 AND uid = $2{}",
        crate::dialect::for_update(backend)
    ))
    .bind(stack_uid)
    .bind(branch_uid)
    .fetch_optional(c)
    .await?;
    Ok(())
}

pub async fn insert(
    c: &mut Conn,
    stack_uid: &str,
    m: &NewMerge<'_>,
    actor: &Actor,
) -> Result<Merge> {
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    let merged_at = (m.status == "complete").then(|| now.clone());
    sqlx::query(
        "INSERT INTO branch_merges (stack_uid, uid, base_branch, compare_branch, status, \
         configuration, summary, errors, created_by, created_at, updated_at, merged_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
    )
    .bind(stack_uid)
    .bind(&uid)
    .bind(m.base_branch)
    .bind(m.compare_branch)
    .bind(m.status)
    .bind(m.configuration.to_string())
    .bind(m.summary.to_string())
    .bind(m.errors.to_string())
    .bind(actor.uid())
    .bind(&now)
    .bind(merged_at)
    .execute(&mut *c)
    .await?;
    Ok(get(c, stack_uid, &uid).await?.expect("just inserted"))
}

pub async fn get(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Option<Merge>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM branch_merges WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(stack_uid)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The most recent merges first.
pub async fn recent(c: &mut Conn, stack_uid: &str, skip: i64, limit: i64) -> Result<Vec<Merge>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM branch_merges WHERE stack_uid = $1 \
         ORDER BY created_at DESC, uid DESC LIMIT $2 OFFSET $3"
    ))
    .bind(stack_uid)
    .bind(limit)
    .bind(skip)
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Replaces a branch's settings.
pub async fn set_settings(
    c: &mut Conn,
    stack_uid: &str,
    branch_uid: &str,
    settings: &Value,
    actor: &Actor,
) -> Result<()> {
    let now = clock::now();
    let updated = sqlx::query(
        "UPDATE branch_settings SET settings = $1, updated_by = $2, updated_at = $3 \
         WHERE stack_uid = $4 AND branch_uid = $5",
    )
    .bind(settings.to_string())
    .bind(actor.uid())
    .bind(&now)
    .bind(stack_uid)
    .bind(branch_uid)
    .execute(&mut *c)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO branch_settings (stack_uid, branch_uid, settings, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(stack_uid)
        .bind(branch_uid)
        .bind(settings.to_string())
        .bind(actor.uid())
        .bind(&now)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// A branch's settings (`{}` when none were set).
pub async fn settings(c: &mut Conn, stack_uid: &str, branch_uid: &str) -> Result<Value> {
    let row = sqlx::query(
        "SELECT settings FROM branch_settings WHERE stack_uid = $1 AND branch_uid = $2",
    )
    .bind(stack_uid)
    .bind(branch_uid)
    .fetch_optional(c)
    .await?;
    Ok(row
        .map(|r| json(&r, "settings"))
        .transpose()?
        .unwrap_or_else(|| serde_json::json!({})))
}
