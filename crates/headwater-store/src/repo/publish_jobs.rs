//! Publishing jobs: asynchronous bulk publishes and scheduled publishes, with their items.
//! A job is carried out inside one write transaction that first claims it with [`claim`]
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer on SQLite) and ends with
//! [`finish`], so it runs once however many instances look for due jobs.

use super::Conn;
use crate::batch::Statement;
use crate::error::Result;
use crate::exec::Exec;
use crate::row::*;
use crate::Backend;
use headwater_core::{clock, ids};
use serde_json::Value;

#[derive(Clone, Debug)]
pub struct Job {
    pub uid: String,
    pub stack_uid: String,
    pub space_uid: String,
    pub branch: String,
    /// `publish` or `unpublish`.
    pub action: String,
    /// `bulk`, `entry`, `asset` or `release`.
    pub source: String,
    /// `queued`, `completed`, `failed` or `cancelled`.
    pub status: String,
    pub scheduled: bool,
    pub actor_kind: String,
    pub actor_uid: String,
    pub settings: Value,
    pub run_at: String,
    pub error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

#[derive(Clone, Debug)]
pub struct JobItem {
    pub uid: String,
    pub job_uid: String,
    pub position: i64,
    /// `entry` or `asset`.
    pub item_type: String,
    /// The item's own action, when it differs from the job's.
    pub action: Option<String>,
    pub item_uid: String,
    pub content_type_uid: Option<String>,
    pub locale: Option<String>,
    pub version: Option<i64>,
    /// `pending`, `success`, `failed` or `cancelled`.
    pub status: String,
    pub errors: Option<Value>,
    pub updated_at: String,
}

const JCOLS: &str = "j.uid, j.stack_uid, j.space_uid, j.branch, j.action, j.source, j.status, \
                     j.scheduled, j.actor_kind, j.actor_uid, j.settings, j.run_at, j.error, \
                     j.created_at, j.finished_at";
const ICOLS: &str = "i.uid AS item_uid_key, i.job_uid, i.position, i.item_type, i.action AS item_action, i.item_uid, \
                     i.content_type_uid, i.locale, i.version, i.status AS item_status, i.errors, \
                     i.updated_at";

fn job_from_row(r: &(impl ReadRow + ?Sized)) -> Result<Job> {
    Ok(Job {
        uid: s(r, "uid")?,
        stack_uid: s(r, "stack_uid")?,
        space_uid: s(r, "space_uid")?,
        branch: s(r, "branch")?,
        action: s(r, "action")?,
        source: s(r, "source")?,
        status: s(r, "status")?,
        scheduled: b(r, "scheduled")?,
        actor_kind: s(r, "actor_kind")?,
        actor_uid: s(r, "actor_uid")?,
        settings: json(r, "settings")?,
        run_at: s(r, "run_at")?,
        error: os(r, "error")?,
        created_at: s(r, "created_at")?,
        finished_at: os(r, "finished_at")?,
    })
}

fn item_from_row(r: &(impl ReadRow + ?Sized)) -> Result<JobItem> {
    Ok(JobItem {
        uid: s(r, "item_uid_key")?,
        job_uid: s(r, "job_uid")?,
        position: i(r, "position")?,
        item_type: s(r, "item_type")?,
        action: os(r, "item_action")?,
        item_uid: s(r, "item_uid")?,
        content_type_uid: os(r, "content_type_uid")?,
        locale: os(r, "locale")?,
        version: oi(r, "version")?,
        status: s(r, "item_status")?,
        errors: ojson_as(r, "errors")?,
        updated_at: s(r, "updated_at")?,
    })
}

/// A job to queue.
pub struct NewJob<'a> {
    pub stack_uid: &'a str,
    pub space_uid: &'a str,
    pub branch: &'a str,
    pub action: &'a str,
    pub source: &'a str,
    pub scheduled: bool,
    pub actor_kind: &'a str,
    pub actor_uid: &'a str,
    pub settings: &'a Value,
    pub run_at: &'a str,
}

/// An item of a job to queue.
pub struct NewItem<'a> {
    pub item_type: &'a str,
    /// The item's own action (a release item's), when it differs from the job's.
    pub action: Option<&'a str>,
    pub item_uid: &'a str,
    pub content_type_uid: Option<&'a str>,
    pub locale: Option<&'a str>,
    pub version: Option<i64>,
}

