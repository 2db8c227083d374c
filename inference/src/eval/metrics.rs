//! Ranking metrics at a cutoff, per user and averaged.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::split::Split;
use crate::error::{InferenceError, Result};
use crate::rank::{Scorer, top_k};

/// Averages over evaluated users (coverage is over the union of their lists).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Metrics {
    /// hits / k.
    pub precision: f64,
    /// hits / |test|.
    pub recall: f64,
    /// Share of users with at least one hit.
    pub hit_rate: f64,
    /// DCG with binary gain and 1 / log2(rank + 1), over the ideal for min(|test|, k).
    pub ndcg: f64,
    /// Distinct recommended items / catalog size.
    pub coverage: f64,
}

/// One evaluated user's outcome, for per-group (fairness) reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserResult {
    /// User index.
    pub user: u32,
    /// Held-out items.
    pub n_test: usize,
    /// Held-out items found in the top k.
    pub hits: usize,
    /// hits / k.
    pub precision: f64,
    /// hits / n_test.
    pub recall: f64,
    /// Normalised DCG at k.
    pub ndcg: f64,
    /// The user's top-k item indices, best first.
    pub top: Vec<u32>,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Cutoff.
    pub k: usize,
    /// Averages.
    pub metrics: Metrics,
    /// Number of users with held-out items.
    pub evaluated_users: usize,
    /// Catalog size (the coverage denominator).
    pub n_items: usize,
    /// Per-user results, by ascending user index.
    pub users: Vec<UserResult>,
}

/// Scores every catalog item for each user with test items, removes the user's training
/// items, ranks (ties by lower item index) and measures the top `k`.
///
/// Users are processed in parallel on the current rayon pool (wrap the call in
/// `pool.install` to bound it); results do not depend on the pool.
pub fn evaluate<S: Scorer + ?Sized>(scorer: &S, split: &Split, k: usize) -> Result<EvalReport> {
    if k == 0 {
        return Err(InferenceError::invalid("k", "must be at least 1"));
    }
    let n_items = split.train.n_cols();
    if scorer.n_items() != n_items {
        return Err(InferenceError::DimensionMismatch {
            what: "scorer catalog size",
            expected: n_items,
            actual: scorer.n_items(),
        });
    }
    let discounts: Vec<f64> = (0..k).map(|r| 1.0 / ((r + 2) as f64).log2()).collect();
    let users = split.evaluated_users();
    let results: Vec<Result<UserResult>> = users
        .par_iter()
        .map_init(
            || vec![0f32; n_items],
            |scores, &u| {
                let history = split.train.row_unchecked(u as usize);
                scorer.score_into(u, history, scores)?;
                let top = top_k(scores, k, history.indices);
                let truth = split.test.row_unchecked(u as usize);
                let mut hits = 0;
                let mut dcg = 0.0;
                for (rank, &item) in top.iter().enumerate() {
                    if truth.contains(item) {
                        hits += 1;
                        dcg += discounts[rank];
                    }
                }
                let ideal: f64 = discounts[..truth.len().min(k)].iter().sum();
                Ok(UserResult {
                    user: u,
                    n_test: truth.len(),
                    hits,
                    precision: hits as f64 / k as f64,
                    recall: hits as f64 / truth.len() as f64,
                    ndcg: dcg / ideal,
                    top,
                })
            },
        )
        .collect();
    let users = results.into_iter().collect::<Result<Vec<_>>>()?;

    let mut m = Metrics::default();
    let mut recommended = vec![false; n_items];
    for r in &users {
        m.precision += r.precision;
        m.recall += r.recall;
        m.ndcg += r.ndcg;
        m.hit_rate += if r.hits > 0 { 1.0 } else { 0.0 };
        for &i in &r.top {
            recommended[i as usize] = true;
        }
    }
    let n = users.len().max(1) as f64;
    m.precision /= n;
    m.recall /= n;
    m.ndcg /= n;
    m.hit_rate /= n;
    m.coverage = if n_items == 0 { 0.0 } else { recommended.iter().filter(|&&b| b).count() as f64 / n_items as f64 };
    Ok(EvalReport { k, metrics: m, evaluated_users: users.len(), n_items, users })
}
