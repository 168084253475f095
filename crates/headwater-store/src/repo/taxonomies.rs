//! Taxonomies and their terms, per content space, and what the entry term index
//! (`entry_terms`, maintained by `field_index`) says about their use.

use super::{Actor, Conn};
use crate::batch::Statement;
use crate::error::{Result, StoreError};
use crate::exec::Exec;
use crate::row::*;
use headwater_core::clock;
use sqlx::any::AnyRow;

#[derive(Clone, Debug)]
pub struct Taxonomy {
    pub uid: String,
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug)]
pub struct Term {
    pub taxonomy_uid: String,
    pub uid: String,
    pub name: String,
    pub parent_uid: Option<String>,
    pub depth: i64,
    /// Place among its siblings, from 1 (the wire's `order`).
    pub order: i64,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const TAX_COLS: &str = "uid, name, description, created_by, updated_by, created_at, updated_at";
const TERM_COLS: &str = "taxonomy_uid, uid, name, parent_uid, depth, position, created_by, \
                         updated_by, created_at, updated_at";

fn tax_from_row(r: &AnyRow) -> Result<Taxonomy> {
    Ok(Taxonomy {
        uid: s(r, "uid")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

fn term_from_row(r: &(impl ReadRow + ?Sized)) -> Result<Term> {
    Ok(Term {
        taxonomy_uid: s(r, "taxonomy_uid")?,
        uid: s(r, "uid")?,
        name: s(r, "name")?,
        parent_uid: os(r, "parent_uid")?,
        depth: i(r, "depth")?,
        order: i(r, "position")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

/// Inserts a taxonomy; `Conflict` when the uid is taken in the space.
pub async fn insert(
    c: &mut Conn,
    space: &str,
    uid: &str,
    name: &str,
    description: &str,
    actor: &Actor,
) -> Result<Taxonomy> {
    if get(c, space, uid).await?.is_some() {
        return Err(StoreError::Conflict(format!("taxonomy {uid}")));
    }
    let now = clock::now();
    sqlx::query(
        "INSERT INTO taxonomies (stack_uid, uid, name, description, created_by, updated_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, $6, $6)",
    )
    .bind(space)
    .bind(uid)
    .bind(name)
    .bind(description)
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
    name: &str,
    description: &str,
    actor: &Actor,
) -> Result<Option<Taxonomy>> {
    sqlx::query(
        "UPDATE taxonomies SET name = $1, description = $2, updated_by = $3, updated_at = $4 \
         WHERE stack_uid = $5 AND uid = $6",
    )
    .bind(name)
    .bind(description)
    .bind(actor.uid())
    .bind(clock::now())
    .bind(space)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    get(c, space, uid).await
}

pub async fn get(c: &mut Conn, space: &str, uid: &str) -> Result<Option<Taxonomy>> {
    let row = sqlx::query(&format!(
        "SELECT {TAX_COLS} FROM taxonomies WHERE stack_uid = $1 AND uid = $2"
    ))
    .bind(space)
    .bind(uid)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(tax_from_row).transpose()
}

/// All taxonomies of a space, by uid.
pub async fn list(c: &mut Conn, space: &str) -> Result<Vec<Taxonomy>> {
    let rows = sqlx::query(&format!(
        "SELECT {TAX_COLS} FROM taxonomies WHERE stack_uid = $1 ORDER BY uid"
    ))
    .bind(space)
    .fetch_all(c)
    .await?;
    rows.iter().map(tax_from_row).collect()
}

/// Deletes a taxonomy with all its terms, their localizations and its publications.
pub async fn delete(c: &mut Conn, space: &str, uid: &str) -> Result<bool> {
    delete_localizations(c, space, uid, None).await?;
    delete_publications(c, space, uid).await?;
    sqlx::query("DELETE FROM taxonomy_terms WHERE stack_uid = $1 AND taxonomy_uid = $2")
        .bind(space)
        .bind(uid)
        .execute(&mut *c)
        .await?;
    let r = sqlx::query("DELETE FROM taxonomies WHERE stack_uid = $1 AND uid = $2")
        .bind(space)
        .bind(uid)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Every term of a taxonomy, parents' siblings in order: by depth, then parent, then order.
pub async fn terms(c: &mut Conn, space: &str, taxonomy_uid: &str) -> Result<Vec<Term>> {
    let rows = sqlx::query(&format!(
        "SELECT {TERM_COLS} FROM taxonomy_terms WHERE stack_uid = $1 AND taxonomy_uid = $2 \
         ORDER BY depth, parent_uid, position, uid"
    ))
    .bind(space)
    .bind(taxonomy_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(term_from_row).collect()
}

/// How many terms each taxonomy of a space has.
pub async fn term_counts(c: &mut Conn, space: &str) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT taxonomy_uid, COUNT(*) AS n FROM taxonomy_terms WHERE stack_uid = $1 \
         GROUP BY taxonomy_uid",
    )
    .bind(space)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| Ok((s(r, "taxonomy_uid")?, i(r, "n")?)))
        .collect()
}

pub async fn term<'e>(
    c: impl Into<Exec<'e>>,
    space: &str,
    taxonomy_uid: &str,
    uid: &str,
) -> Result<Option<Term>> {
    let row = c
        .into()
        .fetch_optional(
            Statement::new(format!(
                "SELECT {TERM_COLS} FROM taxonomy_terms WHERE stack_uid = $1 AND taxonomy_uid = $2 AND uid = $3"
            ))
            .arg(space)
            .arg(taxonomy_uid)
            .arg(uid),
        )
        .await?;
    row.as_ref().map(term_from_row).transpose()
}

/// Terms of every taxonomy of a space whose name or uid contains `text` (any case), by
/// taxonomy and uid; at most `limit` after `skip`.
pub async fn search(
    c: &mut Conn,
    space: &str,
    text: &str,
    skip: i64,
    limit: i64,
) -> Result<Vec<Term>> {
    let backend = crate::Backend::of(c);
    let in_name = crate::dialect::position(backend, "lower(name)", "$2");
    let in_uid = crate::dialect::position(backend, "lower(uid)", "$2");
    let rows = sqlx::query(&format!(
        "SELECT {TERM_COLS} FROM taxonomy_terms WHERE stack_uid = $1 AND \
         ({in_name} > 0 OR {in_uid} > 0) ORDER BY taxonomy_uid, uid LIMIT $3 OFFSET $4"
    ))
    .bind(space)
    .bind(text.to_lowercase())
    .bind(limit)
    .bind(skip)
    .fetch_all(c)
    .await?;
    rows.iter().map(term_from_row).collect()
}

/// Places a term among the children of `parent` at `order` (1-based; the end when `None` or
/// past it), moving later siblings down. The term itself must not be among the children yet.
async fn make_room(
    c: &mut Conn,
    space: &str,
    taxonomy_uid: &str,
    parent: Option<&str>,
    order: Option<i64>,
) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM taxonomy_terms WHERE stack_uid = $1 AND taxonomy_uid = $2 \
         AND COALESCE(parent_uid, '') = $3",
    )
    .bind(space)
    .bind(taxonomy_uid)
    .bind(parent.unwrap_or(""))
    .fetch_one(&mut *c)
    .await?;
    let count = i(&row, "n")?;
    let at = match order {
        Some(o) if o >= 1 && o <= count => o,
        _ => return Ok(count + 1),
    };
    sqlx::query(
        "UPDATE taxonomy_terms SET position = position + 1 WHERE stack_uid = $1 AND \
         taxonomy_uid = $2 AND COALESCE(parent_uid, '') = $3 AND position >= $4",
    )
    .bind(space)
    .bind(taxonomy_uid)
    .bind(parent.unwrap_or(""))
    .bind(at)
    .execute(&mut *c)
    .await?;
    Ok(at)
}

/// Closes the gap a term leaves among its siblings.
async fn close_gap(
    c: &mut Conn,
    space: &str,
    taxonomy_uid: &str,
    parent: Option<&str>,
    order: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE taxonomy_terms SET position = position - 1 WHERE stack_uid = $1 AND \
         taxonomy_uid = $2 AND COALESCE(parent_uid, '') = $3 AND position > $4",
    )
    .bind(space)
    .bind(taxonomy_uid)
    .bind(parent.unwrap_or(""))
    .bind(order)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// A new term (the caller has checked the parent and the depth); `Conflict` when the uid is
/// taken in the taxonomy.
#[allow(clippy::too_many_arguments)]
pub async fn insert_term(
    c: &mut Conn,
    space: &str,
    taxonomy_uid: &str,
    uid: &str,
    name: &str,
    parent: Option<&str>,
    depth: i64,
    order: Option<i64>,
    actor: &Actor,
) -> Result<Term> {
    if term(&mut *c, space, taxonomy_uid, uid).await?.is_some() {
        return Err(StoreError::Conflict(format!("term {uid}")));
    }
    let at = make_room(c, space, taxonomy_uid, parent, order).await?;
    let now = clock::now();
    sqlx::query(
        "INSERT INTO taxonomy_terms (stack_uid, taxonomy_uid, uid, name, parent_uid, depth, \
         position, created_by, updated_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $9)",
    )
    .bind(space)
    .bind(taxonomy_uid)
    .bind(uid)
    .bind(name)
    .bind(parent)
    .bind(depth)
    .bind(at)
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    Ok(term(c, space, taxonomy_uid, uid)
        .await?
        .expect("just inserted"))
}

pub async fn rename_term(
    c: &mut Conn,
    space: &str,
    taxonomy_uid: &str,
    uid: &str,
    name: &str,
    actor: &Actor,
) -> Result<Option<Term>> {
    sqlx::query(
        "UPDATE taxonomy_terms SET name = $1, updated_by = $2, updated_at = $3 \
         WHERE stack_uid = $4 AND taxonomy_uid = $5 AND uid = $6",
    )
    .bind(name)
    .bind(actor.uid())
    .bind(clock::now())
    .bind(space)
    .bind(taxonomy_uid)
    .bind(uid)
    .execute(&mut *c)
    .await?;
    term(c, space, taxonomy_uid, uid).await
}

/// Moves a term under `parent` at `order`; `depth_shift` is added to the depth of the term and
/// of each of `below` (its descendants). The caller has refused cycles and depth overflows.
#[allow(clippy::too_many_arguments)]
pub async fn move_term(
    c: &mut Conn,
    space: &str,
    current: &Term,
    parent: Option<&str>,
    order: Option<i64>,
    below: &[String],
    depth_shift: i64,
    actor: &Actor,
) -> Result<Term> {
    let tax = current.taxonomy_uid.as_str();
    // Out of its old place first (position 0 is never a sibling's), then into the new one.
    sqlx::query(
        "UPDATE taxonomy_terms SET position = 0 WHERE stack_uid = $1 AND taxonomy_uid = $2 AND uid = $3",
    )
    .bind(space)
    .bind(tax)
    .bind(&current.uid)
    .execute(&mut *c)
    .await?;
    close_gap(c, space, tax, current.parent_uid.as_deref(), current.order).await?;
    // Under no parent while the new place is made ('!' never begins a term uid).
    sqlx::query(
        "UPDATE taxonomy_terms SET parent_uid = '!moving', position = -1 WHERE stack_uid = $1 \
         AND taxonomy_uid = $2 AND uid = $3",
    )
    .bind(space)
    .bind(tax)
    .bind(&current.uid)
    .execute(&mut *c)
    .await?;
    let at = make_room(c, space, tax, parent, order).await?;
    sqlx::query(
        "UPDATE taxonomy_terms SET parent_uid = $1, position = $2, depth = depth + $3, \
         updated_by = $4, updated_at = $5 WHERE stack_uid = $6 AND taxonomy_uid = $7 AND uid = $8",
    )
    .bind(parent)
    .bind(at)
    .bind(depth_shift)
    .bind(actor.uid())
    .bind(clock::now())
    .bind(space)
    .bind(tax)
    .bind(&current.uid)
    .execute(&mut *c)
    .await?;
    if depth_shift != 0 {
        for uid in below {
            sqlx::query(
                "UPDATE taxonomy_terms SET depth = depth + $1 WHERE stack_uid = $2 \
                 AND taxonomy_uid = $3 AND uid = $4",
            )
            .bind(depth_shift)
            .bind(space)
            .bind(tax)
            .bind(uid)
            .execute(&mut *c)
            .await?;
        }
    }
    Ok(term(c, space, tax, &current.uid)
        .await?
        .expect("just moved"))
}

/// Deletes a term and `below` (its descendants).
pub async fn delete_terms(
    c: &mut Conn,
    space: &str,
    current: &Term,
    below: &[String],
) -> Result<()> {
    let tax = current.taxonomy_uid.as_str();
    let mut gone = below.to_vec();
    gone.push(current.uid.clone());
    delete_localizations(c, space, tax, Some(&gone)).await?;
    for uid in below.iter().chain(std::iter::once(&current.uid)) {
        sqlx::query(
            "DELETE FROM taxonomy_terms WHERE stack_uid = $1 AND taxonomy_uid = $2 AND uid = $3",
        )
        .bind(space)
        .bind(tax)
        .bind(uid)
        .execute(&mut *c)
        .await?;
    }
    close_gap(c, space, tax, current.parent_uid.as_deref(), current.order).await
}

/// How many entries (counted once whatever their locales) carry any of `terms` of a taxonomy
/// in their current version; all its terms when `terms` is `None`.
pub async fn entries_using(
    c: &mut Conn,
    space: &str,
    taxonomy_uid: &str,
    terms: Option<&[String]>,
) -> Result<i64> {
    let mut sql =
        "SELECT COUNT(DISTINCT e.uid) AS n FROM entry_terms t JOIN entries e ON e.seq = t.seq \
                   WHERE t.stack_uid = $1 AND t.taxonomy_uid = $2"
            .to_string();
    if let Some(list) = terms {
        if list.is_empty() {
            return Ok(0);
        }
        let ph: Vec<String> = (0..list.len()).map(|k| format!("${}", k + 3)).collect();
        sql.push_str(&format!(" AND t.term_uid IN ({})", ph.join(", ")));
    }
    let mut q = sqlx::query(&sql).bind(space).bind(taxonomy_uid);
    for t in terms.into_iter().flatten() {
        q = q.bind(t.as_str());
    }
    i(&q.fetch_one(c).await?, "n")
}

/// How many entries carry each term of a taxonomy (terms without entries are left out).
pub async fn entries_per_term(
    c: &mut Conn,
    space: &str,
    taxonomy_uid: &str,
) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT t.term_uid, COUNT(DISTINCT e.uid) AS n FROM entry_terms t JOIN entries e \
         ON e.seq = t.seq WHERE t.stack_uid = $1 AND t.taxonomy_uid = $2 GROUP BY t.term_uid",
    )
    .bind(space)
    .bind(taxonomy_uid)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| Ok((s(r, "term_uid")?, i(r, "n")?)))
        .collect()
}

