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
