//! A deployed model in memory: its ONNX Runtime sessions, its id maps and, for ALS, the
//! factors needed for fold-in and explanations. Scoring always goes through ONNX Runtime.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use chrono::{DateTime, Utc};
use inference::InferenceError;
use inference::als::AlsModel;
use inference::onnx;
use inference::runtime::{OnnxScorer, OrtRuntime};
use inference::sandbox::{SandboxConfig, SandboxedScorer};
use ndarray::Array2;

use super::artifacts::{
    ArtifactMeta, HISTORY_DIGESTS_FILE, META_FILE, ModelStore, ONNX_FILE, USER_FACTORS_FILE, f32_values,
};
use super::history_digest::{self, HistoryDigest};
use super::types::Algorithm;
use crate::error::{DomainError, Result};
use tenants::TenantCtx;

/// Which strategy produced an answer; the API reports it with every list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The user's trained vector.
    Personalized,
    /// A vector solved from the user's current history (user newer than the model, or
    /// with interactions since it was trained).
    FoldIn,
    /// Neighbours of the items in the user's current history.
    ItemNeighbours,
    /// A linear item-item model (EASE) applied to the user's current history.
    HistoryModel,
    /// The tenant's own uploaded model, fed the user's history.
    UploadedModel,
    /// Non-personalized: unknown user, no history, no consent, or no model yet.
    PopularFallback,
    /// Similar items by the model's item representations.
    ModelSimilarity,
    /// Similar items by shared genres and tags, for items no model knows.
    ContentBased,
}

pub struct LoadedModel {
    /// The registry's public id, kept so answers can name their model without a query.
    pub id: tenants::ids::PublicId,
    pub algorithm: Algorithm,
    pub item_ids: Vec<String>,
    pub item_index: FxHashMap<String, u32>,
    user_index: FxHashMap<String, u32>,
    pub trained_at: DateTime<Utc>,
    scorer: ModelScorer,
    /// ALS only: trained user factors plus item factors read back from the graph.
    pub als: Option<AlsModel>,
    /// ALS only: a digest of the history each trained vector was solved from (`None` for
    /// models trained before digests were kept).
    trained_histories: Option<Vec<HistoryDigest>>,
}

/// Built-in models run in this process; a tenant's uploaded model is untrusted code and
/// runs in sandboxed worker processes.
enum ModelScorer {
    InProcess(OnnxScorer),
    Sandboxed(SandboxedScorer),
}

impl ModelScorer {
    fn score(&self, input: ndarray::ArrayView2<'_, f32>) -> Result<Array2<f32>> {
        match self {
            ModelScorer::InProcess(s) => s.score(input).map_err(|e| DomainError::internal_from("inference", e)),
            ModelScorer::Sandboxed(s) => s.score(input).map_err(uploaded_model_error),
        }
    }

    fn score_sparse(
        &self,
        items: ndarray::ArrayView2<'_, i64>,
        weights: ndarray::ArrayView2<'_, f32>,
    ) -> Result<Array2<f32>> {
        match self {
            ModelScorer::InProcess(s) => {
                s.score_sparse(items, weights).map_err(|e| DomainError::internal_from("inference", e))
            }
            ModelScorer::Sandboxed(_) => Err(DomainError::internal("uploaded models take a dense history")),
        }
    }

    fn is_sparse(&self) -> bool {
        matches!(self, ModelScorer::InProcess(s) if s.is_sparse())
    }
}

/// What a model is fed for one person.
#[derive(Debug, Clone)]
pub enum ModelInput {
    /// A factor vector (ALS, most popular), or a dense history row over the catalog
    /// (uploaded models, and item-kNN models of earlier releases).
    Dense(Vec<f32>),
    /// The history's (item index, weight) pairs: built-in item-item models read only
    /// the rows of these items.
    Sparse(Vec<(u32, f32)>),
}

impl ModelInput {
    /// Multiply-adds one scoring costs over a catalog of `n_items`.
    pub fn work(&self, n_items: usize) -> usize {
        match self {
            ModelInput::Dense(v) => v.len().saturating_mul(n_items),
            ModelInput::Sparse(h) => h.len().saturating_mul(n_items),
        }
    }
}

/// The tenant's own model at fault is `MODEL_FAILED` with the reason (its limits, its
/// own error); the sandbox failing is ours.
fn uploaded_model_error(e: InferenceError) -> DomainError {
    match e {
        InferenceError::SandboxUnavailable { .. } => DomainError::internal_from("uploaded model sandbox", e),
        other => DomainError::ModelFailed(format!("the uploaded model failed: {other}")),
    }
}

/// The files of a model that serving reads, fetched from the store before the
/// (blocking) load builds sessions from them.
pub struct ModelFiles {
    meta: ArtifactMeta,
    graph: Vec<u8>,
    user_factors: Option<Vec<u8>>,
    history_digests: Option<Vec<u8>>,
}

