//! The ALS training loop: initialisation, then users and items in turn.

use super::params::AlsParams;
use super::solver::least_squares_cg;
use crate::error::{InferenceError, Result};
use crate::matrix::Interactions;
use crate::rng::SplitMix64;

/// `implicit` initialises factors uniformly in [0, 1) times this.
const INIT_SCALE: f32 = 0.01;

/// Runs ALS and returns the flat (row-major) user and item factors.
///
/// `after_iteration(done, x, y)` sees the factors after each iteration (1-based count);
/// returning `Ok(false)` cancels. Because iterations are deterministic, the factors seen
/// after iteration n are exactly those of a fit with `iterations = n` before its exact
/// user solve, which lets tuning evaluate several iteration counts from one run.
pub(crate) fn train(
    data: &Interactions,
    params: &AlsParams,
    initial: Option<(Vec<f32>, Vec<f32>)>,
    after_iteration: impl FnMut(usize, &[f32], &[f32]) -> Result<bool>,
) -> Result<(Vec<f32>, Vec<f32>)> {
    params.validate()?;
    train_on(&pool(params.threads)?, data, params, initial, after_iteration)
}

/// A fit's private pool.
pub(super) fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("als-{i}"))
        .build()
        .map_err(|e| InferenceError::ThreadPool { threads, reason: e.to_string() })
}

/// [`train`] on a pool the caller keeps for later work; `params` must be valid.
pub(super) fn train_on(
    pool: &rayon::ThreadPool,
    data: &Interactions,
    params: &AlsParams,
    initial: Option<(Vec<f32>, Vec<f32>)>,
    mut after_iteration: impl FnMut(usize, &[f32], &[f32]) -> Result<bool>,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let f = params.factors;
    let cui = if params.alpha == 1.0 { data.clone() } else { data.scaled(params.alpha) };
    let ciu = cui.transpose();

    let (mut x, mut y) = match initial {
        Some(xy) => xy,
        None => {
            let mut rng = SplitMix64::new(params.seed);
            let mut init = |n: usize| -> Vec<f32> { (0..n * f).map(|_| rng.next_f32() * INIT_SCALE).collect() };
            let x = init(data.n_rows());
            (x, init(data.n_cols()))
        }
    };

    for it in 0..params.iterations {
        pool.install(|| {
            least_squares_cg(&cui, &mut x, &y, f, params.regularization, params.cg_steps);
            least_squares_cg(&ciu, &mut y, &x, f, params.regularization, params.cg_steps);
        });
        if !after_iteration(it + 1, &x, &y)? {
            return Err(InferenceError::Cancelled);
        }
    }
    Ok((x, y))
}
