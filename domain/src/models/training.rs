//! The training pipeline, run on a blocking thread: split, fit (tuned or pinned),
//! evaluate under the protocol, refit on all data, export to ONNX.

use inference::als::{AlsModel, AlsParams};
use inference::eval::{SplitRule, evaluate, split_per_user};
use inference::knn::ItemKnn;
use inference::matrix::Interactions;
use inference::popular::{Popularity, PopularityBy};
use inference::tune::{TuneConfig, tune_als};
use inference::{InferenceError, onnx};
use ndarray::Array2;
use serde_json::json;

use super::types::{DataSnapshot, ModelMetrics, TrainRequest};
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
/// are computed from, so they never need the model retrained.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EvaluatedUser {
    pub user: u32,
    pub test_items: Vec<u32>,
    pub candidates: Vec<(u32, f32)>,
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
    for user in split.evaluated_users() {
        let history = lift(split.train.row(user))?;
        lift(scorer.score_into(user, history, &mut scores))?;
        let excluded: Vec<u32> = history.indices.to_vec();
        let top = inference::rank::top_k(&scores, crate::fairness::CANDIDATE_POOL, &excluded);
        let test_items = lift(split.test.row(user))?.indices.to_vec();
        users.push(EvaluatedUser {
            user,
            test_items,
            candidates: top.into_iter().map(|i| (i, scores[i as usize])).collect(),
        });
    }
    let user_metrics = super::comparison::measure_users(&users, EVALUATION_K);
    Ok(EvaluationDetail { k: EVALUATION_K, users, item_train_counts: split.train.column_counts(), user_metrics })
}

pub struct Trained {
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
    threads: usize,
    progress: &mut dyn FnMut(f32) -> bool,
) -> Result<Outcome> {
    match run(data, request, threads, progress) {
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
    threads: usize,
    progress: &mut dyn FnMut(f32) -> bool,
) -> Result<Trained, Halt> {
    if data.triplets.is_empty() || data.item_ids.is_empty() {
        return Err(DomainError::invalid("data", "there are no interactions to train on yet").into());
    }
    let all = lift(Interactions::from_triplets(data.user_ids.len(), data.item_ids.len(), &data.triplets))?;
    let split = lift(split_per_user(&all, EVALUATION_SEED, SplitRule::default()))?;
    if split.evaluated_users().is_empty() {
        return Err(DomainError::invalid("data", "no user has the 5 interactions evaluation needs").into());
    }
    let threads = threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| DomainError::internal_from("thread pool", e))?;

    let trained = match request {
        TrainRequest::Als(pinned) => {
            let (evaluated, params, tuning) = match pinned {
                Some(s) => {
                    let params = AlsParams {
                        factors: s.factors,
                        regularization: s.regularization,
                        alpha: s.alpha,
                        iterations: s.iterations,
                        seed: EVALUATION_SEED,
                        threads,
                        ..AlsParams::default()
                    };
                    let model = lift(AlsModel::fit(&split.train, &params, slice(progress, 0.0, 0.6)))?;
                    (model, params, None)
                }
                None => {
                    let config =
                        TuneConfig { seed: EVALUATION_SEED, threads, k: EVALUATION_K, ..TuneConfig::default() };
                    let result = lift(tune_als(&split.train, &config, slice(progress, 0.0, 0.6)))?;
                    let trials: Vec<_> = result
                        .trials
                        .iter()
                        .map(|t| {
                            json!({
                                "factors": t.params.factors, "regularization": t.params.regularization,
                                "alpha": t.params.alpha, "iterations": t.params.iterations,
                                "validationNdcg": t.validation_ndcg,
                            })
                        })
                        .collect();
                    let tuning = json!({
                        "selectedBy": "validation NDCG@10 on an inner split of the training data (seed 43)",
                        "seconds": result.seconds,
                        "trials": trials,
                    });
                    (result.model, result.best, Some(tuning))
                }
            };
            let report = lift(pool.install(|| evaluate(&evaluated, &split, EVALUATION_K)))?;
            let evaluation = evaluation_detail(&evaluated, &split)?;
            check(if progress(0.7) { Ok(()) } else { Err(InferenceError::Cancelled) })?;
            let final_model = lift(AlsModel::fit(&all, &params, slice(progress, 0.7, 0.98)))?;
            let onnx = lift(onnx::export_als(&final_model))?;
            Trained {
                evaluation,
                onnx,
                user_factors: Some(final_model.user_factors().clone()),
                factors: params.factors,
                parameters: json!({
                    "factors": params.factors, "regularization": params.regularization, "alpha": params.alpha,
                    "iterations": params.iterations, "cgSteps": params.cg_steps, "seed": params.seed,
                    "tuned": pinned.is_none(),
                }),
                als: Some(params),
                tuning,
                metrics: to_metrics(&report),
            }
        }
        TrainRequest::ItemKnn { neighbours } => {
            let evaluated = lift(ItemKnn::fit(&split.train, *neighbours, threads))?;
            check(if progress(0.3) { Ok(()) } else { Err(InferenceError::Cancelled) })?;
            let report = lift(pool.install(|| evaluate(&evaluated, &split, EVALUATION_K)))?;
            let evaluation = evaluation_detail(&evaluated, &split)?;
            check(if progress(0.6) { Ok(()) } else { Err(InferenceError::Cancelled) })?;
            let final_model = lift(ItemKnn::fit(&all, *neighbours, threads))?;
            Trained {
                evaluation,
                onnx: lift(onnx::export_item_knn(&final_model))?,
                user_factors: None,
                als: None,
                factors: 0,
                parameters: json!({ "neighbours": neighbours }),
                tuning: None,
                metrics: to_metrics(&report),
            }
        }
        TrainRequest::MostPopular => {
            let evaluated = Popularity::fit(&split.train, PopularityBy::Count);
            let report = lift(pool.install(|| evaluate(&evaluated, &split, EVALUATION_K)))?;
            let evaluation = evaluation_detail(&evaluated, &split)?;
            let final_model = Popularity::fit(&all, PopularityBy::Count);
            let scores = Array2::from_shape_vec((data.item_ids.len(), 1), final_model.scores().to_vec())
                .map_err(|e| DomainError::internal_from("popularity shape", e))?;
            Trained {
                evaluation,
                // A one-factor model: every user's vector is [1], so the scores are the
                // popularity itself, served by the same ONNX path as every other model.
                onnx: lift(onnx::export_factor_model(scores.view(), "most_popular"))?,
                user_factors: None,
                als: None,
                factors: 1,
                parameters: json!({ "by": "interaction count" }),
                tuning: None,
                metrics: to_metrics(&report),
            }
        }
    };
    check(if progress(1.0) { Ok(()) } else { Err(InferenceError::Cancelled) })?;
    Ok(trained)
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
