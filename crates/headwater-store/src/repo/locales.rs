//! The languages of a stack. The master locale is created with the stack and cannot be removed.

use super::{Actor, Conn};
use crate::batch::Statement;
use crate::error::Result;
use crate::exec::Exec;
use crate::row::*;
use headwater_core::clock;

#[derive(Clone, Debug)]
pub struct Locale {
    pub uid: String,
    pub code: String,
    pub name: String,
    pub fallback_locale: Option<String>,
    pub version: i64,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str =
    "uid, code, name, fallback_locale, version, created_by, updated_by, created_at, updated_at";

fn from_row(r: &(impl ReadRow + ?Sized)) -> Result<Locale> {
    Ok(Locale {
        uid: s(r, "uid")?,
        code: s(r, "code")?,
        name: s(r, "name")?,
        fallback_locale: os(r, "fallback_locale")?,
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
    code: &str,
    name: &str,
    fallback: Option<&str>,
    actor: &Actor,
) -> Result<Locale> {
    let now = clock::now();
    sqlx::query(
        "INSERT INTO locales (uid, stack_uid, code, name, fallback_locale, version, created_by, \
         updated_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7, $7)",
    )
    .bind(headwater_core::ids::new_uid())
    .bind(stack_uid)
    .bind(code)
    .bind(name)
    .bind(fallback.map(str::to_string))
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(by_code(c, stack_uid, code).await?.expect("just inserted"))
}

pub async fn list(c: &mut Conn, stack_uid: &str) -> Result<Vec<Locale>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM locales WHERE stack_uid = $1 ORDER BY created_at, code"
    ))
    .bind(stack_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn by_code<'e>(
    c: impl Into<Exec<'e>>,
    stack_uid: &str,
    code: &str,
) -> Result<Option<Locale>> {
    let row = c
        .into()
        .fetch_optional(
            Statement::new(format!(
                "SELECT {COLS} FROM locales WHERE stack_uid = $1 AND code = $2"
            ))
            .arg(stack_uid)
            .arg(code),
        )
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn update(
    c: &mut Conn,
    stack_uid: &str,
    code: &str,
    name: &str,
    fallback: Option<&str>,
    actor: &Actor,
) -> Result<Option<Locale>> {
    sqlx::query(
        "UPDATE locales SET name = $1, fallback_locale = $2, version = version + 1, updated_by = $3, \
         updated_at = $4 WHERE stack_uid = $5 AND code = $6",
    )
    .bind(name)
    .bind(fallback.map(str::to_string))
    .bind(actor.uid())
    .bind(clock::now())
    .bind(stack_uid)
    .bind(code)
    .execute(&mut *c)
    .await?;
    by_code(c, stack_uid, code).await
}

/// Removes a locale with its localized entries and publications.
pub async fn delete(c: &mut Conn, stack_uid: &str, code: &str) -> Result<bool> {
    for sql in [
        "DELETE FROM publications WHERE stack_uid = $1 AND locale = $2",
        "DELETE FROM entry_versions WHERE stack_uid = $1 AND locale = $2",
        "DELETE FROM entries WHERE stack_uid = $1 AND locale = $2",
    ] {
        sqlx::query(sql)
            .bind(stack_uid)
            .bind(code)
            .execute(&mut *c)
            .await?;
    }
    let r = sqlx::query("DELETE FROM locales WHERE stack_uid = $1 AND code = $2")
        .bind(stack_uid)
        .bind(code)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}
