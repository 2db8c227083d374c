//! Benchmark of the built-in algorithms on MovieLens 100K under the evaluation protocol.
//!
//! ```sh
//! cargo run --release -p inference --example bench_ml100k -- [DATASET_DIR]
//! cargo run --release -p inference --example bench_ml100k -- DIR --fit-reps 7 [--dump-train FILE]
//! ```
//! The first form prints every figure (each family tuned alone and AUTO, with 95%
//! bootstrap intervals over users, next to the `implicit` and EASE reference figures); the second only times the reference ALS fit (used
//! by `bench/compare_implicit.sh`), optionally writing the training split as
//! `user item value` lines so another library can be timed on exactly the same data.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use std::time::Duration;

use inference::als::{AlsModel, AlsParams};
use inference::ease::{EaseModel, EaseParams};
use inference::eval::{EvalReport, SplitRule, UserResult, evaluate, split_per_user};
use inference::matrix::Interactions;
use inference::movielens::{MovieLens, shared_dataset_dir};
use inference::tune::{Family, FitOptions, SearchConfig, Setting, search};

const SEED: u64 = 42;
const THREADS: usize = 2;
const K: usize = 10;
/// The strongest reference on this dataset under the protocol: EASE^R with lambda 500
/// (shared/bench/baseline_results.md).
const REFERENCE_EASE_NDCG: f64 = 0.4487;
const REFERENCE_EASE_RECALL: f64 = 0.2363;

fn reference_params() -> AlsParams {
    AlsParams {
        factors: 64,
        regularization: 0.05,
        alpha: 1.0,
        iterations: 15,
        cg_steps: 3,
        seed: SEED,
        threads: THREADS,
    }
}

struct Args {
    dir: PathBuf,
    fit_reps: Option<usize>,
    dump_train: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        dir: shared_dataset_dir(env!("CARGO_MANIFEST_DIR").as_ref(), "ml-100k"),
        fit_reps: None,
        dump_train: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--fit-reps" => {
                let n = it.next().ok_or("--fit-reps needs a number")?;
                args.fit_reps = Some(n.parse().map_err(|_| format!("bad --fit-reps {n}"))?);
            }
            "--dump-train" => args.dump_train = Some(it.next().ok_or("--dump-train needs a path")?.into()),
            other if other.starts_with("--") => return Err(format!("unknown flag {other}")),
            dir => args.dir = dir.into(),
        }
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let ml = MovieLens::load(&args.dir)?;
    let data = ml.all_as_interactions()?;
    let split = split_per_user(&data, SEED, SplitRule::default())?;
    if let Some(path) = &args.dump_train {
        dump(&split.train, path)?;
    }
    if let Some(reps) = args.fit_reps {
        return time_reference_fit(&split.train, reps.max(1));
    }

    println!("## MovieLens 100K, every rating an interaction (value 1), seed {SEED}, k = {K}");
    println!(
        "users {}, items {}, interactions {} (train {}, test {}), evaluated users {}, threads {THREADS}",
        ml.n_users,
        ml.n_items,
        data.nnz(),
        split.train.nnz(),
        split.test.nnz(),
        split.evaluated_users().len()
    );
    println!();
    println!(
        "| model | chosen setting | NDCG@10 (95% CI) | Recall@10 (95% CI) | P@10 | HR@10 | Cov@10 | fit s | tuning |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");

    let mut auto_report = None;
    let mut als_tuned = None;
    for (name, families) in [
        ("AUTO (every family)", Family::ALL.to_vec()),
        ("ALS (tuned)", vec![Family::Als]),
        ("EASE (tuned)", vec![Family::Ease]),
        ("item-kNN (tuned)", vec![Family::ItemKnn]),
        ("most popular", vec![Family::MostPopular]),
    ] {
        let config = SearchConfig {
            families,
            seed: SEED,
            k: K,
            fit: fit_options(),
            budget: Some(Duration::from_secs(300)),
            ..SearchConfig::default()
        };
        let result = search(&split.train, &config, |_| true)?;
        let (model, fit) = timed(|| result.best.fit(&split.train, &config.fit, |_| true));
        let report = evaluate(&model?, &split, K)?;
        let tuning = format!("{:.1} s, {} settings", result.seconds, result.settings_tried());
        row(name, &describe(&result.best), &report, fit, &tuning);
        if name.starts_with("ALS") {
            als_tuned = result.best.als_params(&config.fit);
        }
        if name.starts_with("AUTO") {
            auto_report = Some((result, report));
        }
    }

    let reference = reference_params();
    let solve_costs: Vec<_> = als_tuned.iter().chain([&reference]).map(|p| exact_solve_cost(&split.train, p)).collect();
    let (model, fit) = timed(|| AlsModel::fit(&split.train, &reference, |_| true));
    let report = evaluate(&model?, &split, K)?;
    row(
        "ALS reference",
        &describe(&Setting::Als { factors: 64, regularization: 0.05, alpha: 1.0, iterations: 15 }),
        &report,
        fit,
        "pinned",
    );

    let ease = EaseModel::fit(&split.train, &EaseParams { lambda: 500.0, omega: 0.0, threads: THREADS }, 4 << 30)?;
    for keep in [50usize, 200] {
        let pruned = ease.pruned(keep);
        let report = evaluate(&pruned, &split, K)?;
        row(&format!("EASE pruned to {keep} per item"), "lambda=500", &report, 0.0, "pinned");
    }
    println!();
    for (name, (p, cg, full)) in ["tuned", "reference"].iter().zip(&solve_costs) {
        println!(
            "exact user solve, {name} ({}): fit {full:.3} s, of which {:.3} s ({:.0}%) after the {cg:.3} s of iterations",
            describe_als(p),
            full - cg,
            100.0 * (full - cg) / full
        );
    }
    println!();
    println!("| reference (shared/bench/baseline_results.md) | setting | NDCG@10 | Recall@10 | fit s |");
    println!("|---|---|---|---|---|");
    println!("| implicit ALS, 81-setting grid | f=32 reg=50 it=15 alpha=10 | 0.4278 | 0.2331 | 5.3 |");
    println!("| EASE^R (numpy) | lambda=500 | {REFERENCE_EASE_NDCG} | {REFERENCE_EASE_RECALL} | 2.4 |");
    println!();
    if let Some((result, report)) = auto_report {
        for f in &result.families {
            println!(
                "AUTO {:<12} best {:<40} validation NDCG@10 {:>7} fit {:>6} s, {} settings in {:.1} s{}",
                f.family.as_str(),
                f.best.as_ref().map(describe).unwrap_or_default(),
                f.validation_ndcg.map(|v| format!("{v:.4}")).unwrap_or_default(),
                f.fit_seconds.map(|v| format!("{v:.2}")).unwrap_or_default(),
                f.settings_tried,
                f.seconds,
                f.skipped.as_deref().map(|s| format!(" (skipped: {s})")).unwrap_or_default(),
            );
        }
        let m = report.metrics;
        let pass = m.ndcg >= REFERENCE_EASE_NDCG && m.recall >= REFERENCE_EASE_RECALL;
        println!(
            "AUTO chose {} in {:.1} s ({} settings): NDCG@10 {:.4} >= {REFERENCE_EASE_NDCG} and Recall@10 {:.4} >= {REFERENCE_EASE_RECALL}: {}",
            describe(&result.best),
            result.seconds,
            result.settings_tried(),
            m.ndcg,
            m.recall,
            if pass { "PASS" } else { "FAIL" }
        );
    }
    Ok(())
}

