//! Branches and branch aliases.
//!
//! Each branch owns a content space: the rows of the content tables (locales, content types and
//! global fields, entries and their history, publications, assets and their versions) whose
//! `stack_uid` column holds the branch's `space_uid`. `main`'s space is the stack's own uid, so
//! the common case needs no lookup; another branch's space is `<stack uid>:<branch uid>`.

use super::{Actor, Conn};
use crate::error::Result;
use crate::row::*;
use crate::Backend;
use headwater_core::clock;
use sqlx::any::AnyRow;

pub const MAIN: &str = "main";

#[derive(Clone, Debug)]
pub struct Branch {
    pub stack_uid: String,
    pub uid: String,
    pub source: String,
    pub space_uid: String,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug)]
pub struct Alias {
    pub uid: String,
    pub target_branch: String,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// The content space of a branch of a stack.
pub fn space_of(stack_uid: &str, branch: &str) -> String {
    if branch == MAIN {
        stack_uid.to_string()
    } else {
        format!("{stack_uid}:{branch}")
    }
}

const COLS: &str =
    "stack_uid, uid, source, space_uid, created_by, updated_by, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<Branch> {
    Ok(Branch {
        stack_uid: s(r, "stack_uid")?,
        uid: s(r, "uid")?,
        source: s(r, "source")?,
        space_uid: s(r, "space_uid")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

fn alias_from_row(r: &AnyRow) -> Result<Alias> {
    Ok(Alias {
        uid: s(r, "uid")?,
        target_branch: s(r, "target_branch")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

async fn insert_row(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    source: &str,
    actor: &Actor,
) -> Result<Branch> {
    let now = clock::now();
    sqlx::query(
        "INSERT INTO branches (stack_uid, uid, source, space_uid, created_by, updated_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, $6, $6)",
    )
    .bind(stack_uid)
    .bind(uid)
    .bind(source)
    .bind(space_of(stack_uid, uid))
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(get(c, stack_uid, uid).await?.expect("just inserted"))
}

/// The `main` branch of a new stack (its content space is the stack's uid).
pub async fn insert_main(c: &mut Conn, stack_uid: &str, actor: &Actor) -> Result<Branch> {
    insert_row(c, stack_uid, MAIN, "", actor).await
}

pub async fn get(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Option<Branch>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM branches WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(stack_uid)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(c: &mut Conn, stack_uid: &str) -> Result<Vec<Branch>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM branches WHERE stack_uid = $1 ORDER BY created_at, uid"
    ))
    .bind(stack_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(from_row).collect()
}

/// What the content tables hold for a space, copied into another space. Publications are not
/// copied: a new branch starts with nothing published.
const COPIES: &[(&str, &str)] = &[
    (
        "locales",
        "uid, code, name, fallback_locale, version, created_by, updated_by, created_at, updated_at",
    ),
    (
        "schemas",
        "kind, uid, title, description, schema, options, version, created_by, updated_by, \
         created_at, updated_at",
    ),
    (
        "entries",
        "content_type_uid, uid, locale, title, version, doc, tags, created_by, updated_by, \
         created_at, updated_at",
    ),
    (
        "entry_versions",
        "uid, locale, version, content_type_uid, title, doc, tags, created_by, created_at",
    ),
    (
        "assets",
        "uid, is_dir, parent_uid, title, description, filename, content_type, file_size, tags, \
         version, created_by, updated_by, created_at, updated_at",
    ),
    (
        "asset_versions",
        "uid, version, filename, content_type, file_size, storage_key, created_by, created_at",
    ),
    (
        "taxonomies",
        "uid, name, description, created_by, updated_by, created_at, updated_at",
    ),
    (
        "taxonomy_terms",
        "taxonomy_uid, uid, name, parent_uid, depth, position, created_by, updated_by, \
         created_at, updated_at",
    ),
    (
        "taxonomy_localizations",
        "taxonomy_uid, term_uid, locale, name, description, created_by, updated_by, created_at, \
         updated_at",
    ),
    (
        "extensions",
        "uid, title, type, body, version, created_by, updated_by, created_at, updated_at",
    ),
    (
        "entry_version_names",
        "entry_uid, locale, version, name, updated_by, updated_at",
    ),
];

/// Creates branch `uid` from `source`, copying the source's content types, global fields,
/// locales, entries (with their history) and assets (sharing the stored files). Runs inside the
/// caller's transaction, so a failure leaves no partial branch.
pub async fn create(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    source: &Branch,
    actor: &Actor,
) -> Result<Branch> {
    let backend = crate::Backend::of(c);
    let branch = insert_row(c, stack_uid, uid, &source.uid, actor).await?;
    // Entry rows get new `seq` keys (PostgreSQL assigns them; on SQLite they follow the
    // largest in use, offset by the unique rowid), then the field index is built for them.
    let base = match backend {
        Backend::Sqlite => Some(i(
            &sqlx::query("SELECT COALESCE(MAX(seq), 0) AS m FROM entries")
                .fetch_one(&mut *c)
                .await?,
            "m",
        )?),
        Backend::Postgres => None,
    };
    for (table, cols) in COPIES {
        sqlx::query(&format!(
            "INSERT INTO {table} (stack_uid, {cols}) SELECT $1, {cols} FROM {table} WHERE stack_uid = $2"
        ))
        .bind(&branch.space_uid)
        .bind(&source.space_uid)
        .execute(&mut *c)
        .await?;
    }
    if let Some(base) = base {
        sqlx::query("UPDATE entries SET seq = $1 + rowid WHERE stack_uid = $2 AND seq IS NULL")
            .bind(base)
            .bind(&branch.space_uid)
            .execute(&mut *c)
            .await?;
    }
    super::field_index::reindex(c, &branch.space_uid).await?;
    Ok(branch)
}

/// Removes a content space's field index (its rows carry no foreign key to the entries).
pub async fn drop_field_index(c: &mut Conn, space_uid: &str) -> Result<()> {
    sqlx::query(
        "DELETE FROM entry_values WHERE seq IN (SELECT seq FROM entries WHERE stack_uid = $1)",
    )
    .bind(space_uid)
    .execute(&mut *c)
    .await?;
    sqlx::query("DELETE FROM entry_terms WHERE stack_uid = $1")
        .bind(space_uid)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM entry_fields WHERE stack_uid = $1")
        .bind(space_uid)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Deletes a branch and, through the foreign keys, its content and the aliases pointing at it.
pub async fn delete(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<bool> {
    if let Some(b) = get(c, stack_uid, uid).await? {
        drop_field_index(c, &b.space_uid).await?;
    }
    let r = sqlx::query("DELETE FROM branches WHERE stack_uid = $1 AND uid = $2")
        .bind(stack_uid)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Storage keys of the files of a space's assets (to remove those no other branch shares once
/// the branch is gone).
pub async fn storage_keys(c: &mut Conn, space_uid: &str) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT storage_key FROM asset_versions WHERE stack_uid = $1")
        .bind(space_uid)
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| s(r, "storage_key")).collect()
}

const ALIAS_COLS: &str = "uid, target_branch, created_by, updated_by, created_at, updated_at";

pub async fn aliases(c: &mut Conn, stack_uid: &str) -> Result<Vec<Alias>> {
    let rows = sqlx::query(&format!(
        "SELECT {ALIAS_COLS} FROM branch_aliases WHERE stack_uid = $1 ORDER BY uid"
    ))
    .bind(stack_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(alias_from_row).collect()
}

pub async fn alias(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Option<Alias>> {
    let row = sqlx::query(&format!(
        "SELECT {ALIAS_COLS} FROM branch_aliases WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(stack_uid)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(alias_from_row).transpose()
}

/// Points alias `uid` at `target` (creating the alias if it does not exist).
pub async fn assign_alias(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    target: &str,
    actor: &Actor,
) -> Result<Alias> {
    let now = clock::now();
    let updated = sqlx::query(
        "UPDATE branch_aliases SET target_branch = $1, updated_by = $2, updated_at = $3 \
         WHERE stack_uid = $4 AND uid = $5",
    )
    .bind(target)
    .bind(actor.uid())
    .bind(&now)
    .bind(stack_uid)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO branch_aliases (stack_uid, uid, target_branch, created_by, updated_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $4, $5, $5)",
        )
        .bind(stack_uid)
        .bind(uid)
        .bind(target)
        .bind(actor.uid())
        .bind(&now)
        .execute(&mut *c)
        .await?;
    }
    Ok(alias(c, stack_uid, uid).await?.expect("just written"))
}

pub async fn delete_alias(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM branch_aliases WHERE stack_uid = $1 AND uid = $2")
        .bind(stack_uid)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// A `branch` header resolved: the branch, and the alias it was reached through.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub branch: Branch,
    pub via_alias: Option<String>,
}

/// Resolves a branch uid or an alias uid of a stack.
pub async fn resolve(c: &mut Conn, stack_uid: &str, name: &str) -> Result<Option<Resolved>> {
    if let Some(branch) = get(c, stack_uid, name).await? {
        return Ok(Some(Resolved {
            branch,
            via_alias: None,
        }));
    }
    let Some(a) = alias(c, stack_uid, name).await? else {
        return Ok(None);
    };
    Ok(get(c, stack_uid, &a.target_branch)
        .await?
        .map(|branch| Resolved {
            branch,
            via_alias: Some(a.uid),
        }))
}
