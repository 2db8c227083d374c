//! Fairness, measured and acted on (docs/fairness.md): quality by user group
//! (Fairlearn's MetricFrame: overall, by group, difference, ratio), exposure by item
//! group, popularity bias, each figure PASS or WARN against the tenant's thresholds,
//! small user groups suppressed; and fairness-aware re-ranking, shared by reports and
//! serving.
//!
//! Pure computation and the report format; creating and storing reports (which needs a
//! model's evaluation) is `fairness_reports`.

mod export;
pub mod metrics;
pub mod report;
pub mod rerank;
pub mod thresholds;
pub mod types;

pub use export::to_csv;
pub use thresholds::{FairnessThresholds, Status, ThresholdsUpdate};
pub use types::*;

/// How many of a model's best candidates per user evaluation keeps, reports look at
/// and a serving-time re-ranking chooses from, so that reports and serving agree.
pub const CANDIDATE_POOL: usize = 50;

/// The audit action of a new report.
pub const REPORT_CREATED: &str = "fairness_report.created";

/// The whole report as one JSON document (the export format).
pub fn to_json(report: &FairnessReport) -> serde_json::Value {
    serde_json::json!({
        "id": report.id.as_string(),
        "modelId": report.model_id.as_string(),
        "createdBy": report.created_by,
        "createdAt": report.created_at,
        "input": report.input,
        "report": report.body,
    })
}
