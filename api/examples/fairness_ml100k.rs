//! Fairness figures on MovieLens 100k: imports the data set into a fresh tenant (in a
//! throw-away data directory), trains ALS with pinned settings, and prints a report by
//! gender, age band and genre, before and after the popularity-exposure re-ranking,
//! the report's trade-off curves (NDCG@10 against exposure Gini, long-tail share and
//! coverage for each popularity strategy over strengths 0 to 1) with the recommended
//! setting, MMR diversity at one strength, and the same curves for the default (AUTO)
//! model and item-kNN.
//!
//! `cargo run -p api --example fairness_ml100k -- ../shared/datasets/ml-100k`
//! (bench/fairness_ml100k.sh does this).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use api::config::{Overrides, Settings};
use domain::access::{self, NewTenant};
use domain::fairness::{FairnessReport, ItemGrouping, ReportInput, Rerank, RerankStrategy};
use domain::models::{AlsSettings, JobStatus, TrainRequest};
use domain::tenants::ids::{Email, TenantSlug};
use domain::tenants::{RequestId, TenantCtx};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "../shared/datasets/ml-100k".into()));
    let data_dir = std::env::temp_dir().join(format!("marquee-fairness-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir)?;
    let settings = Settings::load(None, &Overrides { data_dir: Some(data_dir.clone()), ..Default::default() })?;
    let app = api::startup::connect(&settings, true).await?;
    let slug = TenantSlug::parse("ml100k")?;
    let created = access::create_tenant(
        &app.services,
        NewTenant {
            slug,
            name: "MovieLens 100k".into(),
            owner_email: Email::parse("owner@ml100k.example")?,
            owner_password: None,
        },
    )
    .await?;
    api::import_cmd::movielens(&app.services, &dir, "ml100k").await?;
    let ctx = TenantCtx::operator(created.tenant.id, RequestId::new());

    // The settings `bench/compare_implicit.sh` uses, pinned so the figures reproduce.
    let request = TrainRequest::Als(Some(AlsSettings::parse(64, 0.05, 1.0, 15)?));
    let model = train(&ctx, &app, request).await?;
    let m = model.metrics.context("no metrics")?;
    println!(
        "model: ALS factors 64, reg 0.05, alpha 1, 15 iterations; protocol NDCG@10 {:.4}, Recall@10 {:.4} ({} users)\n",
        m.ndcg, m.recall, m.evaluated_users
    );

    let groups = ["gender".to_owned(), "ageBand".to_owned()];
    let items = vec![ItemGrouping::Genre, ItemGrouping::PopularityBucket];
    let (id, input) = ReportInput::parse(
        &model.id.as_string(),
        &groups,
        items.clone(),
        Some(10),
        Some(Rerank::parse(RerankStrategy::PopularityExposure, Some(0.5))?),
    )?;
    let started = std::time::Instant::now();
    let report = domain::fairness_reports::create_report(&ctx, &app.models, &id, input).await?;
    println!("(report computed in {:.1} s)", started.elapsed().as_secs_f64());
    print_report(&report);
    print_tradeoff("ALS", &report)?;

    let (id, input) = ReportInput::parse(
        &model.id.as_string(),
        &[],
        Vec::new(),
        Some(10),
        Some(Rerank::parse(RerankStrategy::MmrDiversity, Some(0.5))?),
    )?;
    let r = domain::fairness_reports::create_report(&ctx, &app.models, &id, input).await?;
    let (b, a) = (&r.body.baseline, r.body.reranked.as_ref().context("no re-ranked figures")?);
    let c = r.body.comparison.context("no comparison")?;
    println!(
        "\nMMR_DIVERSITY 0.5: NDCG {:.4} -> {:.4} ({:+.1}%), Gini {:.4} -> {:.4}, long tail {:.3} -> {:.3}, coverage {:.3} -> {:.3}",
        b.overall.ndcg,
        a.overall.ndcg,
        100.0 * c.ndcg_relative_change,
        b.popularity.gini,
        a.popularity.gini,
        b.popularity.long_tail_share,
        a.popularity.long_tail_share,
        b.popularity.coverage,
        a.popularity.coverage
    );

    // The default model (AUTO chooses EASE on this data), which a tenant gets.
    let auto = train(&ctx, &app, TrainRequest::Auto).await?;
    let m = auto.metrics.context("no metrics")?;
    println!("\nmodel: AUTO -> {}; protocol NDCG@10 {:.4}, Recall@10 {:.4}", auto.algorithm.as_str(), m.ndcg, m.recall);
    let (id, input) = ReportInput::parse(&auto.id.as_string(), &[], Vec::new(), Some(10), None)?;
    let r = domain::fairness_reports::create_report(&ctx, &app.models, &id, input).await?;
    print_tradeoff("AUTO", &r)?;

    let knn = train(&ctx, &app, TrainRequest::ItemKnn { neighbours: 100 }).await?;
    let (id, input) = ReportInput::parse(&knn.id.as_string(), &[], Vec::new(), Some(10), None)?;
    let r = domain::fairness_reports::create_report(&ctx, &app.models, &id, input).await?;
    print_tradeoff("item-kNN (100 neighbours)", &r)?;
    std::fs::remove_dir_all(&data_dir).ok();
    Ok(())
}

async fn train(ctx: &TenantCtx, app: &domain::App, request: TrainRequest) -> anyhow::Result<domain::models::Model> {
    let (model, job) = domain::models::train_model(ctx, &app.models, request).await?;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let job = domain::models::get_job(ctx, &app.models, &job.id).await?;
        if job.status.is_finished() {
            if job.status != JobStatus::Succeeded {
                bail!("training {}: {}", job.status.as_str(), job.error.unwrap_or_default());
            }
            break;
        }
    }
    Ok(domain::models::get_model(ctx, &app.models, &model.id).await?)
}