/// Queues a job and its items; returns the job's uid.
pub async fn insert<'e>(
    c: impl Into<Exec<'e>>,
    job: &NewJob<'_>,
    items: &[NewItem<'_>],
) -> Result<String> {
    let mut c = c.into();
    let uid = ids::new_uid();
    let now = clock::now();
    Statement::new(
        "INSERT INTO publish_jobs (uid, stack_uid, space_uid, branch, action, source, status, \
         scheduled, actor_kind, actor_uid, settings, run_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9, $10, $11, $12)",
    )
    .arg(&uid)
    .arg(job.stack_uid)
    .arg(job.space_uid)
    .arg(job.branch)
    .arg(job.action)
    .arg(job.source)
    .arg(job.scheduled as i64)
    .arg(job.actor_kind)
    .arg(job.actor_uid)
    .arg(job.settings.to_string())
    .arg(job.run_at)
    .arg(&now)
    .execute(&mut c)
    .await?;
    for (n, it) in items.iter().enumerate() {
        Statement::new(
            "INSERT INTO publish_job_items (uid, job_uid, position, item_type, item_uid, \
             content_type_uid, locale, version, status, updated_at, action) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10)",
        )
        .arg(ids::new_uid())
        .arg(&uid)
        .arg(n as i64)
        .arg(it.item_type)
        .arg(it.item_uid)
        .arg(it.content_type_uid)
        .arg(it.locale)
        .arg(it.version)
        .arg(&now)
        .arg(it.action)
        .execute(&mut c)
        .await?;
    }
    Ok(uid)
}

/// A job of the stack.
pub async fn get(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Option<Job>> {
    let r = sqlx::query(&format!(
        "SELECT {JCOLS} FROM publish_jobs j WHERE j.stack_uid = $1 AND j.uid = $2"
    ))
    .bind(stack_uid)
    .bind(uid)
    .fetch_optional(&mut *c)
    .await?;
    r.as_ref().map(job_from_row).transpose()
}

/// A job by uid alone (the worker's view).
pub async fn by_uid(c: &mut Conn, uid: &str) -> Result<Option<Job>> {
    let r = sqlx::query(&format!(
        "SELECT {JCOLS} FROM publish_jobs j WHERE j.uid = $1"
    ))
    .bind(uid)
    .fetch_optional(&mut *c)
    .await?;
    r.as_ref().map(job_from_row).transpose()
}

/// The items of a job, in the order they were given.
pub async fn items(c: &mut Conn, job_uid: &str) -> Result<Vec<JobItem>> {
    let rows = sqlx::query(&format!(
        "SELECT {ICOLS} FROM publish_job_items i WHERE i.job_uid = $1 ORDER BY i.position"
    ))
    .bind(job_uid)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(item_from_row).collect()
}

/// Up to `limit` uids of queued jobs due at `now`, oldest first.
pub async fn due(c: &mut Conn, now: &str, limit: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT uid FROM publish_jobs WHERE status = 'queued' AND run_at <= $1 \
         ORDER BY run_at, created_at, uid LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| s(r, "uid")).collect()
}

/// Claims a due job in the caller's write transaction: true when it is still queued and no
/// other transaction holds it. The claim lasts until that transaction ends.
pub async fn claim(c: &mut Conn, uid: &str, now: &str) -> Result<bool> {
    let backend = Backend::of(c);
    let r = sqlx::query(&format!(
        "SELECT uid FROM publish_jobs WHERE uid = $1 AND status = 'queued' AND run_at <= $2{}",
        crate::dialect::skip_locked(backend)
    ))
    .bind(uid)
    .bind(now)
    .fetch_optional(&mut *c)
    .await?;
    Ok(r.is_some())
}

