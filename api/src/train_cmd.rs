//! `marquee train --tenant <slug>`: trains a model in this process, shows progress on a
//! terminal, prints the held-out metrics and, with `--deploy`, makes it active.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context as _, bail};
use domain::App;
use domain::access;
use domain::models::{Algorithm, JobStatus, TrainDraft, TrainRequest};
use domain::tenants::ids::TenantSlug;
use domain::tenants::{RequestId, TenantCtx};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AlgorithmArg {
    Als,
    ItemKnn,
    MostPopular,
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[arg(long)]
    pub tenant: String,
    #[arg(long, value_enum, default_value = "als")]
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
    /// Deploy the model when training succeeds (refused if worse than the active one).
    #[arg(long)]
    pub deploy: bool,
}

pub async fn train(app: &App, args: &TrainArgs) -> anyhow::Result<()> {
    let slug = TenantSlug::parse(&args.tenant)?;
    let tenant =
        access::find_tenant_by_slug(&app.services, &slug).await?.with_context(|| format!("no tenant {slug}"))?;
    let ctx = TenantCtx::operator(tenant.id, RequestId::new());
    let request = TrainRequest::parse(TrainDraft {
        algorithm: match args.algorithm {
            AlgorithmArg::Als => Algorithm::Als,
            AlgorithmArg::ItemKnn => Algorithm::ItemKnn,
            AlgorithmArg::MostPopular => Algorithm::MostPopular,
        },
        factors: args.factors,
        regularization: args.regularization,
        alpha: args.alpha,
        iterations: args.iterations,
        neighbours: args.neighbours,
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
    if let Some(seconds) = model.tuning.as_ref().and_then(|t| t.get("seconds")).and_then(|s| s.as_f64()) {
        println!(
            "tuning     {} settings tried in {seconds:.1} s",
            model.tuning.as_ref().and_then(|t| t.get("trials")).and_then(|t| t.as_array()).map_or(0, |t| t.len())
        );
    }
    if args.deploy {
        domain::models::deploy_model(&ctx, &app.models, &model.id, false).await?;
        println!("deployed   {}", model.id);
    }
    Ok(())
}
