//! Helpers to read `Any` rows the same way on both backends, strictly: a column the query does
//! not return, a value of another type, or a NULL where the caller did not ask for an `Option`
//! is a [`StoreError::Decode`], never a silent `""` or `0`. NULL-able columns are read with the
//! `o…` helpers, which give `None` for NULL and still refuse a wrong column or type.

use crate::error::{Result, StoreError};
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{Any, Decode, Row as _, Type};

/// One column of `row`, decoded as `T`; any failure names the column.
pub(crate) fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T>
where
    T: Decode<'r, Any> + Type<Any>,
{
    row.try_get::<T, _>(col)
        .map_err(|e| StoreError::Decode(format!("column `{col}`: {e}")))
}

/// A row the helpers below read: sqlx's `AnyRow`, or a row read on the calling thread
/// (`direct`, SQLite). Both answer strictly: an unknown column or a value of another type is
/// an error.
pub(crate) trait ReadRow {
    /// A text column; `None` for NULL.
    fn text(&self, col: &str) -> Result<Option<String>>;
    /// An integer column; `None` for NULL.
    fn int(&self, col: &str) -> Result<Option<i64>>;
}

impl ReadRow for AnyRow {
    fn text(&self, col: &str) -> Result<Option<String>> {
        get(self, col)
    }

    fn int(&self, col: &str) -> Result<Option<i64>> {
        get(self, col)
    }
}

impl ReadRow for rusqlite::Row<'_> {
    fn text(&self, col: &str) -> Result<Option<String>> {
        self.get(col)
            .map_err(|e| StoreError::Decode(format!("column `{col}`: {e}")))
    }

    fn int(&self, col: &str) -> Result<Option<i64>> {
        self.get(col)
            .map_err(|e| StoreError::Decode(format!("column `{col}`: {e}")))
    }
}

/// A row as statements return it through [`crate::exec::Exec`]: sqlx's, or one read from
/// SQLite's own writer connection (values copied out, column names shared by the rows of one
/// statement).
pub enum Row {
    Any(AnyRow),
    Raw(RawRow),
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Row::Any(_) => f.write_str("Row::Any"),
            Row::Raw(r) => r.fmt(f),
        }
    }
}

/// A row read through rusqlite, owned.
#[derive(Debug)]
pub struct RawRow {
    pub(crate) names: std::sync::Arc<[String]>,
    pub(crate) values: Vec<rusqlite::types::Value>,
}

impl RawRow {
    fn value(&self, col: &str) -> Result<&rusqlite::types::Value> {
        self.names
            .iter()
            .position(|n| n == col)
            .map(|k| &self.values[k])
            .ok_or_else(|| StoreError::Decode(format!("column `{col}`: no such column")))
    }
}

impl ReadRow for RawRow {
    fn text(&self, col: &str) -> Result<Option<String>> {
        use rusqlite::types::Value as V;
        match self.value(col)? {
            V::Null => Ok(None),
            V::Text(t) => Ok(Some(t.clone())),
            other => Err(StoreError::Decode(format!(
                "column `{col}`: {:?} where text was expected",
                other.data_type()
            ))),
        }
    }

    fn int(&self, col: &str) -> Result<Option<i64>> {
        use rusqlite::types::Value as V;
        match self.value(col)? {
            V::Null => Ok(None),
            V::Integer(n) => Ok(Some(*n)),
            other => Err(StoreError::Decode(format!(
                "column `{col}`: {:?} where an integer was expected",
                other.data_type()
            ))),
        }
    }
}

impl ReadRow for Row {
    fn text(&self, col: &str) -> Result<Option<String>> {
        match self {
            Row::Any(r) => r.text(col),
            Row::Raw(r) => r.text(col),
        }
    }

    fn int(&self, col: &str) -> Result<Option<i64>> {
        match self {
            Row::Any(r) => r.int(col),
            Row::Raw(r) => r.int(col),
        }
    }
}

