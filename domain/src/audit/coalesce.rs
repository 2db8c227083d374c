//! Failed sign-ins of one account, coalesced past a threshold.
//!
//! Every failure appends to the target tenant's chain, and anyone on the internet can
//! fail to sign in: unbounded, that lets a stranger grow a tenant's log at will. Within
//! a window per account (tenant and login name as typed), the first `threshold` failures
//! are recorded one by one; after that only summaries are, at the first failure past
//! the threshold and whenever the count doubles (2, 4, 8... times the threshold), each
//! with the count so far. A window of `n` failures thus writes at most
//! `threshold + 2 + log2(n / threshold)` events, and the log understates the count by
//! less than half.
//!
//! The counts live in this process: a restart or a second replica starts its own
//! windows (each adds at most that many events).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tenants::TenantId;
use tenants::throttle::ThrottleKey;

/// What to write for one more failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureRecord {
    /// One event for this failure.
    Single,
    /// One summary event: `failures` so far in the account's current window.
    Summary { failures: u64 },
    /// Nothing: a later summary counts it.
    Counted,
}

struct Window {
    started: Instant,
    failures: u64,
}

/// Per-account failure windows, bounded in entries.
#[derive(Clone)]
pub struct FailedLoginCoalescer {
    threshold: u64,
    window: Duration,
    windows: moka::sync::Cache<(i64, ThrottleKey), Arc<Mutex<Window>>>,
}

impl std::fmt::Debug for FailedLoginCoalescer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailedLoginCoalescer")
            .field("threshold", &self.threshold)
            .field("window", &self.window)
            .finish()
    }
}

/// Accounts whose windows are tracked at once; past it the least used are forgotten
/// (their next failure is recorded singly again).
const MAX_ACCOUNTS: u64 = 100_000;

impl FailedLoginCoalescer {
    pub fn new(threshold: u32, window: Duration) -> Self {
        Self {
            threshold: u64::from(threshold.max(1)),
            window,
            windows: moka::sync::Cache::builder().max_capacity(MAX_ACCOUNTS).time_to_live(window).build(),
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    pub fn threshold(&self) -> u64 {
        self.threshold
    }

    /// Counts one failure of `account` in `tenant` and says what to record.
    pub fn note(&self, tenant: TenantId, account: &ThrottleKey) -> FailureRecord {
        self.note_at(tenant, account, Instant::now())
    }

    fn note_at(&self, tenant: TenantId, account: &ThrottleKey, now: Instant) -> FailureRecord {
        let entry = self
            .windows
            .get_with((tenant.get(), account.clone()), || Arc::new(Mutex::new(Window { started: now, failures: 0 })));
        let Ok(mut window) = entry.lock() else { return FailureRecord::Single };
        if now.saturating_duration_since(window.started) >= self.window {
            *window = Window { started: now, failures: 0 };
        }
        window.failures += 1;
        let n = window.failures;
        let t = self.threshold;
        if n <= t {
            FailureRecord::Single
        } else if n == t + 1 || (n.is_multiple_of(t) && (n / t).is_power_of_two()) {
            FailureRecord::Summary { failures: n }
        } else {
            FailureRecord::Counted
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_writes_a_logarithmic_number_of_events() {
        let c = FailedLoginCoalescer::new(5, Duration::from_secs(600));
        let tenant = TenantId::from_db(1);
        let key = ThrottleKey::account("acme", "victim@acme.example");
        let t0 = Instant::now();
        let records: Vec<FailureRecord> = (0..200).map(|_| c.note_at(tenant, &key, t0)).collect();
        let singles = records.iter().filter(|r| **r == FailureRecord::Single).count();
        let summaries: Vec<u64> = records
            .iter()
            .filter_map(|r| match r {
                FailureRecord::Summary { failures } => Some(*failures),
                _ => None,
            })
            .collect();
        assert_eq!(singles, 5);
        assert_eq!(summaries, [6, 10, 20, 40, 80, 160]);
        // Another account of the same tenant has its own window; a new window starts afresh.
        let other = ThrottleKey::account("acme", "someone@acme.example");
        assert_eq!(c.note_at(tenant, &other, t0), FailureRecord::Single);
        assert_eq!(c.note_at(tenant, &key, t0 + Duration::from_secs(601)), FailureRecord::Single);
    }
}
