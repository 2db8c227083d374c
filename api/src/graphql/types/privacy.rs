use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, Utc};
use domain::privacy::{ErasureReceipt, ErasureStatus};

/// Whether every model file has been verified free of the person.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ErasureStatus")]
pub enum ErasureStatusGql {
    /// The database no longer holds the person; model files are not verified yet
    /// (a step failed). Calling `eraseUser` again finishes it.
    Pending,
    /// Every model file was scrubbed and verified.
    Complete,
}

/// Proof that an end user was erased. The person appears only as their audit
/// pseudonym, which their earlier audit events carry as `target`.
#[derive(SimpleObject, Clone)]
#[graphql(name = "ErasureReceipt")]
pub struct ErasureReceiptGql {
    pub id: async_graphql::ID,
    pub subject: String,
    pub erased_at: DateTime<Utc>,
    pub requested_by: String,
    pub request_id: String,
    pub interactions_deleted: i64,
    /// Models whose stored files held the person and were scrubbed.
    pub models_scrubbed: Vec<async_graphql::ID>,
    /// Models marked for retraining because they learnt from the person.
    pub models_to_retrain: Vec<async_graphql::ID>,
    pub status: ErasureStatusGql,
    /// When every model file was verified free of the person.
    pub completed_at: Option<DateTime<Utc>>,
    /// When the person left every model: the models that learnt from them were
    /// retrained without them and their files deleted. Null until then (by the
    /// tenant's `erasureRetrainDays`).
    pub left_every_model_at: Option<DateTime<Utc>>,
}

impl From<ErasureReceipt> for ErasureReceiptGql {
    fn from(r: ErasureReceipt) -> Self {
        Self {
            id: r.id.as_string().into(),
            subject: r.subject,
            erased_at: r.erased_at,
            requested_by: r.requested_by,
            request_id: r.request_id,
            interactions_deleted: i64::try_from(r.interactions_deleted).unwrap_or(i64::MAX),
            models_scrubbed: r.models_scrubbed.into_iter().map(Into::into).collect(),
            models_to_retrain: r.models_to_retrain.into_iter().map(Into::into).collect(),
            status: match r.status {
                ErasureStatus::Pending => ErasureStatusGql::Pending,
                ErasureStatus::Complete => ErasureStatusGql::Complete,
            },
            completed_at: r.completed_at,
            left_every_model_at: r.left_every_model_at,
        }
    }
}
