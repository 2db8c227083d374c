//! Background training: a job runs on a blocking thread, reports progress to the
//! registry every half second and stops when asked. Whatever happens to it, the active
//! model stays as it was: only `deploy` changes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use tenants::TenantCtx;
use tokio::sync::OwnedSemaphorePermit;

use super::artifacts::{
    ArtifactMeta, EVALUATION_FILE, HISTORY_DIGESTS_FILE, META_FILE, ONNX_FILE, USER_FACTORS_FILE, f32_bytes,
};
use super::queue;
use super::runtime::ModelServices;
use super::selection::Selection;
use super::store::{self, TrainedRecord};
use super::training::{self, Outcome};
use super::types::{JobStatus, TrainRequest};
use crate::error::{DomainError, Result};

// Every registry transaction here writes, most after a read: on SQLite they take the
// write lock up front (`begin_write`), since upgrading a read transaction fails at once
// when another writer holds the lock.

/// Runs a job this process holds: on the training slot `slot` when the worker already
/// took it, else after waiting for it. The lease is renewed from now on; if it is lost,
/// the run stops and writes nothing.
pub(crate) fn spawn(
    ctx: TenantCtx,
    models: ModelServices,
    model_row: i64,
    job_row: i64,
    request: TrainRequest,
    slot: Option<OwnedSemaphorePermit>,
) {
    let cancel = Arc::new(AtomicBool::new(false));
    if let Ok(mut flags) = models.cancel_flags.lock() {
        flags.insert(job_row, cancel.clone());
    }
    tokio::spawn(async move {
        let span = tracing::info_span!("training", tenant_id = ctx.tenant_id().get(), job = job_row);
        let _entered = span.enter();
        let started = std::time::Instant::now();
        let family = requested_family(&request);
        let heartbeat = tokio::spawn(queue::heartbeat(ctx.clone(), models.clone(), job_row, cancel.clone()));
        let result = run(&ctx, &models, model_row, job_row, request, cancel, slot).await;
        heartbeat.abort();
        let outcome = if result.is_ok() { "finished" } else { "failed" };
        models.services.metrics.observe_training(family, outcome, started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            tracing::error!(error = ?e, "training job failed");
            let public = match e.code() {
                crate::ErrorCode::Internal => "training failed; see the server log".to_owned(),
                _ => e.public_message(),
            };
            if let Err(e) = finish(&ctx, &models, model_row, job_row, JobStatus::Failed, Some(public)).await {
                tracing::error!(error = ?e, "could not record the failure");
            }
        }
        if let Ok(mut flags) = models.cancel_flags.lock() {
            flags.remove(&job_row);
        }
    });
}

/// The family a job was asked for, as the training-duration series labels it.
fn requested_family(request: &TrainRequest) -> &'static str {
    match request {
        TrainRequest::Auto => "auto",
        TrainRequest::Als(_) => "als",
        TrainRequest::Ease(_) => "ease",
        TrainRequest::ItemKnn { .. } => "item_knn",
        TrainRequest::MostPopular => "most_popular",
    }
}

async fn finish(
    ctx: &TenantCtx,
    models: &ModelServices,
    model_row: i64,
    job_row: i64,
    status: JobStatus,
    error: Option<String>,
) -> Result<()> {
    let tx = models.services.db.begin_write(ctx).await?;
    if !queue::renew(&tx, models, job_row).await? {
        tracing::warn!(status = status.as_str(), "the job is no longer this process's: its outcome is not written");
        return Ok(());
    }
    store::finish_unsuccessful(&tx, model_row, job_row, status, error).await?;
    queue::end_run(&tx, models, job_row, queue::outcome::FINISHED).await?;
    tx.commit().await?;
    Ok(())
}

