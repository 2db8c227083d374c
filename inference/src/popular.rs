//! Non-personalised baselines: most popular, and trending (popularity with time decay).

use crate::error::{InferenceError, Result};
use crate::matrix::{Interactions, Row};
use crate::rank::{Scorer, top_k};

/// What popularity counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopularityBy {
    /// Number of users who interacted.
    Count,
    /// Sum of interaction weights.
    Weight,
}

/// One score per item, the same for every user.
#[derive(Debug, Clone, PartialEq)]
pub struct Popularity {
    scores: Vec<f32>,
}

impl Popularity {
    /// Most popular items of a users x items matrix.
    pub fn fit(data: &Interactions, by: PopularityBy) -> Self {
        let scores = match by {
            PopularityBy::Count => data.column_counts().into_iter().map(|c| c as f32).collect(),
            PopularityBy::Weight => data.column_sums().into_iter().map(|s| s as f32).collect(),
        };
        Self { scores }
    }

    /// Trending: each event `(item, weight, timestamp in seconds)` counts
    /// `weight * 0.5^(age / half_life)` with `age = now - timestamp` (events from the
    /// future count as new).
    pub fn trending(n_items: usize, events: &[(u32, f32, i64)], now: i64, half_life_secs: i64) -> Result<Self> {
        if half_life_secs <= 0 {
            return Err(InferenceError::invalid("half_life_secs", "must be positive"));
        }
        let mut scores = vec![0f64; n_items];
        let half_life = half_life_secs as f64;
        for &(item, w, ts) in events {
            let slot =
                scores.get_mut(item as usize).ok_or(InferenceError::ItemOutOfRange { index: item, count: n_items })?;
            if !w.is_finite() {
                return Err(InferenceError::NonFiniteWeight { user: u32::MAX, item });
            }
            let age = now.saturating_sub(ts).max(0) as f64;
            *slot += f64::from(w) * (-age / half_life * std::f64::consts::LN_2).exp();
        }
        Ok(Self { scores: scores.into_iter().map(|s| s as f32).collect() })
    }

    /// The score of every item.
    pub fn scores(&self) -> &[f32] {
        &self.scores
    }

    /// The `k` best items, leaving out `excluded` (sorted), ties by lower index.
    pub fn top(&self, k: usize, excluded: &[u32]) -> Vec<u32> {
        top_k(&self.scores, k, excluded)
    }
}

impl Scorer for Popularity {
    fn n_items(&self) -> usize {
        self.scores.len()
    }

    fn score_into(&self, _user: u32, _history: Row<'_>, out: &mut [f32]) -> Result<()> {
        out.copy_from_slice(&self.scores);
        Ok(())
    }
}
