//! What the models hold about one end user, for data export and erasure.
//!
//! A model learnt from every user of its training snapshot (`meta.json`'s
//! `eval_user_ids`); ALS keeps a trained vector per user (`user_ids`, rows of the factor
//! file), and the evaluation file keeps each evaluated user's held-out items. Erasure
//! blanks the person's id in both lists, zeroes their factor row, drops their evaluation
//! entry, evicts the loaded model so the next request serves the scrubbed files, and
//! marks the model for retraining (it still learnt from them).

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tenants::{TenantCtx, TenantTx};

use super::artifacts::{ArtifactMeta, EVALUATION_FILE, META_FILE, ModelStore, USER_FACTORS_FILE, f32_bytes, f32_values};
use super::entity::model;
use super::store;
use super::types::{Model, ModelStatus};
use crate::Services;
use crate::error::{DomainError, Result};

/// The tenant's models whose training data included the user, oldest first.
pub(crate) async fn trained_on(ctx: &TenantCtx, services: &Services, tx: &TenantTx, user_id: &str) -> Result<Vec<Model>> {
    let mut out = Vec::new();
    for (row, key) in with_artifacts(ctx, tx).await? {
        let meta = read_meta(services.models.store.clone(), key).await?;
        if meta.eval_user_ids.iter().chain(&meta.user_ids).any(|u| u == user_id) {
            out.push(store::model_by_row(ctx, tx, row).await?.model);
        }
    }
    Ok(out)
}

/// What erasure did to the models.
#[derive(Debug, Clone, Default)]
pub(crate) struct Forgotten {
    /// Models whose stored files held the person and were scrubbed.
    pub scrubbed: Vec<Model>,
    /// Models marked for retraining: the scrubbed ones, and those still training (their
    /// snapshot may have been taken before the erasure).
    pub to_retrain: Vec<Model>,
}

