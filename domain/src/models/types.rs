//! Domain types of the model registry.

use chrono::{DateTime, Utc};
pub use inference::eval::Interval;
use serde::{Deserialize, Serialize};
use tenants::ids::PublicId;

use crate::error::{DomainError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Implicit-feedback ALS (Hu, Koren, Volinsky 2008).
    Als,
    /// EASE^R, a closed-form linear item-item model (Steck 2019).
    Ease,
    /// Item-item cosine neighbours.
    ItemKnn,
    MostPopular,
    /// A tenant's own ONNX model with the published history signature.
    Uploaded,
    /// Chosen by training among the built-in families; a model shows it only until the
    /// choice is made (queued, training, or failed before choosing).
    Auto,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Als => "als",
            Algorithm::Ease => "ease",
            Algorithm::ItemKnn => "item_knn",
            Algorithm::MostPopular => "most_popular",
            Algorithm::Uploaded => "uploaded",
            Algorithm::Auto => "auto",
        }
    }
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "als" => Ok(Algorithm::Als),
            "ease" => Ok(Algorithm::Ease),
            "auto" => Ok(Algorithm::Auto),
            "item_knn" => Ok(Algorithm::ItemKnn),
            "most_popular" => Ok(Algorithm::MostPopular),
            "uploaded" => Ok(Algorithm::Uploaded),
            other => Err(DomainError::internal(format!("unknown algorithm {other:?}"))),
        }
    }
}

impl From<inference::tune::Family> for Algorithm {
    fn from(family: inference::tune::Family) -> Self {
        use inference::tune::Family;
        match family {
            Family::Als => Algorithm::Als,
            Family::Ease => Algorithm::Ease,
            Family::ItemKnn => Algorithm::ItemKnn,
            Family::MostPopular => Algorithm::MostPopular,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelStatus {
    Queued,
    Training,
    Ready,
    Failed,
    Cancelled,
    /// Replaced after an erasure (it learnt from an erased person): its files are
    /// deleted; it cannot be deployed or rolled back to.
    Retired,
}

impl ModelStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelStatus::Queued => "queued",
            ModelStatus::Training => "training",
            ModelStatus::Ready => "ready",
            ModelStatus::Failed => "failed",
            ModelStatus::Cancelled => "cancelled",
            ModelStatus::Retired => "retired",
        }
    }
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "queued" => Ok(ModelStatus::Queued),
            "training" => Ok(ModelStatus::Training),
            "ready" => Ok(ModelStatus::Ready),
            "failed" => Ok(ModelStatus::Failed),
            "cancelled" => Ok(ModelStatus::Cancelled),
            "retired" => Ok(ModelStatus::Retired),
            other => Err(DomainError::internal(format!("unknown model status {other:?}"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "queued" => Ok(JobStatus::Queued),
            "running" => Ok(JobStatus::Running),
            "succeeded" => Ok(JobStatus::Succeeded),
            "failed" => Ok(JobStatus::Failed),
            "cancelled" => Ok(JobStatus::Cancelled),
            other => Err(DomainError::internal(format!("unknown job status {other:?}"))),
        }
    }
    pub fn is_finished(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled)
    }
}

/// Held-out quality under the evaluation protocol (DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelMetrics {
    pub k: usize,
    pub ndcg: f64,
    pub recall: f64,
    pub precision: f64,
    pub hit_rate: f64,
    pub coverage: f64,
    pub evaluated_users: usize,
    /// 95 % intervals of the means, by bootstrap over users (absent for models trained
    /// before intervals were computed).
    #[serde(default)]
    pub ndcg_interval: Option<Interval>,
    #[serde(default)]
    pub recall_interval: Option<Interval>,
}

/// What data a model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSnapshot {
    pub users: usize,
    pub items: usize,
    pub interactions: usize,
    pub first_interaction_at: Option<DateTime<Utc>>,
    pub last_interaction_at: Option<DateTime<Utc>>,
    pub taken_at: DateTime<Utc>,
}

/// ALS settings a tenant pins instead of automatic tuning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlsSettings {
    pub factors: usize,
    pub regularization: f32,
    pub alpha: f32,
    pub iterations: usize,
}

impl AlsSettings {
    pub fn parse(factors: i64, regularization: f64, alpha: f64, iterations: i64) -> Result<Self> {
        if !(1..=512).contains(&factors) {
            return Err(DomainError::invalid("parameters.factors", "must be between 1 and 512"));
        }
        if !(regularization.is_finite() && (0.0..=10_000.0).contains(&regularization)) {
            return Err(DomainError::invalid("parameters.regularization", "must be between 0 and 10000"));
        }
        if !(alpha.is_finite() && alpha > 0.0 && alpha <= 10_000.0) {
            return Err(DomainError::invalid("parameters.alpha", "must be above 0 and at most 10000"));
        }
        if !(1..=100).contains(&iterations) {
            return Err(DomainError::invalid("parameters.iterations", "must be between 1 and 100"));
        }
        Ok(Self {
            factors: factors as usize,
            regularization: regularization as f32,
            alpha: alpha as f32,
            iterations: iterations as usize,
        })
    }
}

