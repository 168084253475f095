//! Failure throttling for guessable secrets (passwords, two-factor codes), kept in process.
//!
//! Each key (an email, a client address, a user's two-factor) has a count of attempts. An
//! attempt is counted when it starts (so that many attempts sent at once cannot all slip in
//! before the first failure is recorded) and given back when it turns out not to be a failure.
//! The first `free` attempts of a window are free; from then on every further attempt locks
//! the key for twice as long as the previous one, from `base_lockout` up to `max_lockout`.
//! A key with no attempt for `window` and no lock left is forgotten. The map holds at most
//! `max_keys` keys: when full, forgotten keys are purged first, then the oldest.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many attempts are free, how long the lockouts last, and how long a key is remembered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Attempts allowed in a window before the first lockout.
    pub free: u32,
    /// A key with no attempt for this long (and no lock left) starts again from zero.
    pub window: Duration,
    /// The first lockout; each further attempt doubles it.
    pub base_lockout: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
}

impl Policy {
    /// The lockout after `attempts` attempts (none while they are within the free ones).
    pub fn lockout(&self, attempts: u32) -> Option<Duration> {
        if attempts < self.free.max(1) {
            return None;
        }
        let doublings = (attempts - self.free.max(1)).min(32);
        let d = self
            .base_lockout
            .checked_mul(1u32 << doublings.min(31))
            .unwrap_or(self.max_lockout);
        Some(d.min(self.max_lockout))
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    attempts: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

impl Entry {
    fn forgotten(&self, policy: &Policy, now: Instant) -> bool {
        now.saturating_duration_since(self.last) >= policy.window
            && self.locked_until.is_none_or(|t| t <= now)
    }
}

/// One throttle: a policy and its keys.
pub struct Throttle {
    policy: Policy,
    max_keys: usize,
    entries: Mutex<HashMap<String, Entry>>,
}

/// The default bound on remembered keys per throttle.
pub const MAX_KEYS: usize = 100_000;

impl Throttle {
    pub fn new(policy: Policy, max_keys: usize) -> Throttle {
        Throttle {
            policy,
            max_keys: max_keys.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Starts an attempt on `key`: refused with the time left while the key is locked,
    /// otherwise counted (and the key locked for the next attempt when over the free ones).
    pub fn attempt(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = map.get_mut(key) {
            if let Some(until) = e.locked_until.filter(|t| *t > now) {
                return Err(until - now);
            }
            if e.forgotten(&self.policy, now) {
                e.attempts = 0;
            }
            e.attempts = e.attempts.saturating_add(1);
            e.last = now;
            e.locked_until = self.policy.lockout(e.attempts).map(|d| now + d);
            return Ok(());
        }
        if map.len() >= self.max_keys {
            let policy = self.policy;
            map.retain(|_, e| !e.forgotten(&policy, now));
            while map.len() >= self.max_keys {
                let oldest = map
                    .iter()
                    .min_by_key(|(_, e)| e.last)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => map.remove(&k),
                    None => break,
                };
            }
        }
        map.insert(
            key.to_string(),
            Entry {
                attempts: 1,
                last: now,
                locked_until: self.policy.lockout(1).map(|d| now + d),
            },
        );
        Ok(())
    }

    /// Gives back an attempt that was not a failure (the password was right, or the server
    /// could not decide); a lock that attempt set is lifted when the key is back within the
    /// free attempts.
    pub fn refund(&self, key: &str) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = map.get_mut(key) {
            e.attempts = e.attempts.saturating_sub(1);
            if self.policy.lockout(e.attempts).is_none() {
                e.locked_until = None;
            }
        }
    }

    /// Forgets `key` (a successful login).
    pub fn reset(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            free: 3,
            window: Duration::from_secs(60),
            base_lockout: Duration::from_secs(1),
            max_lockout: Duration::from_secs(8),
        }
    }

    #[test]
    fn free_attempts_then_doubling_lockouts_up_to_the_cap() {
        let t = Throttle::new(policy(), 10);
        let mut now = Instant::now();
        assert!(t.attempt("a", now).is_ok());
        assert!(t.attempt("a", now).is_ok());
        // The third attempt is allowed and locks the key for the next one.
        assert!(t.attempt("a", now).is_ok());
        assert_eq!(t.attempt("a", now), Err(Duration::from_secs(1)));
        let mut expected = 2;
        for _ in 0..6 {
            now += Duration::from_secs(9);
            // Once the lock has passed, one attempt goes through and locks for longer.
            assert!(t.attempt("a", now).is_ok());
            assert_eq!(t.attempt("a", now), Err(Duration::from_secs(expected)));
            expected = (expected * 2).min(8);
        }
        // Other keys are not affected.
        assert!(t.attempt("b", now).is_ok());
    }

    #[test]
    fn refund_and_reset() {
        let t = Throttle::new(policy(), 10);
        let now = Instant::now();
        for _ in 0..3 {
            t.attempt("a", now).unwrap();
        }
        assert!(t.attempt("a", now).is_err());
        t.refund("a");
        assert!(t.attempt("a", now).is_ok());
        t.reset("a");
        assert!(t.attempt("a", now).is_ok());
        assert!(t.attempt("a", now).is_ok());
    }

    #[test]
    fn a_quiet_window_forgets_and_the_map_is_bounded() {
        let t = Throttle::new(policy(), 4);
        let mut now = Instant::now();
        for _ in 0..3 {
            t.attempt("a", now).unwrap();
        }
        now += Duration::from_secs(61);
        assert!(t.attempt("a", now).is_ok());
        assert!(t.attempt("a", now).is_ok());
        for i in 0..100 {
            t.attempt(&format!("k{i}"), now).unwrap();
            assert!(t.len() <= 4);
        }
    }
}