/// The report's trade-off curves and recommended setting.
fn print_tradeoff(name: &str, report: &FairnessReport) -> anyhow::Result<()> {
    let t = report.body.tradeoff.as_ref().context("no trade-off")?;
    let b = &t.baseline;
    println!(
        "\n{name} trade-off (k = {}): unranked NDCG {:.4}, Gini {:.4}, long tail {:.3}, coverage {:.3}",
        report.body.k, b.ndcg, b.gini, b.long_tail_share, b.coverage
    );
    println!("  strategy               strength   NDCG   (change)   Gini   (change)  long tail  coverage");
    for curve in &t.curves {
        for p in curve.points.iter().filter(|p| p.strength > 0.0) {
            println!(
                "  {:<22} {:>5.1}    {:.4} ({:+6.1}%)  {:.4} ({:+6.1}%)   {:.3}     {:.3}",
                curve.strategy.as_str(),
                p.strength,
                p.ndcg,
                100.0 * p.ndcg_relative_change,
                p.gini,
                100.0 * p.gini_relative_change,
                p.long_tail_share,
                p.coverage
            );
        }
    }
    match &t.recommended {
        Some(r) => println!(
            "  recommended (NDCG cost at most {:.0}%): {} {:.1}: NDCG {:.4} ({:+.1}%), Gini {:.4} ({:+.1}%), long tail {:.3} ({:+.3}), coverage {:.3} ({:+.3})",
            100.0 * t.max_ndcg_cost,
            r.strategy.as_str(),
            r.strength,
            r.ndcg,
            100.0 * r.ndcg_relative_change,
            r.gini,
            100.0 * r.gini_relative_change,
            r.long_tail_share,
            r.long_tail_share_change,
            r.coverage,
            r.coverage_change
        ),
        None => println!("  recommended: none lowers the Gini within {:.0}% of NDCG", 100.0 * t.max_ndcg_cost),
    }
    Ok(())
}

fn print_report(report: &FairnessReport) {
    let body = &report.body;
    println!("report {} (k = {}, {} users left out for consent)", report.id, body.k, body.excluded_users);
    let variants =
        [("baseline", Some(&body.baseline)), ("re-ranked (POPULARITY_EXPOSURE 0.5)", body.reranked.as_ref())];
    for (name, figures) in variants {
        let Some(f) = figures else { continue };
        println!(
            "\n== {name}: overall NDCG@{k} {:.4}, Recall@{k} {:.4} over {} users",
            f.overall.ndcg,
            f.overall.recall,
            f.overall.users,
            k = body.k
        );
        for a in &f.user_groups {
            println!("  by {}:", a.attribute);
            for g in &a.groups {
                let name = g.group.as_deref().unwrap_or("(not set)");
                match (g.size, g.ndcg, g.recall) {
                    (Some(n), Some(ndcg), Some(recall)) => println!(
                        "    {name:<10} n={n:<4} NDCG {ndcg:.4} {}  Recall {recall:.4} {}",
                        g.ndcg_status.map(|s| s.as_str()).unwrap_or(""),
                        g.recall_status.map(|s| s.as_str()).unwrap_or("")
                    ),
                    _ => println!("    {name:<10} suppressed (fewer than {} users)", body.thresholds.min_group_size),
                }
            }
            for (metric, d) in [("NDCG", a.ndcg), ("Recall", a.recall)] {
                if let Some(d) = d {
                    println!(
                        "    {metric}: difference {:.4} {}  ratio {:.4} {}",
                        d.difference,
                        d.difference_status.as_str(),
                        d.ratio,
                        d.ratio_status.as_str()
                    );
                }
            }
        }
        for g in &f.item_groups {
            println!(
                "  exposure by {}: group, items, exposure share vs catalog share vs interaction share (ratio, status)",
                g.grouping.as_str()
            );
            for x in &g.groups {
                println!(
                    "    {:<12} {:>4}  {:.4} vs {:.4} vs {:.4}  ({:.2} {})",
                    x.group,
                    x.items,
                    x.exposure_share,
                    x.catalog_share,
                    x.interaction_share,
                    x.exposure_ratio,
                    x.status.as_str()
                );
            }
        }
        let p = &f.popularity;
        println!(
            "  popularity: ARP {:.1} (catalog {:.1}, lift {:.2} {}), long tail {:.3} {}, Gini {:.4} {}, coverage {:.3} {}",
            p.average_popularity,
            p.catalog_average_popularity,
            p.popularity_lift,
            p.popularity_lift_status.as_str(),
            p.long_tail_share,
            p.long_tail_status.as_str(),
            p.gini,
            p.gini_status.as_str(),
            p.coverage,
            p.coverage_status.as_str()
        );
    }
    if let Some(c) = body.comparison {
        println!(
            "\n  cost and gain: NDCG {:+.4} ({:+.1}%), Recall {:+.4}, Gini {:+.4}, long tail {:+.3}, coverage {:+.3}",
            c.ndcg_change,
            100.0 * c.ndcg_relative_change,
            c.recall_change,
            c.gini_change,
            c.long_tail_share_change,
            c.coverage_change
        );
    }
}
