//! Content types and global fields: both are a titled schema with a uid, stored in one table
//! and told apart by [`Kind`].

use super::{Actor, Conn};
use crate::batch::Statement;
use crate::error::Result;
use crate::exec::Exec;
use crate::row::*;
use headwater_core::clock;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ContentType,
    GlobalField,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::ContentType => "content_type",
            Kind::GlobalField => "global_field",
        }
    }
}

#[derive(Clone, Debug)]
pub struct SchemaDoc {
    pub uid: String,
    pub title: String,
    pub description: String,
    pub schema: Value,
    pub options: Value,
    pub version: i64,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str =
    "uid, title, description, schema, options, version, created_by, updated_by, created_at, updated_at";

fn from_row(r: &(impl ReadRow + ?Sized)) -> Result<SchemaDoc> {
    Ok(SchemaDoc {
        uid: s(r, "uid")?,
        title: s(r, "title")?,
        description: s(r, "description")?,
        schema: json(r, "schema")?,
        options: json(r, "options")?,
        version: i(r, "version")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

/// The editable parts.
pub struct SchemaWrite<'a> {
    pub uid: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub schema: &'a Value,
    pub options: &'a Value,
}

pub async fn insert(
    c: &mut Conn,
    stack_uid: &str,
    kind: Kind,
    w: &SchemaWrite<'_>,
    actor: &Actor,
) -> Result<SchemaDoc> {
    let now = clock::now();
    sqlx::query(
        "INSERT INTO schemas (stack_uid, kind, uid, title, description, schema, options, version, \
         created_by, updated_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8, $9, $9)",
    )
    .bind(stack_uid)
    .bind(kind.key())
    .bind(w.uid)
    .bind(w.title)
    .bind(w.description)
    .bind(w.schema.to_string())
    .bind(w.options.to_string())
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(get(c, stack_uid, kind, w.uid)
        .await?
        .expect("just inserted"))
}

pub async fn get(
    c: &mut Conn,
    stack_uid: &str,
    kind: Kind,
    uid: &str,
) -> Result<Option<SchemaDoc>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM schemas WHERE stack_uid = $1 AND kind = $2 AND uid = $3"
    ))
    .bind(stack_uid)
    .bind(kind.key())
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every schema of a kind in a content space, unpaged and uncounted.
pub async fn all(c: &mut Conn, stack_uid: &str, kind: Kind) -> Result<Vec<SchemaDoc>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM schemas WHERE stack_uid = $1 AND kind = $2 ORDER BY created_at, uid"
    ))
    .bind(stack_uid)
    .bind(kind.key())
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

/// A content type together with every global field of its content space, in one statement
/// (what writing an entry needs to resolve the content type's fields). `None` when the
/// content type does not exist.
pub async fn content_type_with_globals<'e>(
    c: impl Into<Exec<'e>>,
    stack_uid: &str,
    uid: &str,
) -> Result<Option<(SchemaDoc, Vec<SchemaDoc>)>> {
    let rows = c
        .into()
        .fetch_all(
            Statement::new(format!(
                "SELECT kind, {COLS} FROM schemas WHERE stack_uid = $1 \
                 AND ((kind = $2 AND uid = $3) OR kind = $4) ORDER BY created_at, uid"
            ))
            .arg(stack_uid)
            .arg(Kind::ContentType.key())
            .arg(uid)
            .arg(Kind::GlobalField.key()),
        )
        .await?;
    let mut content_type = None;
    let mut globals = Vec::new();
    for r in &rows {
        if s(r, "kind")? == Kind::ContentType.key() {
            content_type = Some(from_row(r)?);
        } else {
            globals.push(from_row(r)?);
        }
    }
    Ok(content_type.map(|ct| (ct, globals)))
}

pub async fn list(
    c: &mut Conn,
    stack_uid: &str,
    kind: Kind,
    skip: i64,
    limit: i64,
) -> Result<(Vec<SchemaDoc>, i64)> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM schemas WHERE stack_uid = $1 AND kind = $2 ORDER BY created_at, uid LIMIT $3 OFFSET $4"
    ))
    .bind(stack_uid)
    .bind(kind.key())
    .bind(limit)
    .bind(skip)
    .fetch_all(&mut *c)
    .await?;
    let total = sqlx::query("SELECT COUNT(*) AS n FROM schemas WHERE stack_uid = $1 AND kind = $2")
        .bind(stack_uid)
        .bind(kind.key())
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
    kind: Kind,
    w: &SchemaWrite<'_>,
    actor: &Actor,
) -> Result<Option<SchemaDoc>> {
    sqlx::query(
        "UPDATE schemas SET title = $1, description = $2, schema = $3, options = $4, version = version + 1, \
         updated_by = $5, updated_at = $6 WHERE stack_uid = $7 AND kind = $8 AND uid = $9",
    )
    .bind(w.title)
    .bind(w.description)
    .bind(w.schema.to_string())
    .bind(w.options.to_string())
    .bind(actor.uid())
    .bind(clock::now())
    .bind(stack_uid)
    .bind(kind.key())
    .bind(w.uid)
    .execute(&mut *c)
    .await?;
    get(c, stack_uid, kind, w.uid).await
}

pub async fn delete(c: &mut Conn, stack_uid: &str, kind: Kind, uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM schemas WHERE stack_uid = $1 AND kind = $2 AND uid = $3")
        .bind(stack_uid)
        .bind(kind.key())
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Uids of content types or global fields whose schema mentions `needle` (e.g. a global
/// field's uid), to refuse deleting something still referenced.
pub async fn referencing(c: &mut Conn, stack_uid: &str, needle: &str) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT uid, schema FROM schemas WHERE stack_uid = $1")
        .bind(stack_uid)
        .fetch_all(c)
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        if references(&json(r, "schema")?, needle) {
            out.push(s(r, "uid")?);
        }
    }
    Ok(out)
}

fn references(v: &Value, uid: &str) -> bool {
    match v {
        Value::Object(o) => {
            (o.get("data_type").and_then(Value::as_str) == Some("global_field")
                && o.get("reference_to").and_then(Value::as_str) == Some(uid))
                || o.values().any(|x| references(x, uid))
        }
        Value::Array(a) => a.iter().any(|x| references(x, uid)),
        _ => false,
    }
}

pub async fn exists<'e>(
    c: impl Into<Exec<'e>>,
    stack_uid: &str,
    kind: Kind,
    uid: &str,
) -> Result<bool> {
    let row = Statement::new(
        "SELECT 1 AS one FROM schemas WHERE stack_uid = $1 AND kind = $2 AND uid = $3",
    )
    .arg(stack_uid)
    .arg(kind.key())
    .arg(uid)
    .fetch_optional(c)
    .await?;
    Ok(row.is_some())
}
