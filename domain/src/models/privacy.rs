//! What the models hold about one end user, for data export and erasure.
//!
//! A model learnt from every user of its training snapshot (`meta.json`'s
//! `eval_user_ids`); ALS keeps a trained vector per user (`user_ids`, rows of the factor
//! file), and the evaluation file keeps each evaluated user's held-out items and metrics.
//! Erasure blanks the person's id in both lists, zeroes their factor row, drops their
//! evaluation entries, evicts the loaded model so the next request serves the scrubbed
//! files, and marks the model for retraining by a deadline (it still learnt from them:
//! the item factors; `super::retrain` replaces it).
//!
//! Ordering: every scrub, and the storing of a freshly trained model, happens under the
//! tenant's erasure lock ([`erasure_lock`]) and the model's scrub lock, so two erasures
//! never interleave their read-modify-write of one model's files, and a training job
//! either stores before an erasure looks (the erasure scrubs the stored files) or after
//! it (the job scrubs what it is about to store).

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, Statement};
use tenants::db::DbBackendKind;
use tenants::{TenantCtx, TenantTx};

use super::artifacts::{
    ArtifactMeta, EVALUATION_FILE, HISTORY_DIGESTS_FILE, META_FILE, ModelStore, USER_FACTORS_FILE, f32_bytes,
    f32_values,
};
use super::entity::model;
use super::runtime::ModelServices;
use super::store;
use super::types::{Model, ModelStatus};
use crate::error::{DomainError, Result};

/// The first key of PostgreSQL advisory locks taken for erasures (the second is the
/// tenant), chosen so no other lock of the service shares it.
const ERASURE_LOCK_CLASS: i32 = 0x4d51_4552;

/// Serialises, within one tenant and across processes, everything that reads and
/// rewrites model files for erasure, and the storing of freshly trained models. Held
/// until the transaction ends. SQLite writers are one at a time already.
pub(crate) async fn erasure_lock(models: &ModelServices, ctx: &TenantCtx, tx: &TenantTx) -> Result<()> {
    if models.services.db.kind() == DbBackendKind::Postgres {
        // Tenants beyond 2^31 share a lock with another tenant: only slower, never wrong.
        let tenant = (ctx.tenant_id().get() & 0x7fff_ffff) as i32;
        let lock = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1, $2)",
            [ERASURE_LOCK_CLASS.into(), tenant.into()],
        );
        tx.conn().execute_raw(lock).await?;
    }
    Ok(())
}

/// The tenant's models whose training data included the user, oldest first.
pub(crate) async fn trained_on(models: &ModelServices, tx: &TenantTx, user_id: &str) -> Result<Vec<Model>> {
    let mut out = Vec::new();
    for (row, key) in with_artifacts(tx).await? {
        let meta = read_meta(models.store.as_ref(), tx.ctx(), &key).await?;
        if meta.eval_user_ids.iter().chain(&meta.user_ids).any(|u| u == user_id) {
            out.push(store::model_by_row(tx, row).await?.model);
        }
    }
    Ok(out)
}

/// The registry row of a model.
pub(crate) async fn model_row(tx: &TenantTx, id: &tenants::ids::PublicId) -> Result<i64> {
    Ok(store::find_model(tx, id).await?.row)
}

/// What erasure found in the models before scrubbing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Holders {
    /// Models whose stored files hold the person (to scrub).
    pub holding: Vec<Model>,
    /// Models marked for retraining: those holding the person, and those still training
    /// (their snapshot may have been read before the erasure).
    pub to_retrain: Vec<Model>,
}

