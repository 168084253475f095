//! Reads answered on the calling thread (SQLite only).
//!
//! sqlx runs each SQLite connection on a worker thread of its own, and every statement is a
//! round trip to it: two thread wake-ups, about 55 µs on a 2-core machine, for a read that
//! takes SQLite about 3 µs (`cargo bench -p headwater-bench --bench sqlite_driver`). The
//! hottest reads (an entry by its key) are therefore also offered here: read-only connections
//! to the same file, used by the thread that asks, so such a read is SQLite's own work and
//! nothing else. They see what any other reader sees (WAL snapshots: everything committed
//! before the read began).
//!
//! Only short point reads belong here: the calling thread is a runtime worker, and a read
//! that scanned would hold it.

use crate::error::Result;
use rusqlite::Connection;
use std::sync::Mutex;

/// Connections kept open between reads (more are opened when more threads read at once, and
/// closed again after use).
const KEPT: usize = 8;

/// Read-only connections to one SQLite file.
#[derive(Debug)]
pub struct Direct {
    path: String,
    idle: Mutex<Vec<Connection>>,
}

impl Direct {
    pub(crate) fn new(path: String) -> Direct {
        Direct {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` with a connection, on this thread.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let kept = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match kept {
            Some(c) => c,
            None => self.open()?,
        };
        let out = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < KEPT {
            idle.push(conn);
        }
        out
    }

    fn open(&self) -> Result<Connection> {
        let c = crate::db::open_rusqlite(&self.path, true)?;
        c.set_prepared_statement_cache_capacity(32);
        Ok(c)
    }
}
