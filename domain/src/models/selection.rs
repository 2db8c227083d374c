//! The record of a tuning search, kept with the model (`tuning`): which family and
//! setting won, every family's best with its validation score and fit time, and every
//! trial. The same record is the next search's warm start.

use inference::tune::{SearchResult, Setting};
use serde::{Deserialize, Serialize};

use super::types::Algorithm;

/// One setting of one family, as records show it (only the family's own fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingRecord {
    pub family: Algorithm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factors: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regularization: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omega: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbours: Option<usize>,
}

impl SettingRecord {
    fn of(family: Algorithm) -> Self {
        Self {
            family,
            factors: None,
            regularization: None,
            alpha: None,
            iterations: None,
            lambda: None,
            omega: None,
            neighbours: None,
        }
    }

    /// The setting this record names, if it is complete.
    pub fn setting(&self) -> Option<Setting> {
        match self.family {
            Algorithm::Als => Some(Setting::Als {
                factors: self.factors?,
                regularization: self.regularization?,
                alpha: self.alpha?,
                iterations: self.iterations?,
            }),
            Algorithm::Ease => Some(Setting::Ease { lambda: self.lambda?, omega: self.omega.unwrap_or(0.0) }),
            Algorithm::ItemKnn => Some(Setting::ItemKnn { neighbours: self.neighbours? }),
            Algorithm::MostPopular => Some(Setting::MostPopular),
            Algorithm::Uploaded | Algorithm::Auto => None,
        }
    }
}

impl From<&Setting> for SettingRecord {
    fn from(setting: &Setting) -> Self {
        let record = Self::of(Algorithm::from(setting.family()));
        match *setting {
            Setting::Als { factors, regularization, alpha, iterations } => Self {
                factors: Some(factors),
                regularization: Some(regularization),
                alpha: Some(alpha),
                iterations: Some(iterations),
                ..record
            },
            Setting::Ease { lambda, omega } => Self { lambda: Some(lambda), omega: Some(omega), ..record },
            Setting::ItemKnn { neighbours } => Self { neighbours: Some(neighbours), ..record },
            Setting::MostPopular => record,
        }
    }
}

/// How one family fared in a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FamilyRecord {
    pub family: Algorithm,
    pub best: Option<SettingRecord>,
    pub validation_ndcg: Option<f64>,
    /// Fit seconds of the best setting.
    pub fit_seconds: Option<f64>,
    pub settings_tried: usize,
    /// Seconds the family's search took, evaluation included.
    pub seconds: f64,
    /// Why it was not tuned (a catalog too large for EASE, the budget spent).
    pub skipped: Option<String>,
    pub stopped_by_budget: bool,
}

/// One tried setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrialRecord {
    #[serde(flatten)]
    pub setting: SettingRecord,
    pub validation_ndcg: f64,
    pub fit_seconds: f64,
}

/// The whole search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Selection {
    pub selected_by: String,
    pub chosen: SettingRecord,
    pub validation_ndcg: f64,
    pub seconds: f64,
    pub budget_seconds: Option<f64>,
    pub budget_exhausted: bool,
    pub settings_tried: usize,
    pub families: Vec<FamilyRecord>,
    pub trials: Vec<TrialRecord>,
}

impl Selection {
    /// Reads a model's stored record; records of earlier releases (ALS grids without
    /// families) give `None`.
    pub fn from_record(record: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(record.clone()).ok()
    }

    /// The best setting of each family that has one: a warm start.
    pub fn best_settings(&self) -> Vec<Setting> {
        self.families.iter().filter_map(|f| f.best.as_ref()?.setting()).collect()
    }
}

impl Selection {
    /// The record of a search; `selected_by` says how the winner was chosen.
    pub fn of_search(result: &SearchResult, selected_by: String) -> Self {
        Self {
            selected_by,
            chosen: (&result.best).into(),
            validation_ndcg: result.validation_ndcg,
            seconds: result.seconds,
            budget_seconds: result.budget_seconds,
            budget_exhausted: result.budget_exhausted,
            settings_tried: result.settings_tried(),
            families: result
                .families
                .iter()
                .map(|f| FamilyRecord {
                    family: Algorithm::from(f.family),
                    best: f.best.as_ref().map(Into::into),
                    validation_ndcg: f.validation_ndcg,
                    fit_seconds: f.fit_seconds,
                    settings_tried: f.settings_tried,
                    seconds: f.seconds,
                    skipped: f.skipped.clone(),
                    stopped_by_budget: f.stopped_by_budget,
                })
                .collect(),
            trials: result
                .trials
                .iter()
                .map(|t| TrialRecord {
                    setting: (&t.setting).into(),
                    validation_ndcg: t.validation_ndcg,
                    fit_seconds: t.fit_seconds,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_the_record() {
        let settings = [
            Setting::Als { factors: 32, regularization: 50.0, alpha: 10.0, iterations: 15 },
            Setting::Ease { lambda: 500.0, omega: 1.0 },
            Setting::ItemKnn { neighbours: 200 },
            Setting::MostPopular,
        ];
        for setting in settings {
            let record = SettingRecord::from(&setting);
            let json = serde_json::to_value(&record).unwrap();
            let back: SettingRecord = serde_json::from_value(json).unwrap();
            assert_eq!(back.setting(), Some(setting));
        }
        let partial = SettingRecord { factors: Some(8), ..SettingRecord::of(Algorithm::Als) };
        assert_eq!(partial.setting(), None, "an incomplete record starts nothing");
    }

    #[test]
    fn records_of_earlier_releases_are_not_selections() {
        let old = serde_json::json!({ "selectedBy": "…", "seconds": 1.0, "trials": [{ "factors": 32 }] });
        assert!(Selection::from_record(&old).is_none());
    }
}
