//! Item-item neighbours by cosine similarity.
//!
//! Each item keeps its `k` most similar other items; a user's score for item i is
//! `sum_j w_uj * sim_k(j, i)` over the history items j whose neighbour list holds i, as
//! `implicit`'s `ItemItemRecommender` scores (`user_items . similarity`).

use ndarray::Array2;
use rayon::prelude::*;

use crate::error::{InferenceError, Result};
use crate::explain::{Contribution, Explanation};
use crate::matrix::{Interactions, Row};
use crate::rank::Scorer;

/// One neighbour of an item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// Neighbour item index.
    pub item: u32,
    /// Cosine similarity in (0, 1] for non-negative weights.
    pub similarity: f32,
}

/// A fitted item-item model: for every item, its top-k neighbours, best first.
#[derive(Debug, Clone)]
pub struct ItemKnn {
    n_items: usize,
    k: usize,
    /// CSR layout of neighbour lists: `offsets[i]..offsets[i + 1]` in `neighbours`.
    offsets: Vec<usize>,
    neighbours: Vec<Neighbour>,
}

impl ItemKnn {
    /// Computes cosine similarities between item columns of `data` (users x items) and
    /// keeps the `k` best per item (self excluded; ties by lower index). Runs on a private
    /// pool of `threads` threads; the result does not depend on it.
    pub fn fit(data: &Interactions, k: usize, threads: usize) -> Result<Self> {
        if k == 0 {
            return Err(InferenceError::invalid("k", "must be at least 1"));
        }
        if threads == 0 {
            return Err(InferenceError::invalid("threads", "must be at least 1"));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| InferenceError::ThreadPool { threads, reason: e.to_string() })?;
        let n_items = data.n_cols();
        let item_users = data.transpose();
        let norms: Vec<f32> = item_users.rows().map(|r| r.values.iter().map(|v| v * v).sum::<f32>().sqrt()).collect();

        let lists: Vec<Vec<Neighbour>> = pool.install(|| {
            (0..n_items)
                .into_par_iter()
                .map_init(|| vec![0f32; n_items], |acc, i| neighbours_of(i, data, &item_users, &norms, k, acc))
                .collect()
        });
        let mut offsets = Vec::with_capacity(n_items + 1);
        offsets.push(0);
        let mut neighbours = Vec::with_capacity(lists.iter().map(Vec::len).sum());
        for l in lists {
            neighbours.extend(l);
            offsets.push(neighbours.len());
        }
        Ok(Self { n_items, k, offsets, neighbours })
    }

    /// The same model keeping only the `k` best neighbours per item: exactly what a fit
    /// with `k` gives (lists are sorted best first, ties by index), without recomputing
    /// similarities, so a search over k pays for one fit.
    pub fn truncated(&self, k: usize) -> Result<Self> {
        if k == 0 {
            return Err(InferenceError::invalid("k", "must be at least 1"));
        }
        let mut offsets = Vec::with_capacity(self.n_items + 1);
        offsets.push(0);
        let mut neighbours = Vec::with_capacity(self.neighbours.len().min(self.n_items.saturating_mul(k)));
        for i in 0..self.n_items {
            let list = &self.neighbours[self.offsets[i]..self.offsets[i + 1]];
            neighbours.extend_from_slice(&list[..list.len().min(k)]);
            offsets.push(neighbours.len());
        }
        Ok(Self { n_items: self.n_items, k: k.min(self.k), offsets, neighbours })
    }

    /// Catalog size.
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// Neighbours kept per item.
    pub fn k(&self) -> usize {
        self.k
    }

    /// An item's neighbours, most similar first ("similar items").
    pub fn neighbours(&self, item: u32) -> Result<&[Neighbour]> {
        let i = self.check_item(item)?;
        Ok(&self.neighbours[self.offsets[i]..self.offsets[i + 1]])
    }

    /// Scores every item for a history of `(item, weight)`.
    pub fn score_history(&self, history: &[(u32, f32)]) -> Result<Vec<f32>> {
        let mut out = vec![0f32; self.n_items];
        for &(j, w) in history {
            self.add_votes(j, w, &mut out)?;
        }
        Ok(out)
    }

    /// Which history items voted for `item`, and how much (weight x similarity).
    pub fn explain(&self, history: &[(u32, f32)], item: u32) -> Result<Explanation> {
        self.check_item(item)?;
        let mut contributions: Vec<Contribution> = Vec::new();
        let mut total = 0f32;
        for &(j, w) in history {
            if let Some(n) = self.neighbours(j)?.iter().find(|n| n.item == item) {
                let value = w * n.similarity;
                total += value;
                match contributions.iter_mut().find(|c| c.item == j) {
                    Some(c) => c.value += value,
                    None => contributions.push(Contribution { item: j, value }),
                }
            }
        }
        Ok(Explanation::new(item, total, contributions))
    }

    /// The `[I, I]` matrix whose row j holds j's neighbour similarities (for ONNX export).
    pub fn dense_similarity(&self) -> Array2<f32> {
        let mut m = Array2::<f32>::zeros((self.n_items, self.n_items));
        for j in 0..self.n_items {
            for n in &self.neighbours[self.offsets[j]..self.offsets[j + 1]] {
                m[(j, n.item as usize)] = n.similarity;
            }
        }
        m
    }

    fn add_votes(&self, j: u32, w: f32, out: &mut [f32]) -> Result<()> {
        if !w.is_finite() {
            return Err(InferenceError::NonFiniteWeight { user: u32::MAX, item: j });
        }
        for n in self.neighbours(j)? {
            out[n.item as usize] += w * n.similarity;
        }
        Ok(())
    }

    fn check_item(&self, item: u32) -> Result<usize> {
        if item as usize >= self.n_items {
            return Err(InferenceError::ItemOutOfRange { index: item, count: self.n_items });
        }
        Ok(item as usize)
    }
}

/// Top-k cosine neighbours of item `i`; `acc` is a zeroed scratch of catalog length and
/// is left zeroed.
fn neighbours_of(
    i: usize,
    user_items: &Interactions,
    item_users: &Interactions,
    norms: &[f32],
    k: usize,
    acc: &mut [f32],
) -> Vec<Neighbour> {
    let mut touched: Vec<u32> = Vec::new();
    for (u, w_ui) in item_users.row_unchecked(i).iter() {
        for (j, w_uj) in user_items.row_unchecked(u as usize).iter() {
            if acc[j as usize] == 0.0 {
                touched.push(j);
            }
            acc[j as usize] += w_ui * w_uj;
        }
    }
    let mut list: Vec<Neighbour> = touched
        .iter()
        .filter_map(|&j| {
            let dot = std::mem::take(&mut acc[j as usize]);
            let denom = norms[i] * norms[j as usize];
            (j as usize != i && denom > 0.0 && dot != 0.0).then(|| Neighbour { item: j, similarity: dot / denom })
        })
        .collect();
    // An accumulator that passes through exactly 0.0 is pushed twice; its second visit
    // takes 0.0 and is filtered out above, so each item appears once.
    list.sort_unstable_by(|a, b| b.similarity.total_cmp(&a.similarity).then(a.item.cmp(&b.item)));
    list.truncate(k);
    list
}

impl Scorer for ItemKnn {
    fn n_items(&self) -> usize {
        self.n_items
    }

    fn score_into(&self, _user: u32, history: Row<'_>, out: &mut [f32]) -> Result<()> {
        out.fill(0.0);
        for (j, w) in history.iter() {
            self.add_votes(j, w, out)?;
        }
        Ok(())
    }
}
