//! Releases (a set of entry and asset versions deployed together) and labels, per content space.

use super::{Actor, Conn};
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;
use serde_json::Value;
use sqlx::any::AnyRow;

#[derive(Clone, Debug)]
pub struct Release {
    pub uid: String,
    pub space: String,
    pub name: String,
    pub description: String,
    pub locked: bool,
    pub archived: bool,
    /// `[{uid, version?, locale, content_type_uid?, action, title}]`.
    pub items: Value,
    /// `[{environments, locales, action, deployed_at, deployed_by}]`, newest last.
    pub deployments: Value,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str = "uid, stack_uid, name, description, locked, archived, items, deployments, \
                    created_by, updated_by, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<Release> {
    Ok(Release {
        uid: s(r, "uid")?,
        space: s(r, "stack_uid")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        locked: b(r, "locked")?,
        archived: b(r, "archived")?,
        items: json(r, "items")?,
        deployments: json(r, "deployments")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

pub struct ReleaseWrite<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub locked: bool,
    pub archived: bool,
    pub items: &'a Value,
}

pub async fn insert(
    c: &mut Conn,
    space: &str,
    w: &ReleaseWrite<'_>,
    actor: &Actor,
) -> Result<Release> {
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    sqlx::query(
        "INSERT INTO releases (uid, stack_uid, name, description, locked, archived, items, \
         created_by, updated_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $9)",
    )
    .bind(&uid)
    .bind(space)
    .bind(w.name)
    .bind(w.description)
    .bind(w.locked as i64)
    .bind(w.archived as i64)
    .bind(w.items.to_string())
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(get(c, space, &uid).await?.expect("just inserted"))
}

pub async fn update(
    c: &mut Conn,
    space: &str,
    uid: &str,
    w: &ReleaseWrite<'_>,
    actor: &Actor,
) -> Result<Option<Release>> {
    sqlx::query(
        "UPDATE releases SET name = $1, description = $2, locked = $3, archived = $4, items = $5, \
         updated_by = $6, updated_at = $7 WHERE stack_uid = $8 AND uid = $9",
    )
    .bind(w.name)
    .bind(w.description)
    .bind(w.locked as i64)
    .bind(w.archived as i64)
    .bind(w.items.to_string())
    .bind(actor.uid())
    .bind(clock::now())
    .bind(space)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    get(c, space, uid).await
}

pub async fn record_deployment(
    c: &mut Conn,
    space: &str,
    uid: &str,
    deployments: &Value,
) -> Result<()> {
    sqlx::query("UPDATE releases SET deployments = $1 WHERE stack_uid = $2 AND uid = $3")
        .bind(deployments.to_string())
        .bind(space)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn get(c: &mut Conn, space: &str, uid: &str) -> Result<Option<Release>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM releases WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(space)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(c: &mut Conn, space: &str, skip: i64, limit: i64) -> Result<(Vec<Release>, i64)> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM releases WHERE stack_uid = $1 ORDER BY created_at DESC, uid LIMIT $2 OFFSET $3"
    ))
    .bind(space)
    .bind(limit)
    .bind(skip)
    .fetch_all(&mut *c)
    .await?;
    let n = sqlx::query("SELECT COUNT(*) AS n FROM releases WHERE stack_uid = $1")
        .bind(space)
        .fetch_one(c)
        .await?;
    Ok((
        rows.iter().map(from_row).collect::<Result<_>>()?,
        i(&n, "n")?,
    ))
}

pub async fn delete(c: &mut Conn, space: &str, uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM releases WHERE stack_uid = $1 AND uid = $2")
        .bind(space)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Clone, Debug)]
pub struct Label {
    pub uid: String,
    pub name: String,
    pub parent: Value,
    pub content_types: Value,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const LABEL_COLS: &str =
    "uid, name, parent, content_types, created_by, updated_by, created_at, updated_at";

fn label_from_row(r: &AnyRow) -> Result<Label> {
    Ok(Label {
        uid: s(r, "uid")?,
        name: s(r, "name")?,
        parent: json(r, "parent")?,
        content_types: json(r, "content_types")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

pub async fn insert_label(
    c: &mut Conn,
    space: &str,
    name: &str,
    parent: &Value,
    content_types: &Value,
    actor: &Actor,
) -> Result<Label> {
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    sqlx::query(
        "INSERT INTO labels (uid, stack_uid, name, parent, content_types, created_by, updated_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $7)",
    )
    .bind(&uid)
    .bind(space)
    .bind(name)
    .bind(parent.to_string())
    .bind(content_types.to_string())
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(label(c, space, &uid).await?.expect("just inserted"))
}

pub async fn update_label(
    c: &mut Conn,
    space: &str,
    uid: &str,
    name: &str,
    parent: &Value,
    content_types: &Value,
    actor: &Actor,
) -> Result<Option<Label>> {
    sqlx::query(
        "UPDATE labels SET name = $1, parent = $2, content_types = $3, updated_by = $4, \
         updated_at = $5 WHERE stack_uid = $6 AND uid = $7",
    )
    .bind(name)
    .bind(parent.to_string())
    .bind(content_types.to_string())
    .bind(actor.uid())
    .bind(clock::now())
    .bind(space)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    label(c, space, uid).await
}

pub async fn label(c: &mut Conn, space: &str, uid: &str) -> Result<Option<Label>> {
    let row = sqlx::query(&format!(
        "SELECT {LABEL_COLS} FROM labels WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(space)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(label_from_row).transpose()
}

pub async fn labels(c: &mut Conn, space: &str) -> Result<Vec<Label>> {
    let rows = sqlx::query(&format!(
        "SELECT {LABEL_COLS} FROM labels WHERE stack_uid = $1 ORDER BY name, uid"
    ))
    .bind(space)
    .fetch_all(c)
    .await?;
    rows.iter().map(label_from_row).collect()
}

/// Deletes a label; its children lose it as a parent.
pub async fn delete_label(c: &mut Conn, space: &str, uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM labels WHERE stack_uid = $1 AND uid = $2")
        .bind(space)
        .bind(uid)
        .execute(&mut *c)
        .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    for child in labels(c, space).await? {
        let parents: Vec<Value> = child
            .parent
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.as_str() != Some(uid))
            .collect();
        if parents.len() != child.parent.as_array().map_or(0, Vec::len) {
            sqlx::query("UPDATE labels SET parent = $1 WHERE stack_uid = $2 AND uid = $3")
                .bind(Value::Array(parents).to_string())
                .bind(space)
                .bind(&child.uid)
                .execute(&mut *c)
                .await?;
        }
    }
    Ok(true)
}