fn not_null<T>(v: Option<T>, col: &str) -> Result<T> {
    v.ok_or_else(|| StoreError::Decode(format!("column `{col}`: unexpected NULL")))
}

pub(crate) fn s<R: ReadRow + ?Sized>(row: &R, col: &str) -> Result<String> {
    not_null(row.text(col)?, col)
}

pub(crate) fn os<R: ReadRow + ?Sized>(row: &R, col: &str) -> Result<Option<String>> {
    row.text(col)
}

pub(crate) fn i<R: ReadRow + ?Sized>(row: &R, col: &str) -> Result<i64> {
    not_null(row.int(col)?, col)
}

pub(crate) fn oi<R: ReadRow + ?Sized>(row: &R, col: &str) -> Result<Option<i64>> {
    row.int(col)
}

/// A flag stored as an integer (0 or 1) on both backends.
pub(crate) fn b<R: ReadRow + ?Sized>(row: &R, col: &str) -> Result<bool> {
    Ok(i(row, col)? != 0)
}

/// A JSON document stored as text (SQLite) or read back as text (PostgreSQL's `::text`).
/// Text that is not JSON is an error, not `null`.
pub(crate) fn json<R: ReadRow + ?Sized>(row: &R, col: &str) -> Result<serde_json::Value> {
    json_as(row, col)
}

/// A JSON text column read into `T`; text that is not JSON of that shape is an error.
pub(crate) fn json_as<T: DeserializeOwned>(row: &(impl ReadRow + ?Sized), col: &str) -> Result<T> {
    parse(&s(row, col)?, col)
}

/// A NULL-able JSON text column read into `T`: `None` for NULL.
pub(crate) fn ojson_as<T: DeserializeOwned>(
    row: &(impl ReadRow + ?Sized),
    col: &str,
) -> Result<Option<T>> {
    os(row, col)?.map(|text| parse(&text, col)).transpose()
}