/// Inside the erasure's transaction: finds the models that hold the person and marks
/// them (and unfinished ones) for retraining by the tenant's deadline. Nothing is
/// scrubbed yet: the receipt commits first, so a failed scrub leaves it `pending`.
pub(crate) async fn mark_holders(
    ctx: &TenantCtx,
    models: &ModelServices,
    tx: &TenantTx,
    user_id: &str,
    erased_at: DateTime<Utc>,
) -> Result<Holders> {
    let holding = trained_on(models, tx, user_id).await?;
    let unfinished: Vec<i64> = model::Entity::find()
        .filter(model::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(model::Column::Status.is_in([ModelStatus::Queued.as_str(), ModelStatus::Training.as_str()]))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let mut rows = Vec::new();
    for m in &holding {
        rows.push(store::find_model(tx, &m.id).await?.row);
    }
    rows.extend(unfinished);
    rows.sort_unstable();
    rows.dedup();
    let to_retrain = mark_for_retraining(tx, &rows, erased_at).await?;
    Ok(Holders { holding, to_retrain })
}

/// Sets the retraining mark and deadline (the earlier of any existing one and this
/// erasure's): the tenant's `erasureRetrainDays` after the erasure, or at once for the
/// active model of a tenant that asks.
pub(crate) async fn mark_for_retraining(tx: &TenantTx, rows: &[i64], erased_at: DateTime<Utc>) -> Result<Vec<Model>> {
    let settings = crate::settings::load(tx).await?;
    let active = store::active_row(tx).await?;
    let mut out = Vec::new();
    for &row in rows {
        let Some(current) = model::Entity::find()
            .filter(model::Column::TenantId.eq(tx.tenant_id().get()))
            .filter(model::Column::Id.eq(row))
            .one(tx.conn())
            .await?
        else {
            continue;
        };
        let due = if settings.erasure_retrain_active_now && active == Some(row) {
            erased_at
        } else {
            erased_at + Duration::days(i64::from(settings.erasure_retrain_days))
        };
        let due = current.retrain_due_at.map_or(due, |d| d.min(due));
        model::Entity::update_many()
            .col_expr(model::Column::NeedsRetraining, Expr::value(true))
            .col_expr(model::Column::RetrainDueAt, Expr::value(due))
            .filter(model::Column::TenantId.eq(tx.tenant_id().get()))
            .filter(model::Column::Id.eq(row))
            .exec(tx.conn())
            .await?;
        out.push(store::model_by_row(tx, row).await?.model);
    }
    Ok(out)
}

/// Under the erasure lock: removes the person from every model's files (see the module
/// doc) and returns the models that still held something of them. Idempotent: a model
/// already scrubbed is read and left alone, so a retry re-checks every model.
pub(crate) async fn scrub_everywhere(models: &ModelServices, tx: &TenantTx, user_id: &str) -> Result<Vec<Model>> {
    let mut found = Vec::new();
    for (row, key) in with_artifacts(tx).await? {
        if scrub_model(models, tx.ctx(), row, key, vec![user_id.to_owned()]).await? {
            models.loaded.invalidate(&row);
            found.push(store::model_by_row(tx, row).await?.model);
        }
    }
    Ok(found)
}

/// Before a freshly trained model's row points at its files, under the erasure lock:
/// scrubs everyone of its snapshot who has been erased since the snapshot was read.
/// Erased people are left out of snapshots, so every erased person still in the files
/// was erased after it; no clock comparison is needed. Returns whether anyone was.
pub(crate) async fn scrub_fresh(
    models: &ModelServices,
    tx: &TenantTx,
    model_row: i64,
    key: &str,
    snapshot_users: &[String],
) -> Result<bool> {
    let erased = crate::audience::store::erased_ids(tx).await?;
    let gone: Vec<String> = snapshot_users.iter().filter(|u| erased.contains(*u)).cloned().collect();
    if gone.is_empty() {
        return Ok(false);
    }
    scrub_model(models, tx.ctx(), model_row, key.to_owned(), gone).await
}

/// A freshly stored model: marked for retraining when its snapshot held someone erased
/// since (the erasure set its deadline, or the tenant's deadline from now), unmarked
/// when it did not (an erasure during training marks every unfinished model).
pub(crate) async fn settle_fresh(tx: &TenantTx, model_row: i64, held_erased: bool) -> Result<()> {
    if held_erased {
        mark_for_retraining(tx, &[model_row], Utc::now()).await?;
        return Ok(());
    }
    model::Entity::update_many()
        .col_expr(model::Column::NeedsRetraining, Expr::value(false))
        .col_expr(model::Column::RetrainDueAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(model::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(model::Column::Id.eq(model_row))
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// When the people of a receipt left every listed model: `None` while one of them may
/// still hold them (training, or stored and not yet replaced). A model that finished
/// without anyone erased in it, failed, was cancelled or had its files deleted no
/// longer holds them.
pub(crate) async fn released_at(
    tx: &TenantTx,
    model_ids: &[String],
    erased_at: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    if model_ids.is_empty() {
        return Ok(Some(erased_at));
    }
    let rows = model::Entity::find()
        .filter(model::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(model::Column::PublicId.is_in(model_ids.iter().cloned()))
        .all(tx.conn())
        .await?;
    let mut latest = erased_at;
    for m in rows {
        let left = match ModelStatus::parse(&m.status)? {
            ModelStatus::Queued | ModelStatus::Training => None,
            ModelStatus::Ready if m.needs_retraining => None,
            ModelStatus::Retired => m.files_deleted_at,
            ModelStatus::Ready | ModelStatus::Failed | ModelStatus::Cancelled => {
                Some(m.finished_at.unwrap_or(erased_at))
            }
        };
        match left {
            Some(at) => latest = latest.max(at),
            None => return Ok(None),
        }
    }
    Ok(Some(latest))
}

/// Scrubs one model's files under its scrub lock.
async fn scrub_model(
    models: &ModelServices,
    ctx: &TenantCtx,
    row: i64,
    key: String,
    users: Vec<String>,
) -> Result<bool> {
    let lock = models.scrub_lock(row);
    let _held = lock.lock().await;
    scrub(models.store.as_ref(), ctx, &key, &users).await
}

async fn with_artifacts(tx: &TenantTx) -> Result<Vec<(i64, String)>> {
    Ok(model::Entity::find()
        .filter(model::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(model::Column::ArtifactKey.is_not_null())
        // A retired model's files are deleted (or about to be).
        .filter(model::Column::Status.ne(ModelStatus::Retired.as_str()))
        .order_by_asc(model::Column::Id)
        .all(tx.conn())
        .await?
        .into_iter()
        .filter_map(|m| m.artifact_key.map(|k| (m.id, k)))
        .collect())
}

async fn read_meta(store: &dyn ModelStore, ctx: &TenantCtx, key: &str) -> Result<ArtifactMeta> {
    parse_meta(&store.get(ctx, key, META_FILE).await?)
}

fn parse_meta(bytes: &[u8]) -> Result<ArtifactMeta> {
    serde_json::from_slice(bytes).map_err(|e| DomainError::internal_from("corrupt model metadata", e))
}

/// Scrubs one model's files of these users; returns whether any of them was in them.
/// The rewritten files are stored together (one transaction in the database store).
async fn scrub(store: &dyn ModelStore, ctx: &TenantCtx, key: &str, users: &[String]) -> Result<bool> {
    let mut meta = read_meta(store, ctx, key).await?;
    let is_gone = |u: &String| !u.is_empty() && users.contains(u);
    let trained_rows: Vec<usize> =
        meta.user_ids.iter().enumerate().filter(|(_, u)| is_gone(u)).map(|(i, _)| i).collect();
    let evaluated: Vec<usize> =
        meta.eval_user_ids.iter().enumerate().filter(|(_, u)| is_gone(u)).map(|(i, _)| i).collect();
    if trained_rows.is_empty() && evaluated.is_empty() {
        return Ok(false);
    }
    let mut files: Vec<(&'static str, Vec<u8>)> = Vec::new();
    if !trained_rows.is_empty() {
        let mut factors = f32_values(&store.get(ctx, key, USER_FACTORS_FILE).await?)?;
        let width = meta.factors;
        for &row in &trained_rows {
            if let Some(slice) = factors.get_mut(row * width..(row + 1) * width) {
                slice.fill(0.0);
            }
            meta.user_ids[row] = String::new();
        }
        files.push((USER_FACTORS_FILE, f32_bytes(&factors)));
        if meta.history_digests {
            let mut digests = store.get(ctx, key, HISTORY_DIGESTS_FILE).await?;
            super::history_digest::scrub(&mut digests, &trained_rows);
            files.push((HISTORY_DIGESTS_FILE, digests));
        }
    }
    if !evaluated.is_empty() {
        for &index in &evaluated {
            meta.eval_user_ids[index] = String::new();
        }
        // Not every model keeps an evaluation file (uploaded ones do not).
        if let Ok(bytes) = store.get(ctx, key, EVALUATION_FILE).await {
            let mut detail: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| DomainError::internal_from("corrupt evaluation file", e))?;
            // Their held-out items and their per-user metrics.
            for list in ["users", "user_metrics"] {
                if let Some(entries) = detail.get_mut(list).and_then(|u| u.as_array_mut()) {
                    entries.retain(|u| {
                        !u.get("user").and_then(|i| i.as_u64()).is_some_and(|i| evaluated.contains(&(i as usize)))
                    });
                }
            }
            let bytes = serde_json::to_vec(&detail).map_err(|e| DomainError::internal(e.to_string()))?;
            files.push((EVALUATION_FILE, bytes));
        }
    }
    // The id lists go last: until they are blank, a failed scrub is found again.
    let bytes = serde_json::to_vec(&meta).map_err(|e| DomainError::internal(e.to_string()))?;
    files.push((META_FILE, bytes));
    store.put(ctx, key, files).await?;
    Ok(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::models::artifacts::LocalDiskStore;
    use crate::models::history_digest::{self, HistoryDigest};
    use crate::models::types::Algorithm;

    #[tokio::test]
    async fn scrubbing_blanks_the_person_everywhere_and_nobody_else() {
        let dir = std::env::temp_dir().join(format!("mq-scrub-{}", uuid::Uuid::new_v4().simple()));
        let store = LocalDiskStore::new(&dir);
        let ctx = TenantCtx::operator(tenants::TenantId::from_db(1), tenants::RequestId::new());
        let meta = ArtifactMeta {
            algorithm: Algorithm::Als,
            item_ids: vec!["i0".into(), "i1".into()],
            user_ids: vec!["a".into(), "b".into()],
            eval_user_ids: vec!["a".into(), "b".into(), "c".into()],
            factors: 2,
            als: None,
            history_digests: true,
            trained_at: chrono::Utc::now(),
        };
        store.put(&ctx, "1/m", vec![(META_FILE, serde_json::to_vec(&meta).unwrap())]).await.unwrap();
        store.put(&ctx, "1/m", vec![(USER_FACTORS_FILE, f32_bytes(&[1.0, 2.0, 3.0, 4.0]))]).await.unwrap();
        let digests = [HistoryDigest::of([(0, 1.0)]), HistoryDigest::of([(1, 2.0)])];
        store.put(&ctx, "1/m", vec![(HISTORY_DIGESTS_FILE, history_digest::to_bytes(&digests))]).await.unwrap();
        let evaluation = serde_json::json!({
            "k": 10,
            "users": [{ "user": 0, "test_items": [1] }, { "user": 1, "test_items": [0] }],
            "user_metrics": [{ "user": 0, "ndcg": 1.0, "recall": 1.0 }, { "user": 1, "ndcg": 0.0, "recall": 0.0 }],
        });
        store.put(&ctx, "1/m", vec![(EVALUATION_FILE, evaluation.to_string().into_bytes())]).await.unwrap();

        assert!(!scrub(&store, &ctx, "1/m", &["nobody".into()]).await.unwrap());
        assert!(scrub(&store, &ctx, "1/m", &["b".into()]).await.unwrap());
        let meta = parse_meta(&store.get(&ctx, "1/m", META_FILE).await.unwrap()).unwrap();
        assert_eq!(meta.user_ids, ["a", ""]);
        assert_eq!(meta.eval_user_ids, ["a", "", "c"]);
        assert_eq!(
            f32_values(&store.get(&ctx, "1/m", USER_FACTORS_FILE).await.unwrap()).unwrap(),
            [1.0, 2.0, 0.0, 0.0]
        );
        let digests_left =
            history_digest::from_bytes(&store.get(&ctx, "1/m", HISTORY_DIGESTS_FILE).await.unwrap()).unwrap();
        assert_eq!(digests_left, [digests[0], HistoryDigest::of([])]);
        let evaluation: serde_json::Value =
            serde_json::from_slice(&store.get(&ctx, "1/m", EVALUATION_FILE).await.unwrap()).unwrap();
        assert_eq!(evaluation["users"], serde_json::json!([{ "user": 0, "test_items": [1] }]));
        assert_eq!(evaluation["user_metrics"], serde_json::json!([{ "user": 0, "ndcg": 1.0, "recall": 1.0 }]));
        // A second erasure of the same person finds nothing left.
        assert!(!scrub(&store, &ctx, "1/m", &["b".into()]).await.unwrap());
        std::fs::remove_dir_all(dir).ok();
    }
}