/// Removes the user from every model's files (see the module doc) inside the erasure's
/// transaction, which also carries the retraining marks.
pub(crate) async fn forget_user(ctx: &TenantCtx, services: &Services, tx: &TenantTx, user_id: &str) -> Result<Forgotten> {
    let mut scrubbed_rows = Vec::new();
    for (row, key) in with_artifacts(ctx, tx).await? {
        let store = services.models.store.clone();
        let user = user_id.to_owned();
        let changed = tokio::task::spawn_blocking(move || scrub(store.as_ref(), &key, &user))
            .await
            .map_err(|e| DomainError::Internal(format!("scrub thread: {e}")))??;
        if changed {
            services.models.loaded.invalidate(&row);
            scrubbed_rows.push(row);
        }
    }
    let unfinished: Vec<i64> = model::Entity::find()
        .filter(model::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(model::Column::Status.is_in([ModelStatus::Queued.as_str(), ModelStatus::Training.as_str()]))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let marked: Vec<i64> = scrubbed_rows.iter().chain(&unfinished).copied().collect();
    if !marked.is_empty() {
        model::Entity::update_many()
            .col_expr(model::Column::NeedsRetraining, Expr::value(true))
            .filter(model::Column::TenantId.eq(ctx.tenant_id().get()))
            .filter(model::Column::Id.is_in(marked.clone()))
            .exec(tx.conn())
            .await?;
    }
    let mut forgotten = Forgotten::default();
    for row in scrubbed_rows {
        forgotten.scrubbed.push(store::model_by_row(ctx, tx, row).await?.model);
    }
    for row in marked {
        forgotten.to_retrain.push(store::model_by_row(ctx, tx, row).await?.model);
    }
    Ok(forgotten)
}

async fn with_artifacts(ctx: &TenantCtx, tx: &TenantTx) -> Result<Vec<(i64, String)>> {
    Ok(model::Entity::find()
        .filter(model::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(model::Column::ArtifactKey.is_not_null())
        .order_by_asc(model::Column::Id)
        .all(tx.conn())
        .await?
        .into_iter()
        .filter_map(|m| m.artifact_key.map(|k| (m.id, k)))
        .collect())
}

async fn read_meta(store: std::sync::Arc<dyn ModelStore>, key: String) -> Result<ArtifactMeta> {
    tokio::task::spawn_blocking(move || parse_meta(&store.get(&key, META_FILE)?))
        .await
        .map_err(|e| DomainError::Internal(format!("artifact thread: {e}")))?
}

fn parse_meta(bytes: &[u8]) -> Result<ArtifactMeta> {
    serde_json::from_slice(bytes).map_err(|e| DomainError::Internal(format!("corrupt model metadata: {e}")))
}

/// Scrubs one model's files; returns whether the user was in them (blocking I/O).
fn scrub(store: &dyn ModelStore, key: &str, user_id: &str) -> Result<bool> {
    let mut meta = parse_meta(&store.get(key, META_FILE)?)?;
    let trained_row = meta.user_ids.iter().position(|u| u == user_id);
    let evaluated = meta.eval_user_ids.iter().position(|u| u == user_id);
    if trained_row.is_none() && evaluated.is_none() {
        return Ok(false);
    }
    if let Some(row) = trained_row {
        let mut factors = f32_values(&store.get(key, USER_FACTORS_FILE)?)?;
        let width = meta.factors;
        if let Some(slice) = factors.get_mut(row * width..(row + 1) * width) {
            slice.fill(0.0);
        }
        store.put(key, USER_FACTORS_FILE, &f32_bytes(&factors))?;
        meta.user_ids[row] = String::new();
    }
    if let Some(index) = evaluated {
        meta.eval_user_ids[index] = String::new();
        // Not every model keeps an evaluation file (uploaded ones do not).
        if let Ok(bytes) = store.get(key, EVALUATION_FILE) {
            let mut detail: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| DomainError::Internal(format!("corrupt evaluation file: {e}")))?;
            if let Some(users) = detail.get_mut("users").and_then(|u| u.as_array_mut()) {
                users.retain(|u| u.get("user").and_then(|i| i.as_u64()) != Some(index as u64));
            }
            let bytes = serde_json::to_vec(&detail).map_err(|e| DomainError::Internal(e.to_string()))?;
            store.put(key, EVALUATION_FILE, &bytes)?;
        }
    }
    let bytes = serde_json::to_vec(&meta).map_err(|e| DomainError::Internal(e.to_string()))?;
    store.put(key, META_FILE, &bytes)?;
    Ok(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::models::artifacts::LocalDiskStore;
    use crate::models::types::Algorithm;

    #[test]
    fn scrubbing_blanks_the_person_everywhere_and_nobody_else() {
        let dir = std::env::temp_dir().join(format!("mq-scrub-{}", uuid::Uuid::new_v4().simple()));
        let store = LocalDiskStore::new(&dir);
        let meta = ArtifactMeta {
            algorithm: Algorithm::Als,
            item_ids: vec!["i0".into(), "i1".into()],
            user_ids: vec!["a".into(), "b".into()],
            eval_user_ids: vec!["a".into(), "b".into(), "c".into()],
            factors: 2,
            als: None,
            trained_at: chrono::Utc::now(),
        };
        store.put("1/m", META_FILE, &serde_json::to_vec(&meta).unwrap()).unwrap();
        store.put("1/m", USER_FACTORS_FILE, &f32_bytes(&[1.0, 2.0, 3.0, 4.0])).unwrap();
        let evaluation = serde_json::json!({ "k": 10, "users": [{ "user": 0, "test_items": [1] }, { "user": 1, "test_items": [0] }] });
        store.put("1/m", EVALUATION_FILE, evaluation.to_string().as_bytes()).unwrap();

        assert!(!scrub(&store, "1/m", "nobody").unwrap());
        assert!(scrub(&store, "1/m", "b").unwrap());
        let meta = parse_meta(&store.get("1/m", META_FILE).unwrap()).unwrap();
        assert_eq!(meta.user_ids, ["a", ""]);
        assert_eq!(meta.eval_user_ids, ["a", "", "c"]);
        assert_eq!(f32_values(&store.get("1/m", USER_FACTORS_FILE).unwrap()).unwrap(), [1.0, 2.0, 0.0, 0.0]);
        let evaluation: serde_json::Value = serde_json::from_slice(&store.get("1/m", EVALUATION_FILE).unwrap()).unwrap();
        assert_eq!(evaluation["users"], serde_json::json!([{ "user": 0, "test_items": [1] }]));
        // A second erasure of the same person finds nothing left.
        assert!(!scrub(&store, "1/m", "b").unwrap());
        std::fs::remove_dir_all(dir).ok();
    }
}
