//! A cache for what the request path reads on every request (the active model, the
//! settings, a person's history), with two promises:
//!
//! - a change is seen by the next request: after its commit, the writer announces it on
//!   the change bus (`serving_cache`), whose listeners call [`FreshCache::invalidate`];
//! - a reader that loaded the old value while the change committed cannot put it back
//!   over the new one: every change bumps an epoch (one of [`EPOCH_SLOTS`], chosen by
//!   the key's hash), and a load fills the cache only when its slot's epoch did not move
//!   while it ran.
//!
//! Changes made by another replica on PostgreSQL arrive through the change bus too;
//! those of a process that does not relay (the CLI on the same SQLite file) are seen
//! once the entry's time to live runs out.
//!
//! Loads of one key are single-flight: when a hot entry expires (a tenant's catalog
//! under load), one request reloads it and the others wait for its answer instead of
//! all querying the database at once.
//!
//! An entry older than its time to live is refreshed ahead of its removal: the request
//! that finds it stale and gets the key's load turn reloads it, and every other request
//! meanwhile is served the entry it already has. Making them all wait stalled a whole
//! tenant's traffic for the length of one query every few seconds, which on a busy
//! PostgreSQL was tens of milliseconds at the 99th percentile. The time to live still
//! bounds what a change no process announced can go unseen (plus one reload); an entry
//! nobody asks for within [`KEPT_STALE`] times its time to live is dropped.
//!
//! Changing is synchronous on purpose: a request future dropped right after its commit
//! (the client went away) cannot skip the invalidation that follows it.

use std::future::Future;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::background::Background;
use crate::error::Result;
use crate::jitter::Jitter;
use crate::metrics::CacheCounters;

/// Enough slots that writes to other keys rarely stop a load from being kept.
const EPOCH_SLOTS: usize = 1024;

/// How many times its time to live a stale entry is kept to be refreshed ahead.
const KEPT_STALE: u32 = 4;

/// Each entry is refreshed after a random share of its time to live between
/// `1 - FRESHNESS_SPREAD` and 1. Entries loaded together (every person of a tenant in
/// the first seconds of traffic) would otherwise all go stale in the same second, every
/// lifetime, and their reloads queue on the database at once: on PostgreSQL that burst
/// put the 99th percentile of `recommendations` at 48 ms where it is 6 ms between
/// bursts. Each refresh draws again, so the reloads spread wider every lifetime.
const FRESHNESS_SPREAD: f64 = 0.25;

/// A cached value, when it was read and until when it is fresh.
#[derive(Clone)]
struct Stamped<V> {
    value: V,
    /// `None`: fresh until changed (no time to live).
    fresh_until: Option<Instant>,
    /// Claimed by the request that starts a refresh behind the requests
    /// ([`FreshCache::get_refreshing_behind`]), shared by the entry's copies.
    refreshing: Arc<AtomicBool>,
}

impl<V> Stamped<V> {
    fn new(value: V, fresh_until: Option<Instant>) -> Self {
        Self { value, fresh_until, refreshing: Arc::default() }
    }
}

pub(crate) struct FreshCache<K, V> {
    entries: moka::sync::Cache<K, Stamped<V>>,
    /// Past this age an entry is refreshed ahead; `None`: never.
    fresh_for: Option<Duration>,
    epochs: Arc<[AtomicU64]>,
    /// One loader at a time per slot (keys share slots as they share epochs).
    loading: Arc<[tokio::sync::Mutex<()>]>,
    hasher: RandomState,
    /// Hits and misses of `get_or_load` (unregistered unless [`FreshCache::counted`]).
    counters: CacheCounters,
    /// Draws of the freshness spread.
    jitter: Jitter,
}

impl<K, V> Clone for FreshCache<K, V> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
            fresh_for: self.fresh_for,
            epochs: self.epochs.clone(),
            loading: self.loading.clone(),
            hasher: self.hasher.clone(),
            counters: self.counters.clone(),
            jitter: self.jitter.clone(),
        }
    }
}

