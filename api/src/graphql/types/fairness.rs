//! GraphQL shapes of fairness reports and their inputs; mapped from the domain types.

use async_graphql::{ComplexObject, Enum, ID, InputObject, Json, SimpleObject};

use super::catalog::mirror_enum;
use chrono::{DateTime, Utc};
use domain::fairness::{
    AttributeFigures, Comparison, Disparity, FairnessReport, FairnessThresholds, Figures, GroupingFigures,
    ItemGroupFigures, ItemGrouping, PopularityBias, RecommendedRerank, Rerank, RerankStrategy, Status,
    ThresholdsUpdate, Tradeoff, TradeoffCurve, TradeoffPoint, UserGroupFigures,
};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "FairnessStatus")]
pub enum StatusGql {
    Pass,
    Warn,
}

impl From<Status> for StatusGql {
    fn from(s: Status) -> Self {
        match s {
            Status::Pass => StatusGql::Pass,
            Status::Warn => StatusGql::Warn,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ItemGrouping")]
pub enum ItemGroupingGql {
    Genre,
    Provider,
    Kind,
    /// Head (most popular 20% of items by training interactions), mid (next 30%), tail.
    PopularityBucket,
}

impl From<ItemGroupingGql> for ItemGrouping {
    fn from(g: ItemGroupingGql) -> Self {
        match g {
            ItemGroupingGql::Genre => ItemGrouping::Genre,
            ItemGroupingGql::Provider => ItemGrouping::Provider,
            ItemGroupingGql::Kind => ItemGrouping::Kind,
            ItemGroupingGql::PopularityBucket => ItemGrouping::PopularityBucket,
        }
    }
}

impl From<ItemGrouping> for ItemGroupingGql {
    fn from(g: ItemGrouping) -> Self {
        match g {
            ItemGrouping::Genre => ItemGroupingGql::Genre,
            ItemGrouping::Provider => ItemGroupingGql::Provider,
            ItemGrouping::Kind => ItemGroupingGql::Kind,
            ItemGrouping::PopularityBucket => ItemGroupingGql::PopularityBucket,
        }
    }
}

mirror_enum!(
    #[graphql(name = "RerankStrategy")]
    RerankStrategyGql mirrors RerankStrategy {
        /// Calibrates each list's exposure by provider towards the providers' catalog shares.
        ProviderExposure,
        /// Calibrates each list's exposure by popularity bucket towards their catalog shares.
        PopularityExposure,
        /// Maximal marginal relevance over genres and tags.
        MmrDiversity,
        /// Popularity-aware xQuAD (Abdollahpouri et al. 2019), personalized: covers the head
        /// and the long tail in proportion to the user's own history.
        PopularityXquad,
        /// Calibrated recommendations (Steck 2018) over popularity buckets: each list's mix of
        /// head, mid and tail items towards the user's own history.
        PopularityCalibration,
        /// Every user's list re-ranked together to lower the Gini of item exposure at the
        /// least loss of model score (Do and Usunier 2022): strength s asks for a Gini
        /// s·100% below the unranked lists'. Fairness reports only: a single request cannot
        /// use it, since an item's price depends on every other list.
        ExposureGini,
    }
);

/// A fairness-aware re-ranking: strength 0 keeps the model's order, 1 follows only the
/// fairness objective (default 0.5).
#[derive(InputObject)]
pub struct RerankInput {
    pub strategy: RerankStrategyGql,
    pub strength: Option<f64>,
}

impl RerankInput {
    pub fn parse(self) -> Result<Rerank, domain::DomainError> {
        Rerank::parse(self.strategy.into(), self.strength)
    }
}

#[derive(SimpleObject)]
#[graphql(name = "Rerank")]
pub struct RerankGql {
    pub strategy: RerankStrategyGql,
    pub strength: f64,
}

#[derive(InputObject)]
pub struct CreateFairnessReportInput {
    pub model_id: ID,
    /// End-user attributes: `gender`, `ageBand`, `country`, `plan`, `attributes.<key>`.
    #[graphql(default)]
    pub user_groups: Vec<String>,
    #[graphql(default)]
    pub item_groups: Vec<ItemGroupingGql>,
    /// Positions per list, 1 to 50 (default 10).
    pub k: Option<i32>,
    /// Also compute every figure after this re-ranking, side by side.
    pub rerank: Option<RerankInput>,
}

/// The tenant's fairness thresholds (see docs/fairness.md).
#[derive(SimpleObject, Clone, Copy)]
#[graphql(name = "FairnessThresholds")]
pub struct ThresholdsGql {
    pub min_group_size: i32,
    pub max_difference: f64,
    pub min_ratio: f64,
    pub min_exposure_ratio: f64,
    pub max_gini: f64,
    pub min_long_tail_share: f64,
    pub min_coverage: f64,
    pub max_popularity_lift: f64,
    /// Largest relative NDCG@k cost of the re-ranking a report recommends (0.03 = 3%).
    pub max_ndcg_cost: f64,
}

impl From<FairnessThresholds> for ThresholdsGql {
    fn from(t: FairnessThresholds) -> Self {
        Self {
            min_group_size: i32::try_from(t.min_group_size).unwrap_or(i32::MAX),
            max_difference: t.max_difference,
            min_ratio: t.min_ratio,
            min_exposure_ratio: t.min_exposure_ratio,
            max_gini: t.max_gini,
            min_long_tail_share: t.min_long_tail_share,
            min_coverage: t.min_coverage,
            max_popularity_lift: t.max_popularity_lift,
            max_ndcg_cost: t.max_ndcg_cost,
        }
    }
}

/// Thresholds to change; what is left out stays.
#[derive(InputObject, Default)]
pub struct FairnessThresholdsInput {
    pub min_group_size: Option<i32>,
    pub max_difference: Option<f64>,
    pub min_ratio: Option<f64>,
    pub min_exposure_ratio: Option<f64>,
    pub max_gini: Option<f64>,
    pub min_long_tail_share: Option<f64>,
    pub min_coverage: Option<f64>,
    pub max_popularity_lift: Option<f64>,
    pub max_ndcg_cost: Option<f64>,
}

impl From<FairnessThresholdsInput> for ThresholdsUpdate {
    fn from(i: FairnessThresholdsInput) -> Self {
        Self {
            min_group_size: i.min_group_size.map(i64::from),
            max_difference: i.max_difference,
            min_ratio: i.min_ratio,
            min_exposure_ratio: i.min_exposure_ratio,
            max_gini: i.max_gini,
            min_long_tail_share: i.min_long_tail_share,
            min_coverage: i.min_coverage,
            max_popularity_lift: i.max_popularity_lift,
            max_ndcg_cost: i.max_ndcg_cost,
        }
    }
}

/// One user group. Groups below the minimum size are suppressed: no size, no figures.
#[derive(SimpleObject)]
pub struct UserGroupQuality {
    /// Null for users without a value.
    pub group: Option<String>,
    pub suppressed: bool,
    pub size: Option<i32>,
    pub ndcg: Option<f64>,
    pub recall: Option<f64>,
    /// Group over overall, against `minRatio`.
    pub ndcg_status: Option<StatusGql>,
    pub recall_status: Option<StatusGql>,
}

impl From<UserGroupFigures> for UserGroupQuality {
    fn from(g: UserGroupFigures) -> Self {
        Self {
            group: g.group,
            suppressed: g.suppressed,
            size: g.size.map(|s| i32::try_from(s).unwrap_or(i32::MAX)),
            ndcg: g.ndcg,
            recall: g.recall,
            ndcg_status: g.ndcg_status.map(Into::into),
            recall_status: g.recall_status.map(Into::into),
        }
    }
}

/// Largest minus smallest group, and smallest over largest (Fairlearn's MetricFrame).
#[derive(SimpleObject)]
#[graphql(name = "Disparity")]
pub struct DisparityGql {
    pub difference: f64,
    pub ratio: f64,
    pub difference_status: StatusGql,
    pub ratio_status: StatusGql,
}

impl From<Disparity> for DisparityGql {
    fn from(d: Disparity) -> Self {
        Self {
            difference: d.difference,
            ratio: d.ratio,
            difference_status: d.difference_status.into(),
            ratio_status: d.ratio_status.into(),
        }
    }
}

#[derive(SimpleObject)]
pub struct AttributeQuality {
    pub attribute: String,
    pub groups: Vec<UserGroupQuality>,
    /// Null with fewer than two groups shown.
    pub ndcg: Option<DisparityGql>,
    pub recall: Option<DisparityGql>,
}

impl From<AttributeFigures> for AttributeQuality {
    fn from(a: AttributeFigures) -> Self {
        Self {
            attribute: a.attribute,
            groups: a.groups.into_iter().map(Into::into).collect(),
            ndcg: a.ndcg.map(Into::into),
            recall: a.recall.map(Into::into),
        }
    }
}

#[derive(SimpleObject)]
pub struct ItemGroupExposure {
    pub group: String,
    pub items: i32,
    /// Share of position-weighted exposure (1/log2(rank+1)) in the top k.
    pub exposure_share: f64,
    pub catalog_share: f64,
    pub interaction_share: f64,
    /// Exposure share over catalog share, against `minExposureRatio`.
    pub exposure_ratio: f64,
    pub status: StatusGql,
}

impl From<ItemGroupFigures> for ItemGroupExposure {
    fn from(g: ItemGroupFigures) -> Self {
        Self {
            group: g.group,
            items: i32::try_from(g.items).unwrap_or(i32::MAX),
            exposure_share: g.exposure_share,
            catalog_share: g.catalog_share,
            interaction_share: g.interaction_share,
            exposure_ratio: g.exposure_ratio,
            status: g.status.into(),
        }
    }
}

#[derive(SimpleObject)]
pub struct GroupingExposure {
    pub grouping: ItemGroupingGql,
    pub groups: Vec<ItemGroupExposure>,
}

impl From<GroupingFigures> for GroupingExposure {
    fn from(g: GroupingFigures) -> Self {
        Self { grouping: g.grouping.into(), groups: g.groups.into_iter().map(Into::into).collect() }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "PopularityBias")]
pub struct PopularityBiasGql {
    /// Mean training-interaction count of recommended items (per user, then averaged).
    pub average_popularity: f64,
    pub catalog_average_popularity: f64,
    pub popularity_lift: f64,
    pub popularity_lift_status: StatusGql,
    /// Share of recommended slots outside the popularity head.
    pub long_tail_share: f64,
    pub long_tail_status: StatusGql,
    /// Gini index of position-weighted item exposure over the catalog.
    pub gini: f64,
    pub gini_status: StatusGql,
    pub coverage: f64,
    pub coverage_status: StatusGql,
}

impl From<PopularityBias> for PopularityBiasGql {
    fn from(p: PopularityBias) -> Self {
        Self {
            average_popularity: p.average_popularity,
            catalog_average_popularity: p.catalog_average_popularity,
            popularity_lift: p.popularity_lift,
            popularity_lift_status: p.popularity_lift_status.into(),
            long_tail_share: p.long_tail_share,
            long_tail_status: p.long_tail_status.into(),
            gini: p.gini,
            gini_status: p.gini_status.into(),
            coverage: p.coverage,
            coverage_status: p.coverage_status.into(),
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "OverallQuality")]
pub struct OverallQualityGql {
    pub users: i32,
    pub ndcg: f64,
    pub recall: f64,
}

#[derive(SimpleObject)]
#[graphql(name = "FairnessFigures")]
pub struct FiguresGql {
    pub overall: OverallQualityGql,
    pub user_groups: Vec<AttributeQuality>,
    pub item_groups: Vec<GroupingExposure>,
    pub popularity: PopularityBiasGql,
}

impl From<Figures> for FiguresGql {
    fn from(f: Figures) -> Self {
        Self {
            overall: OverallQualityGql {
                users: i32::try_from(f.overall.users).unwrap_or(i32::MAX),
                ndcg: f.overall.ndcg,
                recall: f.overall.recall,
            },
            user_groups: f.user_groups.into_iter().map(Into::into).collect(),
            item_groups: f.item_groups.into_iter().map(Into::into).collect(),
            popularity: f.popularity.into(),
        }
    }
}

/// Re-ranked minus baseline.
#[derive(SimpleObject)]
#[graphql(name = "FairnessComparison")]
pub struct ComparisonGql {
    pub ndcg_change: f64,
    pub ndcg_relative_change: f64,
    pub recall_change: f64,
    pub gini_change: f64,
    pub long_tail_share_change: f64,
    pub coverage_change: f64,
}

impl From<Comparison> for ComparisonGql {
    fn from(c: Comparison) -> Self {
        Self {
            ndcg_change: c.ndcg_change,
            ndcg_relative_change: c.ndcg_relative_change,
            recall_change: c.recall_change,
            gini_change: c.gini_change,
            long_tail_share_change: c.long_tail_share_change,
            coverage_change: c.coverage_change,
        }
    }
}

/// One re-ranking strength's figures on the report's users and top k.
#[derive(SimpleObject)]
#[graphql(name = "TradeoffPoint")]
pub struct TradeoffPointGql {
    pub strength: f64,
    pub ndcg: f64,
    /// Gini index of position-weighted item exposure over the catalog.
    pub gini: f64,
    pub long_tail_share: f64,
    pub coverage: f64,
    /// NDCG over the unranked list's, minus 1 (−0.03: a cost of 3%).
    pub ndcg_relative_change: f64,
    /// Gini over the unranked list's, minus 1 (−0.1: 10% lower).
    pub gini_relative_change: f64,
}

impl From<TradeoffPoint> for TradeoffPointGql {
    fn from(p: TradeoffPoint) -> Self {
        Self {
            strength: p.strength,
            ndcg: p.ndcg,
            gini: p.gini,
            long_tail_share: p.long_tail_share,
            coverage: p.coverage,
            ndcg_relative_change: p.ndcg_relative_change,
            gini_relative_change: p.gini_relative_change,
        }
    }
}

/// One strategy over the strengths 0, 0.1, ..., 1 (strength 0 is the unranked list).
#[derive(SimpleObject)]
#[graphql(name = "TradeoffCurve")]
pub struct TradeoffCurveGql {
    pub strategy: RerankStrategyGql,
    pub points: Vec<TradeoffPointGql>,
}

impl From<TradeoffCurve> for TradeoffCurveGql {
    fn from(c: TradeoffCurve) -> Self {
        Self { strategy: c.strategy.into(), points: c.points.into_iter().map(Into::into).collect() }
    }
}

/// The setting a report recommends: of every strategy and strength on the curves, the
/// lowest exposure Gini whose NDCG cost is within `maxNdcgCost`, with its figures
/// relative to the unranked list.
#[derive(SimpleObject)]
#[graphql(name = "RecommendedRerank")]
pub struct RecommendedRerankGql {
    pub strategy: RerankStrategyGql,
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

impl From<RecommendedRerank> for RecommendedRerankGql {
    fn from(r: RecommendedRerank) -> Self {
        Self {
            strategy: r.strategy.into(),
            strength: r.strength,
            ndcg: r.ndcg,
            gini: r.gini,
            long_tail_share: r.long_tail_share,
            coverage: r.coverage,
            ndcg_relative_change: r.ndcg_relative_change,
            gini_relative_change: r.gini_relative_change,
            long_tail_share_change: r.long_tail_share_change,
            coverage_change: r.coverage_change,
        }
    }
}

/// NDCG@k against exposure over re-ranking strengths, for each popularity strategy.
#[derive(SimpleObject)]
#[graphql(name = "FairnessTradeoff")]
pub struct TradeoffGql {
    /// The tolerance the recommendation obeyed (the `maxNdcgCost` threshold).
    pub max_ndcg_cost: f64,
    /// The unranked lists' figures.
    pub baseline: TradeoffPointGql,
    pub curves: Vec<TradeoffCurveGql>,
    /// Null when no setting lowers the Gini within the tolerance.
    pub recommended: Option<RecommendedRerankGql>,
}

impl From<Tradeoff> for TradeoffGql {
    fn from(t: Tradeoff) -> Self {
        Self {
            max_ndcg_cost: t.max_ndcg_cost,
            baseline: t.baseline.into(),
            curves: t.curves.into_iter().map(Into::into).collect(),
            recommended: t.recommended.map(Into::into),
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "FairnessReport", complex)]
pub struct FairnessReportGql {
    pub id: ID,
    pub model_id: ID,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub k: i32,
    pub user_groups: Vec<String>,
    pub item_groups: Vec<ItemGroupingGql>,
    pub rerank: Option<RerankGql>,
    /// The thresholds as they were when the report was made.
    pub thresholds: ThresholdsGql,
    /// Evaluated users left out: no analytics consent, or erased.
    pub excluded_users: i32,
    pub baseline: FiguresGql,
    /// The same figures after the re-ranking, when one was asked for.
    pub reranked: Option<FiguresGql>,
    pub comparison: Option<ComparisonGql>,
    /// The trade-off curve and the recommended setting (null for reports made before
    /// they were added).
    pub tradeoff: Option<TradeoffGql>,
    #[graphql(skip)]
    pub source: FairnessReport,
}

#[ComplexObject]
impl FairnessReportGql {
    /// The whole report as one JSON document (export).
    async fn json(&self) -> Json<serde_json::Value> {
        Json(domain::fairness::to_json(&self.source))
    }

    /// The report as CSV, one figure per row:
    /// `variant,section,dimension,group,metric,value,status`.
    async fn csv(&self) -> String {
        domain::fairness::to_csv(&self.source)
    }
}

impl From<FairnessReport> for FairnessReportGql {
    fn from(r: FairnessReport) -> Self {
        let source = r.clone();
        Self {
            id: r.id.as_string().into(),
            model_id: r.model_id.as_string().into(),
            created_by: r.created_by,
            created_at: r.created_at,
            k: i32::try_from(r.input.k).unwrap_or(i32::MAX),
            user_groups: r.input.user_groups.iter().map(|a| a.name()).collect(),
            item_groups: r.input.item_groups.iter().map(|&g| g.into()).collect(),
            rerank: r.input.rerank.map(|x| RerankGql { strategy: x.strategy.into(), strength: x.strength }),
            thresholds: r.body.thresholds.into(),
            excluded_users: i32::try_from(r.body.excluded_users).unwrap_or(i32::MAX),
            baseline: r.body.baseline.into(),
            reranked: r.body.reranked.map(Into::into),
            comparison: r.body.comparison.map(Into::into),
            tradeoff: r.body.tradeoff.map(Into::into),
            source,
        }
    }
}
