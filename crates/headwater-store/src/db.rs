//! Connecting, migrating and opening transactions.

use crate::dialect;
use crate::error::{Result, StoreError};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection, Executor};
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a connection talks to, so code holding a connection (or a [`Tx`], or a
    /// pooled reader, both of which deref to one) never needs the backend passed beside it.
    pub fn of(c: &AnyConnection) -> Backend {
        if c.backend_name() == <sqlx::Postgres as sqlx::Database>::NAME {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// A pooled read connection from [`Db::reader`] (it derefs to the connection).
pub type Reader = PoolConnection<Any>;

/// A write transaction from [`Db::begin`]. It derefs to the connection, so repository
/// functions take `&mut tx`; [`Tx::commit`] and [`Tx::rollback`] answer in [`StoreError`].
/// Dropped without a commit, it rolls back.
#[derive(Debug)]
pub struct Tx(Option<TxInner>);

#[derive(Debug)]
enum TxInner {
    /// PostgreSQL: a transaction on a pooled connection.
    Pooled(sqlx::Transaction<'static, Any>),
    /// SQLite: the single writer connection, held for the transaction's length.
    Single(WriterGuard),
}

type WriterGuard = tokio::sync::OwnedMutexGuard<WriterState>;

/// SQLite's writer connection, kept out of any pool: sqlx tests a pooled connection coming
/// back with a round trip to its worker thread, and opens a transaction with two more (the
/// `BEGIN` is acknowledged, then checked). Here `BEGIN IMMEDIATE`, `COMMIT` and `ROLLBACK` are
/// plain statements, one round trip each, and the mutex queues writers fairly in arrival
/// order.
#[derive(Debug)]
struct WriterState {
    /// `None` after the connection was given up (a `ROLLBACK` that failed); the next writer
    /// opens a new one.
    conn: Option<AnyConnection>,
    /// A transaction was left open (dropped uncommitted, or its `COMMIT` failed): the next
    /// writer rolls it back first.
    pending_rollback: bool,
    /// The same file opened through rusqlite, for [`WriteTx`] (opened on first use; `None`
    /// again after a failed `ROLLBACK`). Only one of the two connections is in a transaction
    /// at a time: both are used only while the mutex is held, and a [`WriteTx`] ends its
    /// transaction before it lets go.
    raw: Option<rusqlite::Connection>,
    /// The group transaction open on `raw` (see [`WriteTx`]), if any.
    group: Option<Group>,
}

/// Write transactions committed together: one SQLite transaction on the rusqlite connection,
/// each member inside a savepoint of its own.
#[derive(Debug)]
struct Group {
    id: u64,
    members: usize,
    /// Set once, when the group's `COMMIT` has ended.
    done: tokio::sync::watch::Sender<Option<Result<()>>>,
}

/// At most this many writes share one `COMMIT`.
const GROUP_MAX: usize = 64;

/// How long a member whose group is still open waits before it commits the group itself (the
/// writer it left the group to went away without taking the lock, e.g. its client hung up).
const GROUP_LINGER: Duration = Duration::from_millis(5);

impl WriterState {
    /// Ends the open group, if any: `COMMIT` (or, when that fails, `ROLLBACK`), and tells its
    /// members how it went.
    fn finish_group(&mut self) -> Result<()> {
        let Some(group) = self.group.take() else {
            return Ok(());
        };
        let out = self.raw_batch("COMMIT");
        if out.is_err() {
            raw_rollback(self);
        }
        group.done.send_replace(Some(out.clone()));
        out
    }

    /// Runs `sql` on the rusqlite connection, inside the open group; a failure gives the
    /// group up.
    fn in_group(&mut self, sql: &str) -> Result<()> {
        let out = self.raw_batch(sql);
        if let Err(e) = &out {
            self.abandon_group(e);
        }
        out
    }

    /// Runs `sql` on the rusqlite connection.
    fn raw_batch(&self, sql: &str) -> Result<()> {
        match &self.raw {
            Some(c) => Ok(c.execute_batch(sql)?),
            None => Err(StoreError::Unavailable(
                "the writer connection was closed".into(),
            )),
        }
    }

    /// The rusqlite connection to `path`, opened on first use.
    fn raw_conn(&mut self, path: &str) -> Result<&rusqlite::Connection> {
        if self.raw.is_none() {
            self.raw = Some(open_raw(path)?);
        }
        Ok(self.raw.as_ref().expect("just opened"))
    }

    /// Gives up the open group: its transaction is rolled back and its members told so.
    fn abandon_group(&mut self, why: &StoreError) {
        raw_rollback(self);
        if let Some(group) = self.group.take() {
            group.done.send_replace(Some(Err(why.clone())));
        }
    }
}

impl WriterState {
    /// The connection of a locked writer ([`Writer::lock`] always leaves one).
    fn conn(&mut self) -> &mut AnyConnection {
        self.conn
            .as_mut()
            .expect("a locked writer holds a connection")
    }
}

#[derive(Debug)]
struct Writer {
    state: std::sync::Arc<tokio::sync::Mutex<WriterState>>,
    /// Writers waiting for the mutex now: a [`WriteTx`] that commits while one waits leaves
    /// its group open for it.
    waiting: std::sync::atomic::AtomicUsize,
    /// Numbers groups.
    groups: std::sync::atomic::AtomicU64,
    opts: AnyConnectOptions,
    /// The database file, for the rusqlite connection (`None` in memory: a second connection
    /// would see another database).
    path: Option<String>,
}

impl Writer {
    async fn connect(opts: &AnyConnectOptions) -> Result<AnyConnection> {
        let mut c = opts.connect().await?;
        sqlite_pragmas(&mut c).await?;
        Ok(c)
    }

    /// The sqlx connection, outside any transaction (one left open is rolled back, and a
    /// connection that cannot roll back is replaced); an open group is committed first.
    async fn lock(&self) -> Result<WriterGuard> {
        let mut g = self.acquire().await?;
        // The group's members hear how it went; this writer goes on either way.
        let _ = g.finish_group();
        Ok(g)
    }

    /// The writer, as [`Writer::lock`] but leaving an open group open (for [`WriteTx`] to
    /// join).
    async fn acquire(&self) -> Result<WriterGuard> {
        use std::sync::atomic::Ordering::SeqCst;
        /// Counts this writer as waiting until it has the lock or gives up (a cancelled
        /// request included).
        struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, SeqCst);
            }
        }
        self.waiting.fetch_add(1, SeqCst);
        let counted = Waiting(&self.waiting);
        // As long as a pooled writer was waited for before: then the request answers 503.
        let got = tokio::time::timeout(WRITER_WAIT, self.state.clone().lock_owned()).await;
        drop(counted);
        let mut g = got.map_err(|_| {
            StoreError::Unavailable("timed out waiting for the database writer".into())
        })?;
        if g.pending_rollback {
            if let Some(c) = g.conn.as_mut() {
                if let Err(e) = c.execute("ROLLBACK").await {
                    if !e.to_string().contains("no transaction is active") {
                        tracing::warn!(error = %e, "the writer connection could not roll back; replacing it");
                        g.conn = None;
                    }
                }
            }
            g.pending_rollback = false;
        }
        if g.conn.is_none() {
            g.conn = Some(Writer::connect(&self.opts).await?);
        }
        Ok(g)
    }
}

/// The WAL size (pages) at which a committing writer checkpoints by itself: only when the
/// background checkpointer ([`checkpoint_in_background`]) falls behind.
const WRITER_AUTOCHECKPOINT: u32 = 10_000;

/// How often the background checkpointer copies the WAL back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// Copies committed pages from the WAL into the database file on a thread of its own, so
/// that a commit does not (SQLite's default has the commit that crosses 1,000 pages do it,
/// `fsync` included, while it holds the writer). Passive: it never waits for readers or the
/// writer. It stops when `alive` is gone (the database handle dropped).
fn checkpoint_in_background(path: String, alive: std::sync::Weak<Writer>) {
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut conn = None;
            while alive.upgrade().is_some() {
                std::thread::sleep(CHECKPOINT_EVERY);
                if conn.is_none() {
                    conn = open_rusqlite(&path, false).ok();
                }
                if let Some(c) = &conn {
                    if let Err(e) = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::debug!(error = %e, "background checkpoint failed; retrying");
                        conn = None;
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no background checkpointer; commits checkpoint themselves");
    }
}

/// A rusqlite connection to the SQLite file at `path` (for one thread at a time), waiting for
/// the file's locks as long as the sqlx connections do.
pub(crate) fn open_rusqlite(path: &str, read_only: bool) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let mode = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    };
    let c = rusqlite::Connection::open_with_flags(path, mode | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    c.busy_timeout(Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS))?;
    Ok(c)
}

