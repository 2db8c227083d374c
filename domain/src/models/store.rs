//! Persistence of the registry. Every function runs inside the caller's tenant
//! transaction and filters by the context's tenant.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use tenants::db::{SystemTx, TenantTx};
use tenants::ids::PublicId;
use tenants::page::{Page, PageRequest};

use super::entity::{deployment, job, model};
use super::runtime::JobOwner;
use super::types::{Algorithm, DataSnapshot, Job, JobStatus, Model, ModelMetrics, ModelStatus, TrainRequest};
use crate::error::{DomainError, Result};

pub(crate) struct ModelRow {
    pub row: i64,
    pub model: Model,
    pub artifact_key: Option<String>,
}

fn parse_json<T: serde::de::DeserializeOwned>(raw: Option<&String>) -> Result<Option<T>> {
    raw.map(|s| serde_json::from_str(s).map_err(|e| DomainError::internal_from("corrupt registry json", e))).transpose()
}

fn to_model(m: model::Model, active_row: Option<i64>) -> Result<ModelRow> {
    Ok(ModelRow {
        row: m.id,
        artifact_key: m.artifact_key.clone(),
        model: Model {
            id: PublicId::from_db(&m.public_id)?,
            version: m.version,
            algorithm: Algorithm::parse(&m.algorithm)?,
            status: ModelStatus::parse(&m.status)?,
            progress: m.progress,
            parameters: serde_json::from_str(&m.parameters).unwrap_or(serde_json::Value::Null),
            tuning: parse_json(m.tuning.as_ref())?,
            snapshot: parse_json::<DataSnapshot>(m.data_snapshot.as_ref())?,
            metrics: parse_json::<ModelMetrics>(m.metrics.as_ref())?,
            error: m.error,
            needs_retraining: m.needs_retraining,
            created_by: m.created_by,
            created_at: m.created_at,
            finished_at: m.finished_at,
            active: active_row == Some(m.id),
        },
    })
}

fn to_job(j: job::Model, model_public: Option<PublicId>) -> Result<Job> {
    Ok(Job {
        id: PublicId::from_db(&j.public_id)?,
        kind: j.kind,
        model_id: model_public,
        status: JobStatus::parse(&j.status)?,
        progress: j.progress,
        error: j.error,
        created_by: j.created_by,
        created_at: j.created_at,
        started_at: j.started_at,
        finished_at: j.finished_at,
    })
}

/// The tenant's highest model version so far (0 before the first).
async fn last_version(tx: &TenantTx) -> Result<i32> {
    Ok(model::Entity::find()
        .filter(model::Column::TenantId.eq(tx.tenant_id().get()))
        .order_by_desc(model::Column::Version)
        .one(tx.conn())
        .await?
        .map_or(0, |m| m.version))
}

