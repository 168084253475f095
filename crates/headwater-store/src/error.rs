//! Storage errors, classified so the HTTP layer can answer precisely: a busy SQLite file or an
//! unreachable PostgreSQL is 503 (retry later), a uniqueness clash is the client's 422.

#[derive(Debug, thiserror::Error)]
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
    /// The disk is full: nothing was written.
    #[error("the database disk is full")]
    Full,
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
                } else if code == "13" || msg.contains("database or disk is full") {
                    StoreError::Full
                } else if code == "23505" || code == "2067" || code == "1555" {
                    StoreError::Conflict(msg)
                } else if code.starts_with("08") || code == "57P01" || code == "53300" {
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

pub type Result<T> = std::result::Result<T, StoreError>;
