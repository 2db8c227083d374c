//! [`RateLimiter`] in Redis, so every replica counts against the same buckets and locks
//! (`redis.url`). Each operation is one Lua script, atomic in Redis, timed by Redis's
//! own clock so replicas with skewed clocks agree.
//!
//! When Redis cannot be reached the limiter lets requests through and logs it: a
//! missing rate limit for a moment is better than refusing every request.

use std::time::Duration;

use redis::aio::ConnectionManager;
use secrecy::{ExposeSecret as _, SecretString};

use crate::error::{Result, TenantsError};
use crate::throttle::{Backoff, Decision, LimitFuture, RateLimiter, ThrottleKey, TokenBucket};

/// Takes a token; returns 0, or the milliseconds until one is there.
const TAKE: &str = r"
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) / 1000 * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
elseif rate > 0 then
  wait = math.ceil((1 - tokens) / rate * 1000)
else
  wait = 3600000
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
local keep = 86400000
if rate > 0 then keep = math.ceil(capacity / rate * 1000) + 1000 end
redis.call('PEXPIRE', KEYS[1], keep)
return wait
";

/// Counts a failure; returns the lock it started in milliseconds (0: none).
const FAIL: &str = r"
local free = tonumber(ARGV[1])
local base = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local forget = tonumber(ARGV[4])
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], forget)
local over = n - free
if over <= 0 then return 0 end
local lock = math.min(max, base * 2 ^ math.min(over - 1, 40))
lock = math.floor(lock)
if lock <= 0 then return 0 end
redis.call('SET', KEYS[2], '1', 'PX', lock)
return lock
";

pub struct RedisLimiter {
    conn: ConnectionManager,
    /// Every key this limiter writes starts with this (`redis.key_prefix`), so
    /// deployments sharing one Redis keep apart.
    prefix: String,
    take: redis::Script,
    fail: redis::Script,
}

impl RedisLimiter {
    /// Connects (and reconnects by itself when the connection drops).
    pub async fn connect(url: &SecretString, prefix: &str) -> Result<Self> {
        let client =
            redis::Client::open(url.expose_secret()).map_err(|e| TenantsError::Internal(format!("redis.url: {e}")))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(2);
        let conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| TenantsError::Internal(format!("cannot reach Redis: {e}")))?;
        Ok(Self { conn, prefix: prefix.to_owned(), take: redis::Script::new(TAKE), fail: redis::Script::new(FAIL) })
    }

    fn bucket_key(&self, key: &ThrottleKey) -> String {
        format!("{}bucket:{}", self.prefix, key.as_str())
    }

    fn failures_key(&self, key: &ThrottleKey) -> String {
        format!("{}failures:{}", self.prefix, key.as_str())
    }

    fn lock_key(&self, key: &ThrottleKey) -> String {
        format!("{}lock:{}", self.prefix, key.as_str())
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn decision(wait_ms: Result<u64, redis::RedisError>, what: &str) -> Decision {
    match wait_ms {
        Ok(0) => Decision::Allowed,
        Ok(ms) => Decision::Limited { retry_after: Duration::from_millis(ms) },
        Err(e) => {
            tracing::warn!(error = %e, what, "Redis did not answer; not limiting");
            Decision::Allowed
        }
    }
}

impl RateLimiter for RedisLimiter {
    fn take<'a>(&'a self, key: &'a ThrottleKey, bucket: TokenBucket) -> LimitFuture<'a, Decision> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let wait = self
                .take
                .key(self.bucket_key(key))
                .arg(bucket.capacity.max(1))
                .arg(bucket.refill_per_sec)
                .invoke_async::<u64>(&mut conn)
                .await;
            decision(wait, "take")
        })
    }

    fn check<'a>(&'a self, key: &'a ThrottleKey) -> LimitFuture<'a, Decision> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let ttl: Result<i64, _> = redis::cmd("PTTL").arg(self.lock_key(key)).query_async(&mut conn).await;
            // -2: no lock; -1: a lock without expiry, which this limiter never writes.
            decision(ttl.map(|ms| u64::try_from(ms).unwrap_or(0)), "check")
        })
    }

    fn record_failure<'a>(&'a self, key: &'a ThrottleKey, backoff: Backoff) -> LimitFuture<'a, Decision> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let lock = self
                .fail
                .key(self.failures_key(key))
                .key(self.lock_key(key))
                .arg(backoff.free_failures)
                .arg(millis(backoff.base))
                .arg(millis(backoff.max))
                .arg(millis(backoff.forget_after).max(1))
                .invoke_async::<u64>(&mut conn)
                .await;
            decision(lock, "record a failure")
        })
    }

    fn reset<'a>(&'a self, key: &'a ThrottleKey) -> LimitFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let deleted: Result<i64, _> =
                redis::cmd("DEL").arg(self.failures_key(key)).arg(self.lock_key(key)).query_async(&mut conn).await;
            if let Err(e) = deleted {
                tracing::warn!(error = %e, "Redis did not forget a key's failures");
            }
        })
    }
}
