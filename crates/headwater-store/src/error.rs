//! Storage errors, classified so the HTTP layer can answer precisely: a busy SQLite file or an
//! unreachable PostgreSQL is 503 (retry later), a uniqueness clash is the client's 422.

#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite's writer lock could not be had within the busy timeout.
    #[error("the database is busy")]
    Busy,
    /// The database could not be reached (connection refused, pool timed out, shut down).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A unique constraint was violated; the constraint or column is named when known.
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    /// The disk is full (or refused a write): nothing was written.
    #[error("the database disk is full")]
    Full,
    /// A row did not have the column asked for, or its value was not of the type asked for
    /// (or NULL where none is allowed): a bug in the query or the code reading it.
    #[error("cannot read a stored row: {0}")]
    Decode(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        match &e {
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                let msg = db.message().to_string();
                if code == "5" || code == "517" || msg.contains("database is locked") {
                    StoreError::Busy
                } else if matches!(code.as_str(), "13" | "778" | "53100")
                    || msg.contains("database or disk is full")
                {
                    // SQLITE_FULL, SQLITE_IOERR_WRITE (a write the file system refused: a
                    // file-size limit, a quota) and PostgreSQL's disk_full.
                    StoreError::Full
                } else if code == "23505" || code == "2067" || code == "1555" {
                    StoreError::Conflict(msg)
                } else if postgres_unavailable(&code) {
                    StoreError::Unavailable(msg)
                } else {
                    StoreError::Other(format!("{code}: {msg}"))
                }
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Other(e.to_string()),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                    StoreError::Busy
                }
                rusqlite::ErrorCode::CannotOpen => StoreError::Unavailable(e.to_string()),
                // As sqlx's errors above: SQLITE_FULL and SQLITE_IOERR_WRITE; a unique or
                // primary key violation.
                rusqlite::ErrorCode::DiskFull => StoreError::Full,
                _ if f.extended_code == 778 => StoreError::Full,
                _ if f.extended_code == 2067 || f.extended_code == 1555 => {
                    StoreError::Conflict(e.to_string())
                }
                _ => StoreError::Other(format!("{}: {e}", f.extended_code)),
            },
            rusqlite::Error::InvalidColumnName(_)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::FromSqlConversionFailure(..) => StoreError::Decode(e.to_string()),
            _ => StoreError::Other(e.to_string()),
        }
    }
}

/// PostgreSQL SQLSTATEs that say the server cannot serve now but may soon: connection
/// exceptions (class 08), shutting down or starting up (57P01-57P03), the database not
/// accepting connections (55000, e.g. `ALLOW_CONNECTIONS false`), and exhausted resources
/// other than disk (53000, 53200 out of memory, 53300 too many connections).
fn postgres_unavailable(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "55000" | "53000" | "53200" | "53300"
        )
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::postgres_unavailable;

    #[test]
    fn unavailability_codes_are_recognised() {
        for code in ["08006", "08001", "57P01", "57P03", "55000", "53300"] {
            assert!(postgres_unavailable(code), "{code}");
        }
        for code in ["23505", "42P01", "22021", "5", "13"] {
            assert!(!postgres_unavailable(code), "{code}");
        }
    }
}
