//! The jobs table as the one queue of training work that every process running workers
//! shares (docs/models.md, "Jobs and their owners").
//!
//! A worker claims a job in one write transaction (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so replicas never wait on each other's claims; SQLite's single writer
//! orders claims by itself): a queued job nobody holds, or one whose holder stopped
//! renewing its lease. The holder renews the lease while the job waits for the training
//! slot and while it trains, and every write of the job's outcome first renews it: a
//! holder that lost its lease (it stalled past it, and another worker took the job
//! over) writes nothing, so a job's outcome is written by one run only. Each claim is a
//! run record (`job_runs`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tenants::db::DbBackendKind;
use tenants::ids::TenantId;
use tenants::{RequestId, SystemCtx, TenantCtx, TenantTx};

use super::entity::{job, job_run, model};
use super::runtime::{JobRunner, ModelServices};
use super::types::{JobStatus, ModelStatus, TrainRequest};
use crate::error::{DomainError, Result};

/// Claims after which a job whose holders keep dying is failed rather than tried again.
pub(crate) const MAX_ATTEMPTS: i32 = 3;

/// How often an idle worker looks for work queued elsewhere or left by a dead holder.
const POLL: Duration = Duration::from_millis(500);

/// Run outcomes, as `job_runs.outcome` records them.
pub(crate) mod outcome {
    /// The run wrote the job's final status (succeeded, failed or cancelled).
    pub const FINISHED: &str = "finished";
    /// Its process died, or stalled past its lease: another claim followed.
    pub const LOST: &str = "lost";
    /// Its process stopped and handed the job back (graceful shutdown).
    pub const RELEASED: &str = "released";
}

/// A claimed job, ready to run.
pub(crate) struct Claimed {
    pub tenant: TenantId,
    pub job_row: i64,
    pub model_row: i64,
    pub request: TrainRequest,
}

/// This process as a lease holder.
pub(crate) fn worker(models: &ModelServices) -> String {
    format!("{}/{}", models.owner.node, models.owner.instance)
}

pub(crate) fn lease_end(models: &ModelServices) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(models.config.job_lease).unwrap_or(chrono::Duration::seconds(30))
}

/// The lease a job is queued with: held at once by a process that runs what it queues
/// (the CLI), by nobody otherwise (a worker claims it).
pub(crate) fn lease_at_insert(models: &ModelServices) -> Option<(String, DateTime<Utc>)> {
    (models.config.job_runner == JobRunner::Local).then(|| (worker(models), lease_end(models)))
}

/// After the commit that queued a job: runs it here, wakes this process's worker, or
/// leaves it to the workers of other processes.
pub(crate) fn start(ctx: &TenantCtx, models: &ModelServices, model_row: i64, job_row: i64, request: TrainRequest) {
    match models.config.job_runner {
        JobRunner::Local => super::jobs::spawn(ctx.clone(), models.clone(), model_row, job_row, request, None),
        JobRunner::Worker => models.work_queued.notify_one(),
        JobRunner::None => {}
    }
}

