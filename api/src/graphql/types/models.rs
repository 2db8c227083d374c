use async_graphql::{ComplexObject, Context, Enum, ID, Json, SimpleObject};
use chrono::{DateTime, Utc};
use domain::models::{
    Algorithm, DataSnapshot, FamilyRecord, Interval, Job, JobStatus, MetricComparison, Model, ModelComparison,
    ModelMetrics, ModelStatus, Pairing, Selection, SettingRecord, Strategy, TrialRecord,
};
use domain::tenants::ids::PublicId;

use super::catalog::mirror_enum;
use crate::graphql::context::{models, tenant};
use crate::graphql::error::ApiResult;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "Algorithm")]
pub enum AlgorithmGql {
    /// Training tunes every built-in family on a validation split and keeps the best; a
    /// model shows it only until the choice is made.
    Auto,
    /// Implicit-feedback ALS; tuned automatically unless parameters are pinned.
    Als,
    /// EASE^R, a closed-form linear item-item model; its penalty is tuned unless
    /// `lambda` is pinned.
    Ease,
    /// Item-item cosine neighbours.
    ItemKnn,
    MostPopular,
    /// A tenant's own ONNX model.
    Uploaded,
}

impl From<AlgorithmGql> for Algorithm {
    fn from(a: AlgorithmGql) -> Self {
        match a {
            AlgorithmGql::Auto => Algorithm::Auto,
            AlgorithmGql::Als => Algorithm::Als,
            AlgorithmGql::Ease => Algorithm::Ease,
            AlgorithmGql::ItemKnn => Algorithm::ItemKnn,
            AlgorithmGql::MostPopular => Algorithm::MostPopular,
            AlgorithmGql::Uploaded => Algorithm::Uploaded,
        }
    }
}

