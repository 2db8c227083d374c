//! Scoring interface shared by every algorithm, and top-k selection.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::error::Result;
use crate::matrix::Row;

/// Something that scores every catalog item for a user.
///
/// `history` is the user's known interactions (item index, weight); factor models may
/// ignore it, neighbourhood models are built from it. Implementations must write exactly
/// `n_items()` scores into `out`.
pub trait Scorer: Sync {
    /// Catalog size.
    fn n_items(&self) -> usize;

    /// Writes one score per catalog item into `out` (`out.len() == n_items()`).
    fn score_into(&self, user: u32, history: Row<'_>, out: &mut [f32]) -> Result<()>;
}

/// Indices of the `k` highest scores, best first; equal scores rank by lower item index
/// (the protocol's tie rule), NaN ranks below everything, and `excluded` (sorted, e.g.
/// the user's training items) never appears.
pub fn top_k(scores: &[f32], k: usize, excluded: &[u32]) -> Vec<u32> {
    let mut candidates: Vec<u32> = Vec::with_capacity(scores.len());
    let mut ex = excluded.iter().peekable();
    for i in 0..scores.len() as u32 {
        while ex.peek().is_some_and(|&&e| e < i) {
            ex.next();
        }
        if ex.peek() == Some(&&i) {
            continue;
        }
        candidates.push(i);
    }
    top_k_of(scores, k, candidates)
}

/// Like [`top_k`], restricted to the given candidate indices (all `< scores.len()`).
pub fn top_k_of(scores: &[f32], k: usize, mut candidates: Vec<u32>) -> Vec<u32> {
    let key = |i: u32| {
        let s = scores[i as usize];
        if s.is_nan() { f32::NEG_INFINITY } else { s }
    };
    let order = |a: &u32, b: &u32| key(*b).total_cmp(&key(*a)).then(a.cmp(b));
    if k == 0 {
        return Vec::new();
    }
    if candidates.len() > k {
        candidates.select_nth_unstable_by(k - 1, order);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(order);
    candidates
}

/// The `k` best items that `admits` accepts, in the order of [`top_k_of`]: the same
/// answer as filtering every item first, in one pass over the scores, and `admits` is
/// asked only about items that would enter the current best `k` (a serving filter looks
/// items up by id; most of the catalog never needs it).
pub fn top_k_where(scores: &[f32], k: usize, mut admits: impl FnMut(u32) -> bool) -> Vec<u32> {
    if k == 0 {
        return Vec::new();
    }
    // A min-heap on (score, -index): its top is the worst of the best so far. Items come
    // in index order, so a later item with an equal score never displaces an earlier one.
    let mut best: BinaryHeap<Reverse<Ranked>> = BinaryHeap::with_capacity(k + 1);
    for (i, &s) in scores.iter().enumerate() {
        let candidate = Ranked { score: if s.is_nan() { f32::NEG_INFINITY } else { s }, index: i as u32 };
        if best.len() == k && best.peek().is_some_and(|worst| candidate <= worst.0) {
            continue;
        }
        if !admits(candidate.index) {
            continue;
        }
        best.push(Reverse(candidate));
        if best.len() > k {
            best.pop();
        }
    }
    let mut out: Vec<Ranked> = best.into_iter().map(|r| r.0).collect();
    out.sort_unstable_by(|a, b| b.cmp(a));
    out.into_iter().map(|r| r.index).collect()
}

/// Higher score ranks higher; on equal scores the lower index does.
#[derive(Clone, Copy, PartialEq)]
struct Ranked {
    score: f32,
    index: u32,
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.score.total_cmp(&other.score).then(other.index.cmp(&self.index))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn ties_break_by_index_and_exclusions_apply() {
        let s = [0.5, 0.9, 0.5, 0.9, f32::NAN, 0.1];
        assert_eq!(top_k(&s, 3, &[]), vec![1, 3, 0]);
        assert_eq!(top_k(&s, 3, &[1]), vec![3, 0, 2]);
        assert_eq!(top_k(&s, 10, &[0, 1, 2, 3]), vec![5, 4]);
        assert!(top_k(&s, 0, &[]).is_empty());
    }

    #[test]
    fn filtering_near_the_top_gives_the_same_answer_as_filtering_everything() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..200 {
            let n = 1 + (next() % 700) as usize;
            // Coarse scores, so ties are common; some NaN.
            let scores: Vec<f32> = (0..n)
                .map(|_| match next() % 50 {
                    0 => f32::NAN,
                    r => (r % 17) as f32,
                })
                .collect();
            let keep_one_in = 1 + next() % 9;
            let admitted: Vec<bool> = (0..n).map(|_| next() % keep_one_in == 0).collect();
            let k = 1 + (next() % 60) as usize;
            let candidates: Vec<u32> = (0..n as u32).filter(|&i| admitted[i as usize]).collect();
            let expected = top_k_of(&scores, k, candidates);
            let mut asked = 0;
            let got = top_k_where(&scores, k, |i| {
                asked += 1;
                admitted[i as usize]
            });
            assert_eq!(got, expected, "round {round}: n {n}, k {k}");
            assert!(asked <= n);
        }
        assert!(top_k_where(&[1.0, 2.0], 0, |_| true).is_empty());
    }
}
