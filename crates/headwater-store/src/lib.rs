//! Headwater's storage: one code path over SQLite and PostgreSQL.
//!
//! SQL is written once with `$n` placeholders (both backends accept them) and run through
//! sqlx's `Any` driver; the few real differences live in [`dialect`]. Every write runs in
//! one transaction from [`Db::begin`] or [`Db::write`], which on SQLite go through a single
//! writer (`BEGIN IMMEDIATE`), so writers queue in process instead of starving; a
//! [`WriteTx`] runs its statements through [`Exec`] on the writer's own rusqlite connection
//! and is committed together with the writes that queued behind it.

pub mod batch;
pub mod db;
pub mod dialect;
pub mod direct;
pub mod error;
pub mod exec;
mod migrate;
pub mod postings;
pub mod repo;
mod row;

pub use db::{Backend, Db, Tx, WriteTx};
pub use error::StoreError;
pub use exec::Exec;
pub use row::Row;

/// A readable name for common locale codes; other codes are their own name.
pub fn locale_name(code: &str) -> String {
    let name = match code {
        "en-us" => "English - United States",
        "en-gb" => "English - United Kingdom",
        "fr-fr" => "French - France",
        "de-de" => "German - Germany",
        "es-es" => "Spanish - Spain",
        "it-it" => "Italian - Italy",
        "ja-jp" => "Japanese - Japan",
        "pt-br" => "Portuguese - Brazil",
        "zh-cn" => "Chinese - China",
        "hi-in" => "Hindi - India",
        _ => code,
    };
    name.to_string()
}
