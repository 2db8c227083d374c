//! A model's kept evaluation split, for reports computed after training.

use tenants::TenantCtx;
use tenants::ids::PublicId;

use super::artifacts::{ArtifactMeta, EVALUATION_FILE, META_FILE};
use super::runtime::ModelServices;
use super::store;
use super::training::EvaluationDetail;
use super::types::ModelStatus;
use crate::error::{DomainError, Result};

pub(crate) struct StoredEvaluation {
    /// The registry row, for references from other tables.
    pub row: i64,
    pub meta: ArtifactMeta,
    pub detail: EvaluationDetail,
}

/// The evaluation detail and id maps of one of the tenant's models: `NOT_FOUND` for
/// another tenant's or an unknown model, `MODEL_NOT_READY` for models without one
/// (not trained yet, failed, or uploaded).
pub(crate) async fn load_evaluation(
    ctx: &TenantCtx,
    models: &ModelServices,
    id: &PublicId,
) -> Result<StoredEvaluation> {
    let tx = models.services.db.begin(ctx).await?;
    let record = store::find_model(&tx, id).await?;
    tx.commit().await?;
    if record.model.status != ModelStatus::Ready {
        return Err(DomainError::ModelNotReady(format!("the model is {}, not ready", record.model.status.as_str())));
    }
    let key = record.artifact_key.ok_or_else(|| DomainError::ModelNotReady("the model has no files yet".into()))?;
    let meta = models.store.get(ctx, &key, META_FILE).await?;
    // Uploaded models keep no evaluation file; a damaged one is refused as such.
    let detail = match models.store.get(ctx, &key, EVALUATION_FILE).await {
        Ok(bytes) => Some(bytes),
        Err(e @ DomainError::ModelCorrupt(_)) => return Err(e),
        Err(_) => None,
    };
    let meta: ArtifactMeta =
        serde_json::from_slice(&meta).map_err(|e| DomainError::internal_from("corrupt model metadata", e))?;
    let detail = detail.ok_or_else(|| {
        DomainError::ModelNotReady("the model has no evaluation split (uploaded models are not evaluated)".into())
    })?;
    let detail: EvaluationDetail =
        serde_json::from_slice(&detail).map_err(|e| DomainError::internal_from("corrupt evaluation file", e))?;
    Ok(StoredEvaluation { row: record.row, meta, detail })
}
