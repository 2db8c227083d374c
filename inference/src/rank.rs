//! Scoring interface shared by every algorithm, and top-k selection.

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
}
