//! `marquee train --tenant <slug>`: trains a model in this process, shows progress on a
//! terminal, prints the held-out metrics and, with `--deploy`, makes it active.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context as _, bail};
use domain::App;
use domain::access;
use domain::models::{Algorithm, JobStatus, Selection, TrainDraft, TrainRequest};
use domain::tenants::ids::TenantSlug;
use domain::tenants::{RequestId, TenantCtx};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AlgorithmArg {
    /// Tune every built-in family and keep the best (docs/models.md).
    Auto,
    Als,
    Ease,
    ItemKnn,
    MostPopular,
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[arg(long)]
    pub tenant: String,
    #[arg(long, value_enum, default_value = "auto")]
    pub algorithm: AlgorithmArg,
    /// Pin ALS settings (all four) instead of tuning automatically.
    #[arg(long)]
    pub factors: Option<i64>,
    #[arg(long)]
    pub regularization: Option<f64>,
    #[arg(long)]
    pub alpha: Option<f64>,
    #[arg(long)]
    pub iterations: Option<i64>,
    /// Item-item neighbours per item (default 100).
    #[arg(long)]
    pub neighbours: Option<i64>,
    /// Pin EASE's L2 penalty instead of tuning it.
    #[arg(long)]
    pub lambda: Option<f64>,
    /// With --lambda: EASE's dropout penalty in proportion to item popularity (default 0).
    #[arg(long)]
    pub omega: Option<f64>,
    /// Deploy the model when training succeeds (refused if worse than the active one).
    #[arg(long)]
    pub deploy: bool,
    /// With --deploy: deploy even when the model is significantly worse than the active
    /// one (as `deployModel(allowWorse: true)` does; the benchmark serves each family).
    #[arg(long, requires = "deploy")]
    pub allow_worse: bool,
}

pub async fn train(app: &App, args: &TrainArgs) -> anyhow::Result<()> {
    let slug = TenantSlug::parse(&args.tenant)?;
    let tenant =
        access::find_tenant_by_slug(&app.services, &slug).await?.with_context(|| format!("no tenant {slug}"))?;
    let ctx = TenantCtx::operator(tenant.id, RequestId::new());
    let request = TrainRequest::parse(TrainDraft {
        algorithm: match args.algorithm {
            AlgorithmArg::Auto => Algorithm::Auto,
            AlgorithmArg::Als => Algorithm::Als,
            AlgorithmArg::Ease => Algorithm::Ease,
            AlgorithmArg::ItemKnn => Algorithm::ItemKnn,
            AlgorithmArg::MostPopular => Algorithm::MostPopular,
        },
        factors: args.factors,
        regularization: args.regularization,
        alpha: args.alpha,
        iterations: args.iterations,
        neighbours: args.neighbours,
        lambda: args.lambda,
        omega: args.omega,
    })?;
    let (model, job) = domain::models::train_model(&ctx, &app.models, request).await?;
    let target =
        if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let bar = ProgressBar::with_draw_target(Some(1000), target);
    if let Ok(style) = ProgressStyle::with_template("{spinner} training [{bar:40}] {percent}% ({elapsed})") {
        bar.set_style(style.progress_chars("=> "));
    }
    let finished = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let job = domain::models::get_job(&ctx, &app.models, &job.id).await?;
        bar.set_position((job.progress * 1000.0) as u64);
        if job.status.is_finished() {
            break job;
        }
    };
    bar.finish_and_clear();
    if finished.status != JobStatus::Succeeded {
        bail!("training {}: {}", finished.status.as_str(), finished.error.unwrap_or_default());
    }
    let model = domain::models::get_model(&ctx, &app.models, &model.id).await?;
    println!("model      {} (version {}, {})", model.id, model.version, model.algorithm.as_str());
    println!("parameters {}", model.parameters);
    if let Some(s) = &model.snapshot {
        println!("data       {} users, {} items, {} interactions", s.users, s.items, s.interactions);
    }
    if let Some(m) = &model.metrics {
        println!(
            "held out   NDCG@{k} {:.4}  Recall@{k} {:.4}  Precision@{k} {:.4}  HR@{k} {:.4}  Coverage@{k} {:.4}  ({} users)",
            m.ndcg,
            m.recall,
            m.precision,
            m.hit_rate,
            m.coverage,
            m.evaluated_users,
            k = m.k
        );
        if let (Some(n), Some(r)) = (m.ndcg_interval, m.recall_interval) {
            println!(
                "95% CI     NDCG@{k} [{:.4}, {:.4}]  Recall@{k} [{:.4}, {:.4}]  (bootstrap over users)",
                n.low,
                n.high,
                r.low,
                r.high,
                k = m.k
            );
        }
    }
    if let Some(selection) = model.tuning.as_ref().and_then(Selection::from_record) {
        print_selection(&selection);
    }
    if args.deploy {
        domain::models::deploy_model(&ctx, &app.models, &model.id, args.allow_worse).await?;
        println!("deployed   {}", model.id);
    }
    Ok(())
}

/// The search's comparison: every family's best, and the tuning time.
fn print_selection(selection: &Selection) {
    println!(
        "tuning     {} settings tried in {:.1} s{}; chosen: {} (validation NDCG@10 {:.4})",
        selection.settings_tried,
        selection.seconds,
        match (selection.budget_seconds, selection.budget_exhausted) {
            (Some(budget), true) => format!(" (budget {budget:.0} s, reached)"),
            (Some(budget), false) => format!(" (budget {budget:.0} s)"),
            (None, _) => String::new(),
        },
        selection.chosen.family.as_str(),
        selection.validation_ndcg,
    );
    for family in &selection.families {
        let best = family.best.as_ref().and_then(|b| serde_json::to_string(b).ok()).unwrap_or_default();
        match (&family.skipped, family.validation_ndcg) {
            (Some(why), _) => println!("  {:<13} skipped: {why}", family.family.as_str()),
            (None, Some(ndcg)) => println!(
                "  {:<13} validation NDCG@10 {ndcg:.4}  fit {:.2} s  {} settings in {:.1} s{}  best {best}",
                family.family.as_str(),
                family.fit_seconds.unwrap_or_default(),
                family.settings_tried,
                family.seconds,
                if family.stopped_by_budget { " (stopped by the budget)" } else { "" },
            ),
            (None, None) => println!("  {:<13} no setting tried", family.family.as_str()),
        }
    }
}
