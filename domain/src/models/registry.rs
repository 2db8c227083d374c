//! The model registry as the API offers it: train, list, inspect, cancel, deploy,
//! roll back, upload.

use std::sync::Arc;

use serde_json::json;
use tenants::TenantCtx;
use tenants::ids::PublicId;
use tenants::page::{Page, PageRequest};
use tenants::scope::Scope;

use super::artifacts::{ArtifactMeta, META_FILE, ONNX_FILE};

use super::runtime::ModelServices;
use super::serving::{LoadedModel, ModelFiles};
use super::store;
use super::types::{Algorithm, DataSnapshot, Job, Model, ModelStatus, TrainRequest};
use crate::audit::{AuditEvent, Target, action};
use crate::error::{DomainError, Result};
use crate::serving_cache::Change;

/// Queues a training job; the model appears at once with status `queued`.
pub async fn train_model(ctx: &TenantCtx, models: &ModelServices, request: TrainRequest) -> Result<(Model, Job)> {
    ctx.require(Scope::ModelsManage)?;
    let parameters = queued_parameters(&request);
    let limits = crate::limits::tenant_limits(ctx, &models.services).await?;
    let tx = models.services.db.begin_write(ctx).await?;
    if limits.training_jobs_per_day > 0 {
        let since = chrono::Utc::now() - chrono::Duration::hours(24);
        crate::limits::check_training(&limits, store::count_jobs_since(&tx, since).await?)?;
    }
    let lease = super::queue::lease_at_insert(models);
    let (model_row, job_row) = store::insert_queued(&tx, &request, &parameters, &models.owner, lease).await?;
    let model = store::model_by_row(&tx, model_row).await?.model;
    let job = store::job_by_row(&tx, job_row).await?;
    let event = AuditEvent::new(action::MODEL_TRAINING_QUEUED).target(Target::object("model", model.id.as_string()));
    models
        .services
        .audit
        .record(&tx, event.details(json!({ "job": job.id.as_string(), "parameters": parameters })))
        .await?;
    tx.commit().await?;
    super::queue::start(ctx, models, model_row, job_row, request);
    Ok((model, job))
}

/// The parameters a queued model shows until training records the ones it used.
pub(crate) fn queued_parameters(request: &TrainRequest) -> serde_json::Value {
    match request {
        TrainRequest::Als(Some(s)) => {
            json!({ "factors": s.factors, "regularization": s.regularization, "alpha": s.alpha, "iterations": s.iterations, "tuned": false })
        }
        TrainRequest::Als(None) | TrainRequest::Ease(None) | TrainRequest::Auto => json!({ "tuned": true }),
        TrainRequest::Ease(Some(s)) => json!({ "lambda": s.lambda, "omega": s.omega, "tuned": false }),
        TrainRequest::ItemKnn { neighbours } => json!({ "neighbours": neighbours }),
        TrainRequest::MostPopular => json!({}),
    }
}

/// Models, jobs and what is computed from them (fairness reports) are read with
/// `reports:read` or `models:manage`.
pub(crate) fn require_reader(ctx: &TenantCtx) -> Result<()> {
    ctx.require(Scope::ReportsRead).or_else(|_| ctx.require(Scope::ModelsManage))?;
    Ok(())
}

pub async fn count_models(ctx: &TenantCtx, models: &ModelServices) -> Result<u64> {
    require_reader(ctx)?;
    let tx = models.services.db.begin(ctx).await?;
    let n = store::count_models(&tx).await?;
    tx.commit().await?;
    Ok(n)
}

pub async fn count_jobs(ctx: &TenantCtx, models: &ModelServices) -> Result<u64> {
    require_reader(ctx)?;
    let tx = models.services.db.begin(ctx).await?;
    let n = store::count_jobs(&tx).await?;
    tx.commit().await?;
    Ok(n)
}