fn fit_options() -> FitOptions {
    FitOptions { seed: SEED, threads: THREADS, cg_steps: 3, ease_memory_budget: 4 << 30 }
}

fn time_reference_fit(train: &Interactions, reps: usize) -> Result<(), Box<dyn std::error::Error>> {
    let params = reference_params();
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let (model, secs) = timed(|| AlsModel::fit(train, &params, |_| true));
        model?;
        times.push(secs);
    }
    times.sort_by(f64::total_cmp);
    let list: Vec<String> = times.iter().map(|t| format!("{t:.4}")).collect();
    println!("ours fit seconds: {}", list.join(" "));
    println!("OURS_FIT_MEDIAN {:.6}", times[times.len() / 2]);
    Ok(())
}

/// Median seconds of `fit_cg_only` and of `fit` (the same iterations, then every user
/// solved exactly) over three runs each, alternated.
fn exact_solve_cost<'p>(train: &Interactions, p: &'p AlsParams) -> (&'p AlsParams, f64, f64) {
    let (mut cg, mut full) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        cg.push(timed(|| AlsModel::fit_cg_only(train, p, |_| true)).1);
        full.push(timed(|| AlsModel::fit(train, p, |_| true)).1);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[1]
    };
    (p, median(cg), median(full))
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed().as_secs_f64())
}

fn describe(s: &Setting) -> String {
    match s {
        Setting::Als { factors, regularization, alpha, iterations } => {
            format!("ALS f={factors} reg={regularization} alpha={alpha} it={iterations}")
        }
        Setting::Ease { lambda, omega } => format!("EASE lambda={lambda} omega={omega}"),
        Setting::ItemKnn { neighbours } => format!("item-kNN k={neighbours}"),
        Setting::MostPopular => "most popular".to_owned(),
    }
}

fn describe_als(p: &AlsParams) -> String {
    format!("f={} reg={} alpha={} it={}", p.factors, p.regularization, p.alpha, p.iterations)
}

fn row(name: &str, params: &str, r: &EvalReport, fit: f64, tuning: &str) {
    let m = r.metrics;
    let per_user = |f: fn(&UserResult) -> f64| r.users.iter().map(f).collect::<Vec<f64>>();
    let (nl, nh) = interval(&per_user(|u| u.ndcg));
    let (rl, rh) = interval(&per_user(|u| u.recall));
    println!(
        "| {name} | {params} | {:.4} ({nl:.4}-{nh:.4}) | {:.4} ({rl:.4}-{rh:.4}) | {:.4} | {:.4} | {:.4} | {fit:.2} | {tuning} |",
        m.ndcg, m.recall, m.precision, m.hit_rate, m.coverage
    );
}

/// 95% percentile bootstrap interval of the mean over users.
fn interval(values: &[f64]) -> (f64, f64) {
    let mut rng = inference::rng::SplitMix64::new(SEED);
    let n = values.len().max(1);
    let mut means: Vec<f64> = (0..2000)
        .map(|_| (0..n).map(|_| values.get(rng.below(n)).copied().unwrap_or(0.0)).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    (means[50], means[1949])
}

fn dump(train: &Interactions, path: &PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "{} {}", train.n_rows(), train.n_cols())?;
    for (u, i, w) in train.triplets() {
        writeln!(out, "{u} {i} {w}")?;
    }
    out.flush()?;
    Ok(())
}
