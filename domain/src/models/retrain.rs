//! Replacing models that learnt from erased people. Scrubbing removes a person's own
//! vector and evaluation entry at once, but the item factors still carry what the model
//! learnt from them; only retraining without them removes that. Erasure marks such
//! models with a deadline (`privacy::mark_for_retraining`); here, when it passes, the
//! model is retrained with the same algorithm and parameters on today's data (which no
//! longer holds the person), the retrained model takes the old one's place (deployed
//! if the old one was active), the old one is retired and its files deleted.
//!
//! Runs from the server's periodic check (`retrain_after_erasures`) and right after an
//! erasure whose tenant retrains its active model at once. Safe to run on several
//! replicas: queuing claims the old model's row, and retiring happens under the
//! erasure lock.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use tenants::store::tenants as tenant_store;
use tenants::{RequestId, SystemCtx, TenantCtx};

use super::entity::model;
use super::privacy::erasure_lock;
use super::runtime::ModelServices;
use super::types::{Algorithm, AlsSettings, EaseSettings, ModelStatus, TrainRequest};
use super::{registry, store};
use crate::audit::{AuditEvent, Target, action};
use crate::error::{DomainError, Result};
use crate::serving_cache::Change;

/// Checks every tenant; returns how many retrainings were queued. A tenant that fails
/// is logged and the others still run.
pub async fn retrain_after_erasures(models: &ModelServices) -> Result<usize> {
    let tx = models.services.db.begin_system(&SystemCtx::new("list tenants for erasure retraining")).await?;
    let tenants = tenant_store::list_all(&tx).await?;
    tx.commit().await?;
    let mut queued = 0;
    for tenant in tenants {
        let ctx = TenantCtx::operator(tenant.id, RequestId::new());
        match retrain_due(&ctx, models, Utc::now()).await {
            Ok(n) => queued += n,
            Err(e) => {
                tracing::error!(tenant_id = tenant.id.get(), error = ?e, "erasure retraining failed for a tenant")
            }
        }
    }
    Ok(queued)
}

/// Queues retraining for the tenant's marked models whose deadline is `now` or past,
/// replaces those whose retraining finished, and deletes retired models' files.
pub(crate) async fn retrain_due(ctx: &TenantCtx, models: &ModelServices, now: DateTime<Utc>) -> Result<usize> {
    let tenant = ctx.tenant_id().get();
    let tx = models.services.db.begin_write(ctx).await?;
    let due = model::Entity::find()
        .filter(model::Column::TenantId.eq(tenant))
        .filter(model::Column::NeedsRetraining.eq(true))
        .filter(model::Column::Status.eq(ModelStatus::Ready.as_str()))
        .filter(model::Column::RetrainDueAt.lte(now))
        .all(tx.conn())
        .await?;
    let mut queued = Vec::new();
    let mut finished = Vec::new();
    for old in due {
        if let Some(successor) = old.retrain_model_id {
            let status = store::model_by_row(&tx, successor).await?.model.status;
            match status {
                ModelStatus::Queued | ModelStatus::Training => continue,
                ModelStatus::Ready => {
                    finished.push((old.id, successor));
                    continue;
                }
                // Failed or cancelled: queue again.
                _ => {}
            }
        }
        let Some(request) = request_for(&old)? else { continue };
        let parameters = registry::queued_parameters(&request);
        let lease = super::queue::lease_at_insert(models);
        let (new_row, job_row) = store::insert_queued(&tx, &request, &parameters, &models.owner, lease).await?;
        // Claims the old model: a second replica's check finds the claim changed and
        // queues nothing.
        let claimed = model::Entity::update_many()
            .col_expr(model::Column::RetrainModelId, Expr::value(new_row))
            .filter(model::Column::TenantId.eq(tenant))
            .filter(model::Column::Id.eq(old.id))
            .filter(match old.retrain_model_id {
                Some(previous) => model::Column::RetrainModelId.eq(previous),
                None => model::Column::RetrainModelId.is_null(),
            })
            .exec(tx.conn())
            .await?
            .rows_affected;
        if claimed == 0 {
            return Err(DomainError::Conflict("another process queued this retraining".into()));
        }
        model::Entity::update_many()
            .col_expr(model::Column::RetrainOf, Expr::value(old.id))
            .filter(model::Column::TenantId.eq(tenant))
            .filter(model::Column::Id.eq(new_row))
            .exec(tx.conn())
            .await?;
        let new_model = store::model_by_row(&tx, new_row).await?.model;
        let job = store::job_by_row(&tx, job_row).await?;
        let event = AuditEvent::new(action::MODEL_TRAINING_QUEUED)
            .by(RETRAINER)
            .target(Target::object("model", new_model.id.as_string()));
        let details = json!({ "job": job.id.as_string(), "parameters": parameters, "replaces": old.public_id, "reason": "erasure" });
        models.services.audit.record_system(&tx, ctx.request_id(), event.details(details)).await?;
        queued.push((new_row, job_row, request));
    }
    tx.commit().await?;
    let count = queued.len();
    for (new_row, job_row, request) in queued {
        super::queue::start(ctx, models, new_row, job_row, request);
    }
    for (old, new) in finished {
        replace(ctx, models, old, new).await?;
    }
    delete_retired_files(ctx, models).await?;
    Ok(count)
}

/// The principal retraining's audit events name.
const RETRAINER: &str = "system:erasure-retraining";

