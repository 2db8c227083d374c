//! Repeated reads of one person, coalesced.
//!
//! A client that shows a person their recommendations asks again and again, and each
//! answer is a read of personal data: recorded one by one, the audit log grew by about
//! as many bytes per answer as the answer itself. Within a window per (tenant,
//! principal, action, person), the first read is recorded at once as before; the ones
//! after it are counted, and when the window closes one more event records how many
//! there were and the time range they span (`details.coalesced`). Every read stays
//! accounted for: the first read's event plus its summary's `reads`.
//!
//! A window closes after a random share between 75% and 100% of `window` (checked at
//! least every [`SWEEP_EVERY`]), when anyone looks at the log (a flush closes them all,
//! so what a reader sees counts every read before it), or when too many are open at once
//! (the first due to close first). The random share is there because the windows of
//! every person read in the first seconds of traffic would otherwise close in the same
//! second, every window, and their summaries and the next first reads (two events per
//! person) would reach the writer at once. A crash loses the counts of the open windows,
//! as it loses the events of the writer's last few milliseconds.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tenants::TenantCtx;

use super::AuditEvent;
use crate::jitter::Jitter;

/// The longest window a configuration may ask for.
pub const MAX_WINDOW: Duration = Duration::from_secs(60);
/// How often open windows are checked for closing when no read arrives.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Windows open at once; past it the first due close early (their summary is written).
const MAX_OPEN: usize = 100_000;
/// The largest share of `window` by which one window is shortened.
const CLOSE_SPREAD: f64 = 0.25;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    tenant: i64,
    principal: String,
    action: &'static str,
    target_kind: &'static str,
    target: String,
}

struct Window {
    closes: Instant,
    /// Reads after the first: what the summary counts.
    reads: u64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// The latest counted read: the summary is recorded under its request.
    last: Option<(TenantCtx, AuditEvent)>,
}

pub(super) struct ReadCoalescer {
    window: Duration,
    open: HashMap<Key, Window>,
    /// Keys by when their windows close, first due on top (a key may appear again after
    /// reopening; stale entries are skipped by their closing time).
    due: BinaryHeap<Reverse<(Instant, Key)>>,
    jitter: Jitter,
}

impl ReadCoalescer {
    pub(super) fn new(window: Duration) -> Self {
        Self { window: window.min(MAX_WINDOW), open: HashMap::new(), due: BinaryHeap::new(), jitter: Jitter::default() }
    }

    pub(super) fn has_open(&self) -> bool {
        !self.open.is_empty()
    }

    /// Takes one read; returns the events to write now (the read itself when it opens a
    /// window, and the summary of a window it closed).
    pub(super) fn note(&mut self, ctx: TenantCtx, event: AuditEvent, now: Instant) -> Vec<(TenantCtx, AuditEvent)> {
        let Some(target) = event.target.as_ref().filter(|_| !self.window.is_zero()) else {
            return vec![(ctx, event)];
        };
        let key = Key {
            tenant: ctx.tenant_id().get(),
            principal: ctx.principal().label(),
            action: event.action,
            target_kind: target.kind,
            target: target.id.clone(),
        };
        let mut out = Vec::new();
        if let Some(window) = self.open.get_mut(&key) {
            if now < window.closes {
                let at = Utc::now();
                if window.reads == 0 {
                    window.from = at;
                }
                window.reads += 1;
                window.to = at;
                window.last = Some((ctx, event));
                return out;
            }
            if let Some(window) = self.open.remove(&key) {
                out.extend(summary(window));
            }
        }
        let at = Utc::now();
        let closes = now + self.jitter.shorten(self.window, CLOSE_SPREAD);
        self.open.insert(key.clone(), Window { closes, reads: 0, from: at, to: at, last: None });
        self.due.push(Reverse((closes, key)));
        out.push((ctx, event));
        while self.open.len() > MAX_OPEN {
            out.extend(self.close_first_due());
        }
        out
    }

    /// The summaries of windows due to close by `now`.
    pub(super) fn expired(&mut self, now: Instant) -> Vec<(TenantCtx, AuditEvent)> {
        let mut out = Vec::new();
        while let Some(Reverse((closes, _))) = self.due.peek() {
            if now < *closes {
                break;
            }
            out.extend(self.close_first_due());
        }
        out
    }

    /// Closes every window: someone is about to read the log.
    pub(super) fn close_all(&mut self) -> Vec<(TenantCtx, AuditEvent)> {
        self.due.clear();
        let mut windows: Vec<Window> = self.open.drain().map(|(_, w)| w).collect();
        windows.sort_by_key(|w| w.closes);
        windows.into_iter().filter_map(summary).collect()
    }