impl ModelFiles {
    /// Reads (and so checks the checksum of) every file serving needs.
    pub async fn read(store: &dyn ModelStore, ctx: &TenantCtx, key: &str) -> Result<Self> {
        let meta: ArtifactMeta = serde_json::from_slice(&store.get(ctx, key, META_FILE).await?)
            .map_err(|e| DomainError::internal_from("corrupt model metadata", e))?;
        let graph = store.get(ctx, key, ONNX_FILE).await?;
        let als = meta.algorithm == Algorithm::Als && meta.als.is_some();
        let user_factors = if als { Some(store.get(ctx, key, USER_FACTORS_FILE).await?) } else { None };
        let history_digests =
            if als && meta.history_digests { Some(store.get(ctx, key, HISTORY_DIGESTS_FILE).await?) } else { None };
        Ok(Self { meta, graph, user_factors, history_digests })
    }
}

impl LoadedModel {
    /// Checks a model's files and builds its sessions (blocking). Uploaded models need
    /// `sandbox`.
    pub fn load(
        files: ModelFiles,
        runtime: &OrtRuntime,
        sandbox: Option<&SandboxConfig>,
        row: i64,
        id: tenants::ids::PublicId,
        sessions: usize,
    ) -> Result<Self> {
        let ModelFiles { meta, graph, user_factors, history_digests } = files;
        let scorer = if meta.algorithm == Algorithm::Uploaded {
            let sandbox =
                sandbox.ok_or_else(|| DomainError::ModelNotReady("uploaded models cannot run here".into()))?;
            let scorer = SandboxedScorer::new(sandbox.clone(), graph.clone(), meta.item_ids.len());
            // Starts a worker now: the first request does not wait for it.
            scorer.warm().map_err(uploaded_model_error)?;
            ModelScorer::Sandboxed(scorer)
        } else {
            let scorer = OnnxScorer::new(runtime, &graph, sessions)
                .map_err(|e| DomainError::internal_from(format!("model {row} does not load"), e))?;
            ModelScorer::InProcess(scorer)
        };
        let als = match (&meta.algorithm, &meta.als, user_factors) {
            (Algorithm::Als, Some(params), Some(factors)) => {
                let values = f32_values(&factors)?;
                let users = Array2::from_shape_vec((meta.user_ids.len(), meta.factors), values)
                    .map_err(|e| DomainError::internal_from("user factors", e))?;
                let items =
                    onnx::read_item_factors(&graph).map_err(|e| DomainError::internal_from("item factors", e))?;
                Some(
                    AlsModel::from_parts(users, items, params.clone())
                        .map_err(|e| DomainError::internal_from("als", e))?,
                )
            }
            _ => None,
        };
        let trained_histories = match (&als, history_digests) {
            (Some(als), Some(digests)) => {
                let digests = history_digest::from_bytes(&digests)?;
                if digests.len() != als.n_users() {
                    return Err(DomainError::internal(format!("model {row}: history digests do not match the users")));
                }
                Some(digests)
            }
            _ => None,
        };
        let item_index = meta.item_ids.iter().enumerate().map(|(i, id)| (id.clone(), i as u32)).collect();
        let user_index = meta.user_ids.iter().enumerate().map(|(i, id)| (id.clone(), i as u32)).collect();
        Ok(Self {
            id,
            algorithm: meta.algorithm,
            item_ids: meta.item_ids,
            item_index,
            user_index,
            trained_at: meta.trained_at,
            scorer,
            als,
            trained_histories,
        })
    }

    /// Whether scoring talks to a worker process (then it may block up to the sandbox's
    /// timeout, so never on the async executor).
    pub fn is_sandboxed(&self) -> bool {
        matches!(self.scorer, ModelScorer::Sandboxed(_))
    }

    pub fn n_items(&self) -> usize {
        self.item_ids.len()
    }

    /// The user's history in this model's item space with its digest, as the person
    /// cache keeps it between requests (`data::UserState::indexed_for`).
    pub fn index_history(&self, history: &[HistoryEvent]) -> IndexedHistory {
        let pairs = self.history_indices(history);
        let digest = HistoryDigest::of(pairs.iter().copied());
        IndexedHistory { pairs, digest }
    }

    /// The user's history in this model's item space (items the model does not know are
    /// left out: they arrived after training).
    fn history_indices(&self, history: &[HistoryEvent]) -> Vec<(u32, f32)> {
        let mut by_item: FxHashMap<u32, f32> = FxHashMap::default();
        for event in history {
            if let Some(&i) = self.item_index.get(&*event.item_id) {
                *by_item.entry(i).or_default() += event.weight;
            }
        }
        let mut out: Vec<_> = by_item.into_iter().collect();
        out.sort_unstable_by_key(|(i, _)| *i);
        out
    }