async fn run(
    ctx: &TenantCtx,
    models: &ModelServices,
    model_row: i64,
    job_row: i64,
    request: TrainRequest,
    cancel: Arc<AtomicBool>,
    slot: Option<OwnedSemaphorePermit>,
) -> Result<()> {
    let _slot = match slot {
        Some(slot) => slot,
        None => models
            .training_slot
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DomainError::internal("training slot closed"))?,
    };
    {
        let tx = models.services.db.begin_write(ctx).await?;
        if !queue::renew(&tx, models, job_row).await? {
            tracing::warn!("the job is no longer this process's; another worker runs it");
            return Ok(());
        }
        if store::cancel_requested(&tx, job_row).await? {
            tx.commit().await?;
            return finish(ctx, models, model_row, job_row, JobStatus::Cancelled, None).await;
        }
        store::set_running(&tx, model_row, job_row).await?;
        tx.commit().await?;
    }
    let data = super::data::load_training_data(ctx, models).await?;
    let options = training::TrainingOptions {
        threads: models.config.training_threads,
        tuning_budget: models.config.tuning_budget,
        ease_memory_budget: models.config.ease_memory_budget,
        warm: warm_start(ctx, models).await?,
    };

    let progress = Arc::new(AtomicU32::new(0));
    let reporter = tokio::spawn(report_progress(
        ctx.clone(),
        models.clone(),
        model_row,
        job_row,
        progress.clone(),
        cancel.clone(),
    ));
    let blocking = {
        let progress = progress.clone();
        let cancel = cancel.clone();
        tokio::task::spawn_blocking(move || {
            let mut callback = |p: f32| {
                progress.store(p.to_bits(), Ordering::Relaxed);
                !cancel.load(Ordering::Relaxed)
            };
            let outcome = training::train(&data, &request, &options, &mut callback)?;
            let digests = match &outcome {
                Outcome::Trained(t) if t.user_factors.is_some() => Some(history_digests(&data)?),
                _ => None,
            };
            Ok::<_, DomainError>((outcome, data, digests))
        })
    };
    let outcome = blocking.await.map_err(|e| DomainError::internal_from("training thread", e));
    reporter.abort();
    let (outcome, data, digests) = outcome??;
    match outcome {
        Outcome::Cancelled => finish(ctx, models, model_row, job_row, JobStatus::Cancelled, None).await,
        Outcome::Trained(trained) => {
            let key = format!("{}/{}", ctx.tenant_id().get(), uuid::Uuid::new_v4().simple());
            let store = models.store.clone();
            let meta = ArtifactMeta {
                algorithm: trained.algorithm,
                item_ids: data.item_ids.clone(),
                user_ids: if trained.user_factors.is_some() { data.user_ids.clone() } else { Vec::new() },
                eval_user_ids: data.user_ids.clone(),
                factors: trained.factors,
                als: trained.als.clone(),
                history_digests: digests.is_some(),
                trained_at: data.snapshot.taken_at,
            };
            let evaluation =
                serde_json::to_vec(&trained.evaluation).map_err(|e| DomainError::internal(e.to_string()))?;
            let (graph, factors) = trained.clone_files();
            let mut files = vec![(ONNX_FILE, graph)];
            if let Some(factors) = &factors {
                files.push((USER_FACTORS_FILE, f32_bytes(factors)));
            }
            if let Some(digests) = digests {
                files.push((HISTORY_DIGESTS_FILE, digests));
            }
            files.push((EVALUATION_FILE, evaluation));
            let meta = serde_json::to_vec(&meta).map_err(|e| DomainError::internal(e.to_string()))?;
            files.push((META_FILE, meta));
            store.put(ctx, &key, files).await?;
            let record = TrainedRecord {
                algorithm: trained.algorithm,
                artifact_key: key,
                parameters: trained.parameters.clone(),
                tuning: trained.tuning.clone(),
                snapshot: data.snapshot.clone(),
                metrics: trained.metrics,
            };
            let pause = models.config.pause_before_store;
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            let tx = models.services.db.begin_write(ctx).await?;
            // A run that lost its lease stored files nobody will point at; the run that
            // holds the job now writes its outcome.
            if !queue::renew(&tx, models, job_row).await? {
                tracing::warn!("the job was taken over while it trained here; this model is not stored");
                return Ok(());
            }
            // A cancel that arrived during the last step still wins.
            if store::cancel_requested(&tx, job_row).await? {
                tx.commit().await?;
                return finish(ctx, models, model_row, job_row, JobStatus::Cancelled, None).await;
            }
            store_without_erased(ctx, models, &tx, model_row, &record.artifact_key, &data.user_ids).await?;
            store::finish_ready(&tx, model_row, job_row, record).await?;
            queue::end_run(&tx, models, job_row, queue::outcome::FINISHED).await?;
            tx.commit().await?;
            tracing::info!(ndcg = trained.metrics.ndcg, recall = trained.metrics.recall, "model trained");
            if let Err(e) = super::retrain::after_training(ctx, models, model_row).await {
                tracing::error!(error = ?e, "could not replace the model this one retrains; the next check retries");
            }
            Ok(())
        }
    }
}

