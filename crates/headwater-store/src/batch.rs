//! Several statements sent to the database as one call.
//!
//! Every statement through sqlx's SQLite driver is a round trip to the connection's worker
//! thread, and on a small machine a round trip (two thread wake-ups) costs far more than the
//! statement itself: about 55 µs against 3 µs for reading an entry by its key
//! (`cargo bench -p headwater-bench --bench sqlite_driver`). A write that makes ten statements
//! holds SQLite's single writer for ten round trips. A [`Batch`] collects statements whose
//! inputs are known up front and runs them in order: on SQLite as one multi-statement call
//! (one round trip), on PostgreSQL one after the other on the same connection. Each statement
//! is written with its own `$1`, `$2`… placeholders; the batch renumbers them.
//!
//! The rows each statement returns (`RETURNING`, `SELECT`) come back per statement. The first
//! failing statement stops the batch and its error is returned; the caller's transaction then
//! rolls back as usual, so a batch is all-or-nothing inside it.

use crate::error::Result;
use crate::exec::Exec;
use crate::row::{RawRow, Row};
use crate::Backend;
use sqlx::AnyConnection;

/// One bound value.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(Some(v.to_string()))
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::Text(Some(v))
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Arg {
        Arg::Text(v.map(str::to_string))
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Arg {
        Arg::Text(v)
    }
}

impl From<&String> for Arg {
    fn from(v: &String) -> Arg {
        Arg::Text(Some(v.clone()))
    }
}

impl From<Option<&String>> for Arg {
    fn from(v: Option<&String>) -> Arg {
        Arg::Text(v.cloned())
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Arg {
        Arg::Int(v)
    }
}

impl From<i32> for Arg {
    fn from(v: i32) -> Arg {
        Arg::Int(Some(v.into()))
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(Some(v))
    }
}

impl From<f64> for Arg {
    fn from(v: f64) -> Arg {
        Arg::Float(Some(v))
    }
}

/// A statement of a batch: its SQL (placeholders numbered from `$1`) and its values.
#[derive(Debug)]
pub struct Statement {
    pub(crate) sql: String,
    pub(crate) args: Vec<Arg>,
}

impl Statement {
    /// A statement on its own (run with [`crate::exec::Exec::fetch_all`]).
    pub fn new(sql: impl Into<String>) -> Statement {
        Statement {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// [`Statement::bind`] by value, for building a statement in one expression.
    pub fn arg(mut self, v: impl Into<Arg>) -> Statement {
        self.args.push(v.into());
        self
    }

    /// Replaces the statement's SQL (for SQL written after its values were bound).
    pub fn set_sql(&mut self, sql: String) -> &mut Statement {
        self.sql = sql;
        self
    }

    /// Binds the next placeholder.
    pub fn bind(&mut self, v: impl Into<Arg>) -> &mut Statement {
        self.args.push(v.into());
        self
    }
}

/// Statements run in order as one call (see the module's documentation).
#[derive(Debug, Default)]
pub struct Batch {
    statements: Vec<Statement>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a statement; bind its values on the answer. Its index in the batch is the index
    /// of its rows in what [`Batch::run`] returns.
    pub fn add(&mut self, sql: impl Into<String>) -> &mut Statement {
        self.statements.push(Statement {
            sql: sql.into(),
            args: Vec::new(),
        });
        self.statements.last_mut().expect("just pushed")
    }

    /// How many statements the batch holds.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Appends another batch's statements after this one's.
    pub fn append(&mut self, other: Batch) {
        self.statements.extend(other.statements);
    }

    /// Runs the statements in order; the rows of each, by statement.
    pub async fn run<'e>(self, c: impl Into<Exec<'e>>) -> Result<Vec<Vec<Row>>> {
        c.into().run(self).await
    }

    /// Through sqlx: on SQLite as one multi-statement call, on PostgreSQL one statement after
    /// the other.
    pub(crate) async fn run_sqlx(self, c: &mut AnyConnection) -> Result<Vec<Vec<Row>>> {
        match Backend::of(c) {
            Backend::Sqlite if self.statements.len() > 1 => self.run_as_one(c).await,
            _ => {
                let mut out = Vec::with_capacity(self.statements.len());
                for st in self.statements {
                    out.push(st.fetch_sqlx(c).await?);
                }
                Ok(out)
            }
        }
    }

    /// Through rusqlite (SQLite's own writer connection): statement after statement, each a
    /// call into SQLite on this thread.
    pub(crate) fn run_raw(self, c: &rusqlite::Connection) -> Result<Vec<Vec<Row>>> {
        self.statements.iter().map(|st| st.fetch_raw(c)).collect()
    }

    /// SQLite: the statements joined into one, its placeholders renumbered, in one call. The
    /// driver yields each statement's rows and then its result, which marks where the next
    /// statement's rows begin.
    async fn run_as_one(self, c: &mut AnyConnection) -> Result<Vec<Vec<Row>>> {
        use futures::TryStreamExt;
        let n = self.statements.len();
        let mut sql = String::new();
        let mut args = Vec::new();
        for st in self.statements {
            sql.push_str(&renumber(&st.sql, args.len()));
            sql.push_str(";\n");
            args.extend(st.args);
        }
        let q = args.into_iter().fold(sqlx::query(&sql), bind);
        let mut out: Vec<Vec<Row>> = vec![Vec::new()];
        // The driver's multi-statement call; sqlx marks it deprecated because only SQLite
        // offers it, which is the only backend it is used on here (the version is pinned).
        #[allow(deprecated)]
        let mut stream = q.fetch_many(&mut *c);
        while let Some(item) = stream.try_next().await? {
            match item {
                sqlx::Either::Left(_) => out.push(Vec::new()),
                sqlx::Either::Right(row) => {
                    out.last_mut().expect("never empty").push(Row::Any(row))
                }
            }
        }
        out.truncate(n);
        if out.len() != n {
            return Err(crate::StoreError::Other(format!(
                "a batch of {n} statements answered for {}",
                out.len()
            )));
        }
        Ok(out)
    }
}

/// What a statement run for its effect reports.
#[derive(Clone, Copy, Debug)]
pub struct Done {
    rows_affected: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

/// Running a statement where it is given ([`Exec`] or anything that converts to one), with
/// the names sqlx's queries use.
impl Statement {
    pub async fn fetch_all<'e>(self, c: impl Into<Exec<'e>>) -> Result<Vec<Row>> {
        c.into().fetch_all(self).await
    }

