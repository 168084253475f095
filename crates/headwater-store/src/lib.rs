//! Headwater's storage: one code path over SQLite and PostgreSQL.
//!
//! SQL is written once with `$n` placeholders (both backends accept them) and run through
//! sqlx's `Any` driver; the few real differences live in [`dialect`]. Every write runs in
//! one transaction from [`Db::begin`], which on SQLite goes through a single writer
//! connection (`BEGIN IMMEDIATE`), so writers queue in process instead of starving.

pub mod db;
pub mod dialect;
pub mod error;
mod migrate;
pub mod repo;
mod row;

pub use db::{Backend, Db, Tx};
pub use error::StoreError;
