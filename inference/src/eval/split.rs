//! Per-user random train/test split.

use crate::error::{InferenceError, Result};
use crate::matrix::Interactions;
use crate::rng::SplitMix64;

/// Which users are evaluated and how much of their history is held out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitRule {
    /// Users with fewer interactions stay entirely in train and are not evaluated.
    pub min_interactions: usize,
    /// Held-out share: round(fraction * n) items, at least one.
    pub test_fraction: f64,
}

impl Default for SplitRule {
    /// The protocol's rule: users with at least 5 interactions, 20 % held out.
    fn default() -> Self {
        Self { min_interactions: 5, test_fraction: 0.2 }
    }
}

/// Train and test matrices of the same shape, disjoint, summing to the input.
#[derive(Debug, Clone)]
pub struct Split {
    /// What models are fitted on.
    pub train: Interactions,
    /// Held-out interactions; users with an empty test row are not evaluated.
    pub test: Interactions,
}

impl Split {
    /// Users with at least one held-out interaction, ascending.
    pub fn evaluated_users(&self) -> Vec<u32> {
        self.test.rows().enumerate().filter(|(_, r)| !r.is_empty()).map(|(u, _)| u as u32).collect()
    }
}

/// Splits `data` per user with the protocol's rule. One generator, seeded with `seed`,
/// is consumed user by user in index order, so the split depends only on the seed and
/// the data.
pub fn split_per_user(data: &Interactions, seed: u64, rule: SplitRule) -> Result<Split> {
    if !(rule.test_fraction > 0.0 && rule.test_fraction < 1.0) {
        return Err(InferenceError::invalid("test_fraction", "must be strictly between 0 and 1"));
    }
    let mut rng = SplitMix64::new(seed);
    let mut train = Vec::with_capacity(data.nnz());
    let mut test = Vec::with_capacity(data.nnz() / 4);
    let mut positions: Vec<usize> = Vec::new();
    for (u, row) in data.rows().enumerate() {
        let u = u as u32;
        let n = row.len();
        if n < rule.min_interactions.max(2) {
            train.extend(row.iter().map(|(i, w)| (u, i, w)));
            continue;
        }
        // round half up, as floor(x + 0.5) in the reference script; keep one train item.
        let n_test = ((rule.test_fraction * n as f64 + 0.5).floor() as usize).clamp(1, n - 1);
        positions.clear();
        positions.extend(0..n);
        // Partial Fisher-Yates: the first n_test positions become a uniform sample.
        for i in 0..n_test {
            let j = i + rng.below(n - i);
            positions.swap(i, j);
        }
        let mut held = vec![false; n];
        for &p in &positions[..n_test] {
            held[p] = true;
        }
        for (p, (i, w)) in row.iter().enumerate() {
            if held[p] { test.push((u, i, w)) } else { train.push((u, i, w)) }
        }
    }
    Ok(Split {
        train: Interactions::from_triplets(data.n_rows(), data.n_cols(), &train)?,
        test: Interactions::from_triplets(data.n_rows(), data.n_cols(), &test)?,
    })
}
