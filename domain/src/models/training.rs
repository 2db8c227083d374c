//! The training pipeline, run on a blocking thread: split, fit (tuned or pinned),
//! evaluate under the protocol, refit on all data, export to ONNX.

use std::time::Duration;

use inference::als::AlsParams;
use inference::eval::{SplitRule, evaluate, split_per_user};
use inference::matrix::Interactions;
use inference::tune::{Family, FitOptions, Fitted, SearchConfig, SearchResult, Setting, search};
use inference::{InferenceError, onnx};
use ndarray::Array2;
use serde_json::json;

use super::selection::Selection;
use super::types::{Algorithm, DataSnapshot, ModelMetrics, TrainRequest};
use crate::error::{DomainError, Result};

/// The protocol's split seed: the same everywhere, so numbers compare.
pub const EVALUATION_SEED: u64 = 42;
pub const EVALUATION_K: usize = 10;

/// A tenant's interactions in model index space.
pub struct TrainingData {
    pub user_ids: Vec<String>,
    pub item_ids: Vec<String>,
    pub triplets: Vec<(u32, u32, f32)>,
    pub snapshot: DataSnapshot,
}

/// One evaluated user's held-out items and best-scored candidates (training items
/// excluded), from the model fitted on the training part only: what fairness reports
/// are computed from, so they never need the model retrained. `tail_candidates` reach
/// less popular items beyond the best 50, for the re-ranking of all lists together
/// (`inference::exposure`); files written before they were kept have none.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EvaluatedUser {
    pub user: u32,
    pub test_items: Vec<u32>,
    pub candidates: Vec<(u32, f32)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tail_candidates: Vec<(u32, f32)>,
}

/// The evaluation split, kept with the model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EvaluationDetail {
    pub k: usize,
    pub users: Vec<EvaluatedUser>,
    /// Training interactions per item (for popularity and interaction shares).
    pub item_train_counts: Vec<u32>,
    /// Each evaluated user's NDCG@k and Recall@k, for intervals and comparisons (absent
    /// from files written before they were kept: `comparison::per_user` measures them).
    #[serde(default)]
    pub user_metrics: Vec<super::comparison::UserMetrics>,
}

fn evaluation_detail<S: inference::rank::Scorer + ?Sized>(
    scorer: &S,
    split: &inference::eval::Split,
) -> Result<EvaluationDetail, Halt> {
    let n_items = scorer.n_items();
    let mut scores = vec![0f32; n_items];
    let mut users = Vec::new();
    let train_counts = split.train.column_counts();
    for user in split.evaluated_users() {
        let history = lift(split.train.row(user))?;
        lift(scorer.score_into(user, history, &mut scores))?;
        let excluded: Vec<u32> = history.indices.to_vec();
        let top = inference::rank::top_k(&scores, crate::fairness::CANDIDATE_POOL, &excluded);
        let test_items = lift(split.test.row(user))?.indices.to_vec();
        let tail_candidates = inference::exposure::tail_candidates(&scores, &train_counts, &top, &excluded);
        users.push(EvaluatedUser {
            user,
            test_items,
            candidates: top.into_iter().map(|i| (i, scores[i as usize])).collect(),
            tail_candidates,
        });
    }
    let user_metrics = super::comparison::measure_users(&users, EVALUATION_K);
    Ok(EvaluationDetail { k: EVALUATION_K, users, item_train_counts: train_counts, user_metrics })
}

/// How a training job runs, besides what it trains.
#[derive(Debug, Clone)]
pub struct TrainingOptions {
    pub threads: usize,
    /// Wall-clock budget of a tuning search (`None`: no limit).
    pub tuning_budget: Option<Duration>,
    /// Bytes an EASE fit may hold; larger catalogs are refused (docs/models.md).
    pub ease_memory_budget: usize,
    /// The tenant's previous best settings, where searches start.
    pub warm: Vec<Setting>,
}

impl TrainingOptions {
    /// `threads` threads, no time budget, no warm start, and 1 GiB for EASE: for tools
    /// and tests that train outside a server.
    pub fn with_threads(threads: usize) -> Self {
        Self { threads, tuning_budget: None, ease_memory_budget: 1 << 30, warm: Vec::new() }
    }
}

