//! Request rate limits (GCRA), kept in process. Each key (a token or an organization, with the
//! request class) has a "theoretical arrival time"; a request is allowed when it does not
//! push that time more than one second's worth of requests into the future, so the burst
//! equals the per-second rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Reads (GET/HEAD) and writes (everything else) are counted apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestClass {
    Read,
    Write,
}

/// The result of one check, with what the rate-limit headers need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// When refused: how long until one more request would be allowed.
    pub retry_after: Duration,
}

#[derive(Default)]
pub struct RateLimiter {
    arrival: Mutex<HashMap<(String, RequestClass), Instant>>,
}

impl RateLimiter {
    pub fn new() -> RateLimiter {
        RateLimiter::default()
    }

    /// Counts one request against `key` at `per_second` requests per second.
    pub fn check(&self, key: &str, class: RequestClass, per_second: u32, now: Instant) -> Verdict {
        let per_second = per_second.max(1);
        let interval = Duration::from_secs(1) / per_second;
        let window = interval * per_second;
        let mut map = self.arrival.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, tat| *tat > now);
        }
        let tat = map
            .get(&(key.to_string(), class))
            .copied()
            .filter(|t| *t > now)
            .unwrap_or(now);
        let new_tat = tat + interval;
        let ahead = new_tat - now;
        if ahead > window {
            return Verdict {
                allowed: false,
                limit: per_second,
                remaining: 0,
                retry_after: ahead - window,
            };
        }
        map.insert((key.to_string(), class), new_tat);
        let remaining = ((window - ahead).as_nanos() / interval.as_nanos()) as u32;
        Verdict {
            allowed: true,
            limit: per_second,
            remaining,
            retry_after: Duration::ZERO,
        }
    }

    /// Checks several limits at once; a request is counted only if every limit allows it.
    /// Returns the most restrictive verdict.
    pub fn check_all(&self, limits: &[(&str, u32)], class: RequestClass, now: Instant) -> Verdict {
        for (key, rate) in limits {
            let v = self.peek(key, class, *rate, now);
            if !v.allowed {
                return v;
            }
        }
        let mut worst: Option<Verdict> = None;
        for (key, rate) in limits {
            let v = self.check(key, class, *rate, now);
            worst = Some(match worst {
                Some(w) if w.remaining <= v.remaining && w.allowed => w,
                _ => v,
            });
        }
        worst.unwrap_or(Verdict {
            allowed: true,
            limit: 0,
            remaining: 0,
            retry_after: Duration::ZERO,
        })
    }

    fn peek(&self, key: &str, class: RequestClass, per_second: u32, now: Instant) -> Verdict {
        let per_second = per_second.max(1);
        let interval = Duration::from_secs(1) / per_second;
        let window = interval * per_second;
        let map = self.arrival.lock().unwrap_or_else(|e| e.into_inner());
        let tat = map
            .get(&(key.to_string(), class))
            .copied()
            .filter(|t| *t > now)
            .unwrap_or(now);
        let ahead = tat + interval - now;
        Verdict {
            allowed: ahead <= window,
            limit: per_second,
            remaining: 0,
            retry_after: ahead.saturating_sub(window),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_then_recovery() {
        let l = RateLimiter::new();
        let t0 = Instant::now();
        for i in 0..5 {
            let v = l.check("tok", RequestClass::Write, 5, t0);
            assert!(v.allowed, "request {i}");
            assert_eq!(v.remaining, 4 - i);
        }
        let refused = l.check("tok", RequestClass::Write, 5, t0);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert!(refused.retry_after > Duration::ZERO);
        // Reads are counted apart, and other keys are unaffected.
        assert!(l.check("tok", RequestClass::Read, 5, t0).allowed);
        assert!(l.check("other", RequestClass::Write, 5, t0).allowed);
        // One interval later one more write fits.
        assert!(
            l.check(
                "tok",
                RequestClass::Write,
                5,
                t0 + Duration::from_millis(200)
            )
            .allowed
        );
    }

    #[test]
    fn check_all_counts_only_when_every_limit_allows() {
        let l = RateLimiter::new();
        let t0 = Instant::now();
        assert!(
            l.check_all(&[("tok", 1), ("org", 10)], RequestClass::Read, t0)
                .allowed
        );
        assert!(
            !l.check_all(&[("tok", 1), ("org", 10)], RequestClass::Read, t0)
                .allowed
        );
        // The refused request did not consume the organization's budget.
        for _ in 0..9 {
            assert!(l.check("org", RequestClass::Read, 10, t0).allowed);
        }
        assert!(!l.check("org", RequestClass::Read, 10, t0).allowed);
    }
}
