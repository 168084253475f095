//! Rate limits shared by every instance (MT-12 across instances).
//!
//! Without Redis, [`Limiter`] is the in-process GCRA of `headwater_core::ratelimit`. With
//! `--redis-url`, the same algorithm runs in Redis as one Lua script per request (one round
//! trip, atomic over the token's and the organization's keys, timed by Redis's own clock), so
//! N instances together allow the configured limit. The decision and the numbers behind the
//! rate-limit headers are the same as in process.
//!
//! When Redis cannot be reached (refused, timed out, an error answer), the request is not
//! failed: it is counted by the local limiter, with each limit divided by `--instances`
//! (the full limit when that is 1), the fall-back is logged once, and Redis is tried again
//! at most once a second; its return is logged too.

use headwater_core::ratelimit::{RateLimiter, RequestClass, Verdict};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// The longest a limit check may wait for Redis before the local limiter decides.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// How often a lost Redis is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// GCRA over several keys: KEYS are the limits' keys, ARGV their rates per second. Every
/// limit is checked before any is counted, so a request refused by one limit consumes none.
/// Answers {allowed, limit, remaining, retry_after_us}, for the most restrictive limit.
const GCRA_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tats = {}
for i = 1, #KEYS do
  local rate = tonumber(ARGV[i])
  local interval = math.floor(1000000 / rate)
  local window = interval * rate
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local ahead = tat + interval - now
  if ahead > window then
    return {0, rate, 0, ahead - window}
  end
  tats[i] = tat + interval
end
local limit, remaining = 0, -1
for i = 1, #KEYS do
  local rate = tonumber(ARGV[i])
  local interval = math.floor(1000000 / rate)
  local window = interval * rate
  local ahead = tats[i] - now
  redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', math.floor(ahead / 1000) + 1)
  local left = math.floor((window - ahead) / interval)
  if remaining < 0 or left < remaining then
    remaining = left
    limit = rate
  end
end
if remaining < 0 then remaining = 0 end
return {1, limit, remaining, 0}
"#;

/// Where rate limits are counted.
pub struct Limiter {
    local: RateLimiter,
    redis: Option<RedisLimits>,
    /// The instance count the local fall-back divides limits by (1: the full limit).
    instances: u32,
}

impl Limiter {
    /// In process only (one instance, or no Redis).
    pub fn local() -> Limiter {
        Limiter {
            local: RateLimiter::new(),
            redis: None,
            instances: 1,
        }
    }

    /// Shared through the Redis at `url`, falling back to `1/instances` of each limit in
    /// process while Redis is unreachable. The connection is made on first use.
    pub fn redis(url: &str, instances: u32) -> Result<Limiter, String> {
        let client = redis::Client::open(url).map_err(|e| format!("--redis-url: {e}"))?;
        Ok(Limiter {
            local: RateLimiter::new(),
            redis: Some(RedisLimits {
                client,
                conn: RwLock::new(None),
                next_try: Mutex::new(None),
                connecting: AtomicBool::new(false),
                down: AtomicBool::new(false),
                script: redis::Script::new(GCRA_LUA),
            }),
            instances: instances.max(1),
        })
    }

    pub fn uses_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// Counts one request against every `(key, per_second)` limit, or against none when one
    /// of them refuses it; the most restrictive verdict.
    pub async fn check_all(&self, limits: &[(&str, u32)], class: RequestClass) -> Verdict {
        let Some(redis) = &self.redis else {
            return self.local.check_all(limits, class, Instant::now());
        };
        if let Some(v) = redis.check_all(limits, class).await {
            return v;
        }
        let divided: Vec<(&str, u32)> = limits
            .iter()
            .map(|(k, rate)| (*k, (rate / self.instances).max(1)))
            .collect();
        self.local.check_all(&divided, class, Instant::now())
    }