/// After a training job stored its model: if it was trained to replace a model after an
/// erasure, the replacement happens now.
pub(crate) async fn after_training(ctx: &TenantCtx, models: &ModelServices, model_row: i64) -> Result<()> {
    let tx = models.services.db.begin(ctx).await?;
    let row = model::Entity::find()
        .filter(model::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(model::Column::Id.eq(model_row))
        .one(tx.conn())
        .await?;
    tx.commit().await?;
    match row.and_then(|m| m.retrain_of) {
        Some(old) => replace(ctx, models, old, model_row).await,
        None => Ok(()),
    }
}

/// The retrained model takes the old one's place: deployed if the old one was active
/// (loaded first, so serving never points at a model that cannot load), then the old
/// one is retired and its files deleted.
async fn replace(ctx: &TenantCtx, models: &ModelServices, old_row: i64, new_row: i64) -> Result<()> {
    let tx = models.services.db.begin_write(ctx).await?;
    erasure_lock(models, ctx, &tx).await?;
    let old = store::model_by_row(&tx, old_row).await?;
    let new = store::model_by_row(&tx, new_row).await?;
    if old.model.status == ModelStatus::Retired || new.model.status != ModelStatus::Ready {
        tx.commit().await?;
        return Ok(());
    }
    let switched = old.model.active;
    if switched {
        registry::load(ctx, models, &new).await?;
        store::insert_deployment(&tx, new_row, "erasure_retraining").await?;
        let event = AuditEvent::new(action::MODEL_DEPLOYED)
            .by(RETRAINER)
            .target(Target::object("model", new.model.id.as_string()));
        models
            .services
            .audit
            .record_system(
                &tx,
                ctx.request_id(),
                event.details(json!({ "replaces": old.model.id.as_string(), "reason": "erasure" })),
            )
            .await?;
    }
    model::Entity::update_many()
        .col_expr(model::Column::Status, Expr::value(ModelStatus::Retired.as_str()))
        .filter(model::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(model::Column::Id.eq(old_row))
        .exec(tx.conn())
        .await?;
    let event =
        AuditEvent::new(action::MODEL_RETIRED).by(RETRAINER).target(Target::object("model", old.model.id.as_string()));
    models
        .services
        .audit
        .record_system(&tx, ctx.request_id(), event.details(json!({ "replacedBy": new.model.id.as_string() })))
        .await?;
    tx.commit().await?;
    if switched {
        models.services.serving_cache.announce(ctx, Change::ActiveModel);
    }
    delete_retired_files(ctx, models).await
}

/// Deletes the files of retired models that still have them and records when. Under the
/// erasure lock, so no scrub is reading them; a failure is retried at the next check
/// (deleting is idempotent).
async fn delete_retired_files(ctx: &TenantCtx, models: &ModelServices) -> Result<()> {
    let tx = models.services.db.begin_write(ctx).await?;
    erasure_lock(models, ctx, &tx).await?;
    let rows = model::Entity::find()
        .filter(model::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(model::Column::Status.eq(ModelStatus::Retired.as_str()))
        .filter(model::Column::FilesDeletedAt.is_null())
        .all(tx.conn())
        .await?;
    if rows.is_empty() {
        tx.commit().await?;
        return Ok(());
    }
    for m in &rows {
        models.loaded.invalidate(&m.id);
        if let Some(key) = m.artifact_key.clone() {
            let lock = models.scrub_lock(m.id);
            let _held = lock.lock().await;
            models.store.delete(ctx, &key).await?;
        }
    }
    model::Entity::update_many()
        .col_expr(model::Column::FilesDeletedAt, Expr::value(Utc::now()))
        .filter(model::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(model::Column::Id.is_in(rows.iter().map(|m| m.id)))
        .exec(tx.conn())
        .await?;
    tx.commit().await?;
    // This process dropped them before deleting; other replicas learn it here.
    models.services.serving_cache.announce(ctx, Change::ModelFiles(rows.iter().map(|m| m.id).collect()));
    Ok(())
}

/// The same algorithm and parameters the model was trained with (tuned ALS keeps the
/// parameters tuning chose). Uploaded models are never marked: they hold nobody.
fn request_for(m: &model::Model) -> Result<Option<TrainRequest>> {
    let p: serde_json::Value = serde_json::from_str(&m.parameters).unwrap_or_default();
    let int = |name: &str| p.get(name).and_then(serde_json::Value::as_i64);
    let float = |name: &str| p.get(name).and_then(serde_json::Value::as_f64);
    let corrupt = || DomainError::internal(format!("model {} has no usable training parameters", m.public_id));
    Ok(match Algorithm::parse(&m.algorithm)? {
        Algorithm::Als => {
            let (Some(f), Some(r), Some(a), Some(i)) =
                (int("factors"), float("regularization"), float("alpha"), int("iterations"))
            else {
                return Err(corrupt());
            };
            Some(TrainRequest::Als(Some(AlsSettings::parse(f, r, a, i)?)))
        }
        Algorithm::ItemKnn => Some(TrainRequest::ItemKnn {
            neighbours: usize::try_from(int("neighbours").ok_or_else(corrupt)?).map_err(|_| corrupt())?,
        }),
        Algorithm::Ease => Some(TrainRequest::Ease(Some(EaseSettings {
            lambda: float("lambda").ok_or_else(corrupt)?,
            omega: float("omega").unwrap_or(0.0),
        }))),
        Algorithm::MostPopular => Some(TrainRequest::MostPopular),
        // Only a model that never finished training still shows AUTO.
        Algorithm::Auto => Some(TrainRequest::Auto),
        Algorithm::Uploaded => None,
    })
}
