//! The entry field index (`entry_fields`, `entry_values`): one row per string or number value
//! at an object path of an entry's current document, keyed by the entry row's `seq`.
//!
//! It exists so that a filtered query finds its candidate entries through an index instead of
//! evaluating JSON paths over every entry of the content type. The query compiler uses it only
//! as a *pre-filter* (a superset of the matches, see `entries::Compiler::prefilter`): the exact
//! condition is still evaluated on the candidates, so results do not depend on it beyond speed.
//!
//! It is maintained here, in the same transaction as every entry write (`entries::insert`,
//! `entries::update`, `entries::delete`, `entries::delete_all_of_type`). Code that writes
//! `entries` rows any other way must call [`reindex`] for them in its transaction.
//!
//! What is indexed mirrors what the query language can reach: paths through objects only
//! (never into arrays), with keys that are plain identifiers ([`indexable_key`]); strings by
//! their first [`TEXT_PREFIX_CHARS`] characters; numbers as the database parses their JSON text
//! (so number comparisons on the index and on the document agree exactly).
//! Booleans and nulls are not indexed.
//!
//! The work per entry is bounded: the inside of `json` fields (free-form data, whose paths the
//! writer names) is not indexed, and an entry with more than [`MAX_VALUES_PER_ENTRY`] values is
//! not indexed value by value. Neither may make a query miss an entry, so each is recorded as
//! a *marker*: a row whose field path is [`MARKER`] followed by the path below which nothing
//! was indexed (`!meta`; `!` alone for the whole entry). The query compiler adds the entries
//! marked on a prefix of a compared path to that comparison's candidates (see
//! `entries::FieldScope::unindexed`), so a query on such a path falls back to evaluating the
//! condition on those entries: answers are the same as a full scan's.

use super::Conn;
use crate::batch::{Batch, Statement};
use crate::error::Result;
use crate::Backend;
use serde_json::Value;

/// Strings are indexed by this many leading characters (long text stays out of the index).
pub const TEXT_PREFIX_CHARS: usize = 200;

/// Paths and values per statement (SQLite allows at most 500 terms in a compound SELECT).
const CHUNK: usize = 100;

/// The most values one entry row has in the index; an entry with more is indexed as one
/// whole-entry marker instead (it is then a candidate of every indexed query of its content
/// type and locale, and the exact condition decides).
pub const MAX_VALUES_PER_ENTRY: usize = 1_000;

/// The first character of a marker's field path (never that of an [`indexable_key`]).
pub const MARKER: &str = "!";

