//! ALS hyper-parameters.

use serde::{Deserialize, Serialize};

use crate::error::{InferenceError, Result};

/// Hyper-parameters of [`crate::als::AlsModel::fit`]. Defaults are `implicit`'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlsParams {
    /// Latent dimensions.
    pub factors: usize,
    /// L2 penalty added to the diagonal of each least-squares system.
    pub regularization: f32,
    /// Confidence scale: confidence = alpha * weight.
    pub alpha: f32,
    /// Full passes (users then items).
    pub iterations: usize,
    /// Conjugate-gradient steps per user per pass.
    pub cg_steps: usize,
    /// Seed of the factor initialisation.
    pub seed: u64,
    /// Worker threads of the fit's private pool. The result does not depend on it.
    pub threads: usize,
}

impl Default for AlsParams {
    fn default() -> Self {
        Self {
            factors: 100,
            regularization: 0.01,
            alpha: 1.0,
            iterations: 15,
            cg_steps: 3,
            seed: 0,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Upper bound on factors: beyond it a user's system no longer fits the cache and the
/// model no longer makes sense for a recommender; it also bounds memory per user.
pub const MAX_FACTORS: usize = 1024;
/// Upper bound on threads, as a guard against typos.
pub const MAX_THREADS: usize = 256;

impl AlsParams {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        if self.factors == 0 || self.factors > MAX_FACTORS {
            return Err(InferenceError::invalid("factors", format!("must be in 1..={MAX_FACTORS}")));
        }
        if !self.regularization.is_finite() || self.regularization < 0.0 {
            return Err(InferenceError::invalid("regularization", "must be finite and >= 0"));
        }
        if !self.alpha.is_finite() || self.alpha <= 0.0 {
            return Err(InferenceError::invalid("alpha", "must be finite and > 0"));
        }
        if self.iterations == 0 {
            return Err(InferenceError::invalid("iterations", "must be at least 1"));
        }
        if self.cg_steps == 0 {
            return Err(InferenceError::invalid("cg_steps", "must be at least 1"));
        }
        if self.threads == 0 || self.threads > MAX_THREADS {
            return Err(InferenceError::invalid("threads", format!("must be in 1..={MAX_THREADS}")));
        }
        Ok(())
    }
}
