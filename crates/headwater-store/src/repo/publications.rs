//! What is published where: one row per (item, locale, environment) naming the live version.

use super::Actor;
use crate::batch::Statement;
use crate::error::Result;
use crate::exec::Exec;
use crate::row::*;
use headwater_core::clock;

#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct Publication {
    pub item_uid: String,
    pub locale: String,
    pub environment_uid: String,
    pub version: i64,
    pub published_by: String,
    pub published_at: String,
}

/// One item in one locale on one environment.
pub struct Target<'a> {
    pub stack_uid: &'a str,
    /// `entry` or `asset`.
    pub item_type: &'a str,
    pub item_uid: &'a str,
    pub content_type_uid: Option<&'a str>,
    pub locale: &'a str,
    pub environment_uid: &'a str,
    /// For entries: the locale whose content is published (the master locale for an entry
    /// not localized in `locale`).
    pub source_locale: Option<&'a str>,
}

/// The item as published (or re-published) at `version`.
pub async fn publish<'e>(
    c: impl Into<Exec<'e>>,
    t: &Target<'_>,
    version: i64,
    actor: &Actor,
) -> Result<()> {
    // One statement, so concurrent publishes of the same item cannot collide on the key
    // (`ON CONFLICT … DO UPDATE` has the same syntax on SQLite and PostgreSQL).
    Statement::new(
        "INSERT INTO publications (stack_uid, item_type, item_uid, locale, environment_uid, \
         content_type_uid, version, published_by, published_at, source_locale) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (stack_uid, item_type, item_uid, locale, environment_uid) DO UPDATE SET \
         content_type_uid = excluded.content_type_uid, version = excluded.version, \
         published_by = excluded.published_by, published_at = excluded.published_at, \
         source_locale = excluded.source_locale",
    )
    .arg(t.stack_uid)
    .arg(t.item_type)
    .arg(t.item_uid)
    .arg(t.locale)
    .arg(t.environment_uid)
    .arg(t.content_type_uid.map(str::to_string))
    .arg(version)
    .arg(actor.uid())
    .arg(clock::now())
    .arg(t.source_locale.map(str::to_string))
    .execute(c)
    .await?;
    Ok(())
}

/// Takes the item off the environment in the locale; false when it was not published there.
pub async fn unpublish<'e>(c: impl Into<Exec<'e>>, t: &Target<'_>) -> Result<bool> {
    let r = Statement::new(
        "DELETE FROM publications WHERE stack_uid = $1 AND item_type = $2 AND item_uid = $3 \
         AND locale = $4 AND environment_uid = $5",
    )
    .arg(t.stack_uid)
    .arg(t.item_type)
    .arg(t.item_uid)
    .arg(t.locale)
    .arg(t.environment_uid)
    .execute(c)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Publications of the given items.
pub async fn of_items<'e>(
    c: impl Into<Exec<'e>>,
    stack_uid: &str,
    item_type: &str,
    uids: &[String],
) -> Result<Vec<Publication>> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..uids.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT item_uid, locale, environment_uid, version, published_by, published_at FROM publications \
         WHERE stack_uid = $1 AND item_type = $2 AND item_uid IN ({}) ORDER BY published_at",
        placeholders.join(", ")
    );
    let mut q = Statement::new(&sql).arg(stack_uid).arg(item_type);
    for u in uids {
        q = q.arg(u.as_str());
    }
    let rows = q.fetch_all(c).await?;
    rows.iter()
        .map(|r| {
            Ok(Publication {
                item_uid: s(r, "item_uid")?,
                locale: s(r, "locale")?,
                environment_uid: s(r, "environment_uid")?,
                version: i(r, "version")?,
                published_by: s(r, "published_by")?,
                published_at: s(r, "published_at")?,
            })
        })
        .collect()
}