impl<K, V> FreshCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// At most `capacity` entries.
    pub fn new(capacity: u64, time_to_live: Duration) -> Self {
        Self::with_builder(
            moka::sync::Cache::builder().max_capacity(capacity).time_to_live(time_to_live * KEPT_STALE),
            Some(time_to_live),
        )
    }

    /// At most `capacity` entries, kept until evicted or changed (for what no other
    /// process can change: a loaded model's files are immutable once written).
    pub fn without_expiry(capacity: u64) -> Self {
        Self::with_builder(moka::sync::Cache::builder().max_capacity(capacity), None)
    }

    /// At most `capacity` in total of `weigh` over the entries.
    pub fn weighted(capacity: u64, time_to_live: Duration, weigh: fn(&K, &V) -> u32) -> Self {
        Self::with_builder(
            moka::sync::Cache::builder()
                .weigher(move |key, stamped: &Stamped<V>| weigh(key, &stamped.value))
                .max_capacity(capacity)
                .time_to_live(time_to_live * KEPT_STALE),
            Some(time_to_live),
        )
    }

    fn with_builder(
        builder: moka::sync::CacheBuilder<K, Stamped<V>, moka::sync::Cache<K, Stamped<V>>>,
        fresh_for: Option<Duration>,
    ) -> Self {
        Self {
            entries: builder.build(),
            fresh_for,
            epochs: (0..EPOCH_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            loading: (0..EPOCH_SLOTS).map(|_| tokio::sync::Mutex::new(())).collect(),
            hasher: RandomState::new(),
            counters: CacheCounters::default(),
            jitter: Jitter::default(),
        }
    }

    /// Counts this cache's hits and misses into `counters` (the hit ratio on /metrics).
    pub fn counted(mut self, counters: CacheCounters) -> Self {
        self.counters = counters;
        self
    }

    fn slot(&self, key: &K) -> usize {
        (self.hasher.hash_one(key) as usize) % EPOCH_SLOTS
    }

    fn epoch(&self, key: &K) -> &AtomicU64 {
        &self.epochs[self.slot(key)]
    }

    /// What is cached, without loading.
    pub fn get(&self, key: &K) -> Option<V> {
        self.entries.get(key).map(|stamped| stamped.value)
    }

    fn is_fresh(&self, stamped: &Stamped<V>) -> bool {
        stamped.fresh_until.is_none_or(|until| Instant::now() < until)
    }

    /// Until when a value read at `read_at` is fresh: its time to live, shortened by a
    /// random share of at most [`FRESHNESS_SPREAD`].
    fn fresh_until(&self, read_at: Instant) -> Option<Instant> {
        Some(read_at + self.jitter.shorten(self.fresh_for?, FRESHNESS_SPREAD))
    }

    pub async fn get_or_load<F, Fut>(&self, key: K, load: F) -> Result<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V>>,
    {
        let slot = &self.loading[self.slot(&key)];
        match self.entries.get(&key) {
            Some(stamped) if self.is_fresh(&stamped) => {
                self.counters.hit();
                Ok(stamped.value)
            }
            Some(stale) => {
                // Whoever gets the turn refreshes; the others keep what there is.
                let Ok(_turn) = slot.try_lock() else {
                    self.counters.hit();
                    return Ok(stale.value);
                };
                if let Some(refreshed) = self.entries.get(&key).filter(|s| self.is_fresh(s)) {
                    self.counters.hit();
                    return Ok(refreshed.value);
                }
                self.counters.miss();
                match self.load_and_keep(key, load).await {
                    Ok(value) => Ok(value),
                    Err(e) => {
                        tracing::warn!(error = ?e, "a cache refresh failed; serving what was cached");
                        Ok(stale.value)
                    }
                }
            }
            None => {
                let _turn = slot.lock().await;
                // Whoever held the turn before may have loaded this very key.
                if let Some(stamped) = self.entries.get(&key) {
                    self.counters.hit();
                    return Ok(stamped.value);
                }
                self.counters.miss();
                self.load_and_keep(key, load).await
            }
        }
    }

    /// Like [`FreshCache::get_or_load`], except that no request waits for a refresh: the
    /// first request to find the entry stale starts the reload on a task of its own and
    /// is served what is cached, like every request until the reload lands. For entries
    /// read on every request whose load is a database transaction (a person's history):
    /// on a PostgreSQL server with both cores busy that transaction took 10 to 70 ms,
    /// and the requests that waited for it were the 99th percentile of
    /// `recommendations`. A failed refresh is retried by the next request; a missing
    /// entry is loaded as by `get_or_load`.
    pub async fn get_refreshing_behind<F, Fut>(&self, key: K, background: &Background, load: F) -> Result<V>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V>> + Send + 'static,
    {
        let Some(stale) = self.entries.get(&key).filter(|stamped| !self.is_fresh(stamped)) else {
            return self.get_or_load(key, load).await;
        };
        self.counters.hit();
        if stale.refreshing.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            let cache = self.clone();
            let claim = stale.refreshing.clone();
            background.spawn(async move {
                let _turn = cache.loading[cache.slot(&key)].lock().await;
                if let Err(e) = cache.load_and_keep(key, load).await {
                    tracing::warn!(error = ?e, "a cache refresh failed; serving what was cached");
                    claim.store(false, Ordering::Release);
                }
            });
        }
        Ok(stale.value)
    }

    /// Loads under the key's turn (held by the caller) and keeps the value unless a
    /// change was announced meanwhile.
    async fn load_and_keep<F, Fut>(&self, key: K, load: F) -> Result<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V>>,
    {
        let epoch = self.epoch(&key);
        let before = epoch.load(Ordering::Acquire);
        let read_at = Instant::now();
        let value = load().await?;
        if epoch.load(Ordering::Acquire) == before {
            self.entries.insert(key, Stamped::new(value.clone(), self.fresh_until(read_at)));
        }
        Ok(value)
    }

    /// Replaces what is cached for `key` by what `derive` makes of it (a cached index
    /// brought up to date without reading it whole), under the key's load turn; kept
    /// only when no change was announced meanwhile, like a load. Nothing cached: nothing
    /// to derive from, nothing done.
    pub async fn replace<F, Fut>(&self, key: K, derive: F) -> Result<()>
    where
        F: FnOnce(V) -> Fut,
        Fut: Future<Output = Result<V>>,
    {
        let _turn = self.loading[self.slot(&key)].lock().await;
        let Some(current) = self.entries.get(&key) else { return Ok(()) };
        let epoch = self.epoch(&key);
        let before = epoch.load(Ordering::Acquire);
        // As fresh as what it was derived from.
        let fresh_until = current.fresh_until;
        let value = derive(current.value).await?;
        if epoch.load(Ordering::Acquire) == before {
            self.entries.insert(key, Stamped { value, fresh_until, refreshing: current.refreshing });
        }
        Ok(())
    }

    /// After a committed change: the next reader loads afresh.
    pub fn invalidate(&self, key: &K) {
        self.epoch(key).fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate(key);
    }

    /// After a change too wide to name its keys (a retention purge).
    pub fn invalidate_all(&self) {
        for epoch in self.epochs.iter() {
            epoch.fetch_add(1, Ordering::AcqRel);
        }
        self.entries.invalidate_all();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_loaded_together_go_stale_spread_over_a_quarter_of_their_lifetime() {
        let ttl = Duration::from_secs(1000);
        let cache: FreshCache<i64, u32> = FreshCache::new(1000, ttl);
        let before = Instant::now();
        for key in 0..200 {
            cache.get_or_load(key, || async { Ok(1) }).await.unwrap();
        }
        let after = Instant::now();
        let until: Vec<Instant> = (0..200).map(|k| cache.entries.get(&k).unwrap().fresh_until.unwrap()).collect();
        assert!(until.iter().all(|u| *u >= before + ttl.mul_f64(0.75) && *u <= after + ttl));
        let (first, last) = (until.iter().min().unwrap(), until.iter().max().unwrap());
        assert!(*last - *first > ttl / 8, "spread over {:?} only", *last - *first);
        let fixed: FreshCache<i64, u32> = FreshCache::without_expiry(10);
        fixed.get_or_load(1, || async { Ok(1) }).await.unwrap();
        assert!(fixed.entries.get(&1).unwrap().fresh_until.is_none(), "no time to live, no spread");
    }

    #[tokio::test]
    async fn a_stale_entry_refreshed_behind_serves_every_request_and_one_reload_lands() {
        let cache: FreshCache<i64, u32> = FreshCache::new(10, Duration::from_millis(20));
        let background = Background::current();
        cache.get_refreshing_behind(1, &background, || async { Ok(1) }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let loads = Arc::new(AtomicU64::new(0));
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let counted = loads.clone();
        let first = cache.get_refreshing_behind(1, &background, move || async move {
            counted.fetch_add(1, Ordering::SeqCst);
            released.await.ok();
            Ok(2)
        });
        assert_eq!(first.await.unwrap(), 1, "the request that starts the refresh does not wait for it");
        for _ in 0..5 {
            let counted = loads.clone();
            let meanwhile = cache.get_refreshing_behind(1, &background, move || async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(99)
            });
            assert_eq!(meanwhile.await.unwrap(), 1, "served what is cached while the refresh runs");
        }
        release.send(()).unwrap();
        for _ in 0..100 {
            if cache.get(&1) == Some(2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(cache.get(&1), Some(2), "the refresh landed");
        assert_eq!(loads.load(Ordering::SeqCst), 1, "one reload for all the requests");

        // A failed refresh is tried again by the next request.
        tokio::time::sleep(Duration::from_millis(30)).await;
        cache
            .get_refreshing_behind(1, &Background::current(), || async {
                Err(crate::error::DomainError::internal("down"))
            })
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(cache.get_refreshing_behind(1, &Background::current(), || async { Ok(3) }).await.unwrap(), 2);
        for _ in 0..100 {
            if cache.get(&1) == Some(3) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(cache.get(&1), Some(3), "retried after the failure");
    }

    #[tokio::test]
    async fn a_load_that_raced_a_change_does_not_overwrite_it() {
        let cache: FreshCache<i64, u32> = FreshCache::new(10, Duration::from_secs(60));
        let stale = cache
            .get_or_load(2, || async {
                cache.invalidate(&2);
                Ok(1)
            })
            .await
            .unwrap();
        assert_eq!(stale, 1);
        assert_eq!(cache.get_or_load(2, || async { Ok(3) }).await.unwrap(), 3, "the stale load was not kept");
    }

    #[tokio::test]
    async fn loads_fill_the_cache_until_a_change() {
        let cache: FreshCache<i64, u32> = FreshCache::new(10, Duration::from_secs(60));
        assert_eq!(cache.get_or_load(1, || async { Ok(5) }).await.unwrap(), 5);
        assert_eq!(cache.get_or_load(1, || async { Ok(6) }).await.unwrap(), 5);
        cache.invalidate(&1);
        assert_eq!(cache.get_or_load(1, || async { Ok(9) }).await.unwrap(), 9);
        cache.invalidate_all();
        assert_eq!(cache.get_or_load(1, || async { Ok(10) }).await.unwrap(), 10);
    }

    #[tokio::test]
    async fn a_replacement_that_raced_a_change_is_dropped() {
        let owned: FreshCache<i64, u32> = FreshCache::new(10, Duration::from_secs(60));
        let cache = &owned;
        cache.replace(1, |v| async move { Ok(v + 1) }).await.unwrap();
        assert_eq!(cache.get(&1), None, "nothing cached, nothing derived");
        cache.get_or_load(1, || async { Ok(5) }).await.unwrap();
        cache.replace(1, |v| async move { Ok(v + 1) }).await.unwrap();
        assert_eq!(cache.get(&1), Some(6));
        cache
            .replace(1, |v| async move {
                cache.invalidate(&1);
                Ok(v + 1)
            })
            .await
            .unwrap();
        assert_eq!(cache.get(&1), None, "the change won over the replacement");
    }

    #[tokio::test]
    async fn a_stale_entry_is_refreshed_by_one_reader_while_the_others_keep_it() {
        let cache: FreshCache<i64, u32> = FreshCache::new(10, Duration::from_millis(30));
        assert_eq!(cache.get_or_load(1, || async { Ok(1) }).await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(40)).await;
        let (refresh_started, release) = (tokio::sync::Notify::new(), tokio::sync::Notify::new());
        let refresher = cache.get_or_load(1, || async {
            refresh_started.notify_one();
            release.notified().await;
            Ok(2)
        });
        let reader = async {
            refresh_started.notified().await;
            let meanwhile = cache.get_or_load(1, || async { Ok(99) }).await.unwrap();
            release.notify_one();
            meanwhile
        };
        let (refreshed, meanwhile) = tokio::join!(refresher, reader);
        assert_eq!(meanwhile, 1, "a reader during the refresh is served the stale entry, not a load of its own");
        assert_eq!(refreshed.unwrap(), 2);
        assert_eq!(cache.get_or_load(1, || async { Ok(3) }).await.unwrap(), 2, "the refresh was kept");
    }

    #[tokio::test]
    async fn a_failed_refresh_serves_the_stale_entry_and_an_old_one_is_dropped() {
        let cache: FreshCache<i64, u32> = FreshCache::new(10, Duration::from_millis(20));
        cache.get_or_load(1, || async { Ok(1) }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(25)).await;
        let failed = cache.get_or_load(1, || async { Err(crate::error::DomainError::internal("down")) }).await;
        assert_eq!(failed.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(20 * u64::from(KEPT_STALE) + 10)).await;
        assert_eq!(cache.get_or_load(1, || async { Ok(7) }).await.unwrap(), 7, "past KEPT_STALE it loads");
    }

    #[tokio::test]
    async fn concurrent_misses_load_once() {
        let cache: FreshCache<i64, u32> = FreshCache::new(10, Duration::from_secs(60));
        let loads = std::sync::atomic::AtomicU32::new(0);
        let get = || async {
            cache
                .get_or_load(1, || async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(7)
                })
                .await
                .unwrap()
        };
        let answers = futures::future::join_all((0..8).map(|_| get())).await;
        assert_eq!(answers, vec![7; 8]);
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }
}
