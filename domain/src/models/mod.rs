//! Models, from events to recommendations: train (background job, automatic tuning,
//! evaluation under the protocol) -> export to ONNX -> register -> deploy (atomic
//! switch, rollback) -> serve through ONNX Runtime.

pub mod artifacts;
mod catalog_growth;
pub mod comparison;
mod content_blend;
pub(crate) mod data;
mod entity;
pub(crate) mod evaluation;
pub mod explain;
mod history_digest;
mod jobs;
pub mod queue;
pub(crate) mod privacy;
pub mod recommend;
mod rerank;
mod registry;
mod retrain;
pub mod runtime;
pub mod selection;
mod serving;
mod store;
pub mod training;
pub mod types;

pub use comparison::{MetricComparison, ModelComparison, Pairing, compare_models};
pub use explain::{ContentReason, Explanation, ItemContribution, ReasonKind, explain_list, explain_recommendation};
pub use recommend::{
    RecommendationFilter, RecommendationRequest, Recommendations, RecommendedItem, SimilarRequest, recommendations,
    similar_content,
};
pub(crate) use registry::require_reader;
pub use registry::{
    cancel_job, count_jobs, count_models, deploy_model, fail_interrupted_jobs, get_job, get_model, job_queue_depth,
    list_jobs, list_models, rollback_model, train_model, upload_model,
};
pub use retrain::retrain_after_erasures;
pub(crate) use retrain::retrain_due;
pub use runtime::{JobOwner, JobRunner, ModelServices, ModelsConfig, SandboxSettings};
pub use selection::{FamilyRecord, Selection, SettingRecord, TrialRecord};
pub use serving::Strategy;
pub(crate) use store::count_jobs_since;
pub use types::{
    Algorithm, AlsSettings, DataSnapshot, EaseSettings, Interval, Job, JobStatus, Model, ModelMetrics, ModelStatus,
    TrainDraft, TrainRequest,
};
