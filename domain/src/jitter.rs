//! Random shortening of lifetimes, so that things started together do not end together.
//!
//! A cache filled in the first seconds of traffic, or a set of audit windows opened
//! then, would otherwise all expire in the same second every lifetime, and the work of
//! ending them (reloads, summaries) would queue on the database at once.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Draws shares of a lifetime; clones draw from the same sequence.
#[derive(Clone, Default)]
pub(crate) struct Jitter {
    hasher: RandomState,
    draws: Arc<AtomicU64>,
}

impl Jitter {
    /// `lifetime` shortened by a random share of at most `spread` (0 to 1).
    pub(crate) fn shorten(&self, lifetime: Duration, spread: f64) -> Duration {
        // A hash of a counter under a per-process random key: uniform enough for
        // spreading deadlines, and no lock or generator state shared between threads.
        let draw = self.hasher.hash_one(self.draws.fetch_add(1, Ordering::Relaxed));
        let unit = (draw >> 11) as f64 / (1_u64 << 53) as f64;
        lifetime.mul_f64(1.0 - spread.clamp(0.0, 1.0) * unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortened_lifetimes_fall_within_the_spread_and_differ() {
        let jitter = Jitter::default();
        let lifetime = Duration::from_secs(60);
        let drawn: Vec<Duration> = (0..200).map(|_| jitter.shorten(lifetime, 0.25)).collect();
        assert!(drawn.iter().all(|d| *d <= lifetime && *d >= Duration::from_secs(45)));
        let (min, max) = (drawn.iter().min(), drawn.iter().max());
        assert!(max.zip(min).is_some_and(|(max, min)| *max - *min > Duration::from_secs(10)), "{min:?}..{max:?}");
        assert_eq!(jitter.shorten(lifetime, 0.0), lifetime);
    }
}
