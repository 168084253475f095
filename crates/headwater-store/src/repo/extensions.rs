//! Extensions (custom fields, widgets, dashboards, JSON RTE plugins), the names given to entry
//! versions, and metadata attached to entries and assets. All per content space.

use super::{Actor, Conn};
use crate::error::Result;
use crate::row::*;
use headwater_core::clock;
use serde_json::Value;
use sqlx::any::AnyRow;

#[derive(Clone, Debug)]
pub struct Extension {
    pub uid: String,
    pub title: String,
    /// `field`, `widget`, `dashboard`, `asset_sidebar_widget` or `rte_plugin`.
    pub kind: String,
    /// Every other attribute (data_type, tags, src, srcdoc, multiple, config, scope, enable…).
    pub body: Value,
    pub version: i64,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const EXT_COLS: &str =
    "uid, title, type, body, version, created_by, updated_by, created_at, updated_at";

fn ext_from_row(r: &AnyRow) -> Result<Extension> {
    Ok(Extension {
        uid: s(r, "uid")?,
        title: s(r, "title")?,
        kind: s(r, "type")?,
        body: json(r, "body")?,
        version: i(r, "version")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

pub async fn insert(
    c: &mut Conn,
    space: &str,
    uid: &str,
    title: &str,
    kind: &str,
    body: &Value,
    actor: &Actor,
) -> Result<Extension> {
    let now = clock::now();
    sqlx::query(
        "INSERT INTO extensions (stack_uid, uid, title, type, body, version, created_by, \
         updated_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7, $7)",
    )
    .bind(space)
    .bind(uid)
    .bind(title)
    .bind(kind)
    .bind(body.to_string())
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(get(c, space, uid).await?.expect("just inserted"))
}

pub async fn update(
    c: &mut Conn,
    space: &str,
    uid: &str,
    title: &str,
    kind: &str,
    body: &Value,
    actor: &Actor,
) -> Result<Option<Extension>> {
    let n = sqlx::query(
        "UPDATE extensions SET title = $3, type = $4, body = $5, version = version + 1, \
         updated_by = $6, updated_at = $7 WHERE stack_uid = $1 AND uid = $2",
    )
    .bind(space)
    .bind(uid)
    .bind(title)
    .bind(kind)
    .bind(body.to_string())
    .bind(actor.uid())
    .bind(clock::now())
    .execute(&mut *c)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(None);
    }
    get(c, space, uid).await
}

pub async fn get(c: &mut Conn, space: &str, uid: &str) -> Result<Option<Extension>> {
    let row = sqlx::query(&format!(
        "SELECT {EXT_COLS} FROM extensions WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(space)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(ext_from_row).transpose()
}

/// A page of extensions, oldest first; `kind` keeps one type.
pub async fn list(
    c: &mut Conn,
    space: &str,
    kind: Option<&str>,
    skip: i64,
    limit: i64,
) -> Result<(Vec<Extension>, i64)> {
    let of = Page {
        table: "extensions",
        cols: EXT_COLS,
        column: "type",
    };
    of.read(c, space, kind, skip, limit, ext_from_row).await
}

/// One table's rows of a space read a page at a time (oldest first) with their total,
/// optionally only those whose `column` holds a value.
struct Page {
    table: &'static str,
    cols: &'static str,
    column: &'static str,
}

impl Page {
    async fn read<T>(
        &self,
        c: &mut Conn,
        space: &str,
        only: Option<&str>,
        skip: i64,
        limit: i64,
        from_row: fn(&AnyRow) -> Result<T>,
    ) -> Result<(Vec<T>, i64)> {
        let Page {
            table,
            cols,
            column,
        } = self;
        let filter = if only.is_some() {
            format!(" AND {column} = $2")
        } else {
            " AND $2 = $2".to_string()
        };
        let rows = sqlx::query(&format!(
            "SELECT {cols} FROM {table} WHERE stack_uid = $1{filter} \
             ORDER BY created_at, uid LIMIT $3 OFFSET $4"
        ))
        .bind(space)
        .bind(only.unwrap_or(""))
        .bind(limit)
        .bind(skip)
        .fetch_all(&mut *c)
        .await?;
        let total = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM {table} WHERE stack_uid = $1{filter}"
        ))
        .bind(space)
        .bind(only.unwrap_or(""))
        .fetch_one(c)
        .await?;
        Ok((
            rows.iter().map(from_row).collect::<Result<_>>()?,
            i(&total, "n")?,
        ))
    }
}

pub async fn delete(c: &mut Conn, space: &str, uid: &str) -> Result<bool> {
    let n = sqlx::query("DELETE FROM extensions WHERE stack_uid = $1 AND uid = $2")
        .bind(space)
        .bind(uid)
        .execute(c)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// The uids among `uids` that are extensions of the space.
pub async fn existing(c: &mut Conn, space: &str, uids: &[String]) -> Result<Vec<Extension>> {
    let mut out = Vec::new();
    for uid in uids {
        if let Some(e) = get(c, space, uid).await? {
            out.push(e);
        }
    }
    Ok(out)
}

/// A version name: `(name, updated_by, updated_at)`.
pub type VersionName = (String, String, String);

pub async fn set_version_name(
    c: &mut Conn,
    space: &str,
    entry_uid: &str,
    locale: &str,
    version: i64,
    name: &str,
    actor: &Actor,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM entry_version_names WHERE stack_uid = $1 AND entry_uid = $2 \
         AND locale = $3 AND version = $4",
    )
    .bind(space)
    .bind(entry_uid)
    .bind(locale)
    .bind(version)
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "INSERT INTO entry_version_names (stack_uid, entry_uid, locale, version, name, \
         updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(space)
    .bind(entry_uid)
    .bind(locale)
    .bind(version)
    .bind(name)
    .bind(actor.uid())
    .bind(clock::now())
    .execute(c)
    .await?;
    Ok(())
}

pub async fn delete_version_name(
    c: &mut Conn,
    space: &str,
    entry_uid: &str,
    locale: &str,
    version: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "DELETE FROM entry_version_names WHERE stack_uid = $1 AND entry_uid = $2 \
         AND locale = $3 AND version = $4",
    )
    .bind(space)
    .bind(entry_uid)
    .bind(locale)
    .bind(version)
    .execute(c)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// The named versions of an entry in a locale: `(version, name)`.
pub async fn version_names(
    c: &mut Conn,
    space: &str,
    entry_uid: &str,
    locale: &str,
) -> Result<Vec<(i64, VersionName)>> {
    let rows = sqlx::query(
        "SELECT version, name, updated_by, updated_at FROM entry_version_names \
         WHERE stack_uid = $1 AND entry_uid = $2 AND locale = $3 ORDER BY version",
    )
    .bind(space)
    .bind(entry_uid)
    .bind(locale)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                i(r, "version")?,
                (s(r, "name")?, s(r, "updated_by")?, s(r, "updated_at")?),
            ))
        })
        .collect()
}