fn open_raw(path: &str) -> Result<rusqlite::Connection> {
    let c = open_rusqlite(path, false)?;
    // As `sqlite_pragmas` (the journal mode is the file's, set by the first connection);
    // savepoints journal the pages they change in memory rather than in a temporary file.
    c.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; \
         PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT};"
    ))?;
    c.set_prepared_statement_cache_capacity(64);
    Ok(c)
}

/// A write transaction whose statements go through [`Exec`](crate::exec::Exec). On a SQLite
/// file it runs on SQLite's writer connection used on the calling thread (no round trip to a
/// worker thread, so the writer is held for SQLite's own work only), and concurrent ones are
/// committed in groups: each runs inside a savepoint of one open transaction, and the
/// transaction commits when no other writer is waiting (or [`GROUP_MAX`] have joined), so one
/// `COMMIT` (its WAL frames, its checkpoint share) serves many writes. A member's
/// [`WriteTx::commit`] returns once the group's `COMMIT` has ended, with its outcome: nothing
/// is acknowledged before it is durable as configured. Elsewhere it is a [`Tx`]. Dropped
/// without a commit, its own changes are rolled back (the group's others stay).
#[derive(Debug)]
pub struct WriteTx(Option<WriteInner>);

#[derive(Debug)]
enum WriteInner {
    Sqlx(Tx),
    Raw(RawTx),
}