fn parse<T: DeserializeOwned>(text: &str, col: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::Decode(format!(
            "column `{col}` does not hold the JSON expected: {e}"
        ))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    //! A wrong column name, a wrong type, or a NULL where none is allowed must be an error on
    //! both backends: before strict decoding they read as `""`, `0` or `null`.
    use super::*;
    use crate::{Backend, Db};

    /// The databases to check: a SQLite file always, PostgreSQL when
    /// `HEADWATER_TEST_POSTGRES_URL` names a server (as for the HTTP tests).
    pub(crate) async fn databases(tag: &str) -> Vec<(Db, Option<std::path::PathBuf>)> {
        let path = std::env::temp_dir().join(format!(
            "headwater-row-{tag}-{}-{:?}.db",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        let sqlite = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("sqlite");
        let mut out = vec![(sqlite, Some(path))];
        match std::env::var("HEADWATER_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => {
                out.push((Db::connect(&url).await.expect("postgres"), None));
            }
            _ => eprintln!("HEADWATER_TEST_POSTGRES_URL is not set: PostgreSQL is skipped"),
        }
        out
    }

    fn is_decode_error<T: std::fmt::Debug>(r: Result<T>, col: &str) {
        match r {
            Err(StoreError::Decode(msg)) => assert!(msg.contains(col), "{msg}"),
            other => panic!("reading `{col}` gave {other:?}, not a decode error"),
        }
    }

    #[tokio::test]
    async fn a_wrong_column_type_or_null_is_an_error_on_both_backends() {
        for (db, file) in databases("strict").await {
            let backend = db.backend();
            let mut c = db.reader().await.unwrap();
            assert_eq!(Backend::of(&c), backend, "the connection knows its backend");
            let row = sqlx::query(
                "SELECT 'ada' AS name, CAST(7 AS BIGINT) AS n, 'not json' AS doc, \
                 CAST(NULL AS TEXT) AS missing",
            )
            .fetch_one(&mut *c)
            .await
            .unwrap();
            // The right column and type read as before.
            assert_eq!(s(&row, "name").unwrap(), "ada", "{backend:?}");
            assert_eq!(i(&row, "n").unwrap(), 7, "{backend:?}");
            assert!(b(&row, "n").unwrap(), "{backend:?}");
            assert_eq!(os(&row, "missing").unwrap(), None, "{backend:?}");
            assert_eq!(oi(&row, "n").unwrap(), Some(7), "{backend:?}");
            // A column the query does not return.
            is_decode_error(s(&row, "nmae"), "nmae");
            is_decode_error(os(&row, "nmae"), "nmae");
            is_decode_error(i(&row, "count"), "count");
            is_decode_error(oi(&row, "count"), "count");
            // A value of another type.
            is_decode_error(i(&row, "name"), "name");
            is_decode_error(oi(&row, "name"), "name");
            is_decode_error(b(&row, "name"), "name");
            is_decode_error(s(&row, "n"), "n");
            is_decode_error(os(&row, "n"), "n");
            // NULL where the caller did not ask for an Option.
            is_decode_error(s(&row, "missing"), "missing");
            is_decode_error(json(&row, "missing"), "missing");
            // Text that is not the JSON expected.
            is_decode_error(json(&row, "doc"), "doc");
            is_decode_error(json_as::<Vec<String>>(&row, "name"), "name");
            is_decode_error(ojson_as::<Vec<String>>(&row, "doc"), "doc");
            assert_eq!(ojson_as::<Vec<String>>(&row, "missing").unwrap(), None);
            drop(c);
            db.close().await;
            if let Some(f) = file {
                let _ = std::fs::remove_file(f);
            }
        }
    }

    /// Rows read on the calling thread (`direct`, rusqlite) are read as strictly.
    #[test]
    fn a_direct_row_is_read_as_strictly() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let mut st = c
            .prepare(
                "SELECT 'ada' AS name, 7 AS n, 'not json' AS doc, CAST(NULL AS TEXT) AS missing",
            )
            .unwrap();
        let mut rows = st.query([]).unwrap();
        let row = rows.next().unwrap().unwrap();
        assert_eq!(s(row, "name").unwrap(), "ada");
        assert_eq!(i(row, "n").unwrap(), 7);
        assert!(b(row, "n").unwrap());
        assert_eq!(os(row, "missing").unwrap(), None);
        assert_eq!(oi(row, "n").unwrap(), Some(7));
        is_decode_error(s(row, "nmae"), "nmae");
        is_decode_error(i(row, "count"), "count");
        is_decode_error(i(row, "name"), "name");
        is_decode_error(s(row, "n"), "n");
        is_decode_error(s(row, "missing"), "missing");
        is_decode_error(json(row, "doc"), "doc");
        assert_eq!(ojson_as::<Vec<String>>(row, "missing").unwrap(), None);
    }

    /// A repository read of a stored row whose JSON text is damaged answers an error instead
    /// of a document of `null` (SQLite: PostgreSQL's `jsonb` columns cannot hold such text).
    #[tokio::test]
    async fn a_repository_read_of_a_damaged_row_is_an_error() {
        for (db, file) in databases("damaged").await {
            if db.backend() != Backend::Sqlite {
                continue;
            }
            db.migrate().await.unwrap();
            let mut tx = db.begin().await.unwrap();
            // No stack row: the foreign key is checked at commit, and this rolls back.
            sqlx::query("PRAGMA defer_foreign_keys = ON")
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO environments (uid, stack_uid, name, urls, version, created_by, \
                 updated_by, created_at, updated_at) VALUES ('e1', 's1', 'production', \
                 'not json', 1, 'u', 'u', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
            )
            .execute(&mut *tx)
            .await
            .unwrap();
            let read = crate::repo::environments::by_name(&mut tx, "s1", "production").await;
            is_decode_error(read, "urls");
            tx.rollback().await.unwrap();
            db.close().await;
            if let Some(f) = file {
                let _ = std::fs::remove_file(f);
            }
        }
    }
}
