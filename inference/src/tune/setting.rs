//! The built-in families, one setting of each, and a fitted model of any of them.

use serde::{Deserialize, Serialize};

use crate::als::{AlsModel, AlsParams};
use crate::ease::{EaseModel, EaseParams};
use crate::error::Result;
use crate::knn::ItemKnn;
use crate::matrix::{Interactions, Row};
use crate::popular::{Popularity, PopularityBy};
use crate::rank::Scorer;

/// A family of built-in algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// The non-personalised floor.
    MostPopular,
    /// Item-item cosine neighbours.
    ItemKnn,
    /// EASE^R, the closed-form linear item-item model.
    Ease,
    /// Implicit-feedback ALS.
    Als,
}

impl Family {
    /// Every family, cheapest first: the order a search visits them.
    pub const ALL: [Family; 4] = [Family::MostPopular, Family::ItemKnn, Family::Ease, Family::Als];

    /// The name used in records and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::MostPopular => "most_popular",
            Family::ItemKnn => "item_knn",
            Family::Ease => "ease",
            Family::Als => "als",
        }
    }
}

/// One setting of one family: everything that decides the fitted model besides the data,
/// the seed and the thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum Setting {
    MostPopular,
    ItemKnn {
        neighbours: usize,
    },
    Ease {
        lambda: f64,
        /// The dropout penalty in proportion to item popularity (0: plain EASE).
        #[serde(default)]
        omega: f64,
    },
    Als {
        factors: usize,
        regularization: f32,
        alpha: f32,
        iterations: usize,
    },
}

/// How fits run: the parts of a fit that are not the setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// Seed of ALS's initial factors.
    pub seed: u64,
    /// Threads of each fit.
    pub threads: usize,
    /// ALS conjugate-gradient steps per user per pass.
    pub cg_steps: usize,
    /// Bytes an EASE fit may hold (its memory grows with the square of the catalog).
    pub ease_memory_budget: usize,
}

impl Setting {
    /// The family this setting belongs to.
    pub fn family(&self) -> Family {
        match self {
            Setting::MostPopular => Family::MostPopular,
            Setting::ItemKnn { .. } => Family::ItemKnn,
            Setting::Ease { .. } => Family::Ease,
            Setting::Als { .. } => Family::Als,
        }
    }

    /// ALS's full parameters for this setting.
    pub fn als_params(&self, options: &FitOptions) -> Option<AlsParams> {
        match *self {
            Setting::Als { factors, regularization, alpha, iterations } => Some(AlsParams {
                factors,
                regularization,
                alpha,
                iterations,
                cg_steps: options.cg_steps,
                seed: options.seed,
                threads: options.threads,
            }),
            _ => None,
        }
    }

    /// Fits this setting on `data`. `progress` gets the fraction done and may cancel
    /// (ALS reports every iteration; the closed-form fits report at their end).
    pub fn fit(
        &self,
        data: &Interactions,
        options: &FitOptions,
        mut progress: impl FnMut(f32) -> bool,
    ) -> Result<Fitted> {
        let fitted = match self {
            Setting::MostPopular => Fitted::MostPopular(Popularity::fit(data, PopularityBy::Count)),
            Setting::ItemKnn { neighbours } => Fitted::ItemKnn(ItemKnn::fit(data, *neighbours, options.threads)?),
            Setting::Ease { lambda, omega } => Fitted::Ease(EaseModel::fit(
                data,
                &EaseParams { lambda: *lambda, omega: *omega, threads: options.threads },
                options.ease_memory_budget,
            )?),
            Setting::Als { .. } => {
                let params = self.als_params(options).ok_or(crate::InferenceError::invalid("setting", "not ALS"))?;
                return Ok(Fitted::Als(AlsModel::fit(data, &params, progress)?));
            }
        };
        if !progress(1.0) {
            return Err(crate::InferenceError::Cancelled);
        }
        Ok(fitted)
    }
}

/// A fitted model of any built-in family.
#[derive(Debug, Clone)]
pub enum Fitted {
    MostPopular(Popularity),
    ItemKnn(ItemKnn),
    Ease(EaseModel),
    Als(AlsModel),
}

impl Fitted {
    fn scorer(&self) -> &dyn Scorer {
        match self {
            Fitted::MostPopular(m) => m,
            Fitted::ItemKnn(m) => m,
            Fitted::Ease(m) => m,
            Fitted::Als(m) => m,
        }
    }
}

impl Scorer for Fitted {
    fn n_items(&self) -> usize {
        self.scorer().n_items()
    }

    fn score_into(&self, user: u32, history: Row<'_>, out: &mut [f32]) -> Result<()> {
        self.scorer().score_into(user, history, out)
    }
}
