//! Assets (files with metadata and versions) and asset folders.

use super::{Actor, Conn};
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;
use serde_json::Value;
use sqlx::any::AnyRow;

#[derive(Clone, Debug)]
pub struct Asset {
    pub uid: String,
    pub is_dir: bool,
    pub parent_uid: Option<String>,
    pub title: String,
    pub description: String,
    pub filename: String,
    pub content_type: String,
    pub file_size: i64,
    pub tags: Value,
    pub version: i64,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str =
    "uid, is_dir, parent_uid, title, description, filename, content_type, file_size, \
                    tags, version, created_by, updated_by, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<Asset> {
    Ok(Asset {
        uid: s(r, "uid")?,
        is_dir: b(r, "is_dir")?,
        parent_uid: os(r, "parent_uid")?,
        title: s(r, "title")?,
        description: s(r, "description")?,
        filename: s(r, "filename")?,
        content_type: s(r, "content_type")?,
        file_size: i(r, "file_size")?,
        tags: json(r, "tags")?,
        version: i(r, "version")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

/// Metadata of an asset or folder.
pub struct Meta<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub parent_uid: Option<&'a str>,
    pub tags: &'a Value,
}

/// A stored file.
pub struct FileInfo<'a> {
    pub filename: &'a str,
    pub content_type: &'a str,
    pub file_size: i64,
    pub storage_key: &'a str,
}

pub async fn insert(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    meta: &Meta<'_>,
    file: Option<&FileInfo<'_>>,
    actor: &Actor,
) -> Result<Asset> {
    let now = clock::now();
    sqlx::query(
        "INSERT INTO assets (uid, stack_uid, is_dir, parent_uid, title, description, filename, content_type, \
         file_size, tags, version, created_by, updated_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11, $12, $12)",
    )
    .bind(uid)
    .bind(stack_uid)
    .bind(i64::from(file.is_none()))
    .bind(meta.parent_uid.map(str::to_string))
    .bind(meta.title)
    .bind(meta.description)
    .bind(file.map(|f| f.filename).unwrap_or(""))
    .bind(file.map(|f| f.content_type).unwrap_or(""))
    .bind(file.map(|f| f.file_size).unwrap_or(0))
    .bind(meta.tags.to_string())
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    if let Some(f) = file {
        add_version(c, stack_uid, uid, 1, f, actor, &now).await?;
    }
    Ok(get(c, stack_uid, uid).await?.expect("just inserted"))
}

async fn add_version(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    version: i64,
    f: &FileInfo<'_>,
    actor: &Actor,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO asset_versions (stack_uid, uid, version, filename, content_type, file_size, \
         storage_key, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(stack_uid)
    .bind(uid)
    .bind(version)
    .bind(f.filename)
    .bind(f.content_type)
    .bind(f.file_size)
    .bind(f.storage_key)
    .bind(actor.uid())
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn get(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Option<Asset>> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM assets WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(stack_uid)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A page of files (or folders) under a folder (`None`: everywhere when `anywhere`, else the root).
pub async fn list(
    c: &mut Conn,
    stack_uid: &str,
    dirs: bool,
    folder: Option<&str>,
    anywhere: bool,
    skip: i64,
    limit: i64,
) -> Result<(Vec<Asset>, i64)> {
    let place = match (folder, anywhere) {
        (Some(_), _) => " AND parent_uid = $3",
        (None, true) => " AND $3 = $3",
        (None, false) => " AND parent_uid IS NULL AND $3 = $3",
    };
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM assets WHERE stack_uid = $1 AND is_dir = $2{place} \
         ORDER BY created_at DESC, uid DESC LIMIT $4 OFFSET $5"
    ))
    .bind(stack_uid)
    .bind(i64::from(dirs))
    .bind(folder.unwrap_or(""))
    .bind(limit)
    .bind(skip)
    .fetch_all(&mut *c)
    .await?;
    let total = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM assets WHERE stack_uid = $1 AND is_dir = $2{place}"
    ))
    .bind(stack_uid)
    .bind(i64::from(dirs))
    .bind(folder.unwrap_or(""))
    .fetch_one(c)
    .await?;
    Ok((
        rows.iter().map(from_row).collect::<Result<_>>()?,
        i(&total, "n")?,
    ))
}

/// Updates metadata and, with a new file, adds a version.
pub async fn update(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    meta: &Meta<'_>,
    file: Option<&FileInfo<'_>>,
    actor: &Actor,
) -> Result<Option<Asset>> {
    let now = clock::now();
    let Some(current) = get(c, stack_uid, uid).await? else {
        return Ok(None);
    };
    let version = if file.is_some() {
        current.version + 1
    } else {
        current.version
    };
    sqlx::query(
        "UPDATE assets SET title = $1, description = $2, parent_uid = $3, tags = $4, filename = $5, \
         content_type = $6, file_size = $7, version = $8, updated_by = $9, updated_at = $10 \
         WHERE stack_uid = $11 AND uid = $12",
    )
    .bind(meta.title)
    .bind(meta.description)
    .bind(meta.parent_uid.map(str::to_string))
    .bind(meta.tags.to_string())
    .bind(file.map(|f| f.filename).unwrap_or(&current.filename))
    .bind(file.map(|f| f.content_type).unwrap_or(&current.content_type))
    .bind(file.map(|f| f.file_size).unwrap_or(current.file_size))
    .bind(version)
    .bind(actor.uid())
    .bind(&now)
    .bind(stack_uid)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    if let Some(f) = file {
        add_version(c, stack_uid, uid, version, f, actor, &now).await?;
    }
    get(c, stack_uid, uid).await
}