/// People erased while the model trained are in its files: scrubbed under the erasure
/// lock, in the transaction that makes the files the model's, so an erasure either
/// sees this model stored or is seen here.
async fn store_without_erased(
    ctx: &TenantCtx,
    models: &ModelServices,
    tx: &tenants::TenantTx,
    model_row: i64,
    key: &str,
    snapshot_users: &[String],
) -> Result<()> {
    super::privacy::erasure_lock(models, ctx, tx).await?;
    let held_erased = super::privacy::scrub_fresh(models, tx, model_row, key, snapshot_users).await?;
    super::privacy::settle_fresh(tx, model_row, held_erased).await
}

/// The stored digest of every trained person's history: the matrix training built from
/// the same triplets, so the same merged weights.
fn history_digests(data: &training::TrainingData) -> Result<Vec<u8>> {
    let matrix =
        inference::matrix::Interactions::from_triplets(data.user_ids.len(), data.item_ids.len(), &data.triplets)
            .map_err(|e| DomainError::internal_from("history digests", e))?;
    Ok(super::history_digest::to_bytes(&super::history_digest::digests(&matrix)))
}

/// The best setting of each family in the tenant's latest tuning record that has one:
/// the next search starts from them.
async fn warm_start(ctx: &TenantCtx, models: &ModelServices) -> Result<Vec<inference::tune::Setting>> {
    let tx = models.services.db.begin(ctx).await?;
    let records = store::recent_tuning(&tx, 5).await?;
    tx.commit().await?;
    let mut warm: Vec<inference::tune::Setting> = Vec::new();
    for selection in records.iter().filter_map(Selection::from_record) {
        for setting in selection.best_settings() {
            if !warm.iter().any(|w| w.family() == setting.family()) {
                warm.push(setting);
            }
        }
    }
    Ok(warm)
}

async fn report_progress(
    ctx: TenantCtx,
    models: ModelServices,
    model_row: i64,
    job_row: i64,
    progress: Arc<AtomicU32>,
    cancel: Arc<AtomicBool>,
) {
    let mut last = -1.0f64;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let p = f64::from(f32::from_bits(progress.load(Ordering::Relaxed)));
        let step = async {
            let tx = models.services.db.begin_write(&ctx).await?;
            if (p - last).abs() > 1e-6 {
                store::set_progress(&tx, model_row, job_row, p).await?;
            }
            // Cancellation may come through another replica: the database tells.
            if store::cancel_requested(&tx, job_row).await? {
                cancel.store(true, Ordering::Relaxed);
            }
            tx.commit().await?;
            Ok::<_, DomainError>(())
        };
        if let Err(e) = step.await {
            tracing::warn!(error = ?e, "could not record training progress");
        }
        last = p;
    }
}