/// EASE settings a tenant pins instead of automatic tuning.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EaseSettings {
    /// The L2 penalty.
    pub lambda: f64,
    /// The dropout penalty in proportion to item popularity (0: plain EASE).
    pub omega: f64,
}

/// The largest EASE dropout penalty a request may pin (a dropout rate of 99%).
pub const MAX_OMEGA: f64 = 99.0;

/// What to train. Serialisable: a queued job keeps it, so any worker can run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TrainRequest {
    /// Tune every suitable family on an inner validation split and keep the best.
    Auto,
    /// `None`: tune automatically on an inner validation split.
    Als(Option<AlsSettings>),
    /// `None`: tuned on an inner validation split.
    Ease(Option<EaseSettings>),
    ItemKnn {
        neighbours: usize,
    },
    MostPopular,
}

/// Item-item neighbours when a request names none.
pub const DEFAULT_NEIGHBOURS: i64 = 100;
/// The most item-item neighbours a request may ask for.
pub const MAX_NEIGHBOURS: i64 = 1000;
/// The largest EASE penalty a request may pin.
pub const MAX_LAMBDA: f64 = 1e7;

/// A training request as a caller sends it (the API or the command line), before
/// validation. Settings that do not apply to the algorithm are ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainDraft {
    pub algorithm: Algorithm,
    pub factors: Option<i64>,
    pub regularization: Option<f64>,
    pub alpha: Option<f64>,
    pub iterations: Option<i64>,
    pub neighbours: Option<i64>,
    pub lambda: Option<f64>,
    pub omega: Option<f64>,
}

impl TrainDraft {
    /// Only the algorithm; every setting left to its default (ALS, EASE: tuned).
    pub fn of(algorithm: Algorithm) -> Self {
        Self {
            algorithm,
            factors: None,
            regularization: None,
            alpha: None,
            iterations: None,
            neighbours: None,
            lambda: None,
            omega: None,
        }
    }
}

impl TrainRequest {
    /// ALS is tuned unless all four of its settings are pinned; pinning only some is
    /// refused rather than silently tuned.
    pub fn parse(draft: TrainDraft) -> Result<Self> {
        match draft.algorithm {
            Algorithm::Auto => Ok(TrainRequest::Auto),
            Algorithm::Als => match (draft.factors, draft.regularization, draft.alpha, draft.iterations) {
                (None, None, None, None) => Ok(TrainRequest::Als(None)),
                (Some(f), Some(r), Some(a), Some(i)) => Ok(TrainRequest::Als(Some(AlsSettings::parse(f, r, a, i)?))),
                _ => Err(DomainError::invalid(
                    "parameters",
                    "pin all of factors, regularization, alpha and iterations, or none",
                )),
            },
            Algorithm::Ease => match (draft.lambda, draft.omega) {
                (None, None) => Ok(TrainRequest::Ease(None)),
                (None, Some(_)) => Err(DomainError::invalid("parameters", "pin lambda with omega, or neither")),
                (Some(lambda), omega) => {
                    if !(lambda.is_finite() && lambda > 0.0 && lambda <= MAX_LAMBDA) {
                        return Err(DomainError::invalid(
                            "parameters.lambda",
                            format!("must be above 0 and at most {MAX_LAMBDA}"),
                        ));
                    }
                    let omega = omega.unwrap_or(0.0);
                    if !(omega.is_finite() && (0.0..=MAX_OMEGA).contains(&omega)) {
                        return Err(DomainError::invalid(
                            "parameters.omega",
                            format!("must be between 0 and {MAX_OMEGA}"),
                        ));
                    }
                    Ok(TrainRequest::Ease(Some(EaseSettings { lambda, omega })))
                }
            },
            Algorithm::ItemKnn => {
                let neighbours = draft.neighbours.unwrap_or(DEFAULT_NEIGHBOURS);
                if !(1..=MAX_NEIGHBOURS).contains(&neighbours) {
                    return Err(DomainError::invalid(
                        "parameters.neighbours",
                        format!("must be between 1 and {MAX_NEIGHBOURS}"),
                    ));
                }
                Ok(TrainRequest::ItemKnn { neighbours: neighbours as usize })
            }
            Algorithm::MostPopular => Ok(TrainRequest::MostPopular),
            Algorithm::Uploaded => Err(DomainError::invalid("algorithm", "upload such models with uploadModel")),
        }
    }

