//! Which checkpoints must exist, from the signed checkpoints that do.
//!
//! Whoever can write to the database can delete the newest checkpoints and then rewrite
//! the events after the last one left, hashes and all. What gives that away: every
//! checkpoint signs the interval it was written under (every how many events one was
//! due, and the event whose checkpoint opened the interval), every change of interval
//! opens with a checkpoint that names where the one before began, and a tenant's first
//! interval opens at event 1. So the surviving checkpoints say which others were due,
//! up to the head. Checkpoints signed before intervals were recorded say nothing; before
//! the first recorded interval the configured one is assumed.

use super::chain::Interval;

/// How many missing sequence numbers a report names; `total` counts them all.
const NAMED: usize = 20;

/// One stored checkpoint as far as completeness goes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stored {
    pub seq: i64,
    /// `None` for a checkpoint signed before intervals were recorded.
    pub interval: Option<Interval>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Gaps {
    /// Checkpoints that were due and are gone, lowest first (at most [`NAMED`]).
    pub named: Vec<i64>,
    pub total: u64,
    /// The first checkpoint signed under an interval whose opening no surviving
    /// checkpoint accounts for (checkpoints deleted, or the head's note altered).
    pub unexplained: Option<i64>,
}

impl Gaps {
    /// Where the first problem shows.
    pub fn first(&self) -> Option<i64> {
        match (self.named.first(), self.unexplained) {
            (Some(&a), Some(b)) => Some(a.min(b)),
            (a, b) => a.copied().or(b),
        }
    }

    /// What is wrong, in words, for the operator.
    pub fn detail(&self) -> Option<String> {
        let first = self.first()?;
        if self.unexplained == Some(first) {
            return Some(format!(
                "the checkpoint at event {first} was signed under a checkpoint interval that no surviving checkpoint opened: \
                 checkpoints were deleted or the head was altered"
            ));
        }
        let listed = self.named.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let more = if self.total > self.named.len() as u64 {
            format!(" and {} more", self.total - self.named.len() as u64)
        } else {
            String::new()
        };
        Some(format!(
            "{} signed checkpoint(s) that were due are missing, at events {listed}{more}: deleted, so the events after the last \
             checkpoint left before them may have been rewritten",
            self.total
        ))
    }

    fn missing(&mut self, seq: i64) {
        self.total += 1;
        if self.named.len() < NAMED {
            self.named.push(seq);
        }
    }

    /// The multiples of `every` strictly between `after` and `before`.
    fn multiples(&mut self, every: i64, after: i64, before: i64) {
        if every <= 0 || before <= after {
            return;
        }
        let first = (after / every + 1).saturating_mul(every);
        if first >= before {
            return;
        }
        let count = (before - 1) / every - after / every;
        let mut m = first;
        while m < before && self.named.len() < NAMED {
            self.named.push(m);
            m = m.saturating_add(every);
        }
        self.total += u64::try_from(count).unwrap_or(0);
    }

    fn unexplained(&mut self, seq: i64) {
        self.unexplained.get_or_insert(seq);
    }
}

