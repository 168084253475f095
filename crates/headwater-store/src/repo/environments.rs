//! Publishing environments, addressed by name on the wire.

use super::{Actor, Conn};
use crate::batch::Statement;
use crate::error::Result;
use crate::exec::Exec;
use crate::row::*;
use headwater_core::clock;

#[derive(Clone, Debug)]
pub struct Environment {
    pub uid: String,
    pub stack_uid: String,
    pub name: String,
    pub urls: serde_json::Value,
    pub version: i64,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str =
    "uid, stack_uid, name, urls, version, created_by, updated_by, created_at, updated_at";

fn from_row(r: &(impl ReadRow + ?Sized)) -> Result<Environment> {
    Ok(Environment {
        uid: s(r, "uid")?,
        stack_uid: s(r, "stack_uid")?,
        name: s(r, "name")?,
        urls: json(r, "urls")?,
        version: i(r, "version")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

pub async fn insert(
    c: &mut Conn,
    stack_uid: &str,
    name: &str,
    urls: &serde_json::Value,
    actor: &Actor,
) -> Result<Environment> {
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    sqlx::query(
        "INSERT INTO environments (uid, stack_uid, name, urls, version, created_by, updated_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $5, $6, $6)",
    )
    .bind(&uid)
    .bind(stack_uid)
    .bind(name)
    .bind(urls.to_string())
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(by_name(c, stack_uid, name).await?.expect("just inserted"))
}

/// A page of a stack's environments and the total count.
pub async fn list(
    c: &mut Conn,
    stack_uid: &str,
    skip: i64,
    limit: i64,
    ascending: bool,
) -> Result<(Vec<Environment>, i64)> {
    let order = if ascending { "ASC" } else { "DESC" };
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM environments WHERE stack_uid = $1 \
         ORDER BY created_at {order}, uid {order} LIMIT $2 OFFSET $3"
    ))
    .bind(stack_uid)
    .bind(limit)
    .bind(skip)
    .fetch_all(&mut *c)
    .await?;
    let total = sqlx::query("SELECT COUNT(*) AS n FROM environments WHERE stack_uid = $1")
        .bind(stack_uid)
        .fetch_one(c)
        .await?;
    Ok((
        rows.iter().map(from_row).collect::<Result<_>>()?,
        i(&total, "n")?,
    ))
}

pub async fn by_name<'e>(
    c: impl Into<Exec<'e>>,
    stack_uid: &str,
    name: &str,
) -> Result<Option<Environment>> {
    let row = Statement::new(format!(
        "SELECT {COLS} FROM environments WHERE stack_uid = $1 AND (name = $2 OR uid = $2)"
    ))
    .arg(stack_uid)
    .arg(name)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn update(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    name: &str,
    urls: &serde_json::Value,
    actor: &Actor,
) -> Result<Option<Environment>> {
    sqlx::query(
        "UPDATE environments SET name = $1, urls = $2, version = version + 1, updated_by = $3, \
         updated_at = $4 WHERE stack_uid = $5 AND uid = $6",
    )
    .bind(name)
    .bind(urls.to_string())
    .bind(actor.uid())
    .bind(clock::now())
    .bind(stack_uid)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    by_name(c, stack_uid, uid).await
}

pub async fn delete(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM environments WHERE stack_uid = $1 AND uid = $2")
        .bind(stack_uid)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}