impl From<Algorithm> for AlgorithmGql {
    fn from(a: Algorithm) -> Self {
        match a {
            Algorithm::Auto => AlgorithmGql::Auto,
            Algorithm::Als => AlgorithmGql::Als,
            Algorithm::Ease => AlgorithmGql::Ease,
            Algorithm::ItemKnn => AlgorithmGql::ItemKnn,
            Algorithm::MostPopular => AlgorithmGql::MostPopular,
            Algorithm::Uploaded => AlgorithmGql::Uploaded,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ModelStatus")]
pub enum ModelStatusGql {
    Queued,
    Training,
    Ready,
    Failed,
    Cancelled,
    /// Replaced after an erasure; its files are deleted.
    Retired,
}

impl From<ModelStatus> for ModelStatusGql {
    fn from(s: ModelStatus) -> Self {
        match s {
            ModelStatus::Queued => ModelStatusGql::Queued,
            ModelStatus::Training => ModelStatusGql::Training,
            ModelStatus::Ready => ModelStatusGql::Ready,
            ModelStatus::Failed => ModelStatusGql::Failed,
            ModelStatus::Cancelled => ModelStatusGql::Cancelled,
            ModelStatus::Retired => ModelStatusGql::Retired,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "JobStatus")]
pub enum JobStatusGql {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl From<JobStatus> for JobStatusGql {
    fn from(s: JobStatus) -> Self {
        match s {
            JobStatus::Queued => JobStatusGql::Queued,
            JobStatus::Running => JobStatusGql::Running,
            JobStatus::Succeeded => JobStatusGql::Succeeded,
            JobStatus::Failed => JobStatusGql::Failed,
            JobStatus::Cancelled => JobStatusGql::Cancelled,
        }
    }
}

/// Which strategy produced a list.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "Strategy")]
pub enum StrategyGql {
    /// The user's trained vector.
    Personalized,
    /// A vector solved from the user's current history (newer than the model).
    FoldIn,
    /// Neighbours of the items in the user's history.
    ItemNeighbours,
    /// A linear item-item model (EASE) applied to the user's current history.
    HistoryModel,
    /// The tenant's uploaded model.
    UploadedModel,
    /// Non-personalized: unknown user, no history, no consent, or no model yet.
    PopularFallback,
    /// Similar items by the model's item representations.
    ModelSimilarity,
    /// Similar items by shared genres and tags.
    ContentBased,
}

impl From<Strategy> for StrategyGql {
    fn from(s: Strategy) -> Self {
        match s {
            Strategy::Personalized => StrategyGql::Personalized,
            Strategy::FoldIn => StrategyGql::FoldIn,
            Strategy::ItemNeighbours => StrategyGql::ItemNeighbours,
            Strategy::HistoryModel => StrategyGql::HistoryModel,
            Strategy::UploadedModel => StrategyGql::UploadedModel,
            Strategy::PopularFallback => StrategyGql::PopularFallback,
            Strategy::ModelSimilarity => StrategyGql::ModelSimilarity,
            Strategy::ContentBased => StrategyGql::ContentBased,
        }
    }
}

/// A 95 % confidence interval, by bootstrap over the evaluated users.
#[derive(SimpleObject, Clone, Copy)]
#[graphql(name = "ConfidenceInterval")]
pub struct ConfidenceIntervalGql {
    pub low: f64,
    pub high: f64,
}

impl From<Interval> for ConfidenceIntervalGql {
    fn from(i: Interval) -> Self {
        Self { low: i.low, high: i.high }
    }
}

/// Held-out quality under the evaluation protocol (per-user 80/20 split, seed 42, full
/// ranking, training items excluded).
#[derive(SimpleObject, Clone)]
#[graphql(name = "ModelMetrics")]
pub struct ModelMetricsGql {
    pub k: i32,
    pub ndcg: f64,
    /// The 95 % interval of `ndcg` (bootstrap over users); null for models trained
    /// before intervals were computed.
    pub ndcg_interval: Option<ConfidenceIntervalGql>,
    pub recall: f64,
    /// The 95 % interval of `recall`; null for models trained before intervals were
    /// computed.
    pub recall_interval: Option<ConfidenceIntervalGql>,
    pub precision: f64,
    pub hit_rate: f64,
    pub coverage: f64,
    pub evaluated_users: i32,
}

impl From<ModelMetrics> for ModelMetricsGql {
    fn from(m: ModelMetrics) -> Self {
        Self {
            k: m.k as i32,
            ndcg: m.ndcg,
            ndcg_interval: m.ndcg_interval.map(Into::into),
            recall: m.recall,
            recall_interval: m.recall_interval.map(Into::into),
            precision: m.precision,
            hit_rate: m.hit_rate,
            coverage: m.coverage,
            evaluated_users: m.evaluated_users as i32,
        }
    }
}

mirror_enum!(
    /// How two models' evaluated users were resampled.
    #[graphql(name = "ComparisonPairing")]
    ComparisonPairingGql mirrors Pairing {
        /// Both held out the same items of the same users: per-user differences.
        Paired,
        /// Different splits (the data changed between the trainings): two groups.
        Unpaired,
    }
);

/// One metric of a model (the candidate) against a baseline.
#[derive(SimpleObject, Clone)]
#[graphql(name = "MetricComparison")]
pub struct MetricComparisonGql {
    /// The model's mean over the compared users.
    pub candidate: f64,
    /// The baseline's mean over the compared users.
    pub baseline: f64,
    /// candidate - baseline.
    pub difference: f64,
    /// The difference's confidence interval.
    pub interval: ConfidenceIntervalGql,
    /// The interval excludes 0.
    pub significant: bool,
}

impl From<MetricComparison> for MetricComparisonGql {
    fn from(m: MetricComparison) -> Self {
        Self {
            candidate: m.candidate,
            baseline: m.baseline,
            difference: m.difference,
            interval: m.interval.into(),
            significant: m.significant,
        }
    }
}

/// A model against a baseline on their held-out users, by bootstrap over users.
#[derive(SimpleObject, Clone)]
#[graphql(name = "ModelComparison")]
pub struct ModelComparisonGql {
    pub baseline_id: ID,
    pub pairing: ComparisonPairingGql,
    /// Coverage of the intervals (0.95).
    pub level: f64,
    /// Users compared on the model's side (the same users as the baseline's when paired).
    pub candidate_users: i32,
    pub baseline_users: i32,
    /// The cutoff of the metrics (10).
    pub k: i32,
    pub ndcg: MetricComparisonGql,
    pub recall: MetricComparisonGql,
}

impl From<ModelComparison> for ModelComparisonGql {
    fn from(c: ModelComparison) -> Self {
        Self {
            baseline_id: c.baseline_id.as_string().into(),
            pairing: c.pairing.into(),
            level: c.level,
            candidate_users: c.candidate_users as i32,
            baseline_users: c.baseline_users as i32,
            k: c.k as i32,
            ndcg: c.ndcg.into(),
            recall: c.recall.into(),
        }
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "DataSnapshot")]
pub struct DataSnapshotGql {
    pub users: i32,
    pub items: i32,
    pub interactions: i32,
    pub first_interaction_at: Option<DateTime<Utc>>,
    pub last_interaction_at: Option<DateTime<Utc>>,
    pub taken_at: DateTime<Utc>,
}

impl From<DataSnapshot> for DataSnapshotGql {
    fn from(s: DataSnapshot) -> Self {
        Self {
            users: s.users as i32,
            items: s.items as i32,
            interactions: s.interactions as i32,
            first_interaction_at: s.first_interaction_at,
            last_interaction_at: s.last_interaction_at,
            taken_at: s.taken_at,
        }
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Model", complex)]
pub struct ModelGql {
    pub id: ID,
    pub version: i32,
    pub algorithm: AlgorithmGql,
    pub status: ModelStatusGql,
    /// 0 to 1 while training.
    pub progress: f64,
    /// The settings used (chosen by tuning or pinned).
    pub parameters: Json<serde_json::Value>,
    /// Every setting tried by automatic tuning, with its validation NDCG@10 (the raw
    /// record; `selection` has it typed).
    pub tuning: Option<Json<serde_json::Value>>,
    /// How training chose the family and setting, when it searched (null for pinned
    /// settings, uploads and models of earlier releases).
    pub selection: Option<SelectionGql>,
    pub data_snapshot: Option<DataSnapshotGql>,
    pub metrics: Option<ModelMetricsGql>,
    pub error: Option<String>,
    /// Data it was trained on has since been erased: retrain.
    pub needs_retraining: bool,
    /// Whether this is the tenant's active model.
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[ComplexObject]
impl ModelGql {
    /// This model against `baselineId`, by default the active model (null when none is
    /// deployed): NDCG@10 and Recall@10, their difference and its 95 % interval, and
    /// whether it is significant. `MODEL_NOT_READY` when either model has no evaluation
    /// (not ready, or uploaded).
    #[graphql(complexity = "crate::graphql::complexity::comparison(child_complexity)")]
    async fn comparison(&self, ctx: &Context<'_>, baseline_id: Option<ID>) -> ApiResult<Option<ModelComparisonGql>> {
        let id = PublicId::parse(&self.id)?;
        let baseline = baseline_id.map(|b| PublicId::parse(&b)).transpose()?;
        let comparison = domain::models::compare_models(tenant(ctx)?, models(ctx)?, &id, baseline.as_ref()).await?;
        Ok(comparison.map(Into::into))
    }
}

impl From<Model> for ModelGql {
    fn from(m: Model) -> Self {
        Self {
            id: m.id.as_string().into(),
            version: m.version,
            algorithm: m.algorithm.into(),
            status: m.status.into(),
            progress: m.progress,
            parameters: Json(m.parameters),
            selection: m.tuning.as_ref().and_then(Selection::from_record).map(Into::into),
            tuning: m.tuning.map(Json),
            data_snapshot: m.snapshot.map(Into::into),
            metrics: m.metrics.map(Into::into),
            error: m.error,
            needs_retraining: m.needs_retraining,
            active: m.active,
            created_by: m.created_by,
            created_at: m.created_at,
            finished_at: m.finished_at,
        }
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Job")]
pub struct JobGql {
    pub id: ID,
    pub kind: String,
    pub model_id: Option<ID>,
    pub status: JobStatusGql,
    pub progress: f64,
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<Job> for JobGql {
    fn from(j: Job) -> Self {
        Self {
            id: j.id.as_string().into(),
            kind: j.kind,
            model_id: j.model_id.map(|m| m.as_string().into()),
            status: j.status.into(),
            progress: j.progress,
            error: j.error,
            created_by: j.created_by,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
        }
    }
}

/// One setting of one family; only the family's own fields are set.
#[derive(SimpleObject, Clone)]
#[graphql(name = "TrainingSetting")]
pub struct TrainingSettingGql {
    pub family: AlgorithmGql,
    pub factors: Option<i32>,
    pub regularization: Option<f64>,
    pub alpha: Option<f64>,
    pub iterations: Option<i32>,
    /// EASE's L2 penalty.
    pub lambda: Option<f64>,
    /// EASE's dropout penalty in proportion to item popularity.
    pub omega: Option<f64>,
    pub neighbours: Option<i32>,
}

impl From<SettingRecord> for TrainingSettingGql {
    fn from(s: SettingRecord) -> Self {
        let int = |v: Option<usize>| v.map(|v| i32::try_from(v).unwrap_or(i32::MAX));
        Self {
            family: s.family.into(),
            factors: int(s.factors),
            regularization: s.regularization.map(f64::from),
            alpha: s.alpha.map(f64::from),
            iterations: int(s.iterations),
            lambda: s.lambda,
            omega: s.omega,
            neighbours: int(s.neighbours),
        }
    }
}

/// How one family fared in the search.
#[derive(SimpleObject, Clone)]
#[graphql(name = "FamilyResult")]
pub struct FamilyResultGql {
    pub family: AlgorithmGql,
    /// Its best setting (null when skipped).
    pub best: Option<TrainingSettingGql>,
    pub validation_ndcg: Option<f64>,
    /// Seconds to fit the best setting on the validation split's training part.
    pub fit_seconds: Option<f64>,
    pub settings_tried: i32,
    /// Seconds the family's search took, evaluation included.
    pub seconds: f64,
    /// Why it was not tuned (a catalog too large for EASE, the time budget spent).
    pub skipped: Option<String>,
    /// The time budget stopped its search early.
    pub stopped_by_budget: bool,
}

impl From<FamilyRecord> for FamilyResultGql {
    fn from(f: FamilyRecord) -> Self {
        Self {
            family: f.family.into(),
            best: f.best.map(Into::into),
            validation_ndcg: f.validation_ndcg,
            fit_seconds: f.fit_seconds,
            settings_tried: i32::try_from(f.settings_tried).unwrap_or(i32::MAX),
            seconds: f.seconds,
            skipped: f.skipped,
            stopped_by_budget: f.stopped_by_budget,
        }
    }
}

/// One tried setting.
#[derive(SimpleObject, Clone)]
#[graphql(name = "TuningTrial")]
pub struct TuningTrialGql {
    pub setting: TrainingSettingGql,
    pub validation_ndcg: f64,
    pub fit_seconds: f64,
}

impl From<TrialRecord> for TuningTrialGql {
    fn from(t: TrialRecord) -> Self {
        Self { setting: t.setting.into(), validation_ndcg: t.validation_ndcg, fit_seconds: t.fit_seconds }
    }
}

/// The search that chose a model's family and setting (docs/models.md, "Automatic
/// choice").
#[derive(SimpleObject, Clone)]
#[graphql(name = "ModelSelection")]
pub struct SelectionGql {
    pub selected_by: String,
    pub chosen: TrainingSettingGql,
    pub validation_ndcg: f64,
    /// Wall-clock seconds of the whole search.
    pub seconds: f64,
    pub budget_seconds: Option<f64>,
    /// Some family stopped early, or was skipped, because the budget was spent.
    pub budget_exhausted: bool,
    pub settings_tried: i32,
    pub families: Vec<FamilyResultGql>,
    pub trials: Vec<TuningTrialGql>,
}

impl From<Selection> for SelectionGql {
    fn from(s: Selection) -> Self {
        Self {
            selected_by: s.selected_by,
            chosen: s.chosen.into(),
            validation_ndcg: s.validation_ndcg,
            seconds: s.seconds,
            budget_seconds: s.budget_seconds,
            budget_exhausted: s.budget_exhausted,
            settings_tried: i32::try_from(s.settings_tried).unwrap_or(i32::MAX),
            families: s.families.into_iter().map(Into::into).collect(),
            trials: s.trials.into_iter().map(Into::into).collect(),
        }
    }
}