/// Registers a model and its training job, both queued.
/// With `lease`, the job is held by that worker from the start (and has its first run).
pub(crate) async fn insert_queued(
    tx: &TenantTx,
    request: &TrainRequest,
    parameters: &serde_json::Value,
    owner: &JobOwner,
    lease: Option<(String, chrono::DateTime<Utc>)>,
) -> Result<(i64, i64)> {
    let algorithm = request.algorithm();
    let request = serde_json::to_string(request).map_err(|e| DomainError::internal_from("training request", e))?;
    let tenant = tx.tenant_id().get();
    let last_version = last_version(tx).await?;
    let now = Utc::now();
    let model_row = model::ActiveModel {
        tenant_id: Set(tenant),
        public_id: Set(PublicId::new().as_string()),
        version: Set(last_version + 1),
        algorithm: Set(algorithm.as_str().to_owned()),
        status: Set(ModelStatus::Queued.as_str().to_owned()),
        progress: Set(0.0),
        parameters: Set(parameters.to_string()),
        needs_retraining: Set(false),
        created_by: Set(tx.ctx().principal().label()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(tx.conn())
    .await?;
    let job_row = job::ActiveModel {
        tenant_id: Set(tenant),
        public_id: Set(PublicId::new().as_string()),
        kind: Set("train".to_owned()),
        model_id: Set(Some(model_row.id)),
        status: Set(JobStatus::Queued.as_str().to_owned()),
        progress: Set(0.0),
        cancel_requested: Set(false),
        created_by: Set(tx.ctx().principal().label()),
        created_at: Set(now),
        owner_node: Set(Some(owner.node.clone())),
        owner_instance: Set(Some(owner.instance.clone())),
        attempts: Set(i32::from(lease.is_some())),
        lease_owner: Set(lease.as_ref().map(|(worker, _)| worker.clone())),
        lease_until: Set(lease.as_ref().map(|(_, until)| *until)),
        request: Set(Some(request)),
        ..Default::default()
    }
    .insert(tx.conn())
    .await?;
    if let Some((worker, _)) = &lease {
        super::queue::record_run(tx.conn(), tenant, job_row.id, 1, worker).await?;
    }
    Ok((model_row.id, job_row.id))
}

pub(crate) async fn set_running(tx: &TenantTx, model_row: i64, job_row: i64) -> Result<()> {
    let tenant = tx.tenant_id().get();
    model::Entity::update_many()
        .col_expr(model::Column::Status, Expr::value(ModelStatus::Training.as_str()))
        .filter(model::Column::TenantId.eq(tenant))
        .filter(model::Column::Id.eq(model_row))
        .exec(tx.conn())
        .await?;
    job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Running.as_str()))
        .col_expr(job::Column::StartedAt, Expr::value(Utc::now()))
        .filter(job::Column::TenantId.eq(tenant))
        .filter(job::Column::Id.eq(job_row))
        .exec(tx.conn())
        .await?;
    Ok(())
}

pub(crate) async fn set_progress(tx: &TenantTx, model_row: i64, job_row: i64, progress: f64) -> Result<()> {
    let tenant = tx.tenant_id().get();
    model::Entity::update_many()
        .col_expr(model::Column::Progress, Expr::value(progress))
        .filter(model::Column::TenantId.eq(tenant))
        .filter(model::Column::Id.eq(model_row))
        .exec(tx.conn())
        .await?;
    job::Entity::update_many()
        .col_expr(job::Column::Progress, Expr::value(progress))
        .filter(job::Column::TenantId.eq(tenant))
        .filter(job::Column::Id.eq(job_row))
        .exec(tx.conn())
        .await?;
    Ok(())
}