/// The stored file of a version: (filename, content type, storage key).
pub async fn file_of(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    version: i64,
) -> Result<Option<(String, String, String)>> {
    let row = sqlx::query(
        "SELECT filename, content_type, storage_key FROM asset_versions \
         WHERE stack_uid = $1 AND uid = $2 AND version = $3",
    )
    .bind(stack_uid)
    .bind(uid)
    .bind(version)
    .fetch_optional(c)
    .await?;
    row.map(|r| {
        Ok({
            (
                s(&r, "filename")?,
                s(&r, "content_type")?,
                s(&r, "storage_key")?,
            )
        })
    })
    .transpose()
}

pub async fn versions(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
) -> Result<Vec<(i64, String, i64, String, String)>> {
    let rows = sqlx::query(
        "SELECT version, filename, file_size, created_by, created_at FROM asset_versions \
         WHERE stack_uid = $1 AND uid = $2 ORDER BY version DESC",
    )
    .bind(stack_uid)
    .bind(uid)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok({
                (
                    i(r, "version")?,
                    s(r, "filename")?,
                    i(r, "file_size")?,
                    s(r, "created_by")?,
                    s(r, "created_at")?,
                )
            })
        })
        .collect()
}

/// Storage keys of every version of an asset (to remove the files after the rows are gone).
pub async fn storage_keys(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Vec<String>> {
    let rows =
        sqlx::query("SELECT storage_key FROM asset_versions WHERE stack_uid = $1 AND uid = $2")
            .bind(stack_uid)
            .bind(uid)
            .fetch_all(c)
            .await?;
    rows.iter().map(|r| s(r, "storage_key")).collect()
}

/// The keys among `keys` that no asset version (of any branch) names any more.
pub async fn unreferenced(c: &mut Conn, keys: Vec<String>) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM asset_versions WHERE storage_key = $1")
            .bind(&k)
            .fetch_one(&mut *c)
            .await?;
        if i(&row, "n")? == 0 {
            out.push(k);
        }
    }
    Ok(out)
}

pub async fn children(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<i64> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM assets WHERE stack_uid = $1 AND parent_uid = $2")
            .bind(stack_uid)
            .bind(uid)
            .fetch_one(c)
            .await?;
    i(&row, "n")
}

pub async fn delete(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<bool> {
    for sql in [
        "DELETE FROM publications WHERE stack_uid = $1 AND item_type = 'asset' AND item_uid = $2",
        "DELETE FROM asset_versions WHERE stack_uid = $1 AND uid = $2",
    ] {
        sqlx::query(sql)
            .bind(stack_uid)
            .bind(uid)
            .execute(&mut *c)
            .await?;
    }
    let r = sqlx::query("DELETE FROM assets WHERE stack_uid = $1 AND uid = $2")
        .bind(stack_uid)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Files published to an environment in a locale, with the published version.
pub async fn published(
    c: &mut Conn,
    stack_uid: &str,
    environment_uid: &str,
    locale: &str,
    uid: Option<&str>,
) -> Result<Vec<(Asset, i64)>> {
    let cols: Vec<String> = COLS.split(", ").map(|c| format!("a.{c}")).collect();
    let only = if uid.is_some() {
        " AND a.uid = $4"
    } else {
        " AND $4 = $4"
    };
    let rows = sqlx::query(&format!(
        "SELECT {}, p.version AS published_version FROM assets a JOIN publications p \
         ON p.stack_uid = a.stack_uid AND p.item_uid = a.uid AND p.item_type = 'asset' \
         WHERE a.stack_uid = $1 AND p.environment_uid = $2 AND p.locale = $3{only} \
         ORDER BY a.created_at DESC, a.uid DESC LIMIT 1000",
        cols.join(", ")
    ))
    .bind(stack_uid)
    .bind(environment_uid)
    .bind(locale)
    .bind(uid.unwrap_or(""))
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| Ok((from_row(r)?, i(r, "published_version")?)))
        .collect()
}

/// A file version's metadata: (filename, content type, size).
pub async fn version_meta(
    c: &mut Conn,
    stack_uid: &str,
    uid: &str,
    version: i64,
) -> Result<Option<(String, String, i64)>> {
    let row = sqlx::query(
        "SELECT filename, content_type, file_size FROM asset_versions WHERE stack_uid = $1 AND uid = $2 AND version = $3",
    )
    .bind(stack_uid)
    .bind(uid)
    .bind(version)
    .fetch_optional(c)
    .await?;
    row.map(|r| {
        Ok((
            s(&r, "filename")?,
            s(&r, "content_type")?,
            i(&r, "file_size")?,
        ))
    })
    .transpose()
}