#[derive(Debug)]
struct RawTx {
    /// The locked writer, inside this member's savepoint; `None` once ended.
    guard: Option<WriterGuard>,
    writer: std::sync::Arc<Writer>,
}

impl WriteTx {
    /// Where the transaction's statements run.
    pub fn exec(&mut self) -> crate::exec::Exec<'_> {
        match self.0.as_mut().expect("a transaction is ended once") {
            WriteInner::Sqlx(tx) => crate::exec::Exec::Sqlx(tx),
            WriteInner::Raw(r) => crate::exec::Exec::Raw(
                r.guard
                    .as_mut()
                    .and_then(|g| g.raw.as_mut())
                    .expect("an open transaction holds its connection"),
            ),
        }
    }

    /// Makes the transaction's changes permanent (on SQLite, with its group's `COMMIT`).
    pub async fn commit(mut self) -> Result<()> {
        match self.0.take().expect("a transaction is ended once") {
            WriteInner::Sqlx(tx) => tx.commit().await,
            WriteInner::Raw(mut r) => {
                let mut g = r.guard.take().expect("a transaction is ended once");
                g.in_group("RELEASE w")?;
                let (id, members) = match &g.group {
                    Some(group) => (group.id, group.members),
                    None => return Err(StoreError::Other("the write group was closed".into())),
                };
                let waiting = r.writer.waiting.load(std::sync::atomic::Ordering::SeqCst);
                if waiting == 0 || members >= GROUP_MAX {
                    return g.finish_group();
                }
                // Another writer is waiting: it joins the group or commits it.
                let mut done = g.group.as_ref().expect("checked above").done.subscribe();
                drop(g);
                loop {
                    match tokio::time::timeout(GROUP_LINGER, done.wait_for(Option::is_some)).await {
                        Ok(Ok(out)) => return out.clone().unwrap_or(Ok(())),
                        Ok(Err(_)) => {
                            return Err(StoreError::Other("the write group was lost".into()))
                        }
                        Err(_) => {
                            // Nobody took the group on: commit it from here.
                            if let Ok(mut g) = r.writer.state.clone().try_lock_owned() {
                                if g.group.as_ref().is_some_and(|x| x.id == id) {
                                    return g.finish_group();
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Discards the transaction's changes.
    pub async fn rollback(self) -> Result<()> {
        // Dropping rolls back.
        drop(self);
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(WriteInner::Raw(r)) = &mut self.0 else {
            return;
        };
        let Some(mut g) = r.guard.take() else { return };
        // This member's changes only; the group's others stay.
        if g.in_group("ROLLBACK TO w; RELEASE w").is_err() {
            return;
        }
        if let Some(group) = g.group.as_mut() {
            group.members -= 1;
        }
        if r.writer.waiting.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            let _ = g.finish_group();
        }
    }
}

/// Rolls the rusqlite connection's transaction back; a connection that cannot is closed
/// (which discards the transaction) and the next [`WriteTx`] opens another.
fn raw_rollback(g: &mut WriterState) {
    if let Some(c) = &g.raw {
        if let Err(e) = c.execute_batch("ROLLBACK") {
            if !e.to_string().contains("no transaction is active") {
                tracing::warn!(error = %e, "the writer connection could not roll back; replacing it");
                g.raw = None;
            }
        }
    }
}

impl Tx {
    /// Makes the transaction's changes permanent.
    pub async fn commit(self) -> Result<()> {
        self.end(true).await
    }

    /// Discards the transaction's changes.
    pub async fn rollback(self) -> Result<()> {
        self.end(false).await
    }

    async fn end(self, commit: bool) -> Result<()> {
        match self.into_inner() {
            TxInner::Pooled(t) if commit => Ok(t.commit().await?),
            TxInner::Pooled(t) => Ok(t.rollback().await?),
            TxInner::Single(mut g) => {
                // Until the statement is through, a failure leaves the transaction for the
                // next writer to roll back.
                g.pending_rollback = true;
                g.conn()
                    .execute(if commit { "COMMIT" } else { "ROLLBACK" })
                    .await?;
                g.pending_rollback = false;
                Ok(())
            }
        }
    }

    /// The backend the transaction runs on.
    pub fn backend(&self) -> Backend {
        Backend::of(self)
    }

    fn into_inner(mut self) -> TxInner {
        self.0.take().expect("a transaction is ended once")
    }

    fn inner(&self) -> &TxInner {
        self.0.as_ref().expect("a transaction is ended once")
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        // Dropped uncommitted: the next writer rolls the transaction back before its own
        // (the pooled kind rolls back by itself).
        if let Some(TxInner::Single(g)) = &mut self.0 {
            g.pending_rollback = true;
        }
    }
}

impl std::ops::Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self.inner() {
            TxInner::Pooled(t) => t,
            TxInner::Single(g) => g.conn.as_ref().expect("a locked writer holds a connection"),
        }
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self.0.as_mut().expect("a transaction is ended once") {
            TxInner::Pooled(t) => t,
            TxInner::Single(g) => g.conn(),
        }
    }
}

/// A handle to the database: a pool for reads and one for writes. On PostgreSQL they are the
/// same pool; on SQLite the writer pool has one connection, so writes queue fairly in process.
#[derive(Clone, Debug)]
pub struct Db {
    backend: Backend,
    read: AnyPool,
    write: Write,
    /// PostgreSQL only: what `LISTEN` connections are opened with (never logged).
    listen_url: Option<ListenUrl>,
    waits: std::sync::Arc<AcquireWaits>,
    /// Posting lists of filtered listings, kept in memory (see `postings`).
    postings: std::sync::Arc<crate::postings::Postings>,
    /// Point reads on the calling thread (SQLite files; see `direct`).
    direct: Option<std::sync::Arc<crate::direct::Direct>>,
}

/// Where write transactions run: PostgreSQL's pool (shared with reads), or SQLite's single
/// writer connection.
#[derive(Clone, Debug)]
enum Write {
    Pool(AnyPool),
    Single(std::sync::Arc<Writer>),
}

/// The PostgreSQL URL a notification listener connects with; its `Debug` shows no password.
#[derive(Clone)]
struct ListenUrl(String);

impl std::fmt::Debug for ListenUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// Time spent waiting for pooled connections, for the operator's metrics.
#[derive(Debug, Default)]
struct AcquireWaits {
    count: std::sync::atomic::AtomicU64,
    nanos: std::sync::atomic::AtomicU64,
}

/// What the connection pools hold now, and how long connections were waited for so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct PoolStats {
    /// Connections open in the read pool (the only pool on PostgreSQL) and how many are idle.
    pub read_size: u32,
    pub read_idle: u32,
    pub read_max: u32,
    /// SQLite's writer pool (zero on PostgreSQL, where reads and writes share one pool).
    pub write_size: u32,
    pub write_idle: u32,
    /// Connections handed out since start, and the total time callers waited for them.
    pub acquires: u64,
    pub acquire_wait: Duration,
}

/// The PostgreSQL notification channel on which instances announce credential changes.
pub const REVOCATION_CHANNEL: &str = "headwater_revocations";

/// How long a SQLite writer waits for the file lock before the request is answered 503.
pub(crate) const SQLITE_BUSY_TIMEOUT_MS: u64 = 5_000;

/// How long a write waits its turn for SQLite's single writer before it is answered 503.
const WRITER_WAIT: Duration = Duration::from_secs(30);

impl Db {
    /// Connects to `url` (`sqlite://path` or `postgres://…`). A SQLite file and its folder
    /// are created when missing.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Other(format!(
                "unsupported database URL '{}': use sqlite://PATH or postgres://…",
                redact(url)
            )));
        };
        match backend {
            Backend::Postgres => {
                let opts = AnyConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Other(e.to_string()))?
                    .disable_statement_logging();
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_release(|c, _| Box::pin(async move { Ok(outside_transaction(c)) }))
                    .connect_with(opts)
                    .await?;
                Ok(Db {
                    backend,
                    read: pool.clone(),
                    write: Write::Pool(pool.clone()),
                    listen_url: Some(ListenUrl(url.to_string())),
                    waits: Default::default(),
                    postings: std::sync::Arc::new(crate::postings::Postings::new(
                        Some(pool),
                        Backend::Postgres,
                    )),
                    direct: None,
                })
            }
            Backend::Sqlite => {
                let path = sqlite_path(url);
                owner_only_files(std::path::Path::new(&path))?;
                let full = if url.contains('?') {
                    url.to_string()
                } else {
                    format!("{url}?mode=rwc")
                };
                let opts = AnyConnectOptions::from_str(&full)
                    .map_err(|e| StoreError::Other(e.to_string()))?
                    .disable_statement_logging();
                // The single writer, out of any pool (see `Writer`); opened now so that a
                // database that cannot be opened fails the start.
                let file = !path.is_empty() && path != ":memory:" && !full.contains("mode=memory");
                let writer = Writer {
                    state: std::sync::Arc::new(tokio::sync::Mutex::new(WriterState {
                        conn: Some(Writer::connect(&opts).await?),
                        pending_rollback: false,
                        raw: None,
                        group: None,
                    })),
                    waiting: Default::default(),
                    groups: Default::default(),
                    opts: opts.clone(),
                    path: file.then(|| path.clone()),
                };
                let writer = std::sync::Arc::new(writer);
                if file {
                    checkpoint_in_background(path.clone(), std::sync::Arc::downgrade(&writer));
                }
                // No ping before each acquire (sqlx's default): a SQLite connection is a file
                // handle that cannot go away under us, and the ping is one more round trip to
                // the connection's worker thread on every request.
                let read = AnyPoolOptions::new()
                    .max_connections(8)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|c, _| Box::pin(sqlite_pragmas(c)))
                    .connect_with(opts.clone())
                    .await?;
                // The posting lists' own reader (their work is serialized anyway), so that a
                // load runs to its end on its own task whatever the request that asked does.
                let postings_reader = AnyPoolOptions::new()
                    .max_connections(1)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(60))
                    .after_connect(|c, _| Box::pin(sqlite_pragmas(c)))
                    .connect_lazy_with(opts);
                Ok(Db {
                    backend,
                    read,
                    write: Write::Single(writer),
                    listen_url: None,
                    waits: Default::default(),
                    postings: std::sync::Arc::new(crate::postings::Postings::new(
                        Some(postings_reader),
                        Backend::Sqlite,
                    )),
                    // A file only: an in-memory database is private to its connection.
                    direct: file
                        .then(|| std::sync::Arc::new(crate::direct::Direct::new(path.clone()))),
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The in-memory posting lists filtered listings are answered from (see `postings`).
    pub fn postings(&self) -> &std::sync::Arc<crate::postings::Postings> {
        &self.postings
    }

    /// Point reads on the calling thread, when the database offers them (a SQLite file).
    pub fn direct(&self) -> Option<&crate::direct::Direct> {
        self.direct.as_deref()
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<()> {
        self.run_migrator(crate::migrate::migrator(self.backend))
            .await
    }

    async fn run_migrator(&self, m: sqlx::migrate::Migrator) -> Result<()> {
        let done = match &self.write {
            Write::Pool(p) => m.run(p).await,
            Write::Single(w) => m.run(w.lock().await?.conn()).await,
        };
        done.map_err(|e| StoreError::Other(format!("migration failed: {e}")))
    }

    /// Applies the migrations up to `last` only (tests of later migrations over older data).
    #[cfg(test)]
    pub(crate) async fn migrate_through(&self, last: i64) -> Result<()> {
        let mut m = crate::migrate::migrator(self.backend);
        m.migrations = std::borrow::Cow::Owned(
            m.migrations
                .iter()
                .filter(|x| x.version <= last)
                .cloned()
                .collect(),
        );
        self.run_migrator(m).await
    }

    /// Opens a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        let started = std::time::Instant::now();
        let tx = match &self.write {
            Write::Pool(p) => p
                .begin_with(dialect::begin_write(self.backend))
                .await
                .map(|t| Tx(Some(TxInner::Pooled(t))))
                .map_err(StoreError::from),
            Write::Single(w) => {
                async {
                    let mut g = w.lock().await?;
                    // Refused (busy): nothing is open, and the writer is let go with the guard.
                    g.conn().execute(dialect::begin_write(self.backend)).await?;
                    Ok(Tx(Some(TxInner::Single(g))))
                }
                .await
            }
        };
        self.waited(started);
        tx
    }

    /// Opens a write transaction whose statements go through [`Exec`](crate::exec::Exec)
    /// (see [`WriteTx`]).
    pub async fn write(&self) -> Result<WriteTx> {
        let w = match &self.write {
            Write::Single(w) if w.path.is_some() => w,
            _ => return Ok(WriteTx(Some(WriteInner::Sqlx(self.begin().await?)))),
        };
        let started = std::time::Instant::now();
        let opened = async {
            let mut g = w.acquire().await?;
            g.raw_conn(w.path.as_deref().unwrap_or_default())?;
            if g.group.is_none() {
                // Refused (busy): nothing is open, and the writer is let go with the guard.
                g.raw_batch("BEGIN IMMEDIATE")?;
                g.group = Some(Group {
                    id: w.groups.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                    members: 0,
                    done: tokio::sync::watch::channel(None).0,
                });
            }
            g.in_group("SAVEPOINT w")?;
            if let Some(group) = g.group.as_mut() {
                group.members += 1;
            }
            Ok(WriteTx(Some(WriteInner::Raw(RawTx {
                guard: Some(g),
                writer: w.clone(),
            }))))
        }
        .await;
        self.waited(started);
        opened
    }

    /// A connection for reads outside a transaction.
    pub async fn reader(&self) -> Result<Reader> {
        let started = std::time::Instant::now();
        let c = self.read.acquire().await;
        self.waited(started);
        Ok(c?)
    }

    fn waited(&self, started: std::time::Instant) {
        use std::sync::atomic::Ordering::Relaxed;
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.waits.count.fetch_add(1, Relaxed);
        self.waits.nanos.fetch_add(nanos, Relaxed);
    }

    /// The pools' sizes and the connection waits so far.
    pub fn pool_stats(&self) -> PoolStats {
        use std::sync::atomic::Ordering::Relaxed;
        let shared = self.backend == Backend::Postgres;
        PoolStats {
            read_size: self.read.size(),
            read_idle: u32::try_from(self.read.num_idle()).unwrap_or(u32::MAX),
            read_max: self.read.options().get_max_connections(),
            write_size: if shared { 0 } else { 1 },
            write_idle: match &self.write {
                Write::Single(w) => u32::from(w.state.try_lock().is_ok()),
                Write::Pool(_) => 0,
            },
            acquires: self.waits.count.load(Relaxed),
            acquire_wait: Duration::from_nanos(self.waits.nanos.load(Relaxed)),
        }
    }

    /// True when every migration this build knows has been applied successfully.
    pub async fn migrations_current(&self) -> Result<bool> {
        let latest = crate::migrate::latest_version();
        let mut c = self.reader().await?;
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&mut *c)
                .await?;
        Ok(applied.unwrap_or(0) >= latest)
    }

    /// Announces a credential change to every instance listening on
    /// [`REVOCATION_CHANNEL`] (PostgreSQL `NOTIFY`); nothing on SQLite, which one process
    /// serves.
    pub async fn announce_revocation(&self) -> Result<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        let mut c = self.reader().await?;
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(REVOCATION_CHANNEL)
            .execute(&mut *c)
            .await?;
        Ok(())
    }

    /// A `LISTEN` connection on [`REVOCATION_CHANNEL`] (PostgreSQL only; `None` on SQLite).
    pub async fn revocation_listener(&self) -> Result<Option<sqlx::postgres::PgListener>> {
        let Some(url) = &self.listen_url else {
            return Ok(None);
        };
        let mut l = sqlx::postgres::PgListener::connect(&url.0).await?;
        l.listen(REVOCATION_CHANNEL).await?;
        Ok(Some(l))
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        let mut c = self.reader().await?;
        sqlx::query("SELECT 1").execute(&mut *c).await?;
        Ok(())
    }

    /// Runs one statement outside any transaction (operator and test set-up, e.g.
    /// `CREATE DATABASE`). Never called with user input.
    pub async fn execute_admin(&self, sql: &str) -> Result<()> {
        match &self.write {
            Write::Pool(p) => {
                p.acquire().await?.execute(sql).await?;
            }
            Write::Single(w) => {
                w.lock().await?.conn().execute(sql).await?;
            }
        }
        Ok(())
    }

    /// Sets a `PRAGMA` on every connection that writes (set-up by operators and tests, such
    /// as `max_page_count`, which SQLite keeps per connection): on SQLite both the sqlx writer
    /// and the one [`WriteTx`] uses. Never called with user input.
    pub async fn writer_pragma(&self, pragma: &str) -> Result<()> {
        let Write::Single(w) = &self.write else {
            return self.execute_admin(pragma).await;
        };
        let mut g = w.lock().await?;
        g.conn().execute(pragma).await?;
        if let Some(path) = &w.path {
            let mut st = g.raw_conn(path)?.prepare(pragma)?;
            let mut rows = st.raw_query();
            while rows.next()?.is_some() {}
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.read.close().await;
        match &self.write {
            Write::Pool(p) => p.close().await,
            Write::Single(w) => {
                let mut g = w.state.lock().await;
                let _ = g.finish_group();
                g.raw = None;
                if let Some(c) = g.conn.take() {
                    let _ = c.close().await;
                }
            }
        }
    }
}