    fn close_first_due(&mut self) -> Option<(TenantCtx, AuditEvent)> {
        let Reverse((closes, key)) = self.due.pop()?;
        match self.open.get(&key) {
            Some(window) if window.closes == closes => self.open.remove(&key).and_then(summary),
            // The key closed and reopened since: its newer entry is further down.
            _ => None,
        }
    }
}

/// The event that counts a window's reads after the first, if there were any.
fn summary(window: Window) -> Option<(TenantCtx, AuditEvent)> {
    let (ctx, mut event) = window.last?;
    let range = serde_json::json!({
        "reads": window.reads,
        "from": window.from.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "to": window.to.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    });
    match &mut event.details {
        serde_json::Value::Object(fields) => {
            fields.insert("coalesced".to_owned(), range);
        }
        other => *other = serde_json::json!({ "coalesced": range }),
    }
    Some((ctx, event))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::audit::{Target, action};
    use tenants::ids::TenantId;
    use tenants::{RequestId, TenantCtx};

    fn read(tenant: i64, person: &str) -> (TenantCtx, AuditEvent) {
        let ctx = TenantCtx::operator(TenantId::from_db(tenant), RequestId::new());
        (ctx, AuditEvent::new(action::RECOMMENDATIONS_READ).target(Target::end_user(person)))
    }

    fn reads_of(events: &[(TenantCtx, AuditEvent)]) -> u64 {
        events.iter().map(|(_, e)| e.details.get("coalesced").map_or(1, |c| c["reads"].as_u64().unwrap())).sum()
    }

    #[test]
    fn repeated_reads_become_one_event_and_a_count_and_none_is_lost() {
        let mut c = ReadCoalescer::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let mut written = Vec::new();
        for i in 0..100u64 {
            let (ctx, event) = read(1, if i % 2 == 0 { "alice" } else { "bob" });
            written.extend(c.note(ctx, event, t0 + Duration::from_millis(i)));
        }
        // Another tenant's alice is another person.
        let (ctx, event) = read(2, "alice");
        written.extend(c.note(ctx, event, t0));
        assert_eq!(written.len(), 3, "the first read of each person is written at once");
        assert!(c.expired(t0 + Duration::from_secs(7)).is_empty(), "no window closes before 75% of it");
        written.extend(c.expired(t0 + Duration::from_secs(11)));
        assert_eq!(written.len(), 5, "one summary per person read more than once");
        assert_eq!(reads_of(&written), 101);
        let summary = &written[3].1.details["coalesced"];
        assert_eq!(summary["reads"], 49);
        assert!(summary["from"].as_str().unwrap() <= summary["to"].as_str().unwrap());
        // A read after the window opens a new one.
        let (ctx, event) = read(1, "alice");
        assert_eq!(c.note(ctx, event, t0 + Duration::from_secs(12)).len(), 1);
    }

    #[test]
    fn windows_opened_together_close_spread_over_the_last_quarter() {
        let mut c = ReadCoalescer::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let mut opened = 0;
        for person in 0..200 {
            for _ in 0..2 {
                let (ctx, event) = read(1, &format!("p{person}"));
                opened += c.note(ctx, event, t0).len();
            }
        }
        assert_eq!(opened, 200);
        let closed_by = |c: &mut ReadCoalescer, secs: u64| c.expired(t0 + Duration::from_secs(secs)).len();
        assert_eq!(closed_by(&mut c, 44), 0);
        let early = closed_by(&mut c, 50);
        let middle = closed_by(&mut c, 55);
        let late = closed_by(&mut c, 60);
        assert_eq!(early + middle + late, 200, "every window is closed by the whole window");
        assert!([early, middle, late].iter().all(|n| (20..=120).contains(n)), "{early} {middle} {late}");
    }

    #[test]
    fn closing_all_counts_what_is_open_and_a_zero_window_coalesces_nothing() {
        let mut c = ReadCoalescer::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let mut written = Vec::new();
        for _ in 0..5 {
            let (ctx, event) = read(1, "alice");
            written.extend(c.note(ctx, event, t0));
        }
        written.extend(c.close_all());
        assert_eq!((written.len(), reads_of(&written)), (2, 5));
        assert!(!c.has_open());

        let mut none = ReadCoalescer::new(Duration::ZERO);
        let (ctx, event) = read(1, "alice");
        let (ctx2, event2) = read(1, "alice");
        assert_eq!(none.note(ctx, event, t0).len() + none.note(ctx2, event2, t0).len(), 2);
    }
}
