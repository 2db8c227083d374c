use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};
use domain::privacy::ErasureReceipt;

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
        }
    }
}
