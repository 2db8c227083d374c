//! Throttling of the credential endpoints (`login`, `refreshSession`, `acceptInvite`).
//!
//! Two mechanisms, both keyed by opaque strings so a shared store can replace the
//! in-process one without the callers changing:
//!
//! - a token bucket per client address, taken by every call, so one address cannot make
//!   the server spend argon2 time at will;
//! - failure counters with exponential back-off, per account (tenant and e-mail as typed)
//!   and per client address: after a number of free failures each further failure locks
//!   the key for twice as long as the last, up to a bound. A locked key is refused before
//!   any password is checked, so during a lock even the right password gets the same
//!   answer and a guess is never confirmed.
//!
//! [`RateLimiter`] is the store's interface; [`InProcessLimiter`] keeps the state in this
//! process, bounded in entries so that a flood of invented keys cannot exhaust memory
//! (the least useful entries are evicted first). [`Throttle`] applies the policy.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// A boxed future, so the trait stays object-safe for a networked implementation.
pub type LimitFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The answer to "may this go ahead?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; the caller may try again after this long.
    Limited {
        retry_after: Duration,
    },
}

impl Decision {
    /// The longer of two waits; `Allowed` when neither limits.
    pub fn and(self, other: Decision) -> Decision {
        match (self, other) {
            (Decision::Limited { retry_after: a }, Decision::Limited { retry_after: b }) => {
                Decision::Limited { retry_after: a.max(b) }
            }
            (limited @ Decision::Limited { .. }, Decision::Allowed) | (Decision::Allowed, limited) => limited,
        }
    }
}

/// A steady rate with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    pub capacity: u32,
    pub refill_per_sec: f64,
}

/// Exponential back-off after repeated failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures allowed before the first lock.
    pub free_failures: u32,
    /// The first lock; each further failure doubles it.
    pub base: Duration,
    /// No lock is longer than this.
    pub max: Duration,
    /// Failures are forgotten after this long without a new one.
    pub forget_after: Duration,
}

impl Backoff {
    /// The lock that the `failures`-th failure earns.
    pub fn lock_for(&self, failures: u32) -> Duration {
        let Some(over) = failures.checked_sub(self.free_failures).filter(|n| *n > 0) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(over - 1).unwrap_or(u32::MAX);
        self.base.checked_mul(factor).unwrap_or(self.max).min(self.max)
    }
}

/// Where throttling state lives. Keys are opaque and short (see [`ThrottleKey`]).
pub trait RateLimiter: Send + Sync {
    /// Takes one token from the key's bucket.
    fn take<'a>(&'a self, key: &'a ThrottleKey, bucket: TokenBucket) -> LimitFuture<'a, Decision>;
    /// Whether the key is locked by earlier failures.
    fn check<'a>(&'a self, key: &'a ThrottleKey) -> LimitFuture<'a, Decision>;
    /// Counts a failure; returns the lock it started, if any.
    fn record_failure<'a>(&'a self, key: &'a ThrottleKey, backoff: Backoff) -> LimitFuture<'a, Decision>;
    /// Forgets the key's failures.
    fn reset<'a>(&'a self, key: &'a ThrottleKey) -> LimitFuture<'a, ()>;
}

/// A key for the limiter: a kind and a SHA-256, so what was typed (an e-mail, possibly a
/// password in the wrong field) is never held in the clear and every key has one size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThrottleKey(String);

impl ThrottleKey {
    /// An account as typed into the sign-in form: the tenant's slug and the e-mail,
    /// trimmed and lowercased, whether or not they exist (so a lock does not reveal it).
    pub fn account(tenant_slug: &str, email: &str) -> Self {
        let typed = format!("{}\n{}", tenant_slug.trim().to_lowercase(), email.trim().to_lowercase());
        Self::hashed("account", &typed)
    }

    /// A client address. IPv6 clients are grouped by /64, the block one subscriber
    /// usually holds; an IPv4-mapped address counts as its IPv4 address.
    pub fn client(addr: IpAddr) -> Self {
        let grouped = match addr {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        };
        Self::hashed("client", &grouped)
    }

    /// A tenant's request bucket.
    pub fn tenant(tenant_id: i64) -> Self {
        Self(format!("tenant:{tenant_id}"))
    }

    /// An API key's request bucket (by its row).
    pub fn api_key(key_row: i64) -> Self {
        Self(format!("key:{key_row}"))
    }

