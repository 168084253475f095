//! Delivery tokens: read-only credentials for published content of some environments. Like
//! management tokens, only the SHA-256 of the secret is stored.

use super::{Actor, Conn};
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;
use serde_json::Value;
use sqlx::any::AnyRow;

/// Delivery tokens a stack may hold (Contentstack's documented maximum).
pub const MAX_PER_STACK: i64 = 20;

/// The branch uids a delivery-token scope names (its `branch` module items).
pub fn named_branches(scope: &Value) -> Vec<String> {
    scope
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m.get("module").and_then(|v| v.as_str()) == Some("branch"))
        .filter_map(|m| m.get("branches").and_then(|b| b.as_array()))
        .flatten()
        .filter_map(|b| b.as_str().map(str::to_string))
        .collect()
}

impl DeliveryToken {
    /// The branches the token's scope names; `main` when it names none.
    pub fn branches(&self) -> Vec<String> {
        let named = named_branches(&self.scope);
        if named.is_empty() {
            vec!["main".to_string()]
        } else {
            named
        }
    }
}

#[derive(Clone, Debug)]
pub struct DeliveryToken {
    pub uid: String,
    pub stack_uid: String,
    pub name: String,
    pub description: String,
    pub scope: Value,
    /// Environment uids.
    pub environments: Vec<String>,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str =
    "uid, stack_uid, name, description, scope, environments, created_by, updated_by, \
                    created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<DeliveryToken> {
    Ok(DeliveryToken {
        uid: s(r, "uid")?,
        stack_uid: s(r, "stack_uid")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        scope: json(r, "scope")?,
        environments: json_as(r, "environments")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

pub struct Fields<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub scope: &'a Value,
    pub environments: &'a [String],
}

/// Creates a token unless the stack holds [`MAX_PER_STACK`] already (`Ok(None)`). Runs in a
/// write transaction with the stack row locked, like management tokens.
pub async fn create_capped(
    c: &mut Conn,
    stack_uid: &str,
    f: &Fields<'_>,
    token_hash: &str,
    actor: &Actor,
) -> Result<Option<DeliveryToken>> {
    super::stacks::lock(c, stack_uid).await?;
    let n = sqlx::query("SELECT COUNT(*) AS n FROM delivery_tokens WHERE stack_uid = $1")
        .bind(stack_uid)
        .fetch_one(&mut *c)
        .await?;
    if i(&n, "n")? >= MAX_PER_STACK {
        return Ok(None);
    }
    let uid = headwater_core::ids::new_uid();
    let now = clock::now();
    sqlx::query(
        "INSERT INTO delivery_tokens (uid, stack_uid, name, description, scope, environments, token_hash, \
         created_by, updated_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $9)",
    )
    .bind(&uid)
    .bind(stack_uid)
    .bind(f.name)
    .bind(f.description)
    .bind(f.scope.to_string())
    .bind(serde_json::to_string(f.environments).unwrap_or_default())
    .bind(token_hash)
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    get(c, stack_uid, &uid).await
}

pub async fn get(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Option<DeliveryToken>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM delivery_tokens WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(stack_uid)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_hash(c: &mut Conn, token_hash: &str) -> Result<Option<DeliveryToken>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM delivery_tokens WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(c: &mut Conn, stack_uid: &str) -> Result<Vec<DeliveryToken>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM delivery_tokens WHERE stack_uid = $1 ORDER BY created_at, uid"
    ))
    .bind(stack_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn update(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    f: &Fields<'_>,
    actor: &Actor,
) -> Result<Option<DeliveryToken>> {
    sqlx::query(
        "UPDATE delivery_tokens SET name = $1, description = $2, scope = $3, environments = $4, \
         updated_by = $5, updated_at = $6 WHERE stack_uid = $7 AND uid = $8",
    )
    .bind(f.name)
    .bind(f.description)
    .bind(f.scope.to_string())
    .bind(serde_json::to_string(f.environments).unwrap_or_default())
    .bind(actor.uid())
    .bind(clock::now())
    .bind(stack_uid)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    get(c, stack_uid, uid).await
}

pub async fn delete(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM delivery_tokens WHERE stack_uid = $1 AND uid = $2")
        .bind(stack_uid)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}