/// Makes the SQLite file's folder (when missing) and the file itself readable by the
/// owner only (SEC-14): the folder is created 0700, the file 0600 before SQLite opens it (its
/// `-wal` and `-shm` files take the database file's mode), and files an older version left
/// group- or world-readable are tightened.
fn owner_only_files(path: &std::path::Path) -> Result<()> {
    let fail = |what: &std::path::Path, e: std::io::Error| {
        StoreError::Other(format!("cannot prepare {}: {e}", what.display()))
    };
    if path.as_os_str().is_empty() || path.to_str() == Some(":memory:") {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.exists() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)
                    .map_err(|e| fail(parent, e))?;
            }
        }
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| fail(path, e))?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if let Ok(meta) = std::fs::metadata(&file) {
                if meta.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| fail(&file, e))?;
                    tracing::info!(file = %file.display(), "made the database file owner-only");
                }
            }
        }
    }
    #[cfg(not(unix))]
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| fail(parent, e))?;
    }
    Ok(())
}

/// Whether a connection coming back to its pool is outside any transaction, and so fit to be
/// reused. A transaction whose `COMMIT` failed (SQLite's disk full, a PostgreSQL connection
/// lost mid-way) and whose `ROLLBACK` then failed too leaves the connection believing it is
/// still inside one: every later `BEGIN` on it would fail. Such a connection is closed instead
/// of returned, and the pool opens a fresh one for the next request.
fn outside_transaction(conn: &mut sqlx::AnyConnection) -> bool {
    use sqlx::TransactionManager;
    let depth = <Any as sqlx::Database>::TransactionManager::get_transaction_depth(conn);
    if depth != 0 {
        tracing::warn!(
            depth,
            "a database connection was left inside a failed transaction; replacing it"
        );
    }
    depth == 0
}