/// A key the index holds and the compiler may look up: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn indexable_key(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A string cut to the indexed prefix.
pub fn text_prefix(s: &str) -> &str {
    match s.char_indices().nth(TEXT_PREFIX_CHARS) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// One indexed value: a dotted path and either a string (prefix) or a number (its JSON text,
/// parsed to a double by the database, exactly as the query's number comparisons do).
#[derive(Clone, Debug, PartialEq)]
pub enum Leaf {
    Text(String, String),
    Number(String, String),
    /// Nothing at or below this path (its field path without the [`MARKER`]; empty for the
    /// whole entry) is indexed.
    Unindexed(String),
}

impl Leaf {
    /// The path of its `entry_fields` row.
    fn field_path(&self) -> String {
        match self {
            Leaf::Text(p, _) | Leaf::Number(p, _) => p.clone(),
            Leaf::Unindexed(p) => format!("{MARKER}{p}"),
        }
    }
}

/// The indexed values of a document, leaving out what is at or below the dotted paths of
/// `unindexed` (its `json` fields) and replaced by one whole-entry marker when there are more
/// than [`MAX_VALUES_PER_ENTRY`].
pub fn leaves(doc: &Value, unindexed: &[String]) -> Vec<Leaf> {
    fn walk(v: &Value, prefix: &str, unindexed: &[String], out: &mut Vec<Leaf>, count: &mut usize) {
        let Value::Object(map) = v else { return };
        for (k, child) in map {
            if !indexable_key(k) {
                continue;
            }
            if *count > MAX_VALUES_PER_ENTRY {
                return;
            }
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if unindexed.contains(&path) {
                if matches!(
                    child,
                    Value::String(_) | Value::Number(_) | Value::Object(_)
                ) {
                    out.push(Leaf::Unindexed(path));
                }
                continue;
            }
            match child {
                Value::String(s) => {
                    *count += 1;
                    out.push(Leaf::Text(path, text_prefix(s).to_string()))
                }
                Value::Number(n) => {
                    *count += 1;
                    out.push(Leaf::Number(path, n.to_string()))
                }
                Value::Object(_) => walk(child, &path, unindexed, out, count),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    let mut count = 0;
    walk(doc, "", unindexed, &mut out, &mut count);
    if count > MAX_VALUES_PER_ENTRY {
        return vec![Leaf::Unindexed(String::new())];
    }
    out
}

/// Where an entry row's values belong.
pub struct Owner<'a> {
    pub stack_uid: &'a str,
    pub content_type_uid: &'a str,
    pub locale: &'a str,
    pub seq: i64,
}

/// What the index may already hold for the rows being written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Rows just inserted: their `seq`s carry no index rows (PostgreSQL never hands a `seq`
    /// out twice; on SQLite, where a freed `seq` can come back, migration 0020's triggers
    /// delete a row's index rows whenever the row is deleted or its `seq` changes).
    New,
    /// Rows whose index rows, if any, are replaced.
    Existing,
}

/// Replaces the indexed values of one entry row with those of `doc`, leaving out the inside
/// of the `unindexed` paths (see [`leaves`]).
pub async fn write(
    c: &mut Conn,
    owner: &Owner<'_>,
    doc: &Value,
    unindexed: &[String],
    rows: Rows,
) -> Result<()> {
    let place = Place {
        stack_uid: owner.stack_uid,
        content_type_uid: owner.content_type_uid,
        locale: owner.locale,
    };
    write_many(c, &place, &[(owner.seq, doc)], unindexed, rows).await
}

/// The content space, content type and locale of entry rows.
pub struct Place<'a> {
    pub stack_uid: &'a str,
    pub content_type_uid: &'a str,
    pub locale: &'a str,
}

/// Which entry row index rows belong to.
#[derive(Clone, Copy, Debug)]
pub enum Seq<'a> {
    /// Its `seq`.
    Known(i64),
    /// The row of this entry uid in the place's locale, looked up by the statement itself (for
    /// a row inserted earlier in the same batch, whose `seq` is not known yet).
    OfEntry(&'a str),
}

/// Replaces the indexed values of many entry rows of one place, in a few statements, leaving
/// out the inside of the `unindexed` paths (see [`leaves`]).
pub async fn write_many(
    c: &mut Conn,
    place: &Place<'_>,
    rows: &[(i64, &Value)],
    unindexed: &[String],
    kind: Rows,
) -> Result<()> {
    let mut batch = Batch::new();
    // Existing rows are cleared first (new ones have nothing to clear, see `Rows::New`).
    let existing = if kind == Rows::Existing { rows } else { &[] };
    for chunk in existing.chunks(CHUNK) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        for table in ["entry_values", "entry_terms"] {
            let st = batch.add(format!(
                "DELETE FROM {table} WHERE seq IN ({})",
                list.join(", ")
            ));
            for (seq, _) in chunk {
                st.bind(*seq);
            }
        }
    }
    let rows: Vec<(Seq, &Value)> = rows.iter().map(|(s, d)| (Seq::Known(*s), *d)).collect();
    stage(&mut batch, crate::Backend::of(c), place, &rows, unindexed);
    batch.run(c).await?;
    Ok(())
}