    /// The algorithm a queued model shows (`Auto` until training chooses).
    pub fn algorithm(&self) -> Algorithm {
        match self {
            TrainRequest::Auto => Algorithm::Auto,
            TrainRequest::Als(_) => Algorithm::Als,
            TrainRequest::Ease(_) => Algorithm::Ease,
            TrainRequest::ItemKnn { .. } => Algorithm::ItemKnn,
            TrainRequest::MostPopular => Algorithm::MostPopular,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Model {
    pub id: PublicId,
    pub version: i32,
    pub algorithm: Algorithm,
    pub status: ModelStatus,
    pub progress: f64,
    pub parameters: serde_json::Value,
    pub tuning: Option<serde_json::Value>,
    pub snapshot: Option<DataSnapshot>,
    pub metrics: Option<ModelMetrics>,
    pub error: Option<String>,
    pub needs_retraining: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: PublicId,
    pub kind: String,
    pub model_id: Option<PublicId>,
    pub status: JobStatus,
    pub progress: f64,
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn als(f: Option<i64>, r: Option<f64>, a: Option<f64>, i: Option<i64>) -> TrainDraft {
        TrainDraft { factors: f, regularization: r, alpha: a, iterations: i, ..TrainDraft::of(Algorithm::Als) }
    }

    fn field(r: Result<TrainRequest>) -> Option<String> {
        r.err().and_then(|e| e.field())
    }

    #[test]
    fn als_is_tuned_unless_all_four_settings_are_pinned() {
        assert_eq!(TrainRequest::parse(TrainDraft::of(Algorithm::Als)).ok(), Some(TrainRequest::Als(None)));
        let pinned = TrainRequest::parse(als(Some(32), Some(0.1), Some(10.0), Some(15))).ok();
        assert!(matches!(pinned, Some(TrainRequest::Als(Some(s))) if s.factors == 32 && s.iterations == 15));
        assert_eq!(field(TrainRequest::parse(als(Some(32), None, None, None))), Some("parameters".into()));
        assert_eq!(field(TrainRequest::parse(als(None, Some(0.1), Some(1.0), Some(5)))), Some("parameters".into()));
        assert_eq!(
            field(TrainRequest::parse(als(Some(0), Some(0.1), Some(1.0), Some(5)))),
            Some("parameters.factors".into())
        );
    }

    #[test]
    fn neighbours_are_bounded_and_uploads_are_not_trained() {
        let knn = |n| TrainRequest::parse(TrainDraft { neighbours: n, ..TrainDraft::of(Algorithm::ItemKnn) });
        assert_eq!(knn(None).ok(), Some(TrainRequest::ItemKnn { neighbours: 100 }));
        assert_eq!(knn(Some(MAX_NEIGHBOURS)).ok(), Some(TrainRequest::ItemKnn { neighbours: 1000 }));
        assert_eq!(field(knn(Some(0))), Some("parameters.neighbours".into()));
        assert_eq!(field(knn(Some(MAX_NEIGHBOURS + 1))), Some("parameters.neighbours".into()));
        assert_eq!(field(TrainRequest::parse(TrainDraft::of(Algorithm::Uploaded))), Some("algorithm".into()));
        let ease = |l| TrainRequest::parse(TrainDraft { lambda: l, ..TrainDraft::of(Algorithm::Ease) });
        assert_eq!(ease(None).ok(), Some(TrainRequest::Ease(None)));
        assert_eq!(ease(Some(250.0)).ok(), Some(TrainRequest::Ease(Some(EaseSettings { lambda: 250.0, omega: 0.0 }))));
        let with_omega = TrainDraft { lambda: Some(300.0), omega: Some(1.0), ..TrainDraft::of(Algorithm::Ease) };
        assert_eq!(
            TrainRequest::parse(with_omega).ok(),
            Some(TrainRequest::Ease(Some(EaseSettings { lambda: 300.0, omega: 1.0 })))
        );
        let omega_alone = TrainDraft { omega: Some(1.0), ..TrainDraft::of(Algorithm::Ease) };
        assert_eq!(field(TrainRequest::parse(omega_alone)), Some("parameters".into()));
        assert_eq!(field(ease(Some(0.0))), Some("parameters.lambda".into()));
        assert_eq!(field(ease(Some(f64::NAN))), Some("parameters.lambda".into()));
        assert_eq!(TrainRequest::parse(TrainDraft::of(Algorithm::Auto)).ok(), Some(TrainRequest::Auto));
        // Settings of another algorithm are ignored, as the API documents.
        let popular = TrainDraft { factors: Some(-1), ..TrainDraft::of(Algorithm::MostPopular) };
        assert_eq!(TrainRequest::parse(popular).ok(), Some(TrainRequest::MostPopular));
    }
}