    fn hashed(kind: &str, value: &str) -> Self {
        let digest = Sha256::digest(value.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("{kind}:{hex}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    at: Instant,
}

#[derive(Debug)]
struct FailureState {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

/// Throttling state in this process's memory. Each replica counts on its own: with `n`
/// replicas behind a balancer an attacker gets up to `n` times the allowance.
pub struct InProcessLimiter {
    buckets: moka::sync::Cache<ThrottleKey, Arc<Mutex<BucketState>>>,
    failures: moka::sync::Cache<ThrottleKey, Arc<Mutex<FailureState>>>,
}

impl InProcessLimiter {
    /// `max_keys` bounds each map; `idle` is how long an untouched entry is kept (at
    /// least the longest lock plus the time failures are remembered).
    pub fn new(max_keys: u64, idle: Duration) -> Self {
        Self {
            buckets: moka::sync::Cache::builder().max_capacity(max_keys).time_to_idle(idle).build(),
            failures: moka::sync::Cache::builder().max_capacity(max_keys).time_to_idle(idle).build(),
        }
    }

    fn take_now(&self, key: &ThrottleKey, bucket: TokenBucket, now: Instant) -> Decision {
        let capacity = f64::from(bucket.capacity.max(1));
        let state =
            self.buckets.get_with_by_ref(key, || Arc::new(Mutex::new(BucketState { tokens: capacity, at: now })));
        let Ok(mut state) = state.lock() else { return Decision::Allowed };
        let elapsed = now.saturating_duration_since(state.at).as_secs_f64();
        state.tokens = (state.tokens + elapsed * bucket.refill_per_sec).min(capacity);
        state.at = now;
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            return Decision::Allowed;
        }
        let missing = 1.0 - state.tokens;
        let wait = if bucket.refill_per_sec > 0.0 { missing / bucket.refill_per_sec } else { 3600.0 };
        Decision::Limited { retry_after: Duration::from_secs_f64(wait.min(3600.0)) }
    }

    fn check_now(&self, key: &ThrottleKey, now: Instant) -> Decision {
        let Some(state) = self.failures.get(key) else { return Decision::Allowed };
        let Ok(state) = state.lock() else { return Decision::Allowed };
        match state.locked_until {
            Some(until) if until > now => Decision::Limited { retry_after: until - now },
            _ => Decision::Allowed,
        }
    }

    fn record_failure_now(&self, key: &ThrottleKey, backoff: Backoff, now: Instant) -> Decision {
        let state = self.failures.get_with_by_ref(key, || {
            Arc::new(Mutex::new(FailureState { failures: 0, last_failure: now, locked_until: None }))
        });
        let Ok(mut state) = state.lock() else { return Decision::Allowed };
        if now.saturating_duration_since(state.last_failure) > backoff.forget_after {
            state.failures = 0;
        }
        state.failures = state.failures.saturating_add(1);
        state.last_failure = now;
        let lock = backoff.lock_for(state.failures);
        if lock.is_zero() {
            return Decision::Allowed;
        }
        state.locked_until = Some(now + lock);
        Decision::Limited { retry_after: lock }
    }
}

impl RateLimiter for InProcessLimiter {
    fn take<'a>(&'a self, key: &'a ThrottleKey, bucket: TokenBucket) -> LimitFuture<'a, Decision> {
        Box::pin(std::future::ready(self.take_now(key, bucket, Instant::now())))
    }

    fn check<'a>(&'a self, key: &'a ThrottleKey) -> LimitFuture<'a, Decision> {
        Box::pin(std::future::ready(self.check_now(key, Instant::now())))
    }

    fn record_failure<'a>(&'a self, key: &'a ThrottleKey, backoff: Backoff) -> LimitFuture<'a, Decision> {
        Box::pin(std::future::ready(self.record_failure_now(key, backoff, Instant::now())))
    }

    fn reset<'a>(&'a self, key: &'a ThrottleKey) -> LimitFuture<'a, ()> {
        self.failures.invalidate(key);
        Box::pin(std::future::ready(()))
    }
}

/// The policy for the credential endpoints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleConfig {
    /// Every call of the three endpoints, per client address.
    pub client_bucket: TokenBucket,
    /// Failed calls (wrong password, unknown token), per client address.
    pub client_backoff: Backoff,
    /// Failed sign-ins, per account as typed.
    pub account_backoff: Backoff,
    /// Entries each in-process map keeps at most.
    pub max_tracked_keys: u64,
}

/// Applies [`ThrottleConfig`] through a [`RateLimiter`]. Cheap to clone.
#[derive(Clone)]
pub struct Throttle {
    limiter: Arc<dyn RateLimiter>,
    config: ThrottleConfig,
}

impl Throttle {
    pub fn new(limiter: Arc<dyn RateLimiter>, config: ThrottleConfig) -> Self {
        Self { limiter, config }
    }

    /// The store this throttle keeps its state in, for other limits to share.
    pub fn limiter(&self) -> Arc<dyn RateLimiter> {
        self.limiter.clone()
    }

    /// The in-process store, sized from the policy.
    pub fn in_process(config: ThrottleConfig) -> Self {
        let longest = [config.client_backoff, config.account_backoff]
            .iter()
            .map(|b| b.max + b.forget_after)
            .max()
            .unwrap_or(Duration::from_secs(3600));
        // A bucket left alone refills completely within this time anyway.
        let refill = if config.client_bucket.refill_per_sec > 0.0 {
            Duration::from_secs_f64(
                (f64::from(config.client_bucket.capacity) / config.client_bucket.refill_per_sec).min(86_400.0),
            )
        } else {
            Duration::from_secs(86_400)
        };
        Self::new(Arc::new(InProcessLimiter::new(config.max_tracked_keys, longest.max(refill))), config)
    }

    /// Before a credential is looked at: the client's bucket, then the locks of the
    /// client and the account. A locked account is refused whatever the password.
    ///
    /// An admitted sign-in counts as an account failure at once and is cleared by
    /// [`Throttle::succeeded`]: counted only after argon2 answered, a burst of parallel
    /// guesses would all pass the check before the first of them was counted.
    pub async fn admit(&self, client: Option<IpAddr>, account: Option<&ThrottleKey>) -> Decision {
        let mut decision = Decision::Allowed;
        if let Some(addr) = client {
            let key = ThrottleKey::client(addr);
            decision = self.limiter.take(&key, self.config.client_bucket).await;
            if decision != Decision::Allowed {
                return decision;
            }
            decision = self.limiter.check(&key).await;
        }
        if let Some(account) = account {
            decision = decision.and(self.limiter.check(account).await);
            if decision == Decision::Allowed {
                self.limiter.record_failure(account, self.config.account_backoff).await;
            }
        }
        decision
    }

    /// After a credential was refused: the client's failures grow (the account's were
    /// counted on admission).
    pub async fn failed(&self, client: Option<IpAddr>) {
        if let Some(addr) = client {
            self.limiter.record_failure(&ThrottleKey::client(addr), self.config.client_backoff).await;
        }
    }

    /// After a successful sign-in: the account starts afresh. The client's failures are
    /// kept, or an attacker could clear them by signing in to an account of their own.
    pub async fn succeeded(&self, account: &ThrottleKey) {
        self.limiter.reset(account).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff {
            free_failures: 3,
            base: Duration::from_secs(1),
            max: Duration::from_secs(10),
            forget_after: Duration::from_secs(60),
        }
    }

    #[test]
    fn locks_double_after_the_free_failures_and_stop_at_the_bound() {
        let b = backoff();
        let locks: Vec<u64> = (1..=9).map(|n| b.lock_for(n).as_secs()).collect();
        assert_eq!(locks, [0, 0, 0, 1, 2, 4, 8, 10, 10]);
        assert_eq!(b.lock_for(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn a_locked_key_is_refused_until_the_lock_ends_and_reset_clears_it() {
        let limiter = InProcessLimiter::new(100, Duration::from_secs(600));
        let key = ThrottleKey::account("acme", "a@acme.example");
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.record_failure_now(&key, backoff(), t0), Decision::Allowed);
        }
        assert_eq!(limiter.check_now(&key, t0), Decision::Allowed);
        let locked = limiter.record_failure_now(&key, backoff(), t0);
        assert_eq!(locked, Decision::Limited { retry_after: Duration::from_secs(1) });
        assert!(matches!(limiter.check_now(&key, t0 + Duration::from_millis(500)), Decision::Limited { .. }));
        assert_eq!(limiter.check_now(&key, t0 + Duration::from_secs(1)), Decision::Allowed);
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(
            limiter.record_failure_now(&key, backoff(), t1),
            Decision::Limited { retry_after: Duration::from_secs(2) }
        );
        limiter.failures.invalidate(&key);
        assert_eq!(limiter.check_now(&key, t1), Decision::Allowed);
        // Other keys are untouched; the same account typed differently is the same key.
        assert_eq!(ThrottleKey::account(" ACME ", "A@Acme.Example"), key);
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_period() {
        let limiter = InProcessLimiter::new(100, Duration::from_secs(600));
        let key = ThrottleKey::account("acme", "b@acme.example");
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.record_failure_now(&key, backoff(), t0);
        }
        let later = t0 + Duration::from_secs(61);
        assert_eq!(limiter.record_failure_now(&key, backoff(), later), Decision::Allowed);
    }

    #[test]
    fn the_bucket_allows_a_burst_then_the_refill_rate() {
        let limiter = InProcessLimiter::new(100, Duration::from_secs(600));
        let key = ThrottleKey::client("192.0.2.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])));
        let bucket = TokenBucket { capacity: 3, refill_per_sec: 2.0 };
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take_now(&key, bucket, t0), Decision::Allowed);
        }
        assert_eq!(limiter.take_now(&key, bucket, t0), Decision::Limited { retry_after: Duration::from_millis(500) });
        assert_eq!(limiter.take_now(&key, bucket, t0 + Duration::from_millis(500)), Decision::Allowed);
    }

    #[test]
    fn ipv6_clients_are_grouped_by_their_64_block() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(ThrottleKey::client(a), ThrottleKey::client(b));
        assert_ne!(ThrottleKey::client(a), ThrottleKey::client(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let v4: IpAddr = "192.0.2.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(ThrottleKey::client(mapped), ThrottleKey::client(v4));
    }

    #[test]
    fn a_flood_of_invented_keys_stays_within_the_bound() {
        let limiter = InProcessLimiter::new(1_000, Duration::from_secs(600));
        let t0 = Instant::now();
        for i in 0..20_000 {
            limiter.record_failure_now(&ThrottleKey::account("acme", &format!("u{i}@x.example")), backoff(), t0);
        }
        limiter.failures.run_pending_tasks();
        assert!(limiter.failures.entry_count() <= 1_000, "{}", limiter.failures.entry_count());
    }
}