/// Records what became of an item.
pub async fn set_item(c: &mut Conn, uid: &str, status: &str, errors: Option<&Value>) -> Result<()> {
    sqlx::query(
        "UPDATE publish_job_items SET status = $1, errors = $2, updated_at = $3 WHERE uid = $4",
    )
    .bind(status)
    .bind(errors.map(Value::to_string))
    .bind(clock::now())
    .bind(uid)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Ends a job with `status` (`completed`, `failed`).
pub async fn finish(c: &mut Conn, uid: &str, status: &str, error: Option<&str>) -> Result<()> {
    sqlx::query("UPDATE publish_jobs SET status = $1, error = $2, finished_at = $3 WHERE uid = $4")
        .bind(status)
        .bind(error)
        .bind(clock::now())
        .bind(uid)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// What the publish queue is filtered by.
#[derive(Default)]
pub struct QueueFilter<'a> {
    /// `entry` or `asset`.
    pub item_type: Option<&'a str>,
    /// `publish` or `unpublish`.
    pub action: Option<&'a str>,
    /// The item's status (`pending`, `success`, `failed`, `cancelled`).
    pub status: Option<&'a str>,
    pub content_type_uid: Option<&'a str>,
    /// Only scheduled items (`true`) or only unscheduled ones (`false`).
    pub scheduled: Option<bool>,
}

/// The publish queue of a content space: one row per job item, newest job first.
pub async fn queue(
    c: &mut Conn,
    space_uid: &str,
    f: &QueueFilter<'_>,
    skip: i64,
    limit: i64,
) -> Result<(Vec<(Job, JobItem)>, i64)> {
    let mut conds = vec!["j.space_uid = $1".to_string()];
    let mut binds: Vec<String> = vec![space_uid.to_string()];
    let mut add = |cond: &str, v: &str| {
        binds.push(v.to_string());
        conds.push(format!("{cond} = ${}", binds.len()));
    };
    if let Some(v) = f.item_type {
        add("i.item_type", v);
    }
    if let Some(v) = f.action {
        add("COALESCE(i.action, j.action)", v);
    }
    if let Some(v) = f.status {
        add("i.status", v);
    }
    if let Some(v) = f.content_type_uid {
        add("i.content_type_uid", v);
    }
    if let Some(v) = f.scheduled {
        conds.push(format!("j.scheduled = {}", v as i64));
    }
    let filter = conds.join(" AND ");
    let from = "FROM publish_job_items i JOIN publish_jobs j ON j.uid = i.job_uid";
    let count_sql = format!("SELECT COUNT(*) AS n {from} WHERE {filter}");
    let mut count_q = sqlx::query(&count_sql);
    for b in &binds {
        count_q = count_q.bind(b);
    }
    let total = i(&count_q.fetch_one(&mut *c).await?, "n")?;
    let sql = format!(
        "SELECT {JCOLS}, {ICOLS} {from} WHERE {filter} \
         ORDER BY j.created_at DESC, j.uid, i.position LIMIT ${} OFFSET ${}",
        binds.len() + 1,
        binds.len() + 2
    );
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    let rows = q.bind(limit).bind(skip).fetch_all(&mut *c).await?;
    Ok((
        rows.iter()
            .map(|r| Ok((job_from_row(r)?, item_from_row(r)?)))
            .collect::<Result<Vec<_>>>()?,
        total,
    ))
}

/// One row of the publish queue.
pub async fn queue_item(
    c: &mut Conn,
    space_uid: &str,
    item_uid: &str,
) -> Result<Option<(Job, JobItem)>> {
    let r = sqlx::query(&format!(
        "SELECT {JCOLS}, {ICOLS} FROM publish_job_items i JOIN publish_jobs j ON j.uid = i.job_uid \
         WHERE j.space_uid = $1 AND i.uid = $2"
    ))
    .bind(space_uid)
    .bind(item_uid)
    .fetch_optional(&mut *c)
    .await?;
    r.as_ref()
        .map(|r| Ok((job_from_row(r)?, item_from_row(r)?)))
        .transpose()
}

/// Cancels a pending item of a queued job (in the caller's write transaction, after
/// [`lock`]); a job left with no pending item is cancelled with it. False when the item is
/// no longer pending or its job no longer queued (carried out, or cancelled already).
pub async fn cancel_item(c: &mut Conn, job_uid: &str, item_uid: &str) -> Result<bool> {
    let job_queued =
        sqlx::query("SELECT uid FROM publish_jobs WHERE uid = $1 AND status = 'queued'")
            .bind(job_uid)
            .fetch_optional(&mut *c)
            .await?
            .is_some();
    if !job_queued {
        return Ok(false);
    }
    let n = sqlx::query(
        "UPDATE publish_job_items SET status = 'cancelled', updated_at = $1 \
         WHERE uid = $2 AND job_uid = $3 AND status = 'pending'",
    )
    .bind(clock::now())
    .bind(item_uid)
    .bind(job_uid)
    .execute(&mut *c)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    let left = sqlx::query(
        "SELECT COUNT(*) AS n FROM publish_job_items WHERE job_uid = $1 AND status = 'pending'",
    )
    .bind(job_uid)
    .fetch_one(&mut *c)
    .await?;
    if i(&left, "n")? == 0 {
        finish(c, job_uid, "cancelled", None).await?;
    }
    Ok(true)
}

/// Holds a job's row until the transaction ends (PostgreSQL; SQLite's writer is single), so a
/// cancellation and the job's execution do not interleave.
pub async fn lock(c: &mut Conn, uid: &str) -> Result<()> {
    let backend = Backend::of(c);
    sqlx::query(&format!(
        "SELECT uid FROM publish_jobs WHERE uid = $1{}",
        crate::dialect::for_update(backend)
    ))
    .bind(uid)
    .fetch_optional(&mut *c)
    .await?;
    Ok(())
}
