//! Bounded password hashing (SEC-4). Argon2 uses 19 MiB per hash; without a bound, every
//! concurrent login took a blocking thread and its own 19 MiB, which the allocator then kept.
//!
//! At most [`permits`] hashes (one per core) run at once in the whole process, on blocking
//! threads. A caller waits for a permit at most the given time, then gets [`Busy`] (the API
//! answers 503 with `Retry-After`). Verifications reuse one Argon2 working memory per permit,
//! so the memory held is bounded by the number of cores, not by the number of logins served.
//! Logins, `headwater user create` and every other password hash go through here.

use headwater_core::password;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a login waits for a free hasher by default before it is answered 503.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// Why a hash did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashError {
    /// Every hasher stayed busy for the whole wait.
    Busy,
    /// The hashing thread failed (a panic).
    Failed,
}

struct Hasher {
    permits: usize,
    semaphore: Arc<Semaphore>,
    /// Argon2 working memory, one buffer per permit at most, reused between verifications.
    memory: Mutex<Vec<password::Memory>>,
}

fn hasher() -> &'static Hasher {
    static HASHER: OnceLock<Hasher> = OnceLock::new();
    HASHER.get_or_init(|| {
        let permits = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Hasher {
            permits,
            semaphore: Arc::new(Semaphore::new(permits)),
            memory: Mutex::new(Vec::new()),
        }
    })
}

static RUNNING: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// How many hashes may run at once (the number of cores).
pub fn permits() -> usize {
    hasher().permits
}

/// How many hashes are running now.
pub fn running() -> usize {
    RUNNING.load(Ordering::SeqCst)
}

/// The most hashes that ever ran at once in this process.
pub fn peak() -> usize {
    PEAK.load(Ordering::SeqCst)
}

/// Counts a running hash for [`running`] and [`peak`].
struct Running;

impl Running {
    fn start() -> Running {
        let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(now, Ordering::SeqCst);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `f` on a blocking thread once a permit is free (waiting at most `wait`). The permit
/// travels with the work, so a caller that stops waiting does not free it early.
async fn run<T: Send + 'static>(
    wait: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashError> {
    let h = hasher();
    let permit = tokio::time::timeout(wait, Arc::clone(&h.semaphore).acquire_owned())
        .await
        .map_err(|_| HashError::Busy)?
        .map_err(|_| HashError::Failed)?;
    tokio::task::spawn_blocking(move || {
        let running = Running::start();
        let out = f();
        drop(running);
        drop(permit);
        out
    })
    .await
    .map_err(|_| HashError::Failed)
}

/// Verifies `password` against the stored PHC string, with a reused working memory.
pub async fn verify(password: String, stored: String, wait: Duration) -> Result<bool, HashError> {
    run(wait, move || {
        let h = hasher();
        let mut memory = h
            .memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        let ok = password::verify_with_memory(&password, &stored, &mut memory);
        let mut pool = h.memory.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < h.permits {
            pool.push(memory);
        }
        ok
    })
    .await
}

/// The same work as [`verify`] against a hash no password matches (logins with an unknown
/// email), so that timing does not reveal which emails exist.
pub async fn verify_dummy(password: String, wait: Duration) -> Result<(), HashError> {
    let stored = password::dummy_hash().to_string();
    verify(password, stored, wait).await.map(|_| ())
}

/// Hashes a new password (user creation, password change).
pub async fn hash(password: String, wait: Duration) -> Result<String, HashError> {
    run(wait, move || password::hash(&password)).await
}
