//! A small per-instance cache of verified management tokens, keyed by the token's hash.
//!
//! Entries live at most [`TTL`], so a token revoked through another instance stops working
//! here within that time; on this instance every token write clears the cache at once, so a
//! deleted or re-scoped token is refused on the very next request. Expiry is checked on every
//! request from the cached expiry time, never from a cached verdict.

use headwater_store::repo::orgs::Org;
use headwater_store::repo::stacks::Stack;
use headwater_store::repo::tokens::ManagementToken;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(1);
const MAX_ENTRIES: usize = 10_000;
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// A token with the stack and organization it acts in.
#[derive(Clone, Debug)]
pub struct Verified {
    pub token: Arc<ManagementToken>,
    /// The token's scope, parsed once when the token is loaded.
    pub scope: Arc<headwater_core::scope::TokenScope>,
    pub stack: Arc<Stack>,
    pub org: Arc<Org>,
    /// Set when the secret presented is one a rotation replaced: it works until then (MT-15).
    pub grace_until: Option<String>,
    /// The token's address binding (MT-16), parsed once.
    pub allowed_cidrs: Option<Arc<[headwater_core::cidr::Cidr]>>,
}

#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, (Instant, Verified)>>,
    touched: Mutex<HashMap<String, Instant>>,
    reuse_reported: Mutex<HashMap<String, Instant>>,
}

impl TokenCache {
    pub fn get(&self, hash: &str, now: Instant) -> Option<Verified> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(hash)
            .filter(|(at, _)| now.duration_since(*at) < TTL)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, hash: String, v: Verified, now: Instant) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(hash, (now, v));
    }

    /// Forgets everything: called after any management-token, stack or organization write.
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// True when a reuse of this rotated-out secret should be recorded now (at most once a
    /// minute per secret and instance, so replaying it cannot flood the audit log).
    pub fn should_report_reuse(&self, hash: &str, now: Instant) -> bool {
        let mut map = self
            .reuse_reported
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        match map.get(hash) {
            Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
            _ => {
                map.insert(hash.to_string(), now);
                true
            }
        }
    }

    /// True when `last_used_at` of this token should be written now (at most once a minute
    /// per token and instance).
    pub fn should_touch(&self, token_uid: &str, now: Instant) -> bool {
        let mut map = self.touched.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        match map.get(token_uid) {
            Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
            _ => {
                map.insert(token_uid.to_string(), now);
                true
            }
        }
    }
}

/// A counter bumped by every change this instance makes (any write request, a publishing job
/// carried out, a credential notice from another instance). Cached standings and delivery
/// answers remember the value they were read under and are used only while it is unchanged.
#[derive(Default)]
pub struct Generation(std::sync::atomic::AtomicU64);

impl Generation {
    /// The current value; read it *before* reading what is cached under it, so a change that
    /// commits meanwhile makes the cached value stale rather than current.
    pub fn current(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Called after a change committed.
    pub fn bump(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A cached value with when it was read and the change generation it was read in.
type Stamped<T> = (Instant, u64, T);

/// What an authtoken stands for, cached for at most [`TTL`] and only while the
/// [`Generation`] it was read under is current: the session (user and authtoken times) by the
/// authtoken's hash, and the user's standing in a stack by (hash, `api_key`).
#[derive(Default)]
pub struct StandingCache {
    sessions: Mutex<HashMap<String, Stamped<Arc<headwater_store::repo::users::Session>>>>,
    standings: Mutex<HashMap<(String, String), Stamped<CachedStanding>>>,
    touched: Mutex<HashMap<String, Instant>>,
}

/// A user's standing in a stack, as `StackCtx::resolve` reads it.
#[derive(Clone)]
pub struct CachedStanding {
    pub stack: Arc<Stack>,
    pub subject: headwater_core::policy::Subject,
}

fn fresh<T: Clone>(entry: Option<&(Instant, u64, T)>, now: Instant, generation: u64) -> Option<T> {
    entry
        .filter(|(at, g, _)| *g == generation && now.duration_since(*at) < TTL)
        .map(|(_, _, v)| v.clone())
}

impl StandingCache {
    pub fn session(
        &self,
        hash: &str,
        now: Instant,
        generation: u64,
    ) -> Option<Arc<headwater_store::repo::users::Session>> {
        let map = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        fresh(map.get(hash), now, generation)
    }

    pub fn put_session(
        &self,
        hash: &str,
        s: Arc<headwater_store::repo::users::Session>,
        now: Instant,
        generation: u64,
    ) {
        let mut map = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(hash.to_string(), (now, generation, s));
    }

    pub fn standing(
        &self,
        hash: &str,
        api_key: &str,
        now: Instant,
        generation: u64,
    ) -> Option<CachedStanding> {
        let map = self.standings.lock().unwrap_or_else(|e| e.into_inner());
        fresh(
            map.get(&(hash.to_string(), api_key.to_string())),
            now,
            generation,
        )
    }

    pub fn put_standing(
        &self,
        hash: &str,
        api_key: &str,
        s: CachedStanding,
        now: Instant,
        generation: u64,
    ) {
        let mut map = self.standings.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(
            (hash.to_string(), api_key.to_string()),
            (now, generation, s),
        );
    }

    /// True when the authtoken's last use should be written now: at most once per
    /// `every` per authtoken and instance (the cached session's time does not move).
    pub fn should_touch(&self, hash: &str, now: Instant, every: Duration) -> bool {
        let mut map = self.touched.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        match map.get(hash) {
            Some(at) if now.duration_since(*at) < every => false,
            _ => {
                map.insert(hash.to_string(), now);
                true
            }
        }
    }

    /// Forgets everything (a credential notice from another instance).
    pub fn clear(&self) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.standings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
