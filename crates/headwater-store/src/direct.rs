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
//!
//! # Kept answers
//!
//! Even on the calling thread, a read pays for its read transaction: taking and dropping a
//! WAL read lock (an `fcntl` and a mutex every connection of the process shares) is most of
//! what an entry read by key costs. [`Direct::read_kept`] therefore keeps answers in memory,
//! each under the database's *commit mark*: the header of the file's WAL index (the `-shm`
//! file, <https://sqlite.org/walformat.html>), which SQLite rewrites on every commit made by
//! any connection of any process (a different transaction count, frame count, salt or
//! checksum), and which every reader consults before it reads. A kept answer is given only
//! while the mark is still the one read before the answer was read, so it is always what a
//! read at that moment would return: a commit through this server, the CLI or any other
//! program makes every kept answer stale at once. Reading the mark takes two `pread`s of 48
//! bytes and no lock; SQLite's own readers read the header the same way (a writer rewrites
//! the second copy, then the first; a reader reads the first, then the second, and trusts
//! them only when they agree).
//!
//! While a mark is read, one read-only connection of this process stays open on the file, so
//! the `-shm` file that was opened cannot be removed or started anew under the reader (SQLite
//! does either only when the last connection to the database closes).

use crate::error::Result;
use rusqlite::Connection;
use std::any::Any;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Connections kept open between reads (more are opened when more threads read at once, and
/// closed again after use).
const KEPT: usize = 8;

/// The most memory (as callers weigh their answers) kept answers may take; past it they start
/// over.
const KEPT_BYTES: usize = 16 * 1024 * 1024;
/// Answers weighing more than this are never kept.
const KEPT_ONE: usize = 256 * 1024;

/// Read-only connections to one SQLite file.
pub struct Direct {
    path: String,
    idle: Mutex<Vec<Connection>>,
    /// The commit mark's reader, opened at the first kept read (`None` when the file cannot
    /// offer one: not in WAL mode, or its `-shm` file unreadable).
    marks: OnceLock<Option<Marks>>,
    kept: Mutex<Kept>,
    /// Kept answers given.
    hits: AtomicU64,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct").field("path", &self.path).finish()
    }
}

/// The WAL index header as last written by a commit: equal marks, no commit in between.
type Mark = [u8; 48];

/// Answers read under one commit mark.
#[derive(Default)]
struct Kept {
    mark: Option<Mark>,
    answers: HashMap<String, Arc<dyn Any + Send + Sync>>,
    bytes: usize,
}

/// Reads a database's commit mark from its WAL index.
struct Marks {
    shm: File,
    /// Keeps the `-shm` file in use (see the module's documentation); never used again.
    _keeper: Mutex<Connection>,
}

impl Marks {
    fn open(path: &str) -> Option<Marks> {
        let keeper = crate::db::open_rusqlite(path, true).ok()?;
        let mode: String = keeper
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .ok()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return None;
        }
        // A read maps the WAL index: from now on this connection holds it.
        keeper
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .ok()?;
        // SQLite names the index after the file's real path (symbolic links resolved).
        let real = std::fs::canonicalize(path).ok()?;
        let shm = File::open(format!("{}-shm", real.display())).ok()?;
        let marks = Marks {
            shm,
            _keeper: Mutex::new(keeper),
        };
        marks.current().map(|_| marks)
    }

    /// The mark now; `None` while a writer is rewriting it (or the index is not set up).
    fn current(&self) -> Option<Mark> {
        let mut first = [0u8; 48];
        let mut second = [0u8; 48];
        for _ in 0..4 {
            self.shm.read_exact_at(&mut first, 0).ok()?;
            self.shm.read_exact_at(&mut second, 48).ok()?;
            // Byte 12 is `isInit`: the header has been written at least once.
            if first == second && first[12] != 0 {
                return Some(first);
            }
            std::hint::spin_loop();
        }
        None
    }
}

impl Direct {
    pub(crate) fn new(path: String) -> Direct {
        Direct {
            path,
            idle: Mutex::new(Vec::new()),
            marks: OnceLock::new(),
            kept: Mutex::new(Kept::default()),
            hits: AtomicU64::new(0),
        }
    }

    /// How many reads were answered from kept answers so far.
    pub fn kept_hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
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

    /// [`read`](Self::read), with the answer kept under `key` until the next commit to the
    /// database, by anyone (see the module's documentation). `f` answers the value and its
    /// weight: the memory keeping it takes, roughly, in bytes. `key` names everything the answer
    /// depends on, what is read included (`"entry\0…"`): two reads under one key must be the
    /// same read.
    pub fn read_kept<T>(
        &self,
        key: &str,
        f: impl FnOnce(&Connection) -> Result<(T, usize)>,
    ) -> Result<T>
    where
        T: Clone + Send + Sync + 'static,
    {
        let marks = self.marks.get_or_init(|| Marks::open(&self.path));
        let Some(mark) = marks.as_ref().and_then(Marks::current) else {
            return self.read(f).map(|(v, _)| v);
        };
        {
            let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            if kept.mark == Some(mark) {
                if let Some(v) = kept.answers.get(key).and_then(|a| a.downcast_ref::<T>()) {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(v.clone());
                }
            }
        }
        // Read after the mark: the snapshot is the mark's or a later one, and a later one
        // means a later mark, under which this answer is never given.
        let (value, weight) = self.read(f)?;
        if weight <= KEPT_ONE {
            let cost = weight + key.len();
            let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            if kept.mark != Some(mark) || kept.bytes + cost > KEPT_BYTES {
                kept.answers.clear();
                kept.bytes = 0;
                kept.mark = Some(mark);
            }
            kept.bytes += cost;
            kept.answers
                .insert(key.to_string(), Arc::new(value.clone()));
        }
        Ok(value)
    }

