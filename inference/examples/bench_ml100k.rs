//! Benchmark of the built-in algorithms on MovieLens 100K under the evaluation protocol.
//!
//! ```sh
//! cargo run --release -p inference --example bench_ml100k -- [DATASET_DIR]
//! cargo run --release -p inference --example bench_ml100k -- DIR --fit-reps 7 [--dump-train FILE]
//! ```
//! The first form prints every figure; the second only times the reference ALS fit (used
//! by `bench/compare_implicit.sh`), optionally writing the training split as
//! `user item value` lines so another library can be timed on exactly the same data.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use inference::als::{AlsModel, AlsParams};
use inference::eval::{EvalReport, SplitRule, evaluate, split_per_user};
use inference::knn::ItemKnn;
use inference::matrix::Interactions;
use inference::movielens::{MovieLens, shared_dataset_dir};
use inference::popular::{Popularity, PopularityBy};
use inference::tune::{TuneConfig, tune_als};

const SEED: u64 = 42;
const THREADS: usize = 2;
const K: usize = 10;
/// The `implicit` library's selected figures on this dataset (shared/bench/baseline_results.md).
const TARGET_NDCG: f64 = 0.3465;
const TARGET_RECALL: f64 = 0.1985;

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
    println!("| model | params | NDCG@10 | Recall@10 | P@10 | HR@10 | Coverage@10 | time |");
    println!("|---|---|---|---|---|---|---|---|");

    let config = TuneConfig { seed: SEED, threads: THREADS, k: K, ..TuneConfig::default() };
    let tuned = tune_als(&split.train, &config, |_| true)?;
    let tuned_report = evaluate(&tuned.model, &split, K)?;
    row(
        "ALS auto-tuned",
        &describe(&tuned.best),
        &tuned_report,
        &format!("tuning {:.2} s ({} settings)", tuned.seconds, tuned.trials.len()),
    );

    let reference = reference_params();
    let solve_costs = [&tuned.best, &reference].map(|p| exact_solve_cost(&split.train, p));
    let (model, fit) = timed(|| AlsModel::fit(&split.train, &reference, |_| true));
    let report = evaluate(&model?, &split, K)?;
    row("ALS reference", &describe(&reference), &report, &format!("fit {fit:.3} s"));

    let (knn, fit) = timed(|| ItemKnn::fit(&split.train, 100, THREADS));
    let report = evaluate(&knn?, &split, K)?;
    row("item-item cosine", "K=100", &report, &format!("fit {fit:.3} s"));

    let (pop, fit) = timed(|| Ok::<_, inference::InferenceError>(Popularity::fit(&split.train, PopularityBy::Count)));
    let report = evaluate(&pop?, &split, K)?;
    row("most popular", "by count", &report, &format!("fit {fit:.3} s"));

    println!();
    for (name, (p, cg, full)) in ["tuned", "reference"].iter().zip(&solve_costs) {
        println!(
            "exact user solve, {name} ({}): fit {full:.3} s, of which {:.3} s ({:.0}%) after the {cg:.3} s of iterations",
            describe(p),
            full - cg,
            100.0 * (full - cg) / full
        );
    }
    let best = tuned.trials.iter().map(|t| t.validation_ndcg).fold(f64::MIN, f64::max);
    println!("auto-tuning chose {} (validation NDCG@10 {best:.4}) in {:.2} s", describe(&tuned.best), tuned.seconds);
    let m = tuned_report.metrics;
    let pass = m.ndcg >= TARGET_NDCG && m.recall >= TARGET_RECALL;
    println!(
        "target: NDCG@10 {:.4} >= {TARGET_NDCG} and Recall@10 {:.4} >= {TARGET_RECALL}: {}",
        m.ndcg,
        m.recall,
        if pass { "PASS" } else { "FAIL" }
    );
    Ok(())
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

fn describe(p: &AlsParams) -> String {
    format!("f={} reg={} alpha={} it={}", p.factors, p.regularization, p.alpha, p.iterations)
}

fn row(name: &str, params: &str, r: &EvalReport, time: &str) {
    let m = r.metrics;
    println!(
        "| {name} | {params} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {time} |",
        m.ndcg, m.recall, m.precision, m.hit_rate, m.coverage
    );
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