    /// Whether Redis answers now (readiness); `None` when no Redis is configured.
    pub async fn redis_reachable(&self) -> Option<bool> {
        let redis = self.redis.as_ref()?;
        let ping = async {
            let mut c = redis.client.get_multiplexed_tokio_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut c).await
        };
        Some(matches!(
            tokio::time::timeout(REDIS_TIMEOUT, ping).await,
            Ok(Ok(_))
        ))
    }
}

struct RedisLimits {
    client: redis::Client,
    conn: RwLock<Option<redis::aio::MultiplexedConnection>>,
    /// While Redis is lost: when to try it again.
    next_try: Mutex<Option<Instant>>,
    connecting: AtomicBool,
    /// Set while requests are counted locally (so the change is logged once each way).
    down: AtomicBool,
    script: redis::Script,
}

impl RedisLimits {
    /// The verdict from Redis, or `None` when Redis could not give one.
    async fn check_all(&self, limits: &[(&str, u32)], class: RequestClass) -> Option<Verdict> {
        let mut conn = match self.connection().await {
            Some(c) => c,
            None => return None,
        };
        let class = match class {
            RequestClass::Read => "r",
            RequestClass::Write => "w",
        };
        let mut inv = self.script.prepare_invoke();
        for (key, rate) in limits {
            inv.key(format!("headwater:rl:{class}:{key}"))
                .arg((*rate).max(1));
        }
        let answer = tokio::time::timeout(
            REDIS_TIMEOUT,
            inv.invoke_async::<(i64, i64, i64, i64)>(&mut conn),
        )
        .await;
        match answer {
            Ok(Ok((allowed, limit, remaining, retry_us))) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis is back: rate limits are shared again");
                }
                Some(Verdict {
                    allowed: allowed == 1,
                    limit: u32::try_from(limit).unwrap_or(u32::MAX),
                    remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
                    retry_after: Duration::from_micros(u64::try_from(retry_us).unwrap_or(0)),
                })
            }
            Ok(Err(e)) => {
                self.lost(&e.to_string());
                None
            }
            Err(_) => {
                self.lost("no answer within 500 ms");
                None
            }
        }
    }

    /// The shared connection, or `None` while Redis is lost (a reconnection is started at
    /// most once a second, in the background, so requests never wait for it).
    async fn connection(&self) -> Option<redis::aio::MultiplexedConnection> {
        if let Some(c) = self.conn.read().unwrap_or_else(|e| e.into_inner()).clone() {
            return Some(c);
        }
        {
            let mut next = self.next_try.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            match *next {
                Some(at) if now < at => return None,
                _ => *next = Some(now + RETRY_EVERY),
            }
        }
        if self.connecting.swap(true, Ordering::AcqRel) {
            return None;
        }
        let connect = async {
            tokio::time::timeout(
                REDIS_TIMEOUT,
                self.client.get_multiplexed_tokio_connection(),
            )
            .await
            .map_err(|_| "no connection within 500 ms".to_string())?
            .map_err(|e| e.to_string())
        };
        // One request at a time, at most once a second, waits for the attempt (at most
        // REDIS_TIMEOUT; a refused connection fails at once); the others count locally.
        let result = connect.await;
        self.connecting.store(false, Ordering::Release);
        match result {
            Ok(c) => {
                *self.conn.write().unwrap_or_else(|e| e.into_inner()) = Some(c.clone());
                *self.next_try.lock().unwrap_or_else(|e| e.into_inner()) = None;
                Some(c)
            }
            Err(e) => {
                self.lost(&e);
                None
            }
        }
    }

    /// Forgets the connection and, the first time, says the limits are local now.
    fn lost(&self, why: &str) {
        *self.conn.write().unwrap_or_else(|e| e.into_inner()) = None;
        {
            let mut next = self.next_try.lock().unwrap_or_else(|e| e.into_inner());
            if next.is_none() {
                *next = Some(Instant::now() + RETRY_EVERY);
            }
        }
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error = %why,
                "Redis is unreachable: rate limits are counted in this instance until it returns"
            );
        }
    }
}
