//! The places where SQLite and PostgreSQL differ. Everything else is shared SQL.

use crate::db::Backend;

/// Suffix that locks the selected row until the transaction ends. PostgreSQL needs it to
/// serialize "count then insert" limits; SQLite already serializes writers
/// (`BEGIN IMMEDIATE` on one writer connection), so it needs nothing.
pub fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// The statement that opens a write transaction.
pub fn begin_write(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "BEGIN",
        Backend::Sqlite => "BEGIN IMMEDIATE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_locks_rows_and_sqlite_takes_the_writer_lock_up_front() {
        assert_eq!(for_update(Backend::Postgres), " FOR UPDATE");
        assert_eq!(for_update(Backend::Sqlite), "");
        assert_eq!(begin_write(Backend::Sqlite), "BEGIN IMMEDIATE");
    }
}
