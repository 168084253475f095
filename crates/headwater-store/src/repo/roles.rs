//! Stack roles: the three built-in ones and custom roles with Contentstack rule objects.

use super::{Actor, Conn};
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;
use sqlx::any::AnyRow;

#[derive(Clone, Debug)]
pub struct Role {
    pub uid: String,
    pub stack_uid: String,
    pub name: String,
    pub description: String,
    pub builtin: Option<String>,
    pub rules: serde_json::Value,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str = "uid, stack_uid, name, description, builtin, rules, created_by, updated_by, \
                    created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<Role> {
    Ok(Role {
        uid: s(r, "uid")?,
        stack_uid: s(r, "stack_uid")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        builtin: os(r, "builtin")?,
        rules: json(r, "rules")?,
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
    description: &str,
    builtin: Option<&str>,
    rules: &serde_json::Value,
    actor: &Actor,
) -> Result<Role> {
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    sqlx::query(
        "INSERT INTO roles (uid, stack_uid, name, description, builtin, rules, created_by, updated_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $8)",
    )
    .bind(&uid)
    .bind(stack_uid)
    .bind(name)
    .bind(description)
    .bind(builtin.map(str::to_string))
    .bind(rules.to_string())
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(get(c, stack_uid, &uid).await?.expect("just inserted"))
}

pub async fn list(c: &mut Conn, stack_uid: &str) -> Result<Vec<Role>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM roles WHERE stack_uid = $1 ORDER BY created_at, uid"
    ))
    .bind(stack_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Option<Role>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM roles WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(stack_uid)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn update(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    name: &str,
    description: &str,
    rules: &serde_json::Value,
    actor: &Actor,
) -> Result<Option<Role>> {
    sqlx::query(
        "UPDATE roles SET name = $1, description = $2, rules = $3, updated_by = $4, updated_at = $5 \
         WHERE stack_uid = $6 AND uid = $7",
    )
    .bind(name)
    .bind(description)
    .bind(rules.to_string())
    .bind(actor.uid())
    .bind(clock::now())
    .bind(stack_uid)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    get(c, stack_uid, uid).await
}

/// How many members hold a role.
pub async fn member_count(c: &mut Conn, uid: &str) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM stack_members WHERE role_uid = $1")
        .bind(uid)
        .fetch_one(c)
        .await?;
    i(&row, "n")
}

pub async fn delete(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM roles WHERE stack_uid = $1 AND uid = $2")
        .bind(stack_uid)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}
