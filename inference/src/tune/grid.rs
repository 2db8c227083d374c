//! Exhaustive ALS tuning on an inner validation split (the reference search the bench
//! compares with `implicit`'s grid; [`super::search`] is the budgeted one training uses).
//!
//! The protocol's model selection: the training data is split again with the same rule
//! and `seed + 1`; every grid setting is fitted on the inner training part and scored by
//! validation NDCG@k; the best setting is refitted on the whole training data. The test
//! split is never looked at.
//!
//! Iteration counts cost nothing extra: ALS is deterministic, so the factors after n
//! iterations of a longer run are exactly those of an n-iteration fit, and one run per
//! (factors, regularization, alpha) evaluates every iteration count of the grid.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::als::{AlsModel, AlsParams, train};
use crate::error::{InferenceError, Result};
use crate::eval::{SplitRule, evaluate, split_per_user};
use crate::linalg::dot;
use crate::matrix::{Interactions, Row};
use crate::rank::Scorer;

/// The values to try; every combination is tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneGrid {
    /// Latent dimensions.
    pub factors: Vec<usize>,
    /// L2 penalties.
    pub regularization: Vec<f32>,
    /// Confidence scales.
    pub alpha: Vec<f32>,
    /// Iteration counts (free: evaluated along one run).
    pub iterations: Vec<usize>,
}

impl Default for TuneGrid {
    /// 81 settings in 27 fits. `implicit` does not scale the penalty with the data, so
    /// regularization spans three orders of magnitude; alpha from plain counts to a
    /// strong confidence boost; factor counts from small to medium catalogs.
    fn default() -> Self {
        Self {
            factors: vec![32, 64, 128],
            regularization: vec![0.05, 5.0, 50.0],
            alpha: vec![1.0, 3.0, 10.0],
            iterations: vec![5, 10, 15],
        }
    }
}

impl TuneGrid {
    /// Number of settings.
    pub fn len(&self) -> usize {
        self.factors.len() * self.regularization.len() * self.alpha.len() * self.iterations.len()
    }

    /// Whether the grid has no setting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How to tune.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneConfig {
    /// The settings to try.
    pub grid: TuneGrid,
    /// Seed of the outer split; the inner split uses `seed + 1`, model fits use `seed`.
    pub seed: u64,
    /// Threads of each fit (and of validation scoring).
    pub threads: usize,
    /// Cutoff of the selection metric (NDCG@k).
    pub k: usize,
    /// The split rule (the protocol's by default).
    pub rule: SplitRule,
    /// Conjugate-gradient steps of every fit.
    pub cg_steps: usize,
}

impl Default for TuneConfig {
    fn default() -> Self {
        Self {
            grid: TuneGrid::default(),
            seed: 42,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            k: 10,
            rule: SplitRule::default(),
            cg_steps: 3,
        }
    }
}

/// One tried setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// The setting.
    pub params: AlsParams,
    /// NDCG@k on the inner validation split.
    pub validation_ndcg: f64,
}

/// The outcome of [`tune_als`].
#[derive(Debug, Clone)]
pub struct TuneResult {
    /// The chosen setting refitted on all of the training data.
    pub model: AlsModel,
    /// The chosen setting.
    pub best: AlsParams,
    /// Every tried setting, in grid order.
    pub trials: Vec<Trial>,
    /// Wall-clock seconds of the whole search including the refit.
    pub seconds: f64,
}

/// Searches `config.grid` on an inner validation split of `train` and refits the best
/// setting on all of `train`. `progress` gets the fraction done and may cancel.
pub fn tune_als(
    train_data: &Interactions,
    config: &TuneConfig,
    mut progress: impl FnMut(f32) -> bool,
) -> Result<TuneResult> {
    let start = Instant::now();
    let grid = &config.grid;
    if grid.is_empty() {
        return Err(InferenceError::invalid("grid", "has no setting to try"));
    }
    if grid.iterations.contains(&0) {
        return Err(InferenceError::invalid("iterations", "must be at least 1"));
    }
    let inner = split_per_user(train_data, config.seed.wrapping_add(1), config.rule)?;
    let max_iterations = grid.iterations.iter().copied().max().unwrap_or(1);
    let runs = grid.factors.len() * grid.regularization.len() * grid.alpha.len();
    // The refit counts as one more run in the progress fraction.
    let total_work = (runs * max_iterations + max_iterations) as f32;
    let mut work_done = 0f32;
    let eval_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads.max(1))
        .build()
        .map_err(|e| InferenceError::ThreadPool { threads: config.threads, reason: e.to_string() })?;

    let mut trials = Vec::with_capacity(grid.len());
    for &factors in &grid.factors {
        for &regularization in &grid.regularization {
            for &alpha in &grid.alpha {
                let base = AlsParams {
                    factors,
                    regularization,
                    alpha,
                    iterations: max_iterations,
                    cg_steps: config.cg_steps,
                    seed: config.seed,
                    threads: config.threads,
                };
                let mut found = Vec::new();
                train(&inner.train, &base, None, |done, x, y| {
                    work_done += 1.0;
                    if grid.iterations.contains(&done) {
                        let view = FactorsView { x, y, factors, n_items: inner.train.n_cols() };
                        let report = eval_pool.install(|| evaluate(&view, &inner, config.k))?;
                        found.push((done, report.metrics.ndcg));
                    }
                    Ok(progress(work_done / total_work))
                })?;
                for &iterations in &grid.iterations {
                    let ndcg = found.iter().find(|(d, _)| *d == iterations).map_or(0.0, |(_, n)| *n);
                    trials.push(Trial { params: AlsParams { iterations, ..base.clone() }, validation_ndcg: ndcg });
                }
            }
        }
    }
    // Strictly greater: on ties the earlier (cheaper, by grid order) setting stays.
    let mut best = &trials[0];
    for t in &trials[1..] {
        if t.validation_ndcg > best.validation_ndcg {
            best = t;
        }
    }
    let best = best.params.clone();
    let model = AlsModel::fit(train_data, &best, |f| progress((work_done + f * best.iterations as f32) / total_work))?;
    Ok(TuneResult { model, best, trials, seconds: start.elapsed().as_secs_f64() })
}

/// Scores straight from flat factor slices, to evaluate mid-training snapshots without
/// building a model.
pub(super) struct FactorsView<'a> {
    pub(super) x: &'a [f32],
    pub(super) y: &'a [f32],
    pub(super) factors: usize,
    pub(super) n_items: usize,
}

impl Scorer for FactorsView<'_> {
    fn n_items(&self) -> usize {
        self.n_items
    }

    fn score_into(&self, user: u32, _history: Row<'_>, out: &mut [f32]) -> Result<()> {
        let f = self.factors;
        let u = user as usize;
        let xu = self
            .x
            .get(u * f..(u + 1) * f)
            .ok_or(InferenceError::UserOutOfRange { index: user, count: self.x.len() / f.max(1) })?;
        for (o, yi) in out.iter_mut().zip(self.y.chunks_exact(f)) {
            *o = dot(yi, xu);
        }
        Ok(())
    }
}