pub async fn list_models(ctx: &TenantCtx, models: &ModelServices, page: PageRequest) -> Result<Page<Model>> {
    require_reader(ctx)?;
    let tx = models.services.db.begin(ctx).await?;
    let page = store::list_models(&tx, page).await?;
    tx.commit().await?;
    Ok(page)
}

pub async fn get_model(ctx: &TenantCtx, models: &ModelServices, id: &PublicId) -> Result<Model> {
    require_reader(ctx)?;
    let tx = models.services.db.begin(ctx).await?;
    let model = store::find_model(&tx, id).await?.model;
    tx.commit().await?;
    Ok(model)
}

pub async fn list_jobs(ctx: &TenantCtx, models: &ModelServices, page: PageRequest) -> Result<Page<Job>> {
    require_reader(ctx)?;
    let tx = models.services.db.begin(ctx).await?;
    let page = store::list_jobs(&tx, page).await?;
    tx.commit().await?;
    Ok(page)
}

pub async fn get_job(ctx: &TenantCtx, models: &ModelServices, id: &PublicId) -> Result<Job> {
    require_reader(ctx)?;
    let tx = models.services.db.begin(ctx).await?;
    let job = store::find_job(&tx, id).await?;
    tx.commit().await?;
    Ok(job)
}

/// Asks a job to stop. It stops at its next progress step; the model becomes
/// `cancelled` and the active model is untouched.
pub async fn cancel_job(ctx: &TenantCtx, models: &ModelServices, id: &PublicId) -> Result<Job> {
    ctx.require(Scope::ModelsManage)?;
    let tx = models.services.db.begin_write(ctx).await?;
    let (row, job) = store::request_cancel(&tx, id).await?;
    models
        .services
        .audit
        .record(&tx, AuditEvent::new(action::JOB_CANCEL_REQUESTED).target(Target::object("job", job.id.as_string())))
        .await?;
    tx.commit().await?;
    if let Ok(flags) = models.cancel_flags.lock()
        && let Some(flag) = flags.get(&row)
    {
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(job)
}

/// Makes a ready model the tenant's active one. Requests in flight finish on the model
/// they started with (they hold it); the next request sees the new one. A model
/// significantly worse than the active one (NDCG@10, bootstrap over users:
/// [`super::comparison::deploy_check`]) needs `allow_worse`.
pub async fn deploy_model(ctx: &TenantCtx, models: &ModelServices, id: &PublicId, allow_worse: bool) -> Result<Model> {
    ctx.require(Scope::ModelsManage)?;
    // The comparison reads two evaluation files and resamples: done before the write
    // transaction, which then checks that the model compared with is still the active one.
    let tx = models.services.db.begin(ctx).await?;
    let candidate = store::find_model(&tx, id).await?;
    let active = match store::active_row(&tx).await? {
        Some(row) => Some(store::model_by_row(&tx, row).await?),
        None => None,
    };
    tx.commit().await?;
    ready(&candidate)?;
    let details = match &active {
        Some(active) if active.row != candidate.row => {
            super::comparison::deploy_check(ctx, models, &candidate, active, allow_worse).await?
        }
        _ => json!({ "allowWorse": allow_worse, "comparison": null }),
    };

    let tx = models.services.db.begin_write(ctx).await?;
    let candidate = store::find_model(&tx, id).await?;
    ready(&candidate)?;
    if store::active_row(&tx).await? != active.map(|a| a.row) {
        return Err(DomainError::Conflict("another model was deployed meanwhile; deploy again".into()));
    }
    // Load before switching, so a model that cannot serve never becomes active.
    load(ctx, models, &candidate).await?;
    store::insert_deployment(&tx, candidate.row, "deploy").await?;
    let model = store::model_by_row(&tx, candidate.row).await?.model;
    let event = AuditEvent::new(action::MODEL_DEPLOYED).target(Target::object("model", model.id.as_string()));
    models.services.audit.record(&tx, event.details(details)).await?;
    tx.commit().await?;
    models.services.serving_cache.announce(ctx, Change::ActiveModel);
    Ok(model)
}

fn ready(candidate: &store::ModelRow) -> Result<()> {
    if candidate.model.status != ModelStatus::Ready {
        return Err(DomainError::Conflict(format!("the model is {}, not ready", candidate.model.status.as_str())));
    }
    Ok(())
}

/// Returns to the model that was active before the current one.
pub async fn rollback_model(ctx: &TenantCtx, models: &ModelServices) -> Result<Model> {
    ctx.require(Scope::ModelsManage)?;
    let tx = models.services.db.begin_write(ctx).await?;
    let previous = store::previous_model_row(&tx)
        .await?
        .ok_or_else(|| DomainError::Conflict("there is no earlier deployment to return to".into()))?;
    let target = store::model_by_row(&tx, previous).await?;
    load(ctx, models, &target).await?;
    store::insert_deployment(&tx, previous, "rollback").await?;
    let model = store::model_by_row(&tx, previous).await?.model;
    models
        .services
        .audit
        .record(&tx, AuditEvent::new(action::MODEL_ROLLED_BACK).target(Target::object("model", model.id.as_string())))
        .await?;
    tx.commit().await?;
    models.services.serving_cache.announce(ctx, Change::ActiveModel);
    Ok(model)
}

/// The loaded model for a registry row, from the cache or the store. Concurrent first
/// requests (after a deployment elsewhere, or an erasure that evicted the model) load it
/// once.
pub(crate) async fn load(
    ctx: &TenantCtx,
    models: &ModelServices,
    record: &store::ModelRow,
) -> Result<Arc<LoadedModel>> {
    let (row, key, id) = (record.row, record.artifact_key.clone(), record.model.id);
    models
        .loaded
        .get_or_load(row, || async move {
            let runtime = models.runtime.ok_or_else(|| {
                DomainError::ModelNotReady(format!(
                    "ONNX Runtime is not available ({}); run scripts/setup-onnxruntime.sh",
                    models.runtime_error.clone().unwrap_or_default()
                ))
            })?;
            let key = key.ok_or_else(|| DomainError::ModelNotReady("the model has no files yet".into()))?;
            let files = ModelFiles::read(models.store.as_ref(), ctx, &key).await?;
            let sessions = models.config.sessions_per_model;
            let sandbox = models.sandbox.clone();
            let model = tokio::task::spawn_blocking(move || {
                LoadedModel::load(files, runtime, sandbox.as_ref(), row, id, sessions)
            })
            .await
            .map_err(|e| DomainError::internal_from("model loading thread", e))??;
            Ok(Arc::new(model))
        })
        .await
}

/// The tenant's active model, loaded, or `None` when nothing is deployed.
pub(crate) async fn active(ctx: &TenantCtx, models: &ModelServices) -> Result<Option<Arc<LoadedModel>>> {
    let row = models.active.get_or_load(ctx.tenant_id().get(), || active_row(ctx, models)).await?;
    let Some(row) = row else { return Ok(None) };
    if let Some(model) = models.loaded.get(&row) {
        return Ok(Some(model));
    }
    let tx = models.services.db.begin(ctx).await?;
    let record = store::model_by_row(&tx, row).await?;
    tx.commit().await?;
    Ok(Some(load(ctx, models, &record).await?))
}

async fn active_row(ctx: &TenantCtx, models: &ModelServices) -> Result<Option<i64>> {
    let tx = models.services.db.begin(ctx).await?;
    let row = store::active_row(&tx).await?;
    tx.commit().await?;
    Ok(row)
}

/// Accepts a tenant's own ONNX model with the published history signature: input
/// `user_history` float32 [N, I], output `scores` float32 [N, I], where the I columns
/// are `item_ids` in order. It is loaded and probed before it is stored.
pub async fn upload_model(
    ctx: &TenantCtx,
    models: &ModelServices,
    name: &str,
    bytes: Vec<u8>,
    item_ids: Vec<String>,
) -> Result<Model> {
    ctx.require(Scope::ModelsManage)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("name", "use 1 to 100 characters"));
    }
    if item_ids.is_empty() {
        return Err(DomainError::invalid("itemIds", "list the catalog ids of the model's columns"));
    }
    let unique: std::collections::HashSet<&String> = item_ids.iter().collect();
    if unique.len() != item_ids.len() {
        return Err(DomainError::invalid("itemIds", "ids must be unique"));
    }
    let Some(sandbox) = &models.sandbox else {
        return Err(DomainError::ModelNotReady("ONNX Runtime is not available to validate the model".into()));
    };
    // The probe runs the tenant's graph: in a worker process, under the sandbox's limits.
    let sandbox = sandbox.with_timeout(models.config.sandbox.probe_timeout);
    let expected = inference::upload::ExpectedSignature {
        kind: inference::onnx::SignatureKind::History,
        factors: 0,
        n_items: item_ids.len(),
        max_bytes: models.config.max_upload_bytes,
    };
    let bytes_for_check = bytes.clone();
    tokio::task::spawn_blocking(move || inference::upload::validate_uploaded(&bytes_for_check, &expected, &sandbox))
        .await
        .map_err(|e| DomainError::internal_from("validation thread", e))?
        .map_err(|e| match e {
            inference::InferenceError::SandboxUnavailable { .. } => DomainError::internal_from("model sandbox", e),
            e => DomainError::invalid("model", e.to_string()),
        })?;

    let key = format!("{}/{}", ctx.tenant_id().get(), uuid::Uuid::new_v4().simple());
    let now = chrono::Utc::now();
    let meta = ArtifactMeta {
        algorithm: Algorithm::Uploaded,
        item_ids: item_ids.clone(),
        user_ids: Vec::new(),
        eval_user_ids: Vec::new(),
        factors: 0,
        als: None,
        history_digests: false,
        trained_at: now,
    };
    let meta = serde_json::to_vec(&meta).map_err(|e| DomainError::internal(e.to_string()))?;
    models.store.put(ctx, &key, vec![(ONNX_FILE, bytes), (META_FILE, meta)]).await?;
    let snapshot = DataSnapshot {
        users: 0,
        items: item_ids.len(),
        interactions: 0,
        first_interaction_at: None,
        last_interaction_at: None,
        taken_at: now,
    };
    let tx = models.services.db.begin_write(ctx).await?;
    let row = store::insert_uploaded(&tx, &json!({ "name": name }), &key, &snapshot).await?;
    let model = store::model_by_row(&tx, row).await?.model;
    let event = AuditEvent::new(action::MODEL_UPLOADED).target(Target::object("model", model.id.as_string()));
    models.services.audit.record(&tx, event.details(json!({ "name": name, "items": item_ids.len() }))).await?;
    tx.commit().await?;
    Ok(model)
}

/// For a starting server only: the jobs an earlier instance of this node queued died
/// with it and cannot resume. Jobs of other nodes, and of live CLI processes, are theirs.
/// The training queue's depth for `/metrics`: unfinished jobs of every tenant by
/// status, counted when scraped. Carries no tenant's identity.
pub async fn job_queue_depth(models: &ModelServices) -> Result<Vec<(String, i64)>> {
    let tx = models.services.db.begin_system(&tenants::SystemCtx::new("count unfinished jobs for metrics")).await?;
    let counts = store::unfinished_jobs(&tx).await?;
    tx.commit().await?;
    Ok(counts)
}

pub async fn fail_interrupted_jobs(models: &ModelServices) -> Result<u64> {
    let tx = models.services.db.begin_system(&tenants::SystemCtx::new("fail interrupted training jobs")).await?;
    let n = store::fail_interrupted(&tx, &models.owner).await?;
    tx.commit().await?;
    Ok(n)
}