pub(crate) async fn cancel_requested(tx: &TenantTx, job_row: i64) -> Result<bool> {
    Ok(job::Entity::find()
        .filter(job::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(job::Column::Id.eq(job_row))
        .one(tx.conn())
        .await?
        .is_some_and(|j| j.cancel_requested))
}

pub(crate) struct TrainedRecord {
    /// The family trained: for `AUTO`, the one the search chose.
    pub algorithm: Algorithm,
    pub artifact_key: String,
    pub parameters: serde_json::Value,
    pub tuning: Option<serde_json::Value>,
    pub snapshot: DataSnapshot,
    pub metrics: ModelMetrics,
}

pub(crate) async fn finish_ready(tx: &TenantTx, model_row: i64, job_row: i64, record: TrainedRecord) -> Result<()> {
    let tenant = tx.tenant_id().get();
    let now = Utc::now();
    let to_text = |v: &serde_json::Value| v.to_string();
    model::Entity::update_many()
        .col_expr(model::Column::Status, Expr::value(ModelStatus::Ready.as_str()))
        .col_expr(model::Column::Algorithm, Expr::value(record.algorithm.as_str()))
        .col_expr(model::Column::Progress, Expr::value(1.0))
        .col_expr(model::Column::ArtifactKey, Expr::value(record.artifact_key))
        .col_expr(model::Column::Parameters, Expr::value(to_text(&record.parameters)))
        .col_expr(model::Column::Tuning, Expr::value(record.tuning.as_ref().map(to_text)))
        .col_expr(model::Column::DataSnapshot, Expr::value(serde_json::to_string(&record.snapshot).ok()))
        .col_expr(model::Column::Metrics, Expr::value(serde_json::to_string(&record.metrics).ok()))
        .col_expr(model::Column::FinishedAt, Expr::value(now))
        .filter(model::Column::TenantId.eq(tenant))
        .filter(model::Column::Id.eq(model_row))
        .exec(tx.conn())
        .await?;
    finish_job(tx, job_row, JobStatus::Succeeded, None).await
}

pub(crate) async fn finish_unsuccessful(
    tx: &TenantTx,
    model_row: i64,
    job_row: i64,
    status: JobStatus,
    error: Option<String>,
) -> Result<()> {
    let model_status = if status == JobStatus::Cancelled { ModelStatus::Cancelled } else { ModelStatus::Failed };
    model::Entity::update_many()
        .col_expr(model::Column::Status, Expr::value(model_status.as_str()))
        .col_expr(model::Column::Error, Expr::value(error.clone()))
        .col_expr(model::Column::FinishedAt, Expr::value(Utc::now()))
        .filter(model::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(model::Column::Id.eq(model_row))
        .exec(tx.conn())
        .await?;
    finish_job(tx, job_row, status, error).await
}

async fn finish_job(tx: &TenantTx, job_row: i64, status: JobStatus, error: Option<String>) -> Result<()> {
    job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status.as_str()))
        .col_expr(job::Column::Error, Expr::value(error))
        .col_expr(job::Column::FinishedAt, Expr::value(Utc::now()))
        .filter(job::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(job::Column::Id.eq(job_row))
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// Asks a queued or running job to stop; the runner notices at its next progress step.
pub(crate) async fn request_cancel(tx: &TenantTx, id: &PublicId) -> Result<(i64, Job)> {
    let row = job::Entity::find()
        .filter(job::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(job::Column::PublicId.eq(id.as_string()))
        .one(tx.conn())
        .await?
        .ok_or_else(|| DomainError::NotFound("job".into()))?;
    if JobStatus::parse(&row.status)?.is_finished() {
        return Err(DomainError::Conflict("the job has already finished".into()));
    }
    let row_id = row.id;
    let mut active: job::ActiveModel = row.into();
    active.cancel_requested = Set(true);
    let row = active.update(tx.conn()).await?;
    let model_public = model_public_id(tx, row.model_id).await?;
    Ok((row_id, to_job(row, model_public)?))
}

async fn model_public_id(tx: &TenantTx, model_row: Option<i64>) -> Result<Option<PublicId>> {
    let Some(model_row) = model_row else { return Ok(None) };
    model::Entity::find()
        .filter(model::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(model::Column::Id.eq(model_row))
        .one(tx.conn())
        .await?
        .map(|m| PublicId::from_db(&m.public_id))
        .transpose()
        .map_err(Into::into)
}

pub(crate) async fn active_row(tx: &TenantTx) -> Result<Option<i64>> {
    Ok(deployment::Entity::find()
        .filter(deployment::Column::TenantId.eq(tx.tenant_id().get()))
        .order_by_desc(deployment::Column::Id)
        .one(tx.conn())
        .await?
        .map(|d| d.model_id))
}

/// The tuning records of the tenant's most recent trained models, newest first: where
/// the next search starts (a warm start).
pub(crate) async fn recent_tuning(tx: &TenantTx, limit: u64) -> Result<Vec<serde_json::Value>> {
    let rows: Vec<Option<String>> = model::Entity::find()
        .select_only()
        .column(model::Column::Tuning)
        .filter(model::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(model::Column::Status.eq(ModelStatus::Ready.as_str()))
        .filter(model::Column::Tuning.is_not_null())
        .order_by_desc(model::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(tx.conn())
        .await?;
    Ok(rows.into_iter().flatten().filter_map(|text| serde_json::from_str(&text).ok()).collect())
}

pub(crate) async fn find_model(tx: &TenantTx, id: &PublicId) -> Result<ModelRow> {
    let active = active_row(tx).await?;
    let row = model::Entity::find()
        .filter(model::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(model::Column::PublicId.eq(id.as_string()))
        .one(tx.conn())
        .await?
        .ok_or_else(|| DomainError::NotFound("model".into()))?;
    to_model(row, active)
}

pub(crate) async fn model_by_row(tx: &TenantTx, row: i64) -> Result<ModelRow> {
    let active = active_row(tx).await?;
    let row = model::Entity::find()
        .filter(model::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(model::Column::Id.eq(row))
        .one(tx.conn())
        .await?
        .ok_or_else(|| DomainError::NotFound("model".into()))?;
    to_model(row, active)
}

pub(crate) async fn count_models(tx: &TenantTx) -> Result<u64> {
    Ok(model::Entity::find().filter(model::Column::TenantId.eq(tx.tenant_id().get())).count(tx.conn()).await?)
}

pub(crate) async fn count_jobs(tx: &TenantTx) -> Result<u64> {
    Ok(job::Entity::find().filter(job::Column::TenantId.eq(tx.tenant_id().get())).count(tx.conn()).await?)
}

pub(crate) async fn list_models(tx: &TenantTx, page: PageRequest) -> Result<Page<Model>> {
    let active = active_row(tx).await?;
    let mut query = model::Entity::find()
        .filter(model::Column::TenantId.eq(tx.tenant_id().get()))
        .order_by_desc(model::Column::Id)
        .limit(page.first + 1);
    if let Some(after) = page.after {
        query = query.filter(model::Column::Id.lt(after));
    }
    let rows = query.all(tx.conn()).await?;
    let rows = rows.into_iter().map(|m| Ok((m.id, to_model(m, active)?.model))).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) async fn find_job(tx: &TenantTx, id: &PublicId) -> Result<Job> {
    let row = job::Entity::find()
        .filter(job::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(job::Column::PublicId.eq(id.as_string()))
        .one(tx.conn())
        .await?
        .ok_or_else(|| DomainError::NotFound("job".into()))?;
    let model_public = model_public_id(tx, row.model_id).await?;
    to_job(row, model_public)
}

pub(crate) async fn job_by_row(tx: &TenantTx, row: i64) -> Result<Job> {
    let row = job::Entity::find()
        .filter(job::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(job::Column::Id.eq(row))
        .one(tx.conn())
        .await?
        .ok_or_else(|| DomainError::NotFound("job".into()))?;
    let model_public = model_public_id(tx, row.model_id).await?;
    to_job(row, model_public)
}

pub(crate) async fn list_jobs(tx: &TenantTx, page: PageRequest) -> Result<Page<Job>> {
    let mut query = job::Entity::find()
        .filter(job::Column::TenantId.eq(tx.tenant_id().get()))
        .order_by_desc(job::Column::Id)
        .limit(page.first + 1);
    if let Some(after) = page.after {
        query = query.filter(job::Column::Id.lt(after));
    }
    let rows = query.all(tx.conn()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let model_public = model_public_id(tx, row.model_id).await?;
        out.push((row.id, to_job(row, model_public)?));
    }
    Ok(Page::from_overfetch(out, page))
}

pub(crate) async fn insert_deployment(tx: &TenantTx, model_row: i64, action: &str) -> Result<()> {
    deployment::ActiveModel {
        tenant_id: Set(tx.tenant_id().get()),
        model_id: Set(model_row),
        action: Set(action.to_owned()),
        deployed_by: Set(tx.ctx().principal().label()),
        deployed_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(tx.conn())
    .await?;
    Ok(())
}

/// The model that was active before the current one, if any.
pub(crate) async fn previous_model_row(tx: &TenantTx) -> Result<Option<i64>> {
    let history = deployment::Entity::find()
        .filter(deployment::Column::TenantId.eq(tx.tenant_id().get()))
        .order_by_desc(deployment::Column::Id)
        .limit(200)
        .all(tx.conn())
        .await?;
    let Some(current) = history.first().map(|d| d.model_id) else { return Ok(None) };
    // A model retired after an erasure has no files left to serve.
    let retired: std::collections::HashSet<i64> = model::Entity::find()
        .filter(model::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(model::Column::Id.is_in(history.iter().map(|d| d.model_id)))
        .filter(model::Column::Status.eq(ModelStatus::Retired.as_str()))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    Ok(history.iter().map(|d| d.model_id).find(|m| *m != current && !retired.contains(m)))
}

/// Registers an uploaded model as ready; it has no training job.
pub(crate) async fn insert_uploaded(
    tx: &TenantTx,
    parameters: &serde_json::Value,
    artifact_key: &str,
    snapshot: &DataSnapshot,
) -> Result<i64> {
    let tenant = tx.tenant_id().get();
    let last_version = last_version(tx).await?;
    let now = Utc::now();
    let row = model::ActiveModel {
        tenant_id: Set(tenant),
        public_id: Set(PublicId::new().as_string()),
        version: Set(last_version + 1),
        algorithm: Set(Algorithm::Uploaded.as_str().to_owned()),
        status: Set(ModelStatus::Ready.as_str().to_owned()),
        progress: Set(1.0),
        parameters: Set(parameters.to_string()),
        data_snapshot: Set(serde_json::to_string(snapshot).ok()),
        artifact_key: Set(Some(artifact_key.to_owned())),
        needs_retraining: Set(false),
        created_by: Set(tx.ctx().principal().label()),
        created_at: Set(now),
        finished_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(tx.conn())
    .await?;
    Ok(row.id)
}

/// Jobs that were running when the process stopped cannot resume: mark them failed so
/// nobody waits on them. The active model is untouched.
/// Fails the unfinished jobs a previous instance of `owner`'s node left behind, and
/// their models; jobs from before owners were recorded count as left behind too.
/// Jobs of other nodes, and of `owner` itself, are untouched.
/// Unfinished jobs of every tenant, by status (queued, running).
pub(crate) async fn unfinished_jobs(tx: &SystemTx) -> Result<Vec<(String, i64)>> {
    let unfinished = [JobStatus::Queued.as_str(), JobStatus::Running.as_str()];
    Ok(job::Entity::find()
        .select_only()
        .column(job::Column::Status)
        .column_as(job::Column::Id.count(), "n")
        .filter(job::Column::Status.is_in(unfinished))
        .group_by(job::Column::Status)
        .into_tuple()
        .all(tx.conn())
        .await?)
}

pub(crate) async fn fail_interrupted(tx: &SystemTx, owner: &JobOwner) -> Result<u64> {
    let unfinished = [JobStatus::Queued.as_str(), JobStatus::Running.as_str()];
    let stale = Condition::any()
        .add(
            Condition::all()
                .add(job::Column::OwnerNode.eq(owner.node.as_str()))
                .add(job::Column::OwnerInstance.ne(owner.instance.as_str())),
        )
        .add(job::Column::OwnerNode.is_null());
    let jobs: Vec<(i64, Option<i64>)> = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .column(job::Column::ModelId)
        .filter(job::Column::Status.is_in(unfinished))
        .filter(stale)
        // Jobs that keep their request are claimed again once their lease runs out.
        .filter(job::Column::Request.is_null())
        .into_tuple()
        .all(tx.conn())
        .await?;
    if jobs.is_empty() {
        return Ok(0);
    }
    const INTERRUPTED: &str = "interrupted: the server stopped during training";
    let mut failed = 0;
    // Chunked to stay under the databases' bound-parameter limits.
    for chunk in jobs.chunks(500) {
        let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
        let models: Vec<i64> = chunk.iter().filter_map(|(_, model)| *model).collect();
        let result = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(JobStatus::Failed.as_str()))
            .col_expr(job::Column::Error, Expr::value(INTERRUPTED))
            .col_expr(job::Column::FinishedAt, Expr::value(Utc::now()))
            .filter(job::Column::Id.is_in(ids))
            .filter(job::Column::Status.is_in(unfinished))
            .exec(tx.conn())
            .await?;
        failed += result.rows_affected;
        model::Entity::update_many()
            .col_expr(model::Column::Status, Expr::value(ModelStatus::Failed.as_str()))
            .col_expr(model::Column::Error, Expr::value(INTERRUPTED))
            .filter(model::Column::Id.is_in(models))
            .filter(model::Column::Status.is_in([ModelStatus::Queued.as_str(), ModelStatus::Training.as_str()]))
            .exec(tx.conn())
            .await?;
    }
    Ok(failed)
}

/// Training jobs the tenant queued since `since` (what its plan's `trainingJobsPerDay`
/// limits).
pub(crate) async fn count_jobs_since(tx: &TenantTx, since: chrono::DateTime<Utc>) -> Result<u64> {
    use sea_orm::PaginatorTrait as _;
    Ok(job::Entity::find()
        .filter(job::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(job::Column::Kind.eq("train"))
        .filter(job::Column::CreatedAt.gt(since))
        .count(tx.conn())
        .await?)
}