    /// The input for this user and the strategy it stands for, or `None` when the model
    /// cannot personalize for them (then the caller falls back).
    /// `indexed` is `history` in this model's item space ([`Self::index_history`]).
    pub fn user_input(
        &self,
        user_id: &str,
        history: &[HistoryEvent],
        indexed: &IndexedHistory,
    ) -> Result<Option<(ModelInput, Strategy)>> {
        match self.algorithm {
            Algorithm::Als => {
                let Some(als) = &self.als else {
                    return Err(DomainError::internal("ALS model without factors"));
                };
                if indexed.pairs.is_empty() {
                    return Ok(None);
                }
                if let Some(&u) = self.user_index.get(user_id)
                    && self.trained_on(u, indexed, history)
                {
                    let v = als.user_vector(u).map_err(|e| DomainError::internal(e.to_string()))?;
                    return Ok(Some((ModelInput::Dense(v.to_vec()), Strategy::Personalized)));
                }
                let v = als.fold_in(&indexed.pairs).map_err(|e| DomainError::internal_from("fold-in", e))?;
                Ok(Some((ModelInput::Dense(v), Strategy::FoldIn)))
            }
            Algorithm::ItemKnn | Algorithm::Ease | Algorithm::Uploaded => {
                let indexed = indexed.pairs.clone();
                if indexed.is_empty() {
                    return Ok(None);
                }
                let strategy = match self.algorithm {
                    Algorithm::Uploaded => Strategy::UploadedModel,
                    Algorithm::Ease => Strategy::HistoryModel,
                    _ => Strategy::ItemNeighbours,
                };
                Ok(Some((self.history_input(indexed), strategy)))
            }
            Algorithm::MostPopular => Ok(Some((ModelInput::Dense(vec![1.0]), Strategy::PopularFallback))),
            Algorithm::Auto => Err(DomainError::internal("a model whose algorithm was never chosen is loaded")),
        }
    }

    /// Whether trained user `u`'s vector was solved from exactly this history (merged in
    /// `indexed`): then it is what a fold-in of the history gives, and serving it saves
    /// the solve. Models without digests can only tell events newer than the model.
    fn trained_on(&self, u: u32, indexed: &IndexedHistory, history: &[HistoryEvent]) -> bool {
        match &self.trained_histories {
            Some(digests) => digests.get(u as usize).is_some_and(|trained| trained.matches(&indexed.digest)),
            None => !history.iter().any(|e| e.occurred_at > self.trained_at),
        }
    }

    /// A history in the form this model takes.
    fn history_input(&self, indexed: Vec<(u32, f32)>) -> ModelInput {
        if self.scorer.is_sparse() {
            return ModelInput::Sparse(indexed);
        }
        let mut dense = vec![0f32; self.n_items()];
        for (i, w) in indexed {
            dense[i as usize] = w;
        }
        ModelInput::Dense(dense)
    }

    /// The scores of one-item histories, one row of `n_items` per item (row-major): for a
    /// linear history model, row h is what history item h adds to every item's score.
    pub fn score_one_hot(&self, items: &[u32]) -> Result<Vec<f32>> {
        let rows = items.len();
        let scores = if self.scorer.is_sparse() {
            let indices = ndarray::Array2::from_shape_fn((rows, 1), |(r, _)| i64::from(items[r]));
            self.scorer.score_sparse(indices.view(), ndarray::Array2::<f32>::ones((rows, 1)).view())?
        } else {
            let n = self.n_items();
            let mut one_hot = ndarray::Array2::<f32>::zeros((rows, n));
            for (r, &item) in items.iter().enumerate() {
                let slot = one_hot.get_mut((r, item as usize)).ok_or_else(|| DomainError::internal("item index"))?;
                *slot = 1.0;
            }
            self.scorer.score(one_hot.view())?
        };
        Ok(scores.iter().copied().collect())
    }

    /// Scores every item through ONNX Runtime (blocking: call off the async executor).
    pub fn score(&self, input: &ModelInput) -> Result<Vec<f32>> {
        let scores = match input {
            ModelInput::Dense(v) => {
                let view = ndarray::ArrayView2::from_shape((1, v.len()), v)
                    .map_err(|e| DomainError::internal_from("input shape", e))?;
                self.scorer.score(view)?
            }
            ModelInput::Sparse(history) => {
                let items = ndarray::Array2::from_shape_fn((1, history.len()), |(_, h)| i64::from(history[h].0));
                let weights = ndarray::Array2::from_shape_fn((1, history.len()), |(_, h)| history[h].1);
                self.scorer.score_sparse(items.view(), weights.view())?
            }
        };
        Ok(scores.row(0).to_vec())
    }
}

/// A history in one model's item space (items merged, weights summed, by item index)
/// and its digest.
#[derive(Debug)]
pub struct IndexedHistory {
    pub pairs: Vec<(u32, f32)>,
    digest: HistoryDigest,
}

/// One past interaction, weighted by the tenant's event weights.
#[derive(Debug, Clone)]
pub struct HistoryEvent {
    /// Shared with the cached history: building a request's history copies no ids.
    pub item_id: Arc<str>,
    pub weight: f32,
    pub occurred_at: DateTime<Utc>,
}