    fn open(&self) -> Result<Connection> {
        let c = crate::db::open_rusqlite(&self.path, true)?;
        c.set_prepared_statement_cache_capacity(32);
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(tag: &str, wal: bool) -> (PathBuf, Connection) {
        let path = std::env::temp_dir().join(format!(
            "headwater-direct-{tag}-{}-{:?}.db",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        let c = Connection::open(&path).unwrap();
        let mode = if wal { "WAL" } else { "DELETE" };
        c.execute_batch(&format!(
            "PRAGMA journal_mode = {mode}; CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT); \
             INSERT INTO t VALUES ('a', 'one'), ('big', 'x');"
        ))
        .unwrap();
        (path, c)
    }

    /// Reads `k` through `read_kept`, counting the reads that reached the database.
    fn value(d: &Direct, k: &str, weight: usize, reads: &mut u32) -> String {
        d.read_kept(&format!("t\0{k}"), |c| {
            *reads += 1;
            let v: String = c.query_row("SELECT v FROM t WHERE k = ?1", [k], |r| r.get(0))?;
            Ok((v, weight))
        })
        .unwrap()
    }

    #[test]
    fn kept_answers_last_until_any_commit() {
        let (path, writer) = file("kept", true);
        let d = Direct::new(path.display().to_string());
        let mut reads = 0;
        assert_eq!(value(&d, "a", 10, &mut reads), "one");
        assert_eq!(value(&d, "a", 10, &mut reads), "one");
        assert_eq!(value(&d, "a", 10, &mut reads), "one");
        assert_eq!((reads, d.kept_hits()), (1, 2), "read once, then kept");

        // A commit on another connection (as another process's would: the same WAL index).
        writer
            .execute("UPDATE t SET v = 'two' WHERE k = 'a'", [])
            .unwrap();
        assert_eq!(
            value(&d, "a", 10, &mut reads),
            "two",
            "never the answer from before"
        );
        assert_eq!(value(&d, "a", 10, &mut reads), "two");
        assert_eq!((reads, d.kept_hits()), (2, 3));

        // A commit that touches something else makes every answer stale all the same.
        writer
            .execute("INSERT INTO t VALUES ('b', 'bee')", [])
            .unwrap();
        assert_eq!(value(&d, "a", 10, &mut reads), "two");
        assert_eq!(reads, 3);

        // A transaction still open changes nothing; its commit does.
        writer
            .execute_batch("BEGIN IMMEDIATE; UPDATE t SET v = 'three' WHERE k = 'a';")
            .unwrap();
        assert_eq!(value(&d, "a", 10, &mut reads), "two");
        assert_eq!(value(&d, "a", 10, &mut reads), "two");
        writer.execute_batch("COMMIT").unwrap();
        assert_eq!(value(&d, "a", 10, &mut reads), "three");
        assert_eq!(
            reads, 4,
            "kept while the transaction was open, read again after it"
        );

        // A checkpoint that starts the WAL anew keeps no answer from before it either.
        writer
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        writer
            .execute("UPDATE t SET v = 'four' WHERE k = 'a'", [])
            .unwrap();
        assert_eq!(value(&d, "a", 10, &mut reads), "four");

        // Heavy answers are read every time.
        let before = reads;
        value(&d, "big", KEPT_ONE + 1, &mut reads);
        value(&d, "big", KEPT_ONE + 1, &mut reads);
        assert_eq!(reads, before + 2);
        drop(d);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_file_named_through_a_symbolic_link_is_watched_at_its_real_path() {
        let (path, writer) = file("link", true);
        let link = path.with_extension("link.db");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let d = Direct::new(link.display().to_string());
        let mut reads = 0;
        assert_eq!(value(&d, "a", 10, &mut reads), "one");
        assert_eq!(value(&d, "a", 10, &mut reads), "one");
        assert_eq!(d.kept_hits(), 1);
        writer
            .execute("UPDATE t SET v = 'two' WHERE k = 'a'", [])
            .unwrap();
        assert_eq!(value(&d, "a", 10, &mut reads), "two");
        drop(d);
        let _ = std::fs::remove_file(&link);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn without_a_wal_index_nothing_is_kept() {
        let (path, _writer) = file("rollback", false);
        let d = Direct::new(path.display().to_string());
        let mut reads = 0;
        value(&d, "a", 10, &mut reads);
        value(&d, "a", 10, &mut reads);
        assert_eq!((reads, d.kept_hits()), (2, 0));
        drop(d);
        let _ = std::fs::remove_file(&path);
    }
}
