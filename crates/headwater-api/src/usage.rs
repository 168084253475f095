//! Management-token usage (MT-19), kept off the request path: each request adds to an
//! in-memory tally (a mutex-guarded map, no I/O), and a background task writes the tallies to
//! the database every `usage_flush_interval` and once more at shutdown. Reads of a token's
//! usage add what this instance has not written yet.

use crate::state::AppState;
use headwater_core::clock;
use headwater_store::repo::token_usage::{self, Counts, CLIENTS_KEPT};
use headwater_store::StoreError;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use time::OffsetDateTime;
use tokio::sync::watch;

/// What became of one request made with a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Read,
    Write,
    /// Refused by the policy (403) or by the token's address binding (401).
    Refused,
    /// Refused by a rate limit (429).
    RateLimited,
}

/// One token's tally since the last flush.
#[derive(Clone, Debug, Default)]
pub struct Pending {
    /// By UTC day (`YYYY-MM-DD`).
    pub days: HashMap<String, Counts>,
    /// Client address → last seen.
    pub clients: HashMap<IpAddr, OffsetDateTime>,
}

#[derive(Default)]
pub struct UsageBook {
    pending: Mutex<HashMap<String, Pending>>,
}

/// Tokens tallied between flushes before new tokens stop being tallied (a bound on memory).
const MAX_TOKENS: usize = 100_000;

impl UsageBook {
    pub fn record(&self, token_uid: &str, outcome: Outcome, client: Option<IpAddr>) {
        let now = OffsetDateTime::now_utc();
        let day = now.date().to_string();
        let mut map = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(token_uid) && map.len() >= MAX_TOKENS {
            return;
        }
        let p = map.entry(token_uid.to_string()).or_default();
        let c = p.days.entry(day).or_default();
        match outcome {
            Outcome::Read => c.reads += 1,
            Outcome::Write => c.writes += 1,
            Outcome::Refused => c.refusals += 1,
            Outcome::RateLimited => c.rate_limited += 1,
        }
        if let Some(ip) = client {
            if p.clients.len() >= CLIENTS_KEPT * 4 && !p.clients.contains_key(&ip) {
                // Keep the map small: drop the oldest address.
                if let Some(oldest) = p.clients.iter().min_by_key(|(_, t)| **t).map(|(a, _)| *a) {
                    p.clients.remove(&oldest);
                }
            }
            p.clients.insert(ip, now);
        }
    }

    /// What this instance has tallied for a token and not yet written.
    pub fn pending(&self, token_uid: &str) -> Option<Pending> {
        let map = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        map.get(token_uid).cloned()
    }

    fn take(&self) -> HashMap<String, Pending> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Puts back tallies a failed flush could not write.
    fn restore(&self, taken: HashMap<String, Pending>) {
        let mut map = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for (uid, p) in taken {
            let into = map.entry(uid).or_default();
            for (day, c) in p.days {
                into.days.entry(day).or_default().add(&c);
            }
            for (ip, at) in p.clients {
                let slot = into.clients.entry(ip).or_insert(at);
                *slot = (*slot).max(at);
            }
        }
    }
}

/// Writes every tally to the database in one transaction.
pub async fn flush(state: &AppState) -> Result<(), StoreError> {
    let taken = state.usage().take();
    if taken.is_empty() {
        return Ok(());
    }
    let result = async {
        let mut tx = state.db().begin().await?;
        for (uid, p) in &taken {
            for (day, c) in &p.days {
                token_usage::add(&mut tx, uid, day, c).await?;
            }
            if !p.clients.is_empty() {
                for (ip, at) in &p.clients {
                    token_usage::seen(&mut tx, uid, &ip.to_string(), &clock::format(*at)).await?;
                }
                token_usage::prune_clients(&mut tx, uid).await?;
            }
        }
        tx.commit().await?;
        Ok::<_, StoreError>(())
    }
    .await;
    if result.is_err() {
        state.usage().restore(taken);
    }
    result
}

pub(crate) async fn flush_loop(state: AppState, mut stop: watch::Receiver<bool>) {
    let interval = state.config().usage_flush_interval;
    loop {
        let stopping = crate::delivery::pause(&mut stop, interval).await;
        if let Err(e) = flush(&state).await {
            tracing::warn!(error = %e, "writing token usage failed; kept for the next flush");
        }
        if stopping {
            break;
        }
    }
}
