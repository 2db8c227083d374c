//! Exact decomposition of an ALS score into contributions of the user's history items
//! (Hu, Koren, Volinsky 2008, section 5; `implicit`'s `explain`).
//!
//! With `W^u = (Y^T C^u Y + reg I)^-1`, the folded-in user vector is `x_u = W^u Y^T C^u p_u`,
//! so the score of item i is `y_i^T x_u = sum_j c_uj (y_i^T W^u y_j)`: one term per
//! liked item j, and the terms add up to the score exactly.

use std::borrow::Cow;

use super::model::AlsModel;
use crate::error::Result;
use crate::explain::{Contribution, Explanation};
use crate::linalg::cholesky_solve;

/// A user's factorised weight matrix, reusable to explain many items of one list.
#[derive(Debug, Clone)]
pub struct UserExplainer<'m> {
    model: &'m AlsModel,
    /// Cholesky factor of `Y^T C^u Y + reg I`; empty when the history is empty.
    chol: Cow<'m, [f64]>,
    confidences: Vec<(u32, f64)>,
}

impl AlsModel {
    /// Factorises the user's system once; see [`UserExplainer::explain`].
    pub fn explainer(&self, history: &[(u32, f32)]) -> Result<UserExplainer<'_>> {
        Ok(match self.user_system(history)? {
            Some(system) => UserExplainer { model: self, chol: system.chol, confidences: system.confidences },
            None => UserExplainer { model: self, chol: Cow::Borrowed(&[]), confidences: Vec::new() },
        })
    }

    /// Explains `item`'s score for the user whose history is given.
    pub fn explain(&self, history: &[(u32, f32)], item: u32) -> Result<Explanation> {
        self.explainer(history)?.explain(item)
    }
}

impl UserExplainer<'_> {
    /// Decomposes the score of `item` for this user.
    pub fn explain(&self, item: u32) -> Result<Explanation> {
        let yi = self.model.item_vector(item)?;
        if self.chol.is_empty() {
            return Ok(Explanation { item, score: 0.0, contributions: Vec::new() });
        }
        let f = self.model.factors();
        let rhs: Vec<f64> = yi.iter().map(|&v| f64::from(v)).collect();
        // W^u y_i; W^u is symmetric, so this is also y_i^T W^u.
        let weighted = cholesky_solve(&self.chol, f, &rhs);
        let mut total = 0f64;
        let mut contributions = Vec::with_capacity(self.confidences.len());
        for &(j, c) in &self.confidences {
            // Disliked items (negative confidence) have preference 0: they shape W^u but
            // add nothing to the score.
            if c < 0.0 {
                continue;
            }
            let yj = self.model.item_vector(j)?;
            let s: f64 = weighted.iter().zip(yj).map(|(w, &y)| w * f64::from(y)).sum::<f64>() * c;
            total += s;
            contributions.push(Contribution { item: j, value: s as f32 });
        }
        Ok(Explanation::new(item, total as f32, contributions))
    }
}
