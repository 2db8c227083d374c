//! Confidence intervals for metrics averaged over users: the seeded percentile bootstrap
//! (Efron and Tibshirani 1993, ch. 13), resampling users with replacement.
//!
//! Users are the unit because the protocol's metrics are means of per-user values, and
//! users are what a tenant's audience is a sample of; items within one user's list are
//! not independent. Two models evaluated on the same users with the same held-out items
//! are compared by the **paired** difference (each user's difference resampled as one
//! value), which cancels the spread between easy and hard users and so detects far
//! smaller differences than comparing two separate means. When the splits differ (the
//! data changed between trainings) the two means are resampled independently
//! (**unpaired**).
//!
//! Everything is seeded, so the same vectors always give the same interval: a stored
//! model's interval never changes when it is recomputed.

use serde::{Deserialize, Serialize};

use crate::error::{InferenceError, Result};
use crate::rng::SplitMix64;

/// How the bootstrap runs. The defaults are the service's: 2,000 resamples, a 95 %
/// interval, a fixed seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bootstrap {
    /// Number of resamples. The percentile's Monte Carlo error at 2,000 is well below
    /// the interval's width for the sample sizes the service sees.
    pub resamples: usize,
    /// Coverage, e.g. 0.95.
    pub level: f64,
    pub seed: u64,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Self { resamples: 2000, level: 0.95, seed: 0x6d71_626f_6f74 }
    }
}

/// A closed interval `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }

    /// Whether a difference with this interval is significant at its level: 0 lies
    /// outside it.
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }

    pub fn width(&self) -> f64 {
        self.high - self.low
    }
}

/// The arithmetic mean (0 for no values).
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 }
}

impl Bootstrap {
    fn check(&self) -> Result<()> {
        if self.resamples < 100 {
            return Err(InferenceError::invalid("resamples", "must be at least 100"));
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(InferenceError::invalid("level", "must be strictly between 0 and 1"));
        }
        Ok(())
    }

    /// The interval of the mean of `values` (one per user).
    pub fn mean(&self, values: &[f64]) -> Result<Interval> {
        self.check()?;
        non_empty(values, "values")?;
        let mut rng = SplitMix64::new(self.seed);
        let means: Vec<f64> = (0..self.resamples).map(|_| resampled_mean(values, &mut rng)).collect();
        Ok(self.percentiles(means))
    }

    /// The interval of `mean(a) - mean(b)` where `a[i]` and `b[i]` belong to the same
    /// user: the mean of the per-user differences, resampled.
    pub fn paired_difference(&self, a: &[f64], b: &[f64]) -> Result<Interval> {
        if a.len() != b.len() {
            return Err(InferenceError::DimensionMismatch {
                what: "paired values",
                expected: a.len(),
                actual: b.len(),
            });
        }
        let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        self.mean(&differences)
    }

    /// The interval of `mean(a) - mean(b)` for two independent groups of users (each
    /// resampled within itself, so each keeps its size).
    pub fn unpaired_difference(&self, a: &[f64], b: &[f64]) -> Result<Interval> {
        self.check()?;
        non_empty(a, "a")?;
        non_empty(b, "b")?;
        let mut rng = SplitMix64::new(self.seed);
        let differences: Vec<f64> =
            (0..self.resamples).map(|_| resampled_mean(a, &mut rng) - resampled_mean(b, &mut rng)).collect();
        Ok(self.percentiles(differences))
    }

    /// The `(1 - level) / 2` and `(1 + level) / 2` quantiles of the resampled statistics.
    fn percentiles(&self, mut statistics: Vec<f64>) -> Interval {
        statistics.sort_unstable_by(f64::total_cmp);
        let tail = (1.0 - self.level) / 2.0;
        Interval { low: quantile(&statistics, tail), high: quantile(&statistics, 1.0 - tail) }
    }
}

fn non_empty(values: &[f64], name: &'static str) -> Result<()> {
    if values.is_empty() {
        return Err(InferenceError::invalid(name, "needs at least one value"));
    }
    Ok(())
}

/// The mean of `values.len()` draws with replacement.
fn resampled_mean(values: &[f64], rng: &mut SplitMix64) -> f64 {
    let n = values.len();
    let sum: f64 = (0..n).map(|_| values[rng.below(n)]).sum();
    sum / n as f64
}

/// Linear interpolation between order statistics (Hyndman and Fan's type 7, R's and
/// NumPy's default), on sorted, non-empty values.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let below = h.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    sorted[below] + (h - below as f64) * (sorted[above] - sorted[below])
}
