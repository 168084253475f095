//! Assets (files with metadata and versions) and asset folders.

use super::{Actor, Conn};
use crate::batch::Statement;
use crate::error::Result;
use crate::exec::Exec;
use crate::row::*;
use headwater_core::clock;
use serde_json::Value;

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

fn from_row(r: &(impl ReadRow + ?Sized)) -> Result<Asset> {
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

pub async fn get<'e>(c: impl Into<Exec<'e>>, stack_uid: &str, uid: &str) -> Result<Option<Asset>> {
    let mut c = c.into();
    let row = Statement::new(format!(
        "SELECT {COLS} FROM assets WHERE stack_uid = $1 AND uid = $2"
    ))
    .arg(stack_uid)
    .arg(uid)
    .fetch_optional(&mut c)
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
    let Some(current) = get(&mut *c, stack_uid, uid).await? else {
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

/// An asset column the list's `query` and sort may name, and the kind of value it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ColKind {
    Text,
    Number,
    Bool,
    /// `tags`: a JSON array of strings; equality means "has the tag".
    Tags,
}

fn column(field: &str) -> Option<(&'static str, ColKind)> {
    Some(match field {
        "uid" => ("uid", ColKind::Text),
        "title" => ("title", ColKind::Text),
        "description" => ("description", ColKind::Text),
        "filename" => ("filename", ColKind::Text),
        "content_type" => ("content_type", ColKind::Text),
        "parent_uid" => ("parent_uid", ColKind::Text),
        "created_by" => ("created_by", ColKind::Text),
        "updated_by" => ("updated_by", ColKind::Text),
        "created_at" => ("created_at", ColKind::Text),
        "updated_at" => ("updated_at", ColKind::Text),
        "file_size" => ("file_size", ColKind::Number),
        "_version" => ("version", ColKind::Number),
        "is_dir" => ("is_dir", ColKind::Bool),
        "tags" => ("tags", ColKind::Tags),
        _ => return None,
    })
}

/// The fields the asset list can filter and sort on.
pub const QUERY_FIELDS: &str = "uid, title, description, filename, content_type, parent_uid, \
     created_by, updated_by, created_at, updated_at, file_size, _version, is_dir, tags";

/// A bound value of a compiled asset query.
#[derive(Clone, Debug)]
enum Bound {
    Text(String),
    Int(i64),
    Float(f64),
}

/// Compiles an asset `query` to a SQL condition over `assets` columns; every value is a bound
/// parameter numbered from `first`. Refuses fields the list does not have and values of the
/// wrong kind, naming them.
struct AssetCompiler {
    first: usize,
    params: Vec<Bound>,
}

use headwater_core::query::{Cond, Op as QOp, Scalar};

impl AssetCompiler {
    fn bind(&mut self, b: Bound) -> String {
        self.params.push(b);
        format!("${}", self.first + self.params.len() - 1)
    }

    fn value(
        &mut self,
        field: &str,
        kind: ColKind,
        s: &Scalar,
    ) -> std::result::Result<String, String> {
        match (kind, s) {
            (ColKind::Text | ColKind::Tags, Scalar::Text(t)) => {
                Ok(self.bind(Bound::Text(t.clone())))
            }
            (ColKind::Number, Scalar::Number(n)) => Ok(if n.fract() == 0.0 && n.abs() < 9.0e15 {
                self.bind(Bound::Int(*n as i64))
            } else {
                self.bind(Bound::Float(*n))
            }),
            (ColKind::Bool, Scalar::Bool(b)) => Ok(self.bind(Bound::Int(i64::from(*b)))),
            _ => Err(format!(
                "'{field}' takes {} values",
                match kind {
                    ColKind::Text | ColKind::Tags => "string",
                    ColKind::Number => "number",
                    ColKind::Bool => "true/false",
                }
            )),
        }
    }

    fn has_tag(&mut self, tag: &str) -> String {
        let quoted = serde_json::to_string(tag).unwrap_or_default();
        let p = self.bind(Bound::Text(format!("%{}%", like_escape(&quoted))));
        format!("tags LIKE {p} ESCAPE '\\'")
    }

    fn compile(&mut self, c: &Cond) -> std::result::Result<String, String> {
        match c {
            Cond::And(parts) | Cond::Or(parts) => {
                let joiner = if matches!(c, Cond::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let sql: std::result::Result<Vec<String>, String> =
                    parts.iter().map(|p| self.compile(p)).collect();
                Ok(format!("({})", sql?.join(joiner)))
            }
            Cond::Cmp { path, op } => {
                let field = path.join(".");
                let (col, kind) = column(&field).ok_or_else(|| {
                    format!(
                        "the asset list cannot filter on '{field}'; it filters on {QUERY_FIELDS}"
                    )
                })?;
                self.cmp(&field, col, kind, op)
            }
        }
    }

    fn cmp(
        &mut self,
        field: &str,
        col: &str,
        kind: ColKind,
        op: &QOp,
    ) -> std::result::Result<String, String> {
        let nullable = col == "parent_uid";
        if kind == ColKind::Tags {
            return match op {
                QOp::Eq(Scalar::Text(t)) => Ok(self.has_tag(t)),
                QOp::Ne(Scalar::Text(t)) => Ok(format!("NOT ({})", self.has_tag(t))),
                QOp::In(list) | QOp::Nin(list) => {
                    let mut parts = Vec::new();
                    for s in list {
                        match s {
                            Scalar::Text(t) => parts.push(self.has_tag(t)),
                            _ => return Err("'tags' takes string values".into()),
                        }
                    }
                    if parts.is_empty() {
                        parts.push("1 = 0".into());
                    }
                    let any = format!("({})", parts.join(" OR "));
                    Ok(if matches!(op, QOp::Nin(_)) {
                        format!("NOT {any}")
                    } else {
                        any
                    })
                }
                QOp::Exists(true) => Ok("tags <> '[]'".into()),
                QOp::Exists(false) => Ok("tags = '[]'".into()),
                _ => Err("'tags' supports equality, $ne, $in, $nin and $exists".into()),
            };
        }
        Ok(match op {
            QOp::Hierarchy { .. } => {
                return Err(format!(
                    "'{field}' is not a taxonomy path: $eq_below, $below, $eq_above and $above apply to entries' taxonomies"
                ))
            }
            QOp::Eq(Scalar::Null) | QOp::Exists(false) if nullable => format!("{col} IS NULL"),
            QOp::Ne(Scalar::Null) | QOp::Exists(true) if nullable => format!("{col} IS NOT NULL"),
            QOp::Exists(true) => match kind {
                ColKind::Text => format!("{col} <> ''"),
                _ => "1 = 1".into(),
            },
            QOp::Exists(false) => match kind {
                ColKind::Text => format!("{col} = ''"),
                _ => "1 = 0".into(),
            },
            QOp::Eq(s) => format!("{col} = {}", self.value(field, kind, s)?),
            QOp::Ne(s) => {
                let v = self.value(field, kind, s)?;
                if nullable {
                    format!("({col} <> {v} OR {col} IS NULL)")
                } else {
                    format!("{col} <> {v}")
                }
            }
            QOp::In(list) | QOp::Nin(list) => {
                let mut vals = Vec::new();
                let mut null = false;
                for s in list {
                    if matches!(s, Scalar::Null) && nullable {
                        null = true;
                    } else {
                        vals.push(self.value(field, kind, s)?);
                    }
                }
                let mut any = if vals.is_empty() {
                    "1 = 0".to_string()
                } else {
                    format!("{col} IN ({})", vals.join(", "))
                };
                if null {
                    any = format!("({any} OR {col} IS NULL)");
                }
                if matches!(op, QOp::Nin(_)) {
                    if nullable && !null {
                        format!("(NOT {any} OR {col} IS NULL)")
                    } else {
                        format!("NOT {any}")
                    }
                } else {
                    any
                }
            }
            QOp::Lt(s) | QOp::Lte(s) | QOp::Gt(s) | QOp::Gte(s) => {
                if kind == ColKind::Bool {
                    return Err(format!("'{field}' cannot be compared with $lt/$gt"));
                }
                let sym = match op {
                    QOp::Lt(_) => "<",
                    QOp::Lte(_) => "<=",
                    QOp::Gt(_) => ">",
                    _ => ">=",
                };
                format!("{col} {sym} {}", self.value(field, kind, s)?)
            }
            QOp::Like {
                literal,
                anchored_start,
                anchored_end,
                case_insensitive,
            } => {
                if kind != ColKind::Text {
                    return Err(format!("$regex applies to text fields, not '{field}'"));
                }
                let mut pat = like_escape(literal);
                if !anchored_start {
                    pat.insert(0, '%');
                }
                if !anchored_end {
                    pat.push('%');
                }
                if *case_insensitive {
                    let p = self.bind(Bound::Text(pat.to_lowercase()));
                    format!("LOWER({col}) LIKE {p} ESCAPE '\\'")
                } else {
                    // LIKE is case-insensitive for ASCII on SQLite; the exact comparison
                    // below keeps the case on both backends.
                    let p = self.bind(Bound::Text(pat));
                    format!(
                        "({col} LIKE {p} ESCAPE '\\' AND {})",
                        self.case_exact(col, literal, *anchored_start, *anchored_end)
                    )
                }
            }
        })
    }

    /// The case-sensitive half of a `$regex` without `i`: the literal must appear with its
    /// case (at the start, end, whole or anywhere, as anchored).
    fn case_exact(&mut self, col: &str, literal: &str, start: bool, end: bool) -> String {
        let p = self.bind(Bound::Text(literal.to_string()));
        let n = literal.chars().count();
        match (start, end) {
            (true, true) => format!("{col} = {p}"),
            (true, false) => format!("substr({col}, 1, {n}) = {p}"),
            (false, true) => format!("substr({col}, length({col}) - {n} + 1) = {p}"),
            (false, false) => format!("instr_exact({col}, {p})"),
        }
    }
}

fn like_escape(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// A filtered, sorted page of the asset list.
pub struct ListQuery<'a> {
    /// Folders (`true`) or files.
    pub dirs: bool,
    /// Only the children of this folder; else the root, or everywhere when `anywhere`.
    pub folder: Option<&'a str>,
    pub anywhere: bool,
    pub cond: Option<&'a Cond>,
    /// A field of [`QUERY_FIELDS`] (not `tags`) and whether ascending; by default newest first.
    pub sort: Option<(&'a str, bool)>,
    pub skip: i64,
    pub limit: i64,
}

/// A refused asset query: the message names the offending part.
#[derive(Debug)]
pub struct QueryRefused(pub String);

/// Lists assets by a [`ListQuery`]; `Ok(Err(_))` when the query or sort names what the list
/// cannot do.
pub async fn list_query(
    c: &mut Conn,
    stack_uid: &str,
    q: &ListQuery<'_>,
) -> Result<std::result::Result<(Vec<Asset>, i64), QueryRefused>> {
    let backend = crate::Backend::of(c);
    let place = match (q.folder, q.anywhere) {
        (Some(_), _) => " AND parent_uid = $3",
        (None, true) => " AND $3 = $3",
        (None, false) => " AND parent_uid IS NULL AND $3 = $3",
    };
    let mut comp = AssetCompiler {
        first: 4,
        params: Vec::new(),
    };
    let filter = match q.cond {
        None => String::new(),
        Some(cond) => match comp.compile(cond) {
            Ok(sql) => format!(" AND {sql}"),
            Err(m) => return Ok(Err(QueryRefused(m))),
        },
    };
    let filter = match backend {
        crate::Backend::Sqlite => filter.replace("instr_exact(", "0 < instr("),
        crate::Backend::Postgres => filter.replace("instr_exact(", "0 < strpos("),
    };
    let order = match q.sort {
        None => "created_at DESC, uid DESC".to_string(),
        Some((field, asc)) => match column(field) {
            Some((col, kind)) if kind != ColKind::Tags => {
                let dir = if asc { "ASC" } else { "DESC" };
                format!("{col} {dir}, uid {dir}")
            }
            _ => {
                return Ok(Err(QueryRefused(format!(
                    "the asset list cannot sort by '{field}'; it sorts by {}",
                    QUERY_FIELDS.replace(", tags", "")
                ))))
            }
        },
    };
    fn bind_all<'q>(
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        params: &[Bound],
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for p in params {
            query = match p {
                Bound::Text(t) => query.bind(t.clone()),
                Bound::Int(n) => query.bind(*n),
                Bound::Float(f) => query.bind(*f),
            };
        }
        query
    }
    let n = comp.params.len();
    let sql = format!(
        "SELECT {COLS} FROM assets WHERE stack_uid = $1 AND is_dir = $2{place}{filter} \
         ORDER BY {order} LIMIT ${} OFFSET ${}",
        n + 4,
        n + 5
    );
    let rows = bind_all(
        sqlx::query(&sql)
            .bind(stack_uid)
            .bind(i64::from(q.dirs))
            .bind(q.folder.unwrap_or("")),
        &comp.params,
    )
    .bind(q.limit)
    .bind(q.skip)
    .fetch_all(&mut *c)
    .await?;
    let count_sql = format!(
        "SELECT COUNT(*) AS n FROM assets WHERE stack_uid = $1 AND is_dir = $2{place}{filter}"
    );
    let total = bind_all(
        sqlx::query(&count_sql)
            .bind(stack_uid)
            .bind(i64::from(q.dirs))
            .bind(q.folder.unwrap_or("")),
        &comp.params,
    )
    .fetch_one(c)
    .await?;
    Ok(Ok((
        rows.iter().map(from_row).collect::<Result<_>>()?,
        i(&total, "n")?,
    )))
}

/// The current version of an asset (for the download without a version).
pub async fn current_version(c: &mut Conn, stack_uid: &str, uid: &str) -> Result<Option<i64>> {
    let row =
        sqlx::query("SELECT version FROM assets WHERE stack_uid = $1 AND uid = $2 AND is_dir = 0")
            .bind(stack_uid)
            .bind(uid)
            .fetch_optional(c)
            .await?;
    row.map(|r| i(&r, "version")).transpose()
}
