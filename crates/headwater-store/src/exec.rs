//! Where a statement runs: a sqlx connection (PostgreSQL, SQLite readers, the general SQLite
//! write transaction), or SQLite's writer connection used directly (a [`crate::db::WriteTx`]).
//!
//! Repository functions on the hot write paths take `impl Into<Exec>` so that one body of
//! code serves both: `&mut tx`, `&mut reader` and `&mut conn` convert, and so does a
//! `&mut Exec` (a reborrow, for functions that make several statements).

use crate::batch::{Batch, Statement};
use crate::db::{Reader, Tx};
use crate::error::Result;
use crate::row::Row;
use crate::Backend;
use sqlx::AnyConnection;

pub enum Exec<'a> {
    /// Statements through sqlx, one round trip each to the connection's worker.
    Sqlx(&'a mut AnyConnection),
    /// SQLite's writer connection, inside its transaction: statements run on the calling
    /// thread.
    Raw(&'a mut rusqlite::Connection),
}

impl Exec<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Exec::Sqlx(c) => Backend::of(c),
            Exec::Raw(_) => Backend::Sqlite,
        }
    }

    /// The statement's rows.
    pub async fn fetch_all(&mut self, st: Statement) -> Result<Vec<Row>> {
        match self {
            Exec::Sqlx(c) => st.fetch_sqlx(c).await,
            Exec::Raw(c) => st.fetch_raw(c),
        }
    }

    /// Runs the statement for its effect; the rows it changed.
    pub async fn execute(&mut self, st: Statement) -> Result<u64> {
        match self {
            Exec::Sqlx(c) => st.execute_sqlx(c).await,
            Exec::Raw(c) => st.execute_raw(c),
        }
    }

    /// The statement's first row, if it returns any.
    pub async fn fetch_optional(&mut self, st: Statement) -> Result<Option<Row>> {
        Ok(self.fetch_all(st).await?.into_iter().next())
    }

    /// The batch's statements in order; the rows of each (see [`Batch`]).
    pub async fn run(&mut self, b: Batch) -> Result<Vec<Vec<Row>>> {
        match self {
            Exec::Sqlx(c) => b.run_sqlx(c).await,
            Exec::Raw(c) => b.run_raw(c),
        }
    }

    /// The same place, borrowed again (to pass on and keep using).
    pub fn by_ref(&mut self) -> Exec<'_> {
        match self {
            Exec::Sqlx(c) => Exec::Sqlx(c),
            Exec::Raw(c) => Exec::Raw(c),
        }
    }
}

impl<'a> From<&'a mut AnyConnection> for Exec<'a> {
    fn from(c: &'a mut AnyConnection) -> Exec<'a> {
        Exec::Sqlx(c)
    }
}

impl<'a> From<&'a mut Tx> for Exec<'a> {
    fn from(c: &'a mut Tx) -> Exec<'a> {
        Exec::Sqlx(c)
    }
}

impl<'a> From<&'a mut Reader> for Exec<'a> {
    fn from(c: &'a mut Reader) -> Exec<'a> {
        Exec::Sqlx(c)
    }
}

impl<'a, 'b> From<&'a mut Exec<'b>> for Exec<'a> {
    fn from(c: &'a mut Exec<'b>) -> Exec<'a> {
        c.by_ref()
    }
}
