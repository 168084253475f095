//! Stack settings (`/v3/stacks/settings`): a JSON object per stack, stored as written.

use super::{Actor, Conn};
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;

/// The stored settings, `None` when the stack has never been given any.
pub async fn get(c: &mut Conn, stack_uid: &str) -> Result<Option<serde_json::Value>> {
    let row = sqlx::query("SELECT settings FROM stack_settings WHERE stack_uid = $1")
        .bind(stack_uid)
        .fetch_optional(c)
        .await?;
    row.map(|r| json(&r, "settings")).transpose()
}

pub async fn put(
    c: &mut Conn,
    stack_uid: &str,
    settings: &serde_json::Value,
    actor: &Actor,
) -> Result<()> {
    sqlx::query("DELETE FROM stack_settings WHERE stack_uid = $1")
        .bind(stack_uid)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO stack_settings (stack_uid, settings, updated_by, updated_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(stack_uid)
    .bind(settings.to_string())
    .bind(actor.uid())
    .bind(clock::now())
    .execute(c)
    .await?;
    Ok(())
}