pub struct Trained {
    /// The family trained (for `AUTO`, the one chosen).
    pub algorithm: Algorithm,
    pub evaluation: EvaluationDetail,
    pub onnx: Vec<u8>,
    pub user_factors: Option<Array2<f32>>,
    pub als: Option<AlsParams>,
    pub factors: usize,
    pub parameters: serde_json::Value,
    pub tuning: Option<serde_json::Value>,
    pub metrics: ModelMetrics,
}

impl Trained {
    /// The bytes that go to the model store.
    pub fn clone_files(&self) -> (Vec<u8>, Option<Vec<f32>>) {
        (self.onnx.clone(), self.user_factors.as_ref().map(|f| f.iter().copied().collect()))
    }
}

pub enum Outcome {
    Trained(Box<Trained>),
    Cancelled,
}

fn inference_error(e: InferenceError) -> DomainError {
    match e {
        InferenceError::InvalidParameter { name, reason } => DomainError::invalid(format!("parameters.{name}"), reason),
        InferenceError::CatalogTooLarge { items, needed, budget } => DomainError::invalid(
            "algorithm",
            format!(
                "EASE over {items} items needs {}, above this server's budget of {}; train ALS or AUTO instead",
                inference::ease::readable_bytes(needed),
                inference::ease::readable_bytes(budget)
            ),
        ),
        other => DomainError::internal(format!("training failed: {other}")),
    }
}

/// Maps a sub-step's progress into its slice of the whole.
fn slice(progress: &mut dyn FnMut(f32) -> bool, from: f32, to: f32) -> impl FnMut(f32) -> bool + '_ {
    move |p| progress(from + (to - from) * p.clamp(0.0, 1.0))
}

pub fn train(
    data: &TrainingData,
    request: &TrainRequest,
    options: &TrainingOptions,
    progress: &mut dyn FnMut(f32) -> bool,
) -> Result<Outcome> {
    match run(data, request, options, progress) {
        Ok(trained) => Ok(Outcome::Trained(Box::new(trained))),
        Err(Halt::Cancelled) => Ok(Outcome::Cancelled),
        Err(Halt::Failed(e)) => Err(e),
    }
}

/// Why a run stopped before its end: a cancellation is an outcome, not an error.
enum Halt {
    Cancelled,
    Failed(DomainError),
}

impl From<DomainError> for Halt {
    fn from(e: DomainError) -> Self {
        Halt::Failed(e)
    }
}

fn check(r: std::result::Result<(), InferenceError>) -> Result<(), Halt> {
    lift(r)
}

fn lift<T>(r: inference::Result<T>) -> Result<T, Halt> {
    r.map_err(|e| match e {
        InferenceError::Cancelled => Halt::Cancelled,
        other => Halt::Failed(inference_error(other)),
    })
}

fn run(
    data: &TrainingData,
    request: &TrainRequest,
    options: &TrainingOptions,
    progress: &mut dyn FnMut(f32) -> bool,
) -> Result<Trained, Halt> {
    if data.triplets.is_empty() || data.item_ids.is_empty() {
        return Err(DomainError::invalid("data", "there are no interactions to train on yet").into());
    }
    let all = lift(Interactions::from_triplets(data.user_ids.len(), data.item_ids.len(), &data.triplets))?;
    let split = lift(split_per_user(&all, EVALUATION_SEED, SplitRule::default()))?;
    run_on_split(data, &all, &split, request, options, progress)
}

