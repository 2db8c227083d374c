//! The tenant's fairness thresholds (kept in the settings document under `fairness`)
//! and the PASS/WARN verdicts they give.

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Warn,
}

impl Status {
    pub fn of(ok: bool) -> Self {
        if ok { Status::Pass } else { Status::Warn }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FairnessThresholds {
    /// User groups smaller than this are suppressed (privacy).
    pub min_group_size: u32,
    /// Largest acceptable gap between the best and worst user group (NDCG, recall).
    pub max_difference: f64,
    /// Smallest acceptable worst/best ratio between user groups, and group/overall.
    pub min_ratio: f64,
    /// Smallest acceptable exposure share / catalog share of an item group.
    pub min_exposure_ratio: f64,
    /// Largest acceptable Gini index of item exposure.
    pub max_gini: f64,
    /// Smallest acceptable share of recommended slots outside the popularity head.
    pub min_long_tail_share: f64,
    /// Smallest acceptable catalog coverage.
    pub min_coverage: f64,
    /// Largest acceptable average popularity of recommendations over the catalog's.
    pub max_popularity_lift: f64,
    /// Largest relative NDCG cost a recommended re-ranking may have (0.03 = 3%).
    pub max_ndcg_cost: f64,
}

impl Default for FairnessThresholds {
    /// The four-fifths rule for ratios; the rest are starting points a tenant tunes.
    fn default() -> Self {
        Self {
            min_group_size: 10,
            max_difference: 0.1,
            min_ratio: 0.8,
            min_exposure_ratio: 0.5,
            max_gini: 0.8,
            min_long_tail_share: 0.2,
            min_coverage: 0.2,
            max_popularity_lift: 3.0,
            max_ndcg_cost: 0.03,
        }
    }
}

/// A change to the thresholds; what is absent stays.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThresholdsUpdate {
    pub min_group_size: Option<i64>,
    pub max_difference: Option<f64>,
    pub min_ratio: Option<f64>,
    pub min_exposure_ratio: Option<f64>,
    pub max_gini: Option<f64>,
    pub min_long_tail_share: Option<f64>,
    pub min_coverage: Option<f64>,
    pub max_popularity_lift: Option<f64>,
    pub max_ndcg_cost: Option<f64>,
}

fn in_range(field: &str, v: Option<f64>, lo: f64, hi: f64) -> Result<Option<f64>> {
    match v {
        Some(x) if !x.is_finite() || x < lo || x > hi => {
            Err(DomainError::invalid(format!("fairness.{field}"), format!("use a number from {lo} to {hi}")))
        }
        other => Ok(other),
    }
}

impl FairnessThresholds {
    pub fn apply(mut self, u: &ThresholdsUpdate) -> Result<Self> {
        if let Some(n) = u.min_group_size {
            if !(1..=1_000_000).contains(&n) {
                return Err(DomainError::invalid("fairness.minGroupSize", "use 1 to 1000000"));
            }
            self.min_group_size = n as u32;
        }
        let set = |slot: &mut f64, field: &str, v: Option<f64>, hi: f64| -> Result<()> {
            if let Some(x) = in_range(field, v, 0.0, hi)? {
                *slot = x;
            }
            Ok(())
        };
        set(&mut self.max_difference, "maxDifference", u.max_difference, 1.0)?;
        set(&mut self.min_ratio, "minRatio", u.min_ratio, 1.0)?;
        set(&mut self.min_exposure_ratio, "minExposureRatio", u.min_exposure_ratio, 1.0)?;
        set(&mut self.max_gini, "maxGini", u.max_gini, 1.0)?;
        set(&mut self.min_long_tail_share, "minLongTailShare", u.min_long_tail_share, 1.0)?;
        set(&mut self.min_coverage, "minCoverage", u.min_coverage, 1.0)?;
        set(&mut self.max_popularity_lift, "maxPopularityLift", u.max_popularity_lift, 1_000_000.0)?;
        set(&mut self.max_ndcg_cost, "maxNdcgCost", u.max_ndcg_cost, 1.0)?;
        Ok(self)
    }

    /// From the settings document; unreadable values fall back to the defaults.
    pub(crate) fn from_json(v: Option<&serde_json::Value>) -> Self {
        v.and_then(|v| serde_json::from_value::<Self>(v.clone()).ok())
            .and_then(|t| t.apply(&ThresholdsUpdate::default()).ok())
            .unwrap_or_default()
    }

    pub(crate) fn to_json(self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_with_defaults_and_refuse_out_of_range() {
        let t = FairnessThresholds::from_json(Some(&serde_json::json!({ "minGroupSize": 3, "maxGini": "x" })));
        assert_eq!(t.min_group_size, 10, "a bad field makes the whole document fall back");
        let t = FairnessThresholds::from_json(Some(&serde_json::json!({ "minGroupSize": 3 })));
        assert_eq!(t.min_group_size, 3);
        assert_eq!(t.max_gini, 0.8);
        assert_eq!(t.max_ndcg_cost, 0.03, "documents from before the setting existed get its default");
        assert!(t.apply(&ThresholdsUpdate { max_ndcg_cost: Some(1.1), ..Default::default() }).is_err());
        assert!(t.apply(&ThresholdsUpdate { min_ratio: Some(1.5), ..Default::default() }).is_err());
        assert!(t.apply(&ThresholdsUpdate { min_group_size: Some(0), ..Default::default() }).is_err());
        assert_eq!(FairnessThresholds::from_json(Some(&t.to_json())), t);
    }
}