/// Adds to `batch` the statements that index new entry rows of one place: their taxonomy
/// terms, the field paths not registered yet, and their values.
pub fn stage(
    batch: &mut Batch,
    backend: Backend,
    place: &Place<'_>,
    rows: &[(Seq<'_>, &Value)],
    unindexed: &[String],
) {
    stage_terms(batch, place, rows);
    let all: Vec<(Seq, Leaf)> = rows
        .iter()
        .flat_map(|(seq, doc)| leaves(doc, unindexed).into_iter().map(move |l| (*seq, l)))
        .collect();
    for chunk in all.chunks(CHUNK) {
        let mut paths: Vec<String> = chunk.iter().map(|(_, l)| l.field_path()).collect();
        paths.sort_unstable();
        paths.dedup();
        stage_fields(batch, place, &paths);
        stage_values(batch, backend, place, chunk);
    }
}

/// Binds `place` as `$1`, `$2`, `$3` of a statement.
fn bind_place(st: &mut Statement, place: &Place<'_>) {
    st.bind(place.stack_uid)
        .bind(place.content_type_uid)
        .bind(place.locale);
}

/// The SQL of a row's `seq` at placeholder `$at` (a statement that binds its place first),
/// and binds what it needs.
fn seq_sql(st: &mut Statement, seq: Seq<'_>, at: usize) -> String {
    match seq {
        Seq::Known(n) => {
            st.bind(n);
            format!("CAST(${at} AS BIGINT)")
        }
        Seq::OfEntry(uid) => {
            st.bind(uid);
            format!(
                "(SELECT seq FROM entries WHERE stack_uid = $1 AND uid = ${at} AND locale = $3)"
            )
        }
    }
}

/// The entry term index: one `entry_terms` row per (taxonomy, term) of an entry row's
/// `taxonomies` value (validated by `content::validate_entry`, so at most a few dozen).
fn stage_terms(batch: &mut Batch, place: &Place<'_>, rows: &[(Seq<'_>, &Value)]) {
    let all: Vec<(Seq, String, String)> = rows
        .iter()
        .flat_map(|(seq, doc)| {
            let pairs = doc
                .as_object()
                .map(headwater_core::content::entry_terms)
                .unwrap_or_default();
            pairs.into_iter().map(move |(t, u)| (*seq, t, u))
        })
        .collect();
    for chunk in all.chunks(CHUNK) {
        let st = batch.add(String::new());
        bind_place(st, place);
        let mut selects = Vec::with_capacity(chunk.len());
        for (k, (seq, t, u)) in chunk.iter().enumerate() {
            let at = 4 + 3 * k;
            let seq = seq_sql(st, *seq, at);
            st.bind(t.as_str()).bind(u.as_str());
            selects.push(format!(
                "SELECT {seq} AS seq, CAST(${} AS TEXT) AS taxonomy_uid, CAST(${} AS TEXT) AS term_uid",
                at + 1,
                at + 2
            ));
        }
        st.set_sql(format!(
            "INSERT INTO entry_terms (seq, stack_uid, content_type_uid, locale, taxonomy_uid, \
             term_uid) SELECT v.seq, $1, $2, $3, v.taxonomy_uid, v.term_uid FROM ({}) v \
             WHERE TRUE ON CONFLICT (seq, taxonomy_uid, term_uid) DO NOTHING",
            selects.join(" UNION ALL ")
        ));
    }
}

/// Registers the field paths of a place that are not registered yet.
fn stage_fields(batch: &mut Batch, place: &Place<'_>, paths: &[String]) {
    let selects: Vec<String> = (0..paths.len())
        .map(|i| format!("SELECT CAST(${} AS TEXT) AS path", i + 4))
        .collect();
    let st = batch.add(format!(
        "INSERT INTO entry_fields (stack_uid, content_type_uid, locale, path) \
         SELECT $1, $2, $3, p.path FROM ({}) p WHERE NOT EXISTS (SELECT 1 FROM entry_fields f \
         WHERE f.stack_uid = $1 AND f.content_type_uid = $2 AND f.locale = $3 AND f.path = p.path) \
         ON CONFLICT (stack_uid, content_type_uid, locale, path) DO NOTHING",
        selects.join(" UNION ALL ")
    ));
    bind_place(st, place);
    for path in paths {
        st.bind(path.as_str());
    }
}