    pub async fn fetch_optional<'e>(self, c: impl Into<Exec<'e>>) -> Result<Option<Row>> {
        c.into().fetch_optional(self).await
    }

    /// The first row; an error when there is none.
    pub async fn fetch_one<'e>(self, c: impl Into<Exec<'e>>) -> Result<Row> {
        c.into().fetch_optional(self).await?.ok_or_else(|| {
            crate::StoreError::Other("a statement expected to return a row returned none".into())
        })
    }

    /// Runs the statement for its effect.
    pub async fn execute<'e>(self, c: impl Into<Exec<'e>>) -> Result<Done> {
        let rows_affected = c.into().execute(self).await?;
        Ok(Done { rows_affected })
    }

    pub(crate) async fn execute_sqlx(self, c: &mut AnyConnection) -> Result<u64> {
        let q = self.args.into_iter().fold(sqlx::query(&self.sql), bind);
        Ok(q.execute(&mut *c).await?.rows_affected())
    }

    /// [`Statement::fetch_raw`] for an `INSERT`, `UPDATE` or `DELETE` run for its effect:
    /// the rows it changed (SQLite's count for the last such statement, triggers not
    /// included, as sqlx reports it).
    pub(crate) fn execute_raw(&self, c: &rusqlite::Connection) -> Result<u64> {
        self.fetch_raw(c)?;
        Ok(c.changes())
    }

    pub(crate) async fn fetch_sqlx(self, c: &mut AnyConnection) -> Result<Vec<Row>> {
        let q = self.args.into_iter().fold(sqlx::query(&self.sql), bind);
        Ok(q.fetch_all(&mut *c)
            .await?
            .into_iter()
            .map(Row::Any)
            .collect())
    }

    /// Runs on a rusqlite connection. SQLite reads `$3` as a parameter named "$3" and numbers
    /// parameters by first appearance, so each is bound by the number in its name.
    pub(crate) fn fetch_raw(&self, c: &rusqlite::Connection) -> Result<Vec<Row>> {
        use rusqlite::types::{Null, Value};
        let mut st = c.prepare_cached(&self.sql)?;
        for k in 1..=st.parameter_count() {
            let name = st.parameter_name(k).unwrap_or_default();
            let arg = name
                .strip_prefix('$')
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1))
                .and_then(|n| self.args.get(n))
                .ok_or_else(|| {
                    crate::StoreError::Other(format!(
                        "statement parameter {k} ('{name}') has no value: {}",
                        self.sql
                    ))
                })?;
            match arg {
                Arg::Text(Some(v)) => st.raw_bind_parameter(k, v.as_str())?,
                Arg::Int(Some(v)) => st.raw_bind_parameter(k, v)?,
                Arg::Float(Some(v)) => st.raw_bind_parameter(k, v)?,
                Arg::Text(None) | Arg::Int(None) | Arg::Float(None) => {
                    st.raw_bind_parameter(k, Null)?
                }
            }
        }
        let names: std::sync::Arc<[String]> =
            st.column_names().into_iter().map(str::to_string).collect();
        let width = names.len();
        let mut rows = st.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let values = (0..width)
                .map(|k| r.get::<_, Value>(k))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.push(Row::Raw(RawRow {
                names: names.clone(),
                values,
            }));
        }
        Ok(out)
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind(q: AnyQuery<'_>, a: Arg) -> AnyQuery<'_> {
    match a {
        Arg::Text(v) => q.bind(v),
        Arg::Int(v) => q.bind(v),
        Arg::Float(v) => q.bind(v),
    }
}

/// `sql` with every placeholder `$k` outside quoted text and identifiers made `$(k + by)`.
fn renumber(sql: &str, by: usize) -> String {
    if by == 0 {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut quote: Option<char> = None;
    let mut chars = sql.char_indices().peekable();
    while let Some((_, ch)) = chars.next() {
        match quote {
            Some(q) => {
                out.push(ch);
                if ch == q {
                    quote = None;
                }
            }
            None if ch == '\'' || ch == '"' => {
                quote = Some(ch);
                out.push(ch);
            }
            None if ch == '$' && chars.peek().is_some_and(|(_, d)| d.is_ascii_digit()) => {
                let mut k = 0usize;
                while let Some((_, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
                    k = k * 10 + d.to_digit(10).unwrap_or(0) as usize;
                    chars.next();
                }
                out.push('$');
                out.push_str(&(k + by).to_string());
            }
            None => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::{i, s};

    /// On both backends: each statement's rows come back in order, placeholders reach the
    /// right statement, and a failing statement fails the batch, whose earlier statements the
    /// transaction then rolls back.
    #[tokio::test]
    async fn statements_run_in_order_and_fail_together() {
        for (db, file) in crate::row::tests::databases("batch").await {
            let backend = db.backend();
            // A table of this run's own (PostgreSQL's pool may hand out another connection,
            // which would not see a temporary one).
            let t = format!("batch_t_{}", std::process::id());
            db.execute_admin(&format!(
                "CREATE TABLE {t} (k BIGINT PRIMARY KEY, v TEXT NOT NULL)"
            ))
            .await
            .unwrap();
            let mut tx = db.begin().await.unwrap();
            let mut b = Batch::new();
            b.add(format!(
                "INSERT INTO {t} (k, v) VALUES ($1, $2) RETURNING k, v"
            ))
            .bind(1)
            .bind("one");
            // A quoted `$1` is text, not a placeholder.
            b.add(format!("INSERT INTO {t} (k, v) VALUES ($1, '$1')"))
                .bind(2);
            b.add(format!("SELECT k, v FROM {t} WHERE k >= $1 ORDER BY k"))
                .bind(1);
            b.add(format!("SELECT k FROM {t} WHERE v = $1"))
                .bind("none");
            let rows = b.run(&mut tx).await.unwrap();
            assert_eq!(rows.len(), 4, "{backend:?}");
            assert_eq!(i(&rows[0][0], "k").unwrap(), 1);
            assert_eq!(s(&rows[0][0], "v").unwrap(), "one");
            assert!(rows[1].is_empty());
            let listed: Vec<(i64, String)> = rows[2]
                .iter()
                .map(|r| (i(r, "k").unwrap(), s(r, "v").unwrap()))
                .collect();
            assert_eq!(
                listed,
                vec![(1, "one".into()), (2, "$1".into())],
                "{backend:?}"
            );
            assert!(rows[3].is_empty());
            tx.commit().await.unwrap();

            let mut tx = db.begin().await.unwrap();
            let mut b = Batch::new();
            b.add(format!("INSERT INTO {t} (k, v) VALUES ($1, $2)"))
                .bind(3)
                .bind("three");
            // The primary key is taken: the batch fails here.
            b.add(format!("INSERT INTO {t} (k, v) VALUES ($1, $2)"))
                .bind(1)
                .bind("again");
            b.add(format!("INSERT INTO {t} (k, v) VALUES ($1, $2)"))
                .bind(4)
                .bind("four");
            assert!(b.run(&mut tx).await.is_err(), "{backend:?}");
            tx.rollback().await.unwrap();
            let mut c = db.begin().await.unwrap();
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {t}"))
                .fetch_one(&mut *c)
                .await
                .unwrap();
            assert_eq!(n, 2, "nothing of the failed batch stays ({backend:?})");
            drop(c);
            db.execute_admin(&format!("DROP TABLE {t}")).await.unwrap();
            db.close().await;
            if let Some(f) = file {
                let _ = std::fs::remove_file(f);
            }
        }
    }

    #[test]
    fn placeholders_are_renumbered_outside_quotes_only() {
        assert_eq!(renumber("SELECT $1, $2", 0), "SELECT $1, $2");
        assert_eq!(
            renumber(
                "SELECT $1, $12, json_extract(doc, '$.a$1'), \"$2\" FROM t",
                3
            ),
            "SELECT $4, $15, json_extract(doc, '$.a$1'), \"$2\" FROM t"
        );
        // A `$` not followed by digits is left alone.
        assert_eq!(renumber("SELECT '$', $a, $", 5), "SELECT '$', $a, $");
    }
}
