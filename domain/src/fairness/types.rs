//! What a report is asked for and what it says. The report is stored as the JSON of
//! [`ReportBody`], so its serde names are the export format.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tenants::ids::PublicId;

use super::thresholds::{FairnessThresholds, Status};
use crate::error::{DomainError, Result};

/// An end-user attribute to group by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "key")]
pub enum UserAttribute {
    Gender,
    AgeBand,
    Country,
    Plan,
    /// A key of the user's free-form `attributes`.
    Custom(String),
}

impl UserAttribute {
    /// `gender`, `ageBand`, `country`, `plan` or `attributes.<key>`.
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        match raw {
            "gender" => Ok(Self::Gender),
            "ageBand" | "age_band" => Ok(Self::AgeBand),
            "country" => Ok(Self::Country),
            "plan" => Ok(Self::Plan),
            _ => match raw.strip_prefix("attributes.") {
                Some(key) if !key.is_empty() && key.len() <= 64 => Ok(Self::Custom(key.to_owned())),
                _ => Err(DomainError::invalid(
                    "userGroups",
                    format!("unknown attribute {raw:?}: use gender, ageBand, country, plan or attributes.<key>"),
                )),
            },
        }
    }
    pub fn name(&self) -> String {
        match self {
            Self::Gender => "gender".into(),
            Self::AgeBand => "ageBand".into(),
            Self::Country => "country".into(),
            Self::Plan => "plan".into(),
            Self::Custom(k) => format!("attributes.{k}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ItemGrouping {
    Genre,
    Provider,
    Kind,
    PopularityBucket,
}

impl ItemGrouping {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Genre => "GENRE",
            Self::Provider => "PROVIDER",
            Self::Kind => "KIND",
            Self::PopularityBucket => "POPULARITY_BUCKET",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RerankStrategy {
    /// Calibrates each list's exposure by provider towards the providers' catalog shares.
    ProviderExposure,
    /// Calibrates each list's exposure by popularity bucket towards the catalog shares.
    PopularityExposure,
    /// Maximal marginal relevance: penalizes genre/tag overlap with items above.
    MmrDiversity,
    /// Popularity-aware xQuAD (Abdollahpouri et al. 2019), personalized: covers the
    /// head and the long tail in proportion to the user's own history.
    PopularityXquad,
    /// Calibrated recommendations (Steck 2018) over popularity buckets: each list's mix
    /// of head, mid and tail items towards the user's own history.
    PopularityCalibration,
    /// Every user's list re-ranked together to lower the exposure Gini (Do and Usunier
    /// 2022): strength s asks for a Gini s·100% below the unranked lists'. Reports only.
    ExposureGini,
}

impl RerankStrategy {
    /// The strategies that act on popularity, whose trade-off a report draws.
    pub const POPULARITY: [RerankStrategy; 4] = [
        RerankStrategy::PopularityExposure,
        RerankStrategy::PopularityXquad,
        RerankStrategy::PopularityCalibration,
        RerankStrategy::ExposureGini,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProviderExposure => "PROVIDER_EXPOSURE",
            Self::PopularityExposure => "POPULARITY_EXPOSURE",
            Self::MmrDiversity => "MMR_DIVERSITY",
            Self::PopularityXquad => "POPULARITY_XQUAD",
            Self::PopularityCalibration => "POPULARITY_CALIBRATION",
            Self::ExposureGini => "EXPOSURE_GINI",
        }
    }
}

/// A fairness-aware re-ranking: `strength` 0 keeps the model's order, 1 follows the
/// fairness objective only.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rerank {
    pub strategy: RerankStrategy,
    pub strength: f64,
}

impl Rerank {
    pub fn parse(strategy: RerankStrategy, strength: Option<f64>) -> Result<Self> {
        let strength = strength.unwrap_or(0.5);
        if !strength.is_finite() || !(0.0..=1.0).contains(&strength) {
            return Err(DomainError::invalid("rerank.strength", "use a number from 0 to 1"));
        }
        Ok(Self { strategy, strength })
    }
}

/// Most positions a report looks at: evaluation keeps the top 50 candidates per user.
pub const MAX_K: usize = super::CANDIDATE_POOL;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportInput {
    pub model_id: String,
    pub user_groups: Vec<UserAttribute>,
    pub item_groups: Vec<ItemGrouping>,
    pub k: usize,
    pub rerank: Option<Rerank>,
}

impl ReportInput {
    pub fn parse(
        model_id: &str,
        user_groups: &[String],
        item_groups: Vec<ItemGrouping>,
        k: Option<i64>,
        rerank: Option<Rerank>,
    ) -> Result<(PublicId, Self)> {
        let id = PublicId::parse(model_id.trim()).map_err(|_| DomainError::invalid("modelId", "not a model id"))?;
        let k = match k {
            None => 10,
            Some(k) if (1..=MAX_K as i64).contains(&k) => k as usize,
            Some(_) => return Err(DomainError::invalid("k", format!("must be between 1 and {MAX_K}"))),
        };
        if user_groups.len() > 10 {
            return Err(DomainError::invalid("userGroups", "at most 10 attributes"));
        }
        let mut users = Vec::new();
        for raw in user_groups {
            let a = UserAttribute::parse(raw)?;
            if !users.contains(&a) {
                users.push(a);
            }
        }
        let mut items = Vec::new();
        for g in item_groups {
            if !items.contains(&g) {
                items.push(g);
            }
        }
        Ok((id, Self { model_id: id.as_string(), user_groups: users, item_groups: items, k, rerank }))
    }
}

/// One user group's quality. Suppressed groups carry no figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserGroupFigures {
    /// `null` for users without a value.
    pub group: Option<String>,
    pub suppressed: bool,
    pub size: Option<usize>,
    pub ndcg: Option<f64>,
    pub recall: Option<f64>,
    /// Group NDCG over overall NDCG, against `minRatio`.
    pub ndcg_status: Option<Status>,
    pub recall_status: Option<Status>,
}