/// Inserts values whose field paths are registered (see [`stage_fields`]).
fn stage_values(batch: &mut Batch, backend: Backend, place: &Place<'_>, chunk: &[(Seq<'_>, Leaf)]) {
    // As the query's comparisons see numbers: a double on PostgreSQL; on SQLite an integer
    // when the text is one (REAL would round integers beyond 2^53), else a real.
    let number = match backend {
        Backend::Postgres => "DOUBLE PRECISION",
        Backend::Sqlite => "NUMERIC",
    };
    let st = batch.add(String::new());
    bind_place(st, place);
    let mut selects = Vec::with_capacity(chunk.len());
    for (k, (seq, leaf)) in chunk.iter().enumerate() {
        let at = 4 + 4 * k;
        let seq = seq_sql(st, *seq, at);
        match leaf {
            Leaf::Text(p, t) => st
                .bind(p.as_str())
                .bind(Some(t.as_str()))
                .bind(None::<&str>),
            Leaf::Number(p, n) => st
                .bind(p.as_str())
                .bind(None::<&str>)
                .bind(Some(n.as_str())),
            // A marker's `t` is empty, so its rows are found through `entry_values_text`.
            Leaf::Unindexed(_) => st.bind(leaf.field_path()).bind(Some("")).bind(None::<&str>),
        };
        selects.push(format!(
            "SELECT {seq} AS seq, CAST(${} AS TEXT) AS path, CAST(${} AS TEXT) AS t, \
             CAST(${} AS {number}) AS n",
            at + 1,
            at + 2,
            at + 3
        ));
    }
    st.set_sql(format!(
        "INSERT INTO entry_values (seq, field_id, t, n) SELECT v.seq, f.id, v.t, v.n FROM ({}) v \
         JOIN entry_fields f ON f.stack_uid = $1 AND f.content_type_uid = $2 AND f.locale = $3 \
         AND f.path = v.path WHERE TRUE ON CONFLICT (seq, field_id) DO NOTHING",
        selects.join(" UNION ALL ")
    ));
}

/// Removes the entry term index rows of the entry rows a `WHERE` clause over `entries`
/// selects (see [`delete_sql`]).
pub(crate) fn delete_terms_sql(filter: &str) -> String {
    format!("DELETE FROM entry_terms WHERE seq IN (SELECT seq FROM entries WHERE {filter})")
}

/// Removes the indexed values of the entry rows a `WHERE` clause over `entries` selects
/// (`filter` uses `$1`… bound by the caller's binder).
pub(crate) fn delete_sql(filter: &str) -> String {
    format!("DELETE FROM entry_values WHERE seq IN (SELECT seq FROM entries WHERE {filter})")
}

