//! EASE^R, the embarrassingly shallow autoencoder (Steck, WWW 2019): a linear item-item
//! model in closed form.
//!
//! With the Gram matrix `G = X^T X` of the users x items weights and `P = (G + lambda I)^-1`,
//! the weights are `B = I - P diagMat(1 / diag(P))` with a zero diagonal, and a user's
//! scores are `x_u B`. Row j of `B` is what history item j adds to every item's score, so
//! a score is a sum of one term per history item: explanations are exact, and a person's
//! current history is all serving needs (fold-in costs nothing).
//!
//! The solve runs in float64 (the Gram matrix of a catalog spans many orders of
//! magnitude); `B` is kept in float32, as served. Memory grows with the square of the
//! catalog: [`EaseModel::memory_needed`] says how much a fit takes, and a fit refuses a
//! catalog whose need exceeds the caller's budget instead of exhausting the machine.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt;
use faer::{Mat, Par};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{InferenceError, Result};
use crate::explain::{Contribution, Explanation};
use crate::matrix::{Interactions, Row};
use crate::rank::Scorer;

/// Bytes per catalog item squared that a fit holds at its peak: the Gram matrix kept
/// for other penalties (8), the factorised system (8), the inverse (8) and the solver's
/// scratch copy of the triangular inverse (8), all float64; `B` in float32 (4) replaces
/// the factor before it is built.
const PEAK_BYTES_PER_CELL: usize = 32;

/// A byte count as people read it ("51 KiB", "3.2 GiB").
pub fn readable_bytes(bytes: usize) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value >= 10.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Settings of one EASE fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EaseParams {
    /// L2 penalty added to the Gram matrix's diagonal.
    pub lambda: f64,
    /// A further penalty on each item in proportion to its own Gram entry (its
    /// popularity): `omega * G[i, i]`, the dropout penalty of Steck's DLAE/EDLAE
    /// ("Autoencoders that don't overfit towards the identity", NeurIPS 2020, with
    /// omega = p / (1 - p) for dropout rate p). 0 is plain EASE.
    #[serde(default)]
    pub omega: f64,
    /// Threads of the solve and of the Gram matrix.
    pub threads: usize,
}

/// The Gram matrix `X^T X` of a training matrix, computed once and reused for every
/// penalty a search tries.
#[derive(Debug, Clone)]
pub struct EaseGram {
    n_items: usize,
    /// Row-major, float64.
    gram: Vec<f64>,
}

impl EaseGram {
    /// Computes `X^T X` for `data` (users x items), refusing catalogs whose fit would
    /// need more than `memory_budget` bytes.
    pub fn new(data: &Interactions, threads: usize, memory_budget: usize) -> Result<Self> {
        let n = data.n_cols();
        let needed = EaseModel::memory_needed(n);
        if needed > memory_budget {
            return Err(InferenceError::CatalogTooLarge { items: n, needed, budget: memory_budget });
        }
        let pool = pool(threads)?;
        let item_users = data.transpose();
        let mut gram = vec![0f64; n * n];
        // Row i of G only depends on the users of item i, so rows fill independently.
        pool.install(|| {
            gram.par_chunks_mut(n.max(1)).enumerate().for_each(|(i, out)| {
                for (u, w_ui) in item_users.row_unchecked(i).iter() {
                    let w_ui = f64::from(w_ui);
                    for (j, w_uj) in data.row_unchecked(u as usize).iter() {
                        out[j as usize] += w_ui * f64::from(w_uj);
                    }
                }
            });
        });
        Ok(Self { n_items: n, gram })
    }

    /// Catalog size.
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// Solves for `B` with the given penalty.
    pub fn fit(&self, params: &EaseParams) -> Result<EaseModel> {
        if !(params.lambda.is_finite() && params.lambda > 0.0) {
            return Err(InferenceError::invalid("lambda", "must be finite and above 0"));
        }
        let n = self.n_items;
        let pool = pool(params.threads)?;
        let par = if params.threads > 1 { Par::rayon(params.threads) } else { Par::Seq };
        if !(params.omega.is_finite() && params.omega >= 0.0) {
            return Err(InferenceError::invalid("omega", "must be finite and at least 0"));
        }
        let (lambda, omega) = (params.lambda, params.omega);
        let inverse = pool.install(|| -> Result<Mat<f64>> {
            let mut system = Mat::<f64>::from_fn(n, n, |i, j| {
                let g = self.gram[i * n + j];
                if i == j { g * (1.0 + omega) + lambda } else { g }
            });
            let scratch = llt::factor::cholesky_in_place_scratch::<f64>(n, par, Default::default())
                .or(llt::inverse::inverse_scratch::<f64>(n, par));
            let mut buffer =
                MemBuffer::try_new(scratch).map_err(|_| InferenceError::Allocation { bytes: scratch.size_bytes() })?;
            let stack = MemStack::new(&mut buffer);
            llt::factor::cholesky_in_place(system.as_mut(), Default::default(), par, stack, Default::default())
                .map_err(|_| InferenceError::NotPositiveDefinite)?;
            let mut inverse = Mat::<f64>::zeros(n, n);
            llt::inverse::inverse(inverse.as_mut(), system.as_ref(), par, stack);
            Ok(inverse)
        })?;
        // The solver fills the lower triangle of the symmetric inverse only.
        let p = |i: usize, j: usize| if i >= j { inverse[(i, j)] } else { inverse[(j, i)] };
        let mut weights = vec![0f32; n * n];
        pool.install(|| {
            weights.par_chunks_mut(n.max(1)).enumerate().for_each(|(i, row)| {
                for (j, b) in row.iter_mut().enumerate() {
                    if i != j {
                        *b = (-p(i, j) / p(j, j)) as f32;
                    }
                }
            });
        });
        Ok(EaseModel { n_items: n, lambda, weights })
    }
}

fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    if threads == 0 {
        return Err(InferenceError::invalid("threads", "must be at least 1"));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("ease-{i}"))
        .build()
        .map_err(|e| InferenceError::ThreadPool { threads, reason: e.to_string() })
}

/// A fitted EASE model: the `[I, I]` weight matrix, row-major.
#[derive(Debug, Clone)]
pub struct EaseModel {
    n_items: usize,
    lambda: f64,
    weights: Vec<f32>,
}

impl EaseModel {
    /// Fits on `data` with one penalty (see [`EaseGram`] to try several).
    pub fn fit(data: &Interactions, params: &EaseParams, memory_budget: usize) -> Result<Self> {
        EaseGram::new(data, params.threads, memory_budget)?.fit(params)
    }

    /// Bytes a fit over `n_items` holds at its peak.
    pub fn memory_needed(n_items: usize) -> usize {
        n_items.saturating_mul(n_items).saturating_mul(PEAK_BYTES_PER_CELL)
    }

    /// Rebuilds a model from stored weights (row j: what history item j adds).
    pub fn from_weights(n_items: usize, lambda: f64, weights: Vec<f32>) -> Result<Self> {
        if weights.len() != n_items * n_items {
            return Err(InferenceError::DimensionMismatch {
                what: "EASE weights",
                expected: n_items * n_items,
                actual: weights.len(),
            });
        }
        Ok(Self { n_items, lambda, weights })
    }

    /// Catalog size.
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// The penalty the model was fitted with.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The weights, row-major `[I, I]`.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// What history item `j` adds to every item's score.
    pub fn row(&self, j: u32) -> Result<&[f32]> {
        let n = self.n_items;
        if j as usize >= n {
            return Err(InferenceError::ItemOutOfRange { index: j, count: n });
        }
        Ok(&self.weights[j as usize * n..(j as usize + 1) * n])
    }

    /// Keeps, for every item (column), only the `keep` history items that move its score
    /// most (largest |B[j, i]|), zeroing the rest: a smaller model to store and serve,
    /// at a quality cost the bench measures.
    pub fn pruned(&self, keep: usize) -> Self {
        let n = self.n_items;
        let mut weights = vec![0f32; n * n];
        let mut column: Vec<(u32, f32)> = Vec::with_capacity(n);
        for i in 0..n {
            column.clear();
            column.extend((0..n).map(|j| (j as u32, self.weights[j * n + i])).filter(|(_, w)| *w != 0.0));
            if column.len() > keep {
                column.select_nth_unstable_by(keep, |a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
                column.truncate(keep);
            }
            for &(j, w) in &column {
                weights[j as usize * n + i] = w;
            }
        }
        Self { n_items: n, lambda: self.lambda, weights }
    }

    /// Scores every item for a history of `(item, weight)`.
    pub fn score_history(&self, history: &[(u32, f32)]) -> Result<Vec<f32>> {
        let mut out = vec![0f32; self.n_items];
        for &(j, w) in history {
            self.add_row(j, w, &mut out)?;
        }
        Ok(out)
    }

    /// The exact decomposition of `item`'s score into the history items' terms.
    pub fn explain(&self, history: &[(u32, f32)], item: u32) -> Result<Explanation> {
        if item as usize >= self.n_items {
            return Err(InferenceError::ItemOutOfRange { index: item, count: self.n_items });
        }
        let mut contributions: Vec<Contribution> = Vec::with_capacity(history.len());
        for &(j, w) in history {
            let value = w * self.row(j)?[item as usize];
            match contributions.iter_mut().find(|c| c.item == j) {
                Some(c) => c.value += value,
                None => contributions.push(Contribution { item: j, value }),
            }
        }
        let score = contributions.iter().map(|c| c.value).sum();
        Ok(Explanation::new(item, score, contributions))
    }

    fn add_row(&self, j: u32, w: f32, out: &mut [f32]) -> Result<()> {
        if !w.is_finite() {
            return Err(InferenceError::NonFiniteWeight { user: u32::MAX, item: j });
        }
        for (o, b) in out.iter_mut().zip(self.row(j)?) {
            *o += w * b;
        }
        Ok(())
    }
}

impl Scorer for EaseModel {
    fn n_items(&self) -> usize {
        self.n_items
    }

    fn score_into(&self, _user: u32, history: Row<'_>, out: &mut [f32]) -> Result<()> {
        out.fill(0.0);
        for (j, w) in history.iter() {
            self.add_row(j, w, out)?;
        }
        Ok(())
    }
}
