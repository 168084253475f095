//! Which entries refer to an entry or an asset: entries whose current document names its uid
//! (reference fields, file fields, JSON RTE embeds). The text search finds candidates; the
//! caller confirms each in the parsed document.

use super::Conn;
use crate::dialect;
use crate::error::Result;
use crate::row::*;
use crate::Backend;
use serde_json::Value;

/// One referring entry row (an entry in one locale).
#[derive(Clone, Debug)]
pub struct Referrer {
    pub uid: String,
    pub content_type_uid: String,
    pub locale: String,
    pub title: String,
    pub version: i64,
    pub doc: Value,
}

/// The entry rows of a content space whose document contains `"<uid>"` as a string, oldest
/// first. `uid` must be a plain identifier (letters, digits, `_`, `-`); anything else finds
/// nothing.
pub async fn candidates(
    c: &mut Conn,
    space: &str,
    uid: &str,
    locale: Option<&str>,
) -> Result<Vec<Referrer>> {
    if uid.is_empty()
        || !uid
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
    {
        return Ok(Vec::new());
    }
    let doc = dialect::json_text(Backend::of(c), "doc");
    let rows = sqlx::query(&format!(
        "SELECT uid, content_type_uid, locale, title, version, {doc} AS doc FROM entries \
         WHERE stack_uid = $1 AND ($3 = '' OR locale = $3) AND {doc} LIKE $2 \
         ORDER BY created_at, uid, locale"
    ))
    .bind(space)
    .bind(format!("%\"{uid}\"%"))
    .bind(locale.unwrap_or(""))
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Referrer {
                uid: s(r, "uid")?,
                content_type_uid: s(r, "content_type_uid")?,
                locale: s(r, "locale")?,
                title: s(r, "title")?,
                version: i(r, "version")?,
                doc: json(r, "doc")?,
            })
        })
        .collect()
}
