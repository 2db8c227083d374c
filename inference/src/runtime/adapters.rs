//! [`Scorer`] adapters over ONNX sessions, so exported and uploaded models go through
//! the same evaluation protocol as in-process models.

use ndarray::{Array2, ArrayView2};

use super::OnnxScorer;
use crate::error::{InferenceError, Result};
use crate::matrix::Row;
use crate::rank::Scorer;

/// A history model, dense (`user_history [N, I] -> scores [N, I]`) or sparse
/// (`history_items`, `history_weights` `[N, H]` -> `scores [N, I]`), scored one user at
/// a time from the history the evaluator passes in.
#[derive(Debug)]
pub struct OnnxHistoryScorer<'a> {
    scorer: &'a OnnxScorer,
    n_items: usize,
}

impl<'a> OnnxHistoryScorer<'a> {
    /// Wraps a loaded history model over a catalog of `n_items`.
    pub fn new(scorer: &'a OnnxScorer, n_items: usize) -> Self {
        Self { scorer, n_items }
    }
}

impl Scorer for OnnxHistoryScorer<'_> {
    fn n_items(&self) -> usize {
        self.n_items
    }

    fn score_into(&self, _user: u32, history: Row<'_>, out: &mut [f32]) -> Result<()> {
        if self.scorer.is_sparse() {
            let items = Array2::from_shape_fn((1, history.len()), |(_, h)| i64::from(history.indices[h]));
            let weights = Array2::from_shape_fn((1, history.len()), |(_, h)| history.values[h]);
            return copy_row(&self.scorer.score_sparse(items.view(), weights.view())?, out);
        }
        let mut input = Array2::<f32>::zeros((1, self.n_items));
        for (i, w) in history.iter() {
            let slot = input
                .get_mut((0, i as usize))
                .ok_or(InferenceError::ItemOutOfRange { index: i, count: self.n_items })?;
            *slot = w;
        }
        copy_row(&self.scorer.score(input.view())?, out)
    }
}

/// A factor model (`user_factors [N, F] -> scores [N, I]`) with the users' factor rows.
#[derive(Debug)]
pub struct OnnxFactorScorer<'a> {
    scorer: &'a OnnxScorer,
    user_factors: ArrayView2<'a, f32>,
    n_items: usize,
}

impl<'a> OnnxFactorScorer<'a> {
    /// Wraps a loaded factor model; row u of `user_factors` is user u.
    pub fn new(scorer: &'a OnnxScorer, user_factors: ArrayView2<'a, f32>, n_items: usize) -> Self {
        Self { scorer, user_factors, n_items }
    }
}

impl Scorer for OnnxFactorScorer<'_> {
    fn n_items(&self) -> usize {
        self.n_items
    }

    fn score_into(&self, user: u32, _history: Row<'_>, out: &mut [f32]) -> Result<()> {
        let u = user as usize;
        if u >= self.user_factors.nrows() {
            return Err(InferenceError::UserOutOfRange { index: user, count: self.user_factors.nrows() });
        }
        let row = self.user_factors.row(u).insert_axis(ndarray::Axis(0));
        copy_row(&self.scorer.score(row)?, out)
    }
}

fn copy_row(scores: &Array2<f32>, out: &mut [f32]) -> Result<()> {
    if scores.dim() != (1, out.len()) {
        return Err(InferenceError::DimensionMismatch {
            what: "model output columns",
            expected: out.len(),
            actual: scores.ncols(),
        });
    }
    for (o, s) in out.iter_mut().zip(scores.iter()) {
        *o = *s;
    }
    Ok(())
}
