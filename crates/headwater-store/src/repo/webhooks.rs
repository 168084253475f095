//! Webhooks and their delivery outbox.
//!
//! An event is enqueued with [`enqueue`] inside the transaction of the change that caused it:
//! one `webhook_deliveries` row per matching enabled webhook and destination, so a change that
//! rolls back enqueues nothing and a committed one is delivered even across restarts. The
//! delivery worker claims due rows with a lease ([`claim_due`]), so two instances never send
//! the same delivery at once, and logs every attempt in `webhook_attempts`.

use super::{Actor, Conn};
use crate::batch::{Batch, Statement};
use crate::error::Result;
use crate::exec::Exec;
use crate::row::*;
use headwater_core::clock;
use serde_json::Value;
use sqlx::any::AnyRow;

#[derive(Clone, Debug)]
pub struct Webhook {
    pub uid: String,
    pub stack_uid: String,
    pub name: String,
    pub destinations: Value,
    pub channels: Vec<String>,
    pub branches: Vec<String>,
    pub retry_policy: String,
    pub notifiers: Value,
    pub disabled: bool,
    pub concise_payload: bool,
    /// The HMAC key deliveries are signed with.
    pub secret: String,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// The editable fields of a webhook.
#[derive(Clone, Debug)]
pub struct WebhookFields {
    pub name: String,
    pub destinations: Value,
    pub channels: Vec<String>,
    pub branches: Vec<String>,
    pub retry_policy: String,
    pub notifiers: Value,
    pub disabled: bool,
    pub concise_payload: bool,
}

const COLS: &str = "uid, stack_uid, name, destinations, channels, branches, retry_policy, \
    notifiers, disabled, concise_payload, secret, created_by, updated_by, created_at, updated_at";

fn strings(v: Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .into_iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn from_row(r: &(impl ReadRow + ?Sized)) -> Result<Webhook> {
    Ok(Webhook {
        uid: s(r, "uid")?,
        stack_uid: s(r, "stack_uid")?,
        name: s(r, "name")?,
        destinations: json(r, "destinations")?,
        channels: strings(json(r, "channels")?),
        branches: strings(json(r, "branches")?),
        retry_policy: s(r, "retry_policy")?,
        notifiers: json(r, "notifiers")?,
        disabled: b(r, "disabled")?,
        concise_payload: b(r, "concise_payload")?,
        secret: s(r, "secret")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

pub async fn insert(
    c: &mut Conn,
    stack_uid: &str,
    f: &WebhookFields,
    secret: &str,
    actor: &Actor,
) -> Result<Webhook> {
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    sqlx::query(
        "INSERT INTO webhooks (uid, stack_uid, name, destinations, channels, branches, \
         retry_policy, notifiers, disabled, concise_payload, secret, created_by, updated_by, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $13)",
    )
    .bind(&uid)
    .bind(stack_uid)
    .bind(&f.name)
    .bind(f.destinations.to_string())
    .bind(Value::from(f.channels.clone()).to_string())
    .bind(Value::from(f.branches.clone()).to_string())
    .bind(&f.retry_policy)
    .bind(f.notifiers.to_string())
    .bind(i64::from(f.disabled))
    .bind(i64::from(f.concise_payload))
    .bind(secret)
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(get(c, stack_uid, &uid).await?.expect("just inserted"))
}

pub async fn get(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Option<Webhook>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM webhooks WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(stack_uid)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A page of a stack's webhooks and the total count.
pub async fn list(
    c: &mut Conn,
    stack_uid: &str,
    skip: i64,
    limit: i64,
    ascending: bool,
) -> Result<(Vec<Webhook>, i64)> {
    let order = if ascending { "ASC" } else { "DESC" };
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM webhooks WHERE stack_uid = $1 \
         ORDER BY created_at {order}, uid {order} LIMIT $2 OFFSET $3"
    ))
    .bind(stack_uid)
    .bind(limit)
    .bind(skip)
    .fetch_all(&mut *c)
    .await?;
    let total = sqlx::query("SELECT COUNT(*) AS n FROM webhooks WHERE stack_uid = $1")
        .bind(stack_uid)
        .fetch_one(c)
        .await?;
    Ok((
        rows.iter().map(from_row).collect::<Result<_>>()?,
        i(&total, "n")?,
    ))
}

pub async fn update(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    f: &WebhookFields,
    actor: &Actor,
) -> Result<Option<Webhook>> {
    sqlx::query(
        "UPDATE webhooks SET name = $1, destinations = $2, channels = $3, branches = $4, \
         retry_policy = $5, notifiers = $6, disabled = $7, concise_payload = $8, \
         updated_by = $9, updated_at = $10 WHERE stack_uid = $11 AND uid = $12",
    )
    .bind(&f.name)
    .bind(f.destinations.to_string())
    .bind(Value::from(f.channels.clone()).to_string())
    .bind(Value::from(f.branches.clone()).to_string())
    .bind(&f.retry_policy)
    .bind(f.notifiers.to_string())
    .bind(i64::from(f.disabled))
    .bind(i64::from(f.concise_payload))
    .bind(actor.uid())
    .bind(clock::now())
    .bind(stack_uid)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    get(c, stack_uid, uid).await
}

/// Deletes a webhook with its pending deliveries and their log.
pub async fn delete(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<bool> {
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE delivery_uid IN \
         (SELECT uid FROM webhook_deliveries WHERE webhook_uid = $1)",
    )
    .bind(uid)
    .execute(&mut *c)
    .await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_uid = $1")
        .bind(uid)
        .execute(&mut *c)
        .await?;
    let r = sqlx::query("DELETE FROM webhooks WHERE stack_uid = $1 AND uid = $2")
        .bind(stack_uid)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Something that happened in a stack, as webhooks see it.
#[derive(Clone, Debug)]
pub struct OutEvent {
    pub stack_uid: String,
    pub branch: String,
    /// The event's canonical channel (e.g. `content_types.blog.entries.create`).
    pub channel: String,
    /// Every channel name a webhook may subscribe with to receive this event (the canonical
    /// one included), e.g. also `content_types.entries.create`.
    pub matches: Vec<String>,
    /// The delivered body (without `concise_payload` trimming).
    pub payload: Value,
    /// The body for webhooks that ask for a concise payload.
    pub concise: Value,
}

/// Enqueues one delivery per enabled webhook of the stack subscribed to the event (and to its
/// branch), per destination. Returns how many deliveries were enqueued. Call it with the open
/// transaction of the change that caused the event.
pub async fn enqueue<'e>(c: impl Into<Exec<'e>>, ev: &OutEvent) -> Result<usize> {
    let mut c = c.into();
    let mut b = Batch::new();
    let at = stage_lookup(&mut b, &ev.stack_uid);
    let hooks = hooks_of(&b.run(&mut c).await?[at])?;
    enqueue_to(c, &hooks, ev).await
}

/// The enabled webhooks of a stack, as a statement of a batch; returns the index of its rows
/// (read them with [`hooks_of`] and enqueue with [`enqueue_to`]).
pub fn stage_lookup(b: &mut Batch, stack_uid: &str) -> usize {
    let at = b.len();
    b.add(format!(
        "SELECT {COLS} FROM webhooks WHERE stack_uid = $1 AND disabled = 0"
    ))
    .bind(stack_uid);
    at
}

/// The webhooks of [`stage_lookup`]'s rows.
pub fn hooks_of(rows: &[Row]) -> Result<Vec<Webhook>> {
    rows.iter().map(from_row).collect()
}

/// [`enqueue`] with the stack's enabled webhooks already read (nothing is written when none
/// is subscribed).
pub async fn enqueue_to<'e>(
    c: impl Into<Exec<'e>>,
    hooks: &[Webhook],
    ev: &OutEvent,
) -> Result<usize> {
    let mut c = c.into();
    let now = clock::now();
    let mut n = 0;
    for hook in hooks {
        let subscribed = hook.channels.iter().any(|ch| ev.matches.contains(ch));
        let on_branch = hook.branches.is_empty() || hook.branches.contains(&ev.branch);
        if !subscribed || !on_branch {
            continue;
        }
        let payload = if hook.concise_payload {
            &ev.concise
        } else {
            &ev.payload
        };
        let count = hook.destinations.as_array().map_or(0, Vec::len);
        for dest in 0..count {
            c.fetch_all(
                Statement::new(
                    "INSERT INTO webhook_deliveries (uid, webhook_uid, stack_uid, destination, \
                     channel, branch, payload, status, attempts, next_attempt_at, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8, $8)",
                )
                .arg(headwater_core::ids::new_uid())
                .arg(hook.uid.as_str())
                .arg(ev.stack_uid.as_str())
                .arg(dest as i64)
                .arg(ev.channel.as_str())
                .arg(ev.branch.as_str())
                .arg(payload.to_string())
                .arg(now.as_str()),
            )
            .await?;
            n += 1;
        }
    }
    Ok(n)
}

/// One queued delivery (an "execution" on the wire).
#[derive(Clone, Debug)]
pub struct Delivery {
    pub uid: String,
    pub webhook_uid: String,
    pub stack_uid: String,
    pub destination: i64,
    pub channel: String,
    pub branch: String,
    pub payload: Value,
    /// `pending`, `success` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub next_attempt_at: String,
    pub created_at: String,
    pub updated_at: String,
}

const DCOLS: &str = "uid, webhook_uid, stack_uid, destination, channel, branch, payload, status, \
    attempts, last_status, next_attempt_at, created_at, updated_at";

fn delivery_from_row(r: &AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        uid: s(r, "uid")?,
        webhook_uid: s(r, "webhook_uid")?,
        stack_uid: s(r, "stack_uid")?,
        destination: i(r, "destination")?,
        channel: s(r, "channel")?,
        branch: s(r, "branch")?,
        payload: json(r, "payload")?,
        status: s(r, "status")?,
        attempts: i(r, "attempts")?,
        last_status: oi(r, "last_status")?,
        next_attempt_at: s(r, "next_attempt_at")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

/// Deliveries waiting to be sent (due or scheduled for a retry): the queue's depth.
pub async fn pending_count(c: &mut Conn) -> Result<i64> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'")
            .fetch_one(c)
            .await?;
    Ok(n)
}

/// True when some delivery is due (a cheap look before claiming).
pub async fn any_due(c: &mut Conn, now: &str) -> Result<bool> {
    let row = sqlx::query(
        "SELECT uid FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 \
         AND (lease_until IS NULL OR lease_until <= $1) LIMIT 1",
    )
    .bind(now)
    .fetch_optional(c)
    .await?;
    Ok(row.is_some())
}

/// Claims up to `limit` due deliveries until `lease_until`: no other worker takes them before
/// then (PostgreSQL skips rows another transaction is claiming; SQLite has one writer). A
/// worker that dies mid-delivery leaves the lease to run out, and the delivery is retried.
pub async fn claim_due(
    c: &mut Conn,
    now: &str,
    lease_until: &str,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let backend = crate::Backend::of(c);
    let rows = sqlx::query(&format!(
        "SELECT {DCOLS} FROM webhook_deliveries WHERE status = 'pending' \
         AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1) \
         ORDER BY next_attempt_at, uid LIMIT $2{}",
        crate::dialect::skip_locked(backend)
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?;
    let claimed = rows
        .iter()
        .map(delivery_from_row)
        .collect::<Result<Vec<Delivery>>>()?;
    for d in &claimed {
        sqlx::query("UPDATE webhook_deliveries SET lease_until = $1 WHERE uid = $2")
            .bind(lease_until)
            .bind(&d.uid)
            .execute(&mut *c)
            .await?;
    }
    Ok(claimed)
}

/// One delivery attempt, as logged.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub uid: String,
    pub delivery_uid: String,
    pub attempt: i64,
    pub target_url: String,
    /// The HTTP status answered, 0 when there was no answer.
    pub status_code: i64,
    pub error: Option<String>,
    pub response_body: String,
    pub duration_ms: i64,
    pub created_at: String,
}

/// What follows an attempt.
#[derive(Clone, Debug)]
pub enum Next {
    Delivered,
    RetryAt(String),
    GiveUp,
}

/// Logs an attempt and moves the delivery on (delivered, retried later or failed), releasing
/// its lease.
pub async fn record_attempt(c: &mut Conn, a: &Attempt, next: &Next) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_attempts (uid, delivery_uid, attempt, target_url, status_code, \
         error, response_body, duration_ms, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&a.uid)
    .bind(&a.delivery_uid)
    .bind(a.attempt)
    .bind(&a.target_url)
    .bind(a.status_code)
    .bind(a.error.clone())
    .bind(&a.response_body)
    .bind(a.duration_ms)
    .bind(&a.created_at)
    .execute(&mut *c)
    .await?;
    let (status, next_at) = match next {
        Next::Delivered => ("success", a.created_at.clone()),
        Next::RetryAt(at) => ("pending", at.clone()),
        Next::GiveUp => ("failed", a.created_at.clone()),
    };
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, attempts = $2, last_status = $3, \
         next_attempt_at = $4, lease_until = NULL, updated_at = $5 WHERE uid = $6",
    )
    .bind(status)
    .bind(a.attempt)
    .bind(a.status_code)
    .bind(next_at)
    .bind(clock::now())
    .bind(&a.delivery_uid)
    .execute(c)
    .await?;
    Ok(())
}

/// Releases a claimed delivery without an attempt (the worker is stopping, or the webhook is
/// gone), so it is due again at once.
pub async fn release(c: &mut Conn, uid: &str) -> Result<()> {
    sqlx::query("UPDATE webhook_deliveries SET lease_until = NULL WHERE uid = $1")
        .bind(uid)
        .execute(c)
        .await?;
    Ok(())
}

/// A webhook's deliveries, newest first.
pub async fn deliveries(
    c: &mut Conn,
    stack_uid: &str,
    webhook_uid: &str,
    skip: i64,
    limit: i64,
) -> Result<(Vec<Delivery>, i64)> {
    let rows = sqlx::query(&format!(
        "SELECT {DCOLS} FROM webhook_deliveries WHERE stack_uid = $1 AND webhook_uid = $2 \
         ORDER BY created_at DESC, uid DESC LIMIT $3 OFFSET $4"
    ))
    .bind(stack_uid)
    .bind(webhook_uid)
    .bind(limit)
    .bind(skip)
    .fetch_all(&mut *c)
    .await?;
    let total = sqlx::query(
        "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE stack_uid = $1 AND webhook_uid = $2",
    )
    .bind(stack_uid)
    .bind(webhook_uid)
    .fetch_one(c)
    .await?;
    Ok((
        rows.iter().map(delivery_from_row).collect::<Result<_>>()?,
        i(&total, "n")?,
    ))
}

pub async fn delivery(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Option<Delivery>> {
    let row = sqlx::query(&format!(
        "SELECT {DCOLS} FROM webhook_deliveries WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(stack_uid)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(delivery_from_row).transpose()
}

/// A delivery's attempts, in order.
pub async fn attempts(c: &mut Conn, delivery_uid: &str) -> Result<Vec<Attempt>> {
    let rows = sqlx::query(
        "SELECT uid, delivery_uid, attempt, target_url, status_code, error, response_body, \
         duration_ms, created_at FROM webhook_attempts WHERE delivery_uid = $1 \
         ORDER BY attempt, created_at",
    )
    .bind(delivery_uid)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Attempt {
                uid: s(r, "uid")?,
                delivery_uid: s(r, "delivery_uid")?,
                attempt: i(r, "attempt")?,
                target_url: s(r, "target_url")?,
                status_code: i(r, "status_code")?,
                error: os(r, "error")?,
                response_body: s(r, "response_body")?,
                duration_ms: i(r, "duration_ms")?,
                created_at: s(r, "created_at")?,
            })
        })
        .collect()
}

/// Schedules a delivery again now (a manual retry). A delivery in flight is left alone.
pub async fn schedule_retry(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<bool> {
    let now = clock::now();
    let r = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1 \
         WHERE stack_uid = $2 AND uid = $3 AND (lease_until IS NULL OR lease_until <= $1)",
    )
    .bind(&now)
    .bind(stack_uid)
    .bind(uid)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}