/// The pipeline after the protocol's split: choose on the training part only, evaluate
/// on the test part, refit on everything.
fn run_on_split(
    data: &TrainingData,
    all: &Interactions,
    split: &inference::eval::Split,
    request: &TrainRequest,
    options: &TrainingOptions,
    progress: &mut dyn FnMut(f32) -> bool,
) -> Result<Trained, Halt> {
    if split.evaluated_users().is_empty() {
        return Err(DomainError::invalid("data", "no user has the 5 interactions evaluation needs").into());
    }
    let threads = options.threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| DomainError::internal_from("thread pool", e))?;
    let fit = FitOptions {
        seed: EVALUATION_SEED,
        threads,
        cg_steps: AlsParams::default().cg_steps,
        ease_memory_budget: options.ease_memory_budget,
    };

    let (setting, selection) = choose(&split.train, request, options, &fit, &mut slice(progress, 0.0, 0.6))?;
    let evaluated = lift(setting.fit(&split.train, &fit, slice(progress, 0.6, 0.68)))?;
    let report = lift(pool.install(|| evaluate(&evaluated, split, EVALUATION_K)))?;
    let evaluation = evaluation_detail(&evaluated, split)?;
    check(if progress(0.7) { Ok(()) } else { Err(InferenceError::Cancelled) })?;
    let served = lift(setting.fit(all, &fit, slice(progress, 0.7, 0.98)))?;
    let (onnx, user_factors, factors) = match &served {
        Fitted::Als(model) => (lift(onnx::export_als(model))?, Some(model.user_factors().clone()), model.factors()),
        Fitted::Ease(model) => (lift(onnx::export_ease(model))?, None, 0),
        Fitted::ItemKnn(model) => (lift(onnx::export_item_knn(model))?, None, 0),
        Fitted::MostPopular(model) => {
            let scores = Array2::from_shape_vec((data.item_ids.len(), 1), model.scores().to_vec())
                .map_err(|e| DomainError::internal_from("popularity shape", e))?;
            // A one-factor model: every user's vector is [1], so the scores are the
            // popularity itself, served by the same ONNX path as every other model.
            (lift(onnx::export_factor_model(scores.view(), "most_popular"))?, None, 1)
        }
    };
    check(if progress(1.0) { Ok(()) } else { Err(InferenceError::Cancelled) })?;
    Ok(Trained {
        algorithm: Algorithm::from(setting.family()),
        evaluation,
        onnx,
        user_factors,
        als: setting.als_params(&fit),
        factors,
        parameters: parameters_json(&setting, &fit, selection.is_some()),
        tuning: selection.as_ref().map(tuning_record).transpose()?,
        metrics: to_metrics(&report),
    })
}

/// The setting to train: pinned by the request, or chosen by a search over the families
/// the request leaves open, on an inner split of the training part only.
fn choose(
    train: &Interactions,
    request: &TrainRequest,
    options: &TrainingOptions,
    fit: &FitOptions,
    progress: &mut dyn FnMut(f32) -> bool,
) -> Result<(Setting, Option<SearchResult>), Halt> {
    let families = match request {
        TrainRequest::Auto => Family::ALL.to_vec(),
        TrainRequest::Als(None) => vec![Family::Als],
        TrainRequest::Ease(None) => vec![Family::Ease],
        TrainRequest::Als(Some(s)) => {
            let setting = Setting::Als {
                factors: s.factors,
                regularization: s.regularization,
                alpha: s.alpha,
                iterations: s.iterations,
            };
            return Ok((setting, None));
        }
        TrainRequest::Ease(Some(s)) => return Ok((Setting::Ease { lambda: s.lambda, omega: s.omega }, None)),
        TrainRequest::ItemKnn { neighbours } => return Ok((Setting::ItemKnn { neighbours: *neighbours }, None)),
        TrainRequest::MostPopular => return Ok((Setting::MostPopular, None)),
    };
    let config = SearchConfig {
        families,
        seed: EVALUATION_SEED,
        k: EVALUATION_K,
        fit: *fit,
        budget: options.tuning_budget,
        warm: options.warm.clone(),
        ..SearchConfig::default()
    };
    let result = lift(search(train, &config, progress))?;
    Ok((result.best.clone(), Some(result)))
}

fn tuning_record(result: &SearchResult) -> Result<serde_json::Value> {
    let selected_by =
        format!("validation NDCG@{EVALUATION_K} on an inner split of the training data (seed {})", EVALUATION_SEED + 1);
    serde_json::to_value(Selection::of_search(result, selected_by))
        .map_err(|e| DomainError::internal_from("tuning record", e))
}