/// The run record of a claim.
pub(crate) async fn record_run(
    conn: &impl ConnectionTrait,
    tenant: i64,
    job_row: i64,
    attempt: i32,
    worker: &str,
) -> Result<()> {
    job_run::ActiveModel {
        tenant_id: Set(tenant),
        job_id: Set(job_row),
        attempt: Set(attempt),
        worker: Set(worker.to_owned()),
        started_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Claims the oldest claimable job, if any. Jobs that cannot run (their request is
/// unreadable, or their holders died [`MAX_ATTEMPTS`] times) are failed on the way.
pub(crate) async fn claim_next(models: &ModelServices) -> Result<Option<Claimed>> {
    let db = &models.services.db;
    let me = worker(models);
    loop {
        let tx = db.begin_system_write(&SystemCtx::new("claim a job")).await?;
        let now = Utc::now();
        let unfinished = [JobStatus::Queued.as_str(), JobStatus::Running.as_str()];
        let claimable = Condition::any()
            .add(
                Condition::all()
                    .add(job::Column::Status.eq(JobStatus::Queued.as_str()))
                    .add(job::Column::LeaseOwner.is_null()),
            )
            .add(Condition::all().add(job::Column::Status.is_in(unfinished)).add(job::Column::LeaseUntil.lt(now)));
        let mut query = job::Entity::find()
            .filter(job::Column::Request.is_not_null())
            .filter(claimable)
            .order_by_asc(job::Column::Id)
            .limit(1);
        if db.kind() == DbBackendKind::Postgres {
            query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let Some(found) = query.one(tx.conn()).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        // The runs of earlier claims that never ended died with their process.
        job_run::Entity::update_many()
            .col_expr(job_run::Column::Outcome, Expr::value(outcome::LOST))
            .col_expr(job_run::Column::FinishedAt, Expr::value(now))
            .filter(job_run::Column::JobId.eq(found.id))
            .filter(job_run::Column::FinishedAt.is_null())
            .exec(tx.conn())
            .await?;
        let request = found.request.as_deref().map(serde_json::from_str::<TrainRequest>);
        let (Some(model_row), Some(Ok(request))) = (found.model_id, request) else {
            fail(tx.conn(), &found, "the job's request cannot be read").await?;
            tx.commit().await?;
            continue;
        };
        if found.attempts >= MAX_ATTEMPTS {
            let reason = format!("abandoned: the processes running it stopped {} times", found.attempts);
            fail(tx.conn(), &found, &reason).await?;
            tx.commit().await?;
            tracing::warn!(job = found.id, attempts = found.attempts, "job abandoned");
            continue;
        }
        let attempt = found.attempts + 1;
        job::Entity::update_many()
            .col_expr(job::Column::LeaseOwner, Expr::value(me.clone()))
            .col_expr(job::Column::LeaseUntil, Expr::value(lease_end(models)))
            .col_expr(job::Column::Attempts, Expr::value(attempt))
            .filter(job::Column::Id.eq(found.id))
            .exec(tx.conn())
            .await?;
        record_run(tx.conn(), found.tenant_id, found.id, attempt, &me).await?;
        tx.commit().await?;
        if attempt > 1 {
            tracing::info!(job = found.id, attempt, "took over a job whose holder stopped renewing its lease");
        }
        return Ok(Some(Claimed { tenant: TenantId::from_db(found.tenant_id), job_row: found.id, model_row, request }));
    }
}

async fn fail(conn: &impl ConnectionTrait, found: &job::Model, reason: &str) -> Result<()> {
    let now = Utc::now();
    job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Failed.as_str()))
        .col_expr(job::Column::Error, Expr::value(reason))
        .col_expr(job::Column::FinishedAt, Expr::value(now))
        .filter(job::Column::Id.eq(found.id))
        .exec(conn)
        .await?;
    if let Some(model_row) = found.model_id {
        model::Entity::update_many()
            .col_expr(model::Column::Status, Expr::value(ModelStatus::Failed.as_str()))
            .col_expr(model::Column::Error, Expr::value(reason))
            .col_expr(model::Column::FinishedAt, Expr::value(now))
            .filter(model::Column::Id.eq(model_row))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Inside the caller's write transaction: extends this process's lease on the job;
/// `false` when the job is no longer this process's (another worker took it over, or
/// it was handed back).
pub(crate) async fn renew(tx: &TenantTx, models: &ModelServices, job_row: i64) -> Result<bool> {
    let renewed = job::Entity::update_many()
        .col_expr(job::Column::LeaseUntil, Expr::value(lease_end(models)))
        .filter(job::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(job::Column::Id.eq(job_row))
        .filter(job::Column::LeaseOwner.eq(worker(models)))
        .exec(tx.conn())
        .await?;
    Ok(renewed.rows_affected == 1)
}

/// Inside the transaction that writes the job's final status: its run by this process
/// ended with `outcome`, and nobody holds the job any more.
pub(crate) async fn end_run(tx: &TenantTx, models: &ModelServices, job_row: i64, outcome: &str) -> Result<()> {
    let tenant = tx.tenant_id().get();
    job_run::Entity::update_many()
        .col_expr(job_run::Column::Outcome, Expr::value(outcome))
        .col_expr(job_run::Column::FinishedAt, Expr::value(Utc::now()))
        .filter(job_run::Column::TenantId.eq(tenant))
        .filter(job_run::Column::JobId.eq(job_row))
        .filter(job_run::Column::Worker.eq(worker(models)))
        .filter(job_run::Column::FinishedAt.is_null())
        .exec(tx.conn())
        .await?;
    job::Entity::update_many()
        .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(job::Column::TenantId.eq(tenant))
        .filter(job::Column::Id.eq(job_row))
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// Renews the lease every third of its length until the job ends here; when the lease
/// is lost, asks the local run to stop (it then writes nothing).
pub(crate) async fn heartbeat(
    ctx: TenantCtx,
    models: ModelServices,
    job_row: i64,
    lost: Arc<std::sync::atomic::AtomicBool>,
) {
    let every = models.config.job_lease / 3;
    loop {
        tokio::time::sleep(every).await;
        let renewed = async {
            let tx = models.services.db.begin_write(&ctx).await?;
            let held = renew(&tx, &models, job_row).await?;
            tx.commit().await?;
            Ok::<_, DomainError>(held)
        };
        match renewed.await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = job_row, "the job's lease was lost; this run stops");
                lost.store(true, std::sync::atomic::Ordering::Relaxed);
                return;
            }
            // The database may be back before the lease runs out: keep trying.
            Err(e) => tracing::warn!(error = ?e, job = job_row, "could not renew the job's lease"),
        }
    }
}

/// A server's worker: whenever the training slot is free, claims a job and runs it.
/// Woken at once by jobs queued in this process; polls for the others.
pub fn spawn_worker(models: ModelServices) {
    tokio::spawn(async move {
        loop {
            let Ok(slot) = models.training_slot.clone().acquire_owned().await else { return };
            match claim_next(&models).await {
                Ok(Some(claimed)) => {
                    let ctx = TenantCtx::operator(claimed.tenant, RequestId::new());
                    super::jobs::spawn(
                        ctx,
                        models.clone(),
                        claimed.model_row,
                        claimed.job_row,
                        claimed.request,
                        Some(slot),
                    );
                }
                Ok(None) => {
                    drop(slot);
                    let _ = tokio::time::timeout(POLL, models.work_queued.notified()).await;
                }
                Err(e) => {
                    drop(slot);
                    tracing::warn!(error = ?e, "could not look for queued jobs");
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    });
}

/// For a graceful stop: hands every job this process holds back to the queue, so
/// another worker claims it at once instead of after the lease. Returns how many.
pub async fn release_held(models: &ModelServices) -> Result<u64> {
    let me = worker(models);
    // By now the HTTP workers' runtimes are gone, and on PostgreSQL the shared pool's
    // connections they opened fail ("the runtime is being shut down"): a pool of one
    // connection opened here.
    let db = models.services.db.own_pool(1, "marquee-stop");
    let tx = db.begin_system_write(&SystemCtx::new("release held jobs")).await?;
    let held: Vec<i64> = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(job::Column::LeaseOwner.eq(me.as_str()))
        .filter(job::Column::Status.is_in([JobStatus::Queued.as_str(), JobStatus::Running.as_str()]))
        .into_tuple()
        .all(tx.conn())
        .await?;
    if held.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    job_run::Entity::update_many()
        .col_expr(job_run::Column::Outcome, Expr::value(outcome::RELEASED))
        .col_expr(job_run::Column::FinishedAt, Expr::value(Utc::now()))
        .filter(job_run::Column::JobId.is_in(held.clone()))
        .filter(job_run::Column::Worker.eq(me.as_str()))
        .filter(job_run::Column::FinishedAt.is_null())
        .exec(tx.conn())
        .await?;
    let released = job::Entity::update_many()
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::Status, Expr::value(JobStatus::Queued.as_str()))
        .filter(job::Column::Id.is_in(held))
        .exec(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(released.rows_affected)
}