/// Rebuilds the index for every entry row of a content space (for code that wrote `entries`
/// rows without going through `repo::entries`, such as a bulk copy), leaving out the `json`
/// fields of each content type as the write path does. A content type whose schema does not
/// parse is indexed whole (the index stays complete; the per-entry cap still bounds the work).
pub async fn reindex(c: &mut Conn, stack_uid: &str) -> Result<u64> {
    let backend = crate::Backend::of(c);
    use super::schemas::{self, Kind};
    let (globals, _) = schemas::list(c, stack_uid, Kind::GlobalField, 0, i64::MAX).await?;
    let globals: std::collections::HashMap<String, Value> =
        globals.into_iter().map(|g| (g.uid, g.schema)).collect();
    let lookup = |uid: &str| globals.get(uid).cloned();
    let (types, _) = schemas::list(c, stack_uid, Kind::ContentType, 0, i64::MAX).await?;
    let json_paths: std::collections::HashMap<String, Vec<String>> = types
        .iter()
        .map(|t| {
            let paths = headwater_core::content::parse_schema(&t.schema, false, &lookup)
                .map(|f| headwater_core::content::json_paths(&f))
                .unwrap_or_default();
            (t.uid.clone(), paths)
        })
        .collect();
    let rows = sqlx::query(&format!(
        "SELECT seq, content_type_uid, locale, {} AS doc FROM entries WHERE stack_uid = $1",
        crate::dialect::json_text(backend, "doc")
    ))
    .bind(stack_uid)
    .fetch_all(&mut *c)
    .await?;
    let mut n = 0;
    for r in &rows {
        let content_type_uid = crate::row::s(r, "content_type_uid")?;
        let owner = Owner {
            stack_uid,
            content_type_uid: &content_type_uid,
            locale: &crate::row::s(r, "locale")?,
            seq: crate::row::i(r, "seq")?,
        };
        let unindexed = json_paths
            .get(&content_type_uid)
            .map(Vec::as_slice)
            .unwrap_or_default();
        write(
            c,
            &owner,
            &crate::row::json(r, "doc")?,
            unindexed,
            Rows::Existing,
        )
        .await?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leaves_follow_objects_and_skip_arrays_booleans_nulls_and_odd_keys() {
        let doc = json!({
            "title": "Hello", "rating": 4.5, "count": 3, "flag": true, "none": null,
            "author": {"name": "Ada", "age": 36, "tags": ["x"]},
            "sections": [{"quote": "q"}], "odd key": "x", "a.b": "y", "9lives": "z"
        });
        let mut got = leaves(&doc, &[]);
        got.sort_by_key(|l| l.field_path());
        assert_eq!(
            got,
            vec![
                Leaf::Number("author.age".into(), "36".into()),
                Leaf::Text("author.name".into(), "Ada".into()),
                Leaf::Number("count".into(), "3".into()),
                Leaf::Number("rating".into(), "4.5".into()),
                Leaf::Text("title".into(), "Hello".into()),
            ]
        );
    }

    // Migration 0008 indexes the entries that existed before it, as the write path would.
    #[tokio::test]
    async fn migration_0008_indexes_existing_entries() {
        let path = std::env::temp_dir().join(format!(
            "hw-fi-{}-{}.db",
            std::process::id(),
            headwater_core::ids::new_uid()
        ));
        let db = crate::Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        db.migrate_through(4).await.unwrap();
        // Raw rows as an older server wrote them (the stack row is not needed here).
        db.execute_admin("PRAGMA foreign_keys = OFF").await.unwrap();
        for (uid, locale, doc) in [
            (
                "u1",
                "en-us",
                r#"{"title": "One", "rating": 9007199254740993, "author": {"name": "Ada"}, "tags": ["x"], "odd key": 1, "flag": true}"#,
            ),
            ("u2", "en-us", r#"{"title": "Two", "rating": 2.5}"#),
            ("u3", "fr-fr", r#"{"title": "Trois", "rating": 3}"#),
        ] {
            db.execute_admin(&format!(
                "INSERT INTO entries (stack_uid, content_type_uid, uid, locale, title, version, doc, \
                 tags, created_by, updated_by, created_at, updated_at) VALUES ('s', 'ct', '{uid}', \
                 '{locale}', 't', 1, '{doc}', '[]', 'x', 'x', '2026-01-01T00:00:00.000000Z', \
                 '2026-01-01T00:00:00.000000Z')"
            ))
            .await
            .unwrap();
        }
        db.migrate().await.unwrap();
        let mut c = db.reader().await.unwrap();
        let rows = sqlx::query(
            "SELECT e.uid, f.locale, f.path, v.t, CAST(v.n AS TEXT) AS n FROM entry_values v \
             JOIN entry_fields f ON f.id = v.field_id JOIN entries e ON e.seq = v.seq \
             ORDER BY e.uid, f.path",
        )
        .fetch_all(&mut *c)
        .await
        .unwrap();
        let got: Vec<(String, String, String, String)> = rows
            .iter()
            .map(|r| {
                let t = crate::row::os(r, "t").unwrap();
                let n = crate::row::os(r, "n").unwrap();
                (
                    crate::row::s(r, "uid").unwrap(),
                    crate::row::s(r, "locale").unwrap(),
                    crate::row::s(r, "path").unwrap(),
                    t.or(n).unwrap_or_default(),
                )
            })
            .collect();
        let want = [
            ("u1", "en-us", "author.name", "Ada"),
            ("u1", "en-us", "rating", "9007199254740993"),
            ("u1", "en-us", "title", "One"),
            ("u2", "en-us", "rating", "2.5"),
            ("u2", "en-us", "title", "Two"),
            ("u3", "fr-fr", "rating", "3"),
            ("u3", "fr-fr", "title", "Trois"),
        ];
        let want: Vec<(String, String, String, String)> = want
            .iter()
            .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
            .collect();
        assert_eq!(got, want);
        // The same rows the write path produces for those documents.
        let doc: Value = serde_json::from_str(
            r#"{"title": "One", "rating": 9007199254740993, "author": {"name": "Ada"}, "tags": ["x"], "odd key": 1, "flag": true}"#,
        )
        .unwrap();
        let mut paths: Vec<String> = leaves(&doc, &[]).iter().map(Leaf::field_path).collect();
        paths.sort();
        let indexed: Vec<String> = got
            .iter()
            .filter(|g| g.0 == "u1")
            .map(|g| g.2.clone())
            .collect();
        assert_eq!(paths, indexed, "the write path indexes the same paths");
        // reindex rebuilds the same rows from the documents (for rows written another way).
        drop(c);
        db.execute_admin("DELETE FROM entry_values").await.unwrap();
        let mut tx = db.begin().await.unwrap();
        assert_eq!(reindex(&mut tx, "s").await.unwrap(), 3);
        tx.commit().await.unwrap();
        let mut c = db.reader().await.unwrap();
        let again = sqlx::query(
            "SELECT COUNT(*) AS n FROM entry_values v JOIN entry_fields f ON f.id = v.field_id",
        )
        .fetch_one(&mut *c)
        .await
        .unwrap();
        assert_eq!(crate::row::i(&again, "n").unwrap(), want.len() as i64);
        drop(c);
        db.close().await;
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn json_fields_and_entries_over_the_cap_become_markers() {
        let doc = json!({"title": "T", "meta": {"a": 1, "b": "x"}, "info": {"extra": "s", "n": 2},
                         "empty": null});
        let unindexed = vec![
            "meta".to_string(),
            "info.extra".to_string(),
            "empty".to_string(),
        ];
        let mut got: Vec<String> = leaves(&doc, &unindexed)
            .iter()
            .map(Leaf::field_path)
            .collect();
        got.sort();
        assert_eq!(got, vec!["!info.extra", "!meta", "info.n", "title"]);
        let mut wide = serde_json::Map::new();
        for i in 0..=MAX_VALUES_PER_ENTRY {
            wide.insert(format!("k{i}"), json!(i));
        }
        assert_eq!(
            leaves(&Value::Object(wide.clone()), &[]),
            vec![Leaf::Unindexed(String::new())]
        );
        wide.remove("k0");
        assert_eq!(
            leaves(&Value::Object(wide), &[]).len(),
            MAX_VALUES_PER_ENTRY
        );
    }

    #[test]
    fn long_strings_are_cut_at_a_character_boundary() {
        let long = "é".repeat(TEXT_PREFIX_CHARS + 5);
        assert_eq!(text_prefix(&long).chars().count(), TEXT_PREFIX_CHARS);
        assert_eq!(text_prefix("short"), "short");
        assert!(indexable_key("_a1") && indexable_key("Title"));
        assert!(!indexable_key("") && !indexable_key("1a") && !indexable_key("a-b"));
    }
}
