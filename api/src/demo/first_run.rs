//! What `serve --demo` does in the background after the banner: fill the demo tenant
//! with generated data (once), train a model with automatic selection, deploy it and
//! write a first fairness report, so every view of the console has content within a
//! minute of the first start. A restart finds the data and the active model and does
//! nothing but say so.

use std::time::{Duration, Instant};

use domain::fairness::{Figures, ItemGrouping, ReportInput, Rerank, RerankStrategy, Status};
use domain::import::demo::{self, DemoSizes};
use domain::models::{self, JobStatus, ModelStatus, TrainRequest};
use domain::tenants::ids::TenantId;
use domain::tenants::page::PageRequest;
use domain::{App, RequestId, TenantCtx};

/// The demo's data is the same on every machine.
pub const DEMO_SEED: u64 = 2026;
/// The tuning search of the demo's first model may take this long, so the model is
/// deployed within a minute of the first start with the debug binary `make run` builds.
pub const DEMO_TUNING_BUDGET_SECS: u64 = 15;
/// How often the first run looks at its training job.
const POLL: Duration = Duration::from_millis(500);

/// The first fairness report: its id and how many figures it marks WARN.
#[derive(Debug, Clone)]
pub struct FirstReport {
    pub id: String,
    pub warnings: usize,
}

/// What the first run did.
#[derive(Debug, Clone)]
pub struct FirstRun {
    /// Whether this start generated and stored the data (false: it was there).
    pub filled: bool,
    pub items: u64,
    pub users: u64,
    pub interactions: u64,
    /// Whether this start trained and deployed a model (false: one was active).
    pub trained: bool,
    pub model_id: String,
    pub model_algorithm: String,
    pub ndcg_at_10: Option<f64>,
    /// From the start of the first run to a deployed model.
    pub elapsed: Duration,
}

/// Fills, trains and deploys, as needed; `sizes` is [`DemoSizes::STANDARD`] outside
/// tests. A model this returns as `trained` gets its report from [`first_report`].
pub async fn first_run(app: &App, tenant_id: TenantId, sizes: DemoSizes) -> anyhow::Result<FirstRun> {
    let started = Instant::now();
    let ctx = TenantCtx::operator(tenant_id, RequestId::new());
    let counts = domain::stats::counts(&ctx, &app.services).await?;
    let filled = counts.interactions == 0;
    if filled {
        let anchor = chrono::Utc::now();
        let data = tokio::task::spawn_blocking(move || demo::generate(DEMO_SEED, sizes, anchor)).await??;
        let report = demo::load(&ctx, &app.services, data).await?;
        tracing::info!(
            items = report.items.created,
            users = report.users.created,
            interactions = report.interactions.accepted,
            secs = started.elapsed().as_secs_f64(),
            "demo data stored"
        );
    }
    let counts = domain::stats::counts(&ctx, &app.services).await?;

    let (model, trained) = match active_model(&ctx, app).await? {
        Some(model) => (model, false),
        None => (train_and_deploy(&ctx, app).await?, true),
    };
    Ok(FirstRun {
        filled,
        items: counts.items,
        users: counts.users,
        interactions: counts.interactions,
        trained,
        model_id: model.id.as_string(),
        model_algorithm: model.algorithm.as_str().to_owned(),
        ndcg_at_10: model.metrics.as_ref().map(|m| m.ndcg),
        elapsed: started.elapsed(),
    })
}

/// The first fairness report of a model the first run deployed: quality by every user
/// attribute the demo has, exposure by every item grouping, and a provider-exposure
/// re-ranking beside it.
pub async fn first_report(app: &App, tenant_id: TenantId, run: &FirstRun) -> anyhow::Result<FirstReport> {
    let ctx = TenantCtx::operator(tenant_id, RequestId::new());
    let (model_id, input) = ReportInput::parse(
        &run.model_id,
        &["ageBand".into(), "plan".into(), "country".into(), "gender".into()],
        vec![ItemGrouping::Genre, ItemGrouping::Provider, ItemGrouping::Kind, ItemGrouping::PopularityBucket],
        Some(10),
        Some(Rerank::parse(RerankStrategy::ProviderExposure, Some(0.5))?),
    )?;
    let report = domain::fairness_reports::create_report(&ctx, &app.models, &model_id, input).await?;
    Ok(FirstReport { id: report.id.as_string(), warnings: warnings(&report.body.baseline) })
}

async fn active_model(ctx: &TenantCtx, app: &App) -> anyhow::Result<Option<models::Model>> {
    let mut after = None;
    loop {
        let page = models::list_models(ctx, &app.models, PageRequest { first: 100, after }).await?;
        after = page.items.last().map(|(row, _)| *row);
        if let Some((_, model)) = page.items.into_iter().find(|(_, m)| m.active) {
            return Ok(Some(model));
        }
        if !page.has_next_page {
            return Ok(None);
        }
    }
}

async fn train_and_deploy(ctx: &TenantCtx, app: &App) -> anyhow::Result<models::Model> {
    let (model, job) = models::train_model(ctx, &app.models, TrainRequest::Auto).await?;
    loop {
        let job = models::get_job(ctx, &app.models, &job.id).await?;
        match job.status {
            JobStatus::Succeeded => break,
            JobStatus::Failed | JobStatus::Cancelled => {
                anyhow::bail!("the demo model's training {}: {}", job.status.as_str(), job.error.unwrap_or_default())
            }
            JobStatus::Queued | JobStatus::Running => tokio::time::sleep(POLL).await,
        }
    }
    let ready = models::get_model(ctx, &app.models, &model.id).await?;
    anyhow::ensure!(ready.status == ModelStatus::Ready, "the demo model is {}", ready.status.as_str());
    Ok(models::deploy_model(ctx, &app.models, &model.id, false).await?)
}

/// How many of a report's figures are marked WARN.
fn warnings(figures: &Figures) -> usize {
    let p = &figures.popularity;
    let mut statuses = vec![p.popularity_lift_status, p.long_tail_status, p.gini_status, p.coverage_status];
    for attribute in &figures.user_groups {
        for d in [&attribute.ndcg, &attribute.recall].into_iter().flatten() {
            statuses.extend([d.difference_status, d.ratio_status]);
        }
        for g in &attribute.groups {
            statuses.extend([g.ndcg_status, g.recall_status].into_iter().flatten());
        }
    }
    for grouping in &figures.item_groups {
        statuses.extend(grouping.groups.iter().map(|g| g.status));
    }
    statuses.into_iter().filter(|s| *s == Status::Warn).count()
}