/// MetricFrame's summary of one metric over one attribute's shown groups.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disparity {
    pub difference: f64,
    pub ratio: f64,
    pub difference_status: Status,
    pub ratio_status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeFigures {
    pub attribute: String,
    pub groups: Vec<UserGroupFigures>,
    /// `null` with fewer than two groups shown.
    pub ndcg: Option<Disparity>,
    pub recall: Option<Disparity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemGroupFigures {
    pub group: String,
    pub items: usize,
    pub exposure_share: f64,
    pub catalog_share: f64,
    pub interaction_share: f64,
    /// Exposure share over catalog share, against `minExposureRatio`.
    pub exposure_ratio: f64,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupingFigures {
    pub grouping: ItemGrouping,
    pub groups: Vec<ItemGroupFigures>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PopularityBias {
    pub average_popularity: f64,
    pub catalog_average_popularity: f64,
    pub popularity_lift: f64,
    pub popularity_lift_status: Status,
    pub long_tail_share: f64,
    pub long_tail_status: Status,
    pub gini: f64,
    pub gini_status: Status,
    pub coverage: f64,
    pub coverage_status: Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverallQuality {
    pub users: usize,
    pub ndcg: f64,
    pub recall: f64,
}

/// Every figure for one set of lists (the model's, or the re-ranked ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    pub overall: OverallQuality,
    pub user_groups: Vec<AttributeFigures>,
    pub item_groups: Vec<GroupingFigures>,
    pub popularity: PopularityBias,
}

/// What the re-ranking cost and bought: after minus before.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub ndcg_change: f64,
    pub ndcg_relative_change: f64,
    pub recall_change: f64,
    pub gini_change: f64,
    pub long_tail_share_change: f64,
    pub coverage_change: f64,
}

/// One re-ranking strength's figures, on the same lists' top k as the report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TradeoffPoint {
    pub strength: f64,
    pub ndcg: f64,
    pub gini: f64,
    pub long_tail_share: f64,
    pub coverage: f64,
    /// NDCG over the unranked list's, minus 1 (−0.03 is a cost of 3%).
    pub ndcg_relative_change: f64,
    /// Gini over the unranked list's, minus 1 (−0.1 is 10% lower).
    pub gini_relative_change: f64,
}

/// One strategy over the strength grid, strength 0 (the unranked list) first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TradeoffCurve {
    pub strategy: RerankStrategy,
    pub points: Vec<TradeoffPoint>,
}

/// The setting a report recommends: of every strategy and strength on the curves, the
/// one with the lowest exposure Gini whose NDCG cost is within `maxNdcgCost`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendedRerank {
    pub strategy: RerankStrategy,
    pub strength: f64,
    pub ndcg: f64,
    pub gini: f64,
    pub long_tail_share: f64,
    pub coverage: f64,
    pub ndcg_relative_change: f64,
    pub gini_relative_change: f64,
    /// After minus before.
    pub long_tail_share_change: f64,
    pub coverage_change: f64,
}

/// NDCG against exposure over re-ranking strengths, and the recommended setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tradeoff {
    /// The tolerance the recommendation obeyed (the `maxNdcgCost` threshold).
    pub max_ndcg_cost: f64,
    /// The unranked lists' point (strength 0).
    pub baseline: TradeoffPoint,
    pub curves: Vec<TradeoffCurve>,
    /// `null` when no setting lowers the Gini within the tolerance.
    pub recommended: Option<RecommendedRerank>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportBody {
    pub k: usize,
    pub thresholds: FairnessThresholds,
    /// Evaluated users whose analytics consent is withdrawn or who were erased: left out.
    pub excluded_users: usize,
    pub baseline: Figures,
    pub reranked: Option<Figures>,
    pub comparison: Option<Comparison>,
    /// Absent from reports made before the trade-off was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tradeoff: Option<Tradeoff>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FairnessReport {
    pub id: PublicId,
    pub model_id: PublicId,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub input: ReportInput,
    pub body: ReportBody,
}