/// A taxonomy's (`term_uid` empty) or a term's name in a locale other than the master locale.
#[derive(Clone, Debug)]
pub struct Localization {
    pub taxonomy_uid: String,
    pub term_uid: String,
    pub locale: String,
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const LOC_COLS: &str = "taxonomy_uid, term_uid, locale, name, description, created_by, \
                        updated_by, created_at, updated_at";

fn loc_from_row(r: &AnyRow) -> Result<Localization> {
    Ok(Localization {
        taxonomy_uid: s(r, "taxonomy_uid")?,
        term_uid: s(r, "term_uid")?,
        locale: s(r, "locale")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        created_by: s(r, "created_by")?,
        updated_by: s(r, "updated_by")?,
        created_at: s(r, "created_at")?,
        updated_at: s(r, "updated_at")?,
    })
}

/// The localizations of a taxonomy and its terms: all of them, or only those in `locale`, or
/// only those of one item (`term_uid` `""` for the taxonomy itself); by item, then locale.
pub async fn localizations(
    c: &mut Conn,
    space: &str,
    taxonomy_uid: &str,
    locale: Option<&str>,
    term_uid: Option<&str>,
) -> Result<Vec<Localization>> {
    let rows = sqlx::query(&format!(
        "SELECT {LOC_COLS} FROM taxonomy_localizations WHERE stack_uid = $1 AND taxonomy_uid = $2 \
         AND ($3 = '' OR locale = $3) AND ($4 = '*' OR term_uid = $4) ORDER BY term_uid, locale"
    ))
    .bind(space)
    .bind(taxonomy_uid)
    .bind(locale.unwrap_or(""))
    .bind(term_uid.unwrap_or("*"))
    .fetch_all(c)
    .await?;
    rows.iter().map(loc_from_row).collect()
}

/// Creates or replaces the localization of a taxonomy (`term_uid` `""`) or a term.
#[allow(clippy::too_many_arguments)]
pub async fn localize(
    c: &mut Conn,
    space: &str,
    taxonomy_uid: &str,
    term_uid: &str,
    locale: &str,
    name: &str,
    description: &str,
    actor: &Actor,
) -> Result<Localization> {
    let now = clock::now();
    sqlx::query(
        "INSERT INTO taxonomy_localizations (stack_uid, taxonomy_uid, term_uid, locale, name, \
         description, created_by, updated_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $8) \
         ON CONFLICT (stack_uid, taxonomy_uid, term_uid, locale) DO UPDATE SET \
         name = $5, description = $6, updated_by = $7, updated_at = $8",
    )
    .bind(space)
    .bind(taxonomy_uid)
    .bind(term_uid)
    .bind(locale)
    .bind(name)
    .bind(description)
    .bind(actor.uid())
    .bind(&now)
    .execute(&mut *c)
    .await?;
    let mut found = localizations(c, space, taxonomy_uid, Some(locale), Some(term_uid)).await?;
    Ok(found.pop().expect("just written"))
}

/// Removes the localizations of the named terms (all of the taxonomy's, itself included, when
/// `terms` is `None`).
pub async fn delete_localizations(
    c: &mut Conn,
    space: &str,
    taxonomy_uid: &str,
    terms: Option<&[String]>,
) -> Result<()> {
    match terms {
        None => {
            sqlx::query(
                "DELETE FROM taxonomy_localizations WHERE stack_uid = $1 AND taxonomy_uid = $2",
            )
            .bind(space)
            .bind(taxonomy_uid)
            .execute(&mut *c)
            .await?;
        }
        Some(list) => {
            for t in list {
                sqlx::query(
                    "DELETE FROM taxonomy_localizations WHERE stack_uid = $1 AND taxonomy_uid = $2 \
                     AND term_uid = $3",
                )
                .bind(space)
                .bind(taxonomy_uid)
                .bind(t)
                .execute(&mut *c)
                .await?;
            }
        }
    }
    Ok(())
}

/// A published taxonomy: what the delivery API serves for it in one locale and environment.
#[derive(Clone, Debug)]
pub struct Published {
    pub taxonomy_uid: String,
    pub locale: String,
    pub environment_uid: String,
    /// JSON text: `{"taxonomy": {…}, "terms": […]}` as rendered when published.
    pub snapshot: String,
    pub published_by: String,
    pub published_at: String,
}

/// Publishes (or publishes again, replacing) a taxonomy's snapshot in a locale and environment.
pub async fn publish(
    c: &mut Conn,
    space: &str,
    taxonomy_uid: &str,
    locale: &str,
    environment_uid: &str,
    snapshot: &str,
    actor: &Actor,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO taxonomy_publications (stack_uid, taxonomy_uid, locale, environment_uid, \
         snapshot, published_by, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (stack_uid, taxonomy_uid, locale, environment_uid) DO UPDATE SET \
         snapshot = $5, published_by = $6, published_at = $7",
    )
    .bind(space)
    .bind(taxonomy_uid)
    .bind(locale)
    .bind(environment_uid)
    .bind(snapshot)
    .bind(actor.uid())
    .bind(clock::now())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Takes a taxonomy down from a locale and environment; `false` when it was not published there.
pub async fn unpublish(
    c: &mut Conn,
    space: &str,
    taxonomy_uid: &str,
    locale: &str,
    environment_uid: &str,
) -> Result<bool> {
    let r = sqlx::query(
        "DELETE FROM taxonomy_publications WHERE stack_uid = $1 AND taxonomy_uid = $2 \
         AND locale = $3 AND environment_uid = $4",
    )
    .bind(space)
    .bind(taxonomy_uid)
    .bind(locale)
    .bind(environment_uid)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Every publication of a taxonomy, by locale and environment (for the management API).
pub async fn publications_of(
    c: &mut Conn,
    space: &str,
    taxonomy_uid: &str,
) -> Result<Vec<Published>> {
    let rows = sqlx::query(
        "SELECT taxonomy_uid, locale, environment_uid, snapshot, published_by, published_at \
         FROM taxonomy_publications WHERE stack_uid = $1 AND taxonomy_uid = $2 \
         ORDER BY locale, environment_uid",
    )
    .bind(space)
    .bind(taxonomy_uid)
    .fetch_all(c)
    .await?;
    rows.iter().map(published_from_row).collect()
}

fn published_from_row(r: &AnyRow) -> Result<Published> {
    Ok(Published {
        taxonomy_uid: s(r, "taxonomy_uid")?,
        locale: s(r, "locale")?,
        environment_uid: s(r, "environment_uid")?,
        snapshot: s(r, "snapshot")?,
        published_by: s(r, "published_by")?,
        published_at: s(r, "published_at")?,
    })
}

/// The taxonomies published in an environment and locale (one of them when `taxonomy_uid` is
/// given), by uid.
pub async fn published(
    c: &mut Conn,
    space: &str,
    environment_uid: &str,
    locale: &str,
    taxonomy_uid: Option<&str>,
) -> Result<Vec<Published>> {
    let rows = sqlx::query(
        "SELECT taxonomy_uid, locale, environment_uid, snapshot, published_by, published_at \
         FROM taxonomy_publications WHERE stack_uid = $1 AND environment_uid = $2 AND locale = $3 \
         AND ($4 = '' OR taxonomy_uid = $4) ORDER BY taxonomy_uid",
    )
    .bind(space)
    .bind(environment_uid)
    .bind(locale)
    .bind(taxonomy_uid.unwrap_or(""))
    .fetch_all(c)
    .await?;
    rows.iter().map(published_from_row).collect()
}

/// Removes every publication of a taxonomy (it is being deleted).
pub async fn delete_publications(c: &mut Conn, space: &str, taxonomy_uid: &str) -> Result<()> {
    sqlx::query("DELETE FROM taxonomy_publications WHERE stack_uid = $1 AND taxonomy_uid = $2")
        .bind(space)
        .bind(taxonomy_uid)
        .execute(&mut *c)
        .await?;
    Ok(())
}