/// Forgets the version names of an entry (all locales, or one).
pub async fn forget_entry(
    c: &mut Conn,
    space: &str,
    entry_uid: &str,
    locale: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM entry_version_names WHERE stack_uid = $1 AND entry_uid = $2 \
         AND ($3 = '' OR locale = $3)",
    )
    .bind(space)
    .bind(entry_uid)
    .bind(locale.unwrap_or(""))
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "DELETE FROM entity_metadata WHERE stack_uid = $1 AND entity_uid = $2 \
         AND ($3 = '' OR locale = $3)",
    )
    .bind(space)
    .bind(entry_uid)
    .bind(locale.unwrap_or(""))
    .execute(c)
    .await?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct Metadata {
    pub uid: String,
    pub entity_uid: String,
    pub entity_type: String,
    pub content_type_uid: String,
    pub locale: String,
    pub extension_uid: String,
    /// The free-form attributes (everything but the keys above).
    pub body: Value,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const META_COLS: &str = "uid, entity_uid, entity_type, content_type_uid, locale, extension_uid, \
                         body, created_by, updated_by, created_at, updated_at";

fn meta_from_row(r: &AnyRow) -> Result<Metadata> {
    Ok(Metadata {
        uid: s(r, "uid")?,
        entity_uid: s(r, "entity_uid")?,
        entity_type: s(r, "entity_type")?,
        content_type_uid: s(r, "content_type_uid")?,
        locale: s(r, "locale")?,
        extension_uid: s(r, "extension_uid")?,
        body: json(r, "body")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

/// What a metadata object is attached to and holds.
pub struct MetadataWrite<'a> {
    pub entity_uid: &'a str,
    pub entity_type: &'a str,
    pub content_type_uid: &'a str,
    pub locale: &'a str,
    pub extension_uid: &'a str,
    pub body: &'a Value,
}

pub async fn insert_metadata(
    c: &mut Conn,
    space: &str,
    uid: &str,
    w: &MetadataWrite<'_>,
    actor: &Actor,
) -> Result<Metadata> {
    let now = clock::now();
    sqlx::query(
        "INSERT INTO entity_metadata (stack_uid, uid, entity_uid, entity_type, content_type_uid, \
         locale, extension_uid, body, created_by, updated_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $10)",
    )
    .bind(space)
    .bind(uid)
    .bind(w.entity_uid)
    .bind(w.entity_type)
    .bind(w.content_type_uid)
    .bind(w.locale)
    .bind(w.extension_uid)
    .bind(w.body.to_string())
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(metadata(c, space, uid).await?.expect("just inserted"))
}

pub async fn update_metadata(
    c: &mut Conn,
    space: &str,
    uid: &str,
    body: &Value,
    actor: &Actor,
) -> Result<Option<Metadata>> {
    let n = sqlx::query(
        "UPDATE entity_metadata SET body = $3, updated_by = $4, updated_at = $5 \
         WHERE stack_uid = $1 AND uid = $2",
    )
    .bind(space)
    .bind(uid)
    .bind(body.to_string())
    .bind(actor.uid())
    .bind(clock::now())
    .execute(&mut *c)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(None);
    }
    metadata(c, space, uid).await
}

pub async fn metadata(c: &mut Conn, space: &str, uid: &str) -> Result<Option<Metadata>> {
    let row = sqlx::query(&format!(
        "SELECT {META_COLS} FROM entity_metadata WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(space)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(meta_from_row).transpose()
}

/// A page of metadata objects, oldest first; `entity_uid` keeps those of one entry or asset.
pub async fn list_metadata(
    c: &mut Conn,
    space: &str,
    entity_uid: Option<&str>,
    skip: i64,
    limit: i64,
) -> Result<(Vec<Metadata>, i64)> {
    let of = Page {
        table: "entity_metadata",
        cols: META_COLS,
        column: "entity_uid",
    };
    of.read(c, space, entity_uid, skip, limit, meta_from_row)
        .await
}

pub async fn delete_metadata(c: &mut Conn, space: &str, uid: &str) -> Result<bool> {
    let n = sqlx::query("DELETE FROM entity_metadata WHERE stack_uid = $1 AND uid = $2")
        .bind(space)
        .bind(uid)
        .execute(c)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// Metadata live on one environment in one locale, as published.
#[derive(Clone, Debug, PartialEq)]
pub struct MetadataPublication {
    pub environment_uid: String,
    pub locale: String,
    pub body: Value,
    pub published_by: String,
    pub published_at: String,
}

/// Publishes (or re-publishes) the metadata `uid` as `body` on an environment in a locale.
pub async fn publish_metadata(
    c: &mut Conn,
    space: &str,
    uid: &str,
    environment_uid: &str,
    locale: &str,
    body: &Value,
    actor: &Actor,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO metadata_publications (stack_uid, metadata_uid, environment_uid, locale, \
         body, published_by, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (stack_uid, metadata_uid, environment_uid, locale) DO UPDATE SET \
         body = excluded.body, published_by = excluded.published_by, \
         published_at = excluded.published_at",
    )
    .bind(space)
    .bind(uid)
    .bind(environment_uid)
    .bind(locale)
    .bind(body.to_string())
    .bind(actor.uid())
    .bind(clock::now())
    .execute(c)
    .await?;
    Ok(())
}

/// Takes the metadata `uid` off an environment in a locale; false when it was not live there.
pub async fn unpublish_metadata(
    c: &mut Conn,
    space: &str,
    uid: &str,
    environment_uid: &str,
    locale: &str,
) -> Result<bool> {
    let n = sqlx::query(
        "DELETE FROM metadata_publications WHERE stack_uid = $1 AND metadata_uid = $2 \
         AND environment_uid = $3 AND locale = $4",
    )
    .bind(space)
    .bind(uid)
    .bind(environment_uid)
    .bind(locale)
    .execute(c)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Where the metadata `uid` is live.
pub async fn metadata_publications(
    c: &mut Conn,
    space: &str,
    uid: &str,
) -> Result<Vec<MetadataPublication>> {
    let rows = sqlx::query(
        "SELECT environment_uid, locale, body, published_by, published_at \
         FROM metadata_publications WHERE stack_uid = $1 AND metadata_uid = $2 \
         ORDER BY published_at, environment_uid, locale",
    )
    .bind(space)
    .bind(uid)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MetadataPublication {
                environment_uid: s(r, "environment_uid")?,
                locale: s(r, "locale")?,
                body: json(r, "body")?,
                published_by: s(r, "published_by")?,
                published_at: s(r, "published_at")?,
            })
        })
        .collect()
}

/// Forgets where the metadata `uid` was published (when it is deleted).
pub async fn forget_metadata_publications(c: &mut Conn, space: &str, uid: &str) -> Result<()> {
    sqlx::query("DELETE FROM metadata_publications WHERE stack_uid = $1 AND metadata_uid = $2")
        .bind(space)
        .bind(uid)
        .execute(c)
        .await?;
    Ok(())
}