async fn sqlite_pragmas(conn: &mut sqlx::AnyConnection) -> std::result::Result<(), sqlx::Error> {
    conn.execute(
        format!(
            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
             PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
             PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT};"
        )
        .as_str(),
    )
    .await?;
    Ok(())
}

fn sqlite_path(url: &str) -> String {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    rest.split('?').next().unwrap_or_default().to_string()
}

/// A database URL with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transaction dropped without a commit leaves nothing behind and the next one starts
    /// cleanly; one that fails mid-way (here: a statement SQLite refuses) does not block later
    /// writers. On both backends.
    #[tokio::test]
    async fn dropped_transactions_roll_back_and_writers_go_on() {
        for (db, file) in crate::row::tests::databases("writer").await {
            let backend = db.backend();
            let t = format!("writer_t_{}", std::process::id());
            db.execute_admin(&format!("CREATE TABLE {t} (k BIGINT PRIMARY KEY)"))
                .await
                .unwrap();
            let count = |db: Db, t: String| async move {
                let mut c = db.reader().await.unwrap();
                sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {t}"))
                    .fetch_one(&mut *c)
                    .await
                    .unwrap()
            };
            {
                let mut tx = db.begin().await.unwrap();
                sqlx::query(&format!("INSERT INTO {t} (k) VALUES (1)"))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                // Dropped here, uncommitted.
            }
            let mut tx = db.begin().await.unwrap();
            assert!(sqlx::query(&format!("INSERT INTO {t} (k) VALUES ('x', 2)"))
                .execute(&mut *tx)
                .await
                .is_err());
            drop(tx);
            let mut tx = db.begin().await.unwrap();
            sqlx::query(&format!("INSERT INTO {t} (k) VALUES (2)"))
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let tx = db.begin().await.unwrap();
            tx.rollback().await.unwrap();
            assert_eq!(count(db.clone(), t.clone()).await, 1, "{backend:?}");
            db.execute_admin(&format!("DROP TABLE {t}")).await.unwrap();
            db.close().await;
            if let Some(f) = file {
                let _ = std::fs::remove_file(f);
            }
        }
    }

    /// Concurrent [`WriteTx`]s: every committed one is kept and every dropped one leaves
    /// nothing, whether or not they shared a `COMMIT`, with a pooled-style [`Tx`] writing in
    /// between. On SQLite a group whose `COMMIT` fails fails every member (none was
    /// acknowledged); on PostgreSQL each transaction stands alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grouped_writes_keep_what_committed_and_fail_together() {
        use crate::batch::Statement;
        for (db, file) in crate::row::tests::databases("group").await {
            let backend = db.backend();
            let t = format!("group_t_{}", std::process::id());
            let parent = format!("group_p_{}", std::process::id());
            db.execute_admin(&format!("CREATE TABLE {parent} (k BIGINT PRIMARY KEY)"))
                .await
                .unwrap();
            db.execute_admin(&format!(
                "CREATE TABLE {t} (k BIGINT PRIMARY KEY, p BIGINT REFERENCES {parent}(k) \
                 DEFERRABLE INITIALLY DEFERRED)"
            ))
            .await
            .unwrap();
            let insert = |k: i64, p: Option<i64>| {
                Statement::new(format!("INSERT INTO {t} (k, p) VALUES ($1, $2)"))
                    .arg(k)
                    .arg(crate::batch::Arg::Int(p))
            };
            let keys = |db: Db| {
                let t = t.clone();
                async move {
                    let mut c = db.reader().await.unwrap();
                    sqlx::query_scalar::<_, i64>(&format!("SELECT k FROM {t} ORDER BY k"))
                        .fetch_all(&mut *c)
                        .await
                        .unwrap()
                }
            };

            let mut tasks = Vec::new();
            for k in 0..40i64 {
                let d = db.clone();
                let st = insert(k, None);
                tasks.push(tokio::spawn(async move {
                    let mut tx = d.write().await.unwrap();
                    tx.exec().fetch_all(st).await.unwrap();
                    // Let others queue up behind this one.
                    tokio::task::yield_now().await;
                    if k % 5 == 0 {
                        drop(tx);
                        Ok(())
                    } else {
                        tx.commit().await
                    }
                }));
                if k == 20 {
                    let mut tx = db.begin().await.unwrap();
                    sqlx::query(&format!("INSERT INTO {t} (k) VALUES (1000)"))
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                }
            }
            for task in tasks {
                task.await.unwrap().unwrap();
            }
            let mut want: Vec<i64> = (0..40).filter(|k| k % 5 != 0).collect();
            want.push(1000);
            assert_eq!(keys(db.clone()).await, want, "{backend:?}");

            // A holds the writer while B queues; A's commit leaves the group to B (SQLite),
            // whose `COMMIT` then fails on A's dangling reference.
            let mut a = db.write().await.unwrap();
            a.exec().fetch_all(insert(2000, Some(99))).await.unwrap();
            let b = {
                let db = db.clone();
                let st = insert(2001, None);
                tokio::spawn(async move {
                    let mut tx = db.write().await?;
                    tx.exec().fetch_all(st).await?;
                    tx.commit().await
                })
            };
            tokio::time::sleep(Duration::from_millis(50)).await;
            let a_out = a.commit().await;
            let b_out = b.await.unwrap();
            assert!(a_out.is_err(), "{backend:?}");
            let got = keys(db.clone()).await;
            match backend {
                Backend::Sqlite => {
                    assert!(b_out.is_err(), "B shared A's failed COMMIT");
                    assert_eq!(got, want, "nothing of the failed group stays");
                }
                Backend::Postgres => {
                    b_out.unwrap();
                    assert!(got.contains(&2001) && !got.contains(&2000));
                }
            }
            // The writer goes on.
            let mut tx = db.write().await.unwrap();
            tx.exec().fetch_all(insert(3000, None)).await.unwrap();
            tx.commit().await.unwrap();
            assert!(keys(db.clone()).await.contains(&3000), "{backend:?}");

            db.execute_admin(&format!("DROP TABLE {t}")).await.unwrap();
            db.execute_admin(&format!("DROP TABLE {parent}"))
                .await
                .unwrap();
            db.close().await;
            if let Some(f) = file {
                let _ = std::fs::remove_file(f);
            }
        }
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(sqlite_path("sqlite://./a/b.db?mode=rwc"), "./a/b.db");
    }
}