/// The gaps in `checkpoints` (ordered by sequence number) for a chain whose head is at
/// `head_seq`, with `configured_every` assumed before the first recorded interval.
pub(super) fn find(checkpoints: &[Stored], head_seq: i64, configured_every: i64) -> Gaps {
    let mut gaps = Gaps::default();
    // The interval in force after the last checkpoint seen: its `every`, and where it
    // opened (`None`: before intervals were recorded).
    let mut every = configured_every;
    let mut since: Option<i64> = None;
    let mut last = 0i64;
    for c in checkpoints {
        match c.interval {
            None => gaps.multiples(every, last, c.seq),
            Some(i) if i.since == c.seq => match i.previous_since {
                // The interval before ran up to this opening.
                Some(p) if since == Some(p) => gaps.multiples(every, last, c.seq),
                None if since.is_none() => gaps.multiples(every, last, c.seq),
                Some(0) if since.is_none() && last == 0 && c.seq == 1 => {}
                // The interval before opened after the last checkpoint left: its
                // opening checkpoint (and whatever fell due under it) is gone.
                Some(p) if p > last && p < c.seq => {
                    gaps.multiples(every, last, p);
                    gaps.missing(p);
                }
                _ => gaps.unexplained(c.seq),
            },
            Some(i) => {
                if since == Some(i.since) && every == i.every {
                    gaps.multiples(every, last, c.seq);
                } else if i.since > last && i.since < c.seq {
                    gaps.multiples(every, last, i.since);
                    gaps.missing(i.since);
                    gaps.multiples(i.every, i.since, c.seq);
                } else {
                    gaps.unexplained(c.seq);
                }
            }
        }
        if let Some(i) = c.interval {
            every = i.every;
            since = Some(i.since);
        }
        last = c.seq;
    }
    gaps.multiples(every, last, head_seq.saturating_add(1));
    gaps
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn opening(seq: i64, every: i64, previous_since: Option<i64>) -> Stored {
        Stored { seq, interval: Some(Interval { every, since: seq, previous_since }) }
    }

    fn periodic(seq: i64, every: i64, since: i64) -> Stored {
        Stored { seq, interval: Some(Interval { every, since, previous_since: None }) }
    }

    fn legacy(seq: i64) -> Stored {
        Stored { seq, interval: None }
    }

    #[test]
    fn a_complete_log_has_no_gaps() {
        let cps = [opening(1, 5, Some(0)), periodic(5, 5, 1), periodic(7, 5, 1), periodic(10, 5, 1)];
        assert_eq!(find(&cps, 14, 5), Gaps::default());
    }

    #[test]
    fn deleted_newest_checkpoints_are_named() {
        let cps = [opening(1, 5, Some(0)), periodic(5, 5, 1)];
        let gaps = find(&cps, 17, 5);
        assert_eq!((gaps.named.clone(), gaps.total, gaps.first()), (vec![10, 15], 2, Some(10)));
        assert!(gaps.detail().unwrap().contains("10, 15"));
        // Every checkpoint gone: the configured interval still says what was due.
        assert_eq!(find(&[], 12, 5).named, vec![5, 10]);
    }

    #[test]
    fn a_deleted_middle_checkpoint_is_named() {
        let cps = [opening(1, 5, Some(0)), periodic(5, 5, 1), periodic(15, 5, 1)];
        assert_eq!(find(&cps, 15, 5).named, vec![10]);
    }

    #[test]
    fn interval_changes_excuse_only_what_they_signed() {
        // 5 until event 12, then 0 (on request only), then 4 from event 20.
        let cps = [
            opening(1, 5, Some(0)),
            periodic(5, 5, 1),
            periodic(10, 5, 1),
            opening(12, 0, Some(1)),
            opening(20, 4, Some(12)),
            periodic(24, 4, 20),
        ];
        assert_eq!(find(&cps, 27, 3), Gaps::default());
        // Deleting the change to 0 leaves the opening at 20 naming it.
        let cps_without = [cps[0], cps[1], cps[2], cps[4], cps[5]];
        assert_eq!(find(&cps_without, 27, 3).named, vec![12]);
        // Deleting everything from the change on: the interval of 5 was still in force.
        assert_eq!(find(&cps[..3], 27, 3).named, vec![15, 20, 25]);
    }

    #[test]
    fn a_periodic_checkpoint_whose_opening_is_gone_names_it() {
        let cps = [opening(1, 5, Some(0)), periodic(5, 5, 1), periodic(16, 4, 9)];
        assert_eq!(find(&cps, 16, 5).named, vec![9, 12]);
    }

    #[test]
    fn a_forged_interval_note_shows() {
        // The head's note was set to an interval opening at 7: the next checkpoint signed it.
        let cps = [opening(1, 5, Some(0)), periodic(5, 5, 1), periodic(10, 5, 1), periodic(15, 5, 7)];
        let gaps = find(&cps, 15, 5);
        assert_eq!(gaps.unexplained, Some(15));
        assert_eq!(gaps.first(), Some(15));
        // A claim that the tenant's first interval opened late.
        assert_eq!(find(&[opening(9, 5, Some(0))], 9, 5).unexplained, Some(9));
    }

    #[test]
    fn checkpoints_from_before_intervals_count_under_the_configured_one() {
        let cps = [legacy(5), legacy(10), opening(13, 5, None), periodic(15, 5, 13)];
        assert_eq!(find(&cps, 15, 5), Gaps::default());
        let cps = [legacy(5), opening(13, 5, None), periodic(15, 5, 13)];
        assert_eq!(find(&cps, 15, 5).named, vec![10]);
    }

    #[test]
    fn large_gaps_are_counted_not_listed() {
        let gaps = find(&[], 1_000_000, 1);
        assert_eq!((gaps.named.len(), gaps.total), (NAMED, 1_000_000));
        assert!(gaps.detail().unwrap().contains("and 999980 more"));
    }
}