fn parameters_json(setting: &Setting, fit: &FitOptions, tuned: bool) -> serde_json::Value {
    match setting {
        Setting::Als { factors, regularization, alpha, iterations } => json!({
            "factors": factors, "regularization": regularization, "alpha": alpha,
            "iterations": iterations, "cgSteps": fit.cg_steps, "seed": fit.seed, "tuned": tuned,
        }),
        Setting::Ease { lambda, omega } => json!({ "lambda": lambda, "omega": omega, "tuned": tuned }),
        Setting::ItemKnn { neighbours } => json!({ "neighbours": neighbours, "tuned": tuned }),
        Setting::MostPopular => json!({ "by": "interaction count", "tuned": tuned }),
    }
}

fn to_metrics(report: &inference::eval::EvalReport) -> ModelMetrics {
    let (ndcg_interval, recall_interval) = super::comparison::metric_intervals(report);
    ModelMetrics {
        k: report.k,
        ndcg: report.metrics.ndcg,
        recall: report.metrics.recall,
        precision: report.metrics.precision,
        hit_rate: report.metrics.hit_rate,
        coverage: report.metrics.coverage,
        evaluated_users: report.evaluated_users,
        ndcg_interval,
        recall_interval,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use inference::rng::SplitMix64;

    use super::*;

    /// People in four taste groups over 60 items, 25 events each.
    fn data() -> TrainingData {
        let mut rng = SplitMix64::new(3);
        let mut triplets = Vec::new();
        for u in 0..120u32 {
            let group = (u % 4) as usize;
            for _ in 0..25 {
                let item = if rng.below(10) < 8 { group * 15 + rng.below(15) } else { rng.below(60) };
                triplets.push((u, item as u32, 1.0));
            }
        }
        TrainingData {
            user_ids: (0..120).map(|u| format!("u{u}")).collect(),
            item_ids: (0..60).map(|i| format!("c{i}")).collect(),
            snapshot: DataSnapshot {
                users: 120,
                items: 60,
                interactions: triplets.len(),
                first_interaction_at: None,
                last_interaction_at: None,
                taken_at: chrono::Utc::now(),
            },
            triplets,
        }
    }

    fn trained(data: &TrainingData, split: &inference::eval::Split) -> Trained {
        let all = Interactions::from_triplets(120, 60, &data.triplets).unwrap();
        match run_on_split(data, &all, split, &TrainRequest::Auto, &TrainingOptions::with_threads(2), &mut |_| true) {
            Ok(t) => t,
            Err(_) => panic!("training failed"),
        }
    }

    #[test]
    fn the_test_split_informs_no_choice() {
        let data = data();
        let all = Interactions::from_triplets(120, 60, &data.triplets).unwrap();
        let split = split_per_user(&all, EVALUATION_SEED, SplitRule::default()).unwrap();
        // The same training part, with every held-out interaction replaced by a random
        // item of the same person.
        let mut rng = SplitMix64::new(99);
        let random: Vec<(u32, u32, f32)> =
            split.test.triplets().map(|(u, _, w)| (u, rng.below(60) as u32, w)).collect();
        let noise = inference::eval::Split {
            train: split.train.clone(),
            test: Interactions::from_triplets(120, 60, &random).unwrap(),
        };
        let (real, shuffled) = (trained(&data, &split), trained(&data, &noise));
        assert_eq!(real.algorithm, shuffled.algorithm);
        assert_eq!(real.parameters, shuffled.parameters, "the chosen setting");
        // Every trial and its validation score (timings aside).
        let trials = |t: &Trained| {
            let selection = t.tuning.as_ref().and_then(Selection::from_record).unwrap();
            let scores: Vec<_> = selection.trials.into_iter().map(|t| (t.setting, t.validation_ndcg)).collect();
            (selection.chosen, scores)
        };
        assert_eq!(trials(&real), trials(&shuffled));
        assert!(trials(&real).1.len() > 40, "every family was searched");
        assert_ne!(real.metrics.ndcg, shuffled.metrics.ndcg, "the test split is what changed");
        assert!(real.metrics.ndcg > shuffled.metrics.ndcg, "real held-out items are easier than random ones");
    }
}
