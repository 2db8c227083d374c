//! The content subsystem's handles: the text model (one instance for queries, one for
//! the background worker, so a query never waits behind a batch), the per-tenant
//! semantic index and the settings.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use inference::runtime::OrtRuntime;
use inference::text::{TextEncoder, TextEncoderFiles};
use tenants::{Scope, TenantCtx};

use super::index::SemanticIndex;
use super::store;
use super::transfer::ModelTransfer;
use crate::Services;
use crate::error::{DomainError, Result};
use crate::fresh_cache::FreshCache;
use crate::serving_cache::{Change, ChangeListener};

/// How long embeddings written by another process may take to reach this process's
/// semantic index (this process's own worker announces its writes at once).
const INDEX_TTL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct ContentConfig {
    /// Directory holding `model.onnx` and `tokenizer.json` (what the setup builds);
    /// `None` or a missing directory turns the semantic features off.
    pub model_dir: Option<PathBuf>,
    /// libonnxruntime (the same library the models use).
    pub onnxruntime_path: PathBuf,
    /// Run the embedding worker in this process (servers do, CLI commands do not).
    pub run_worker: bool,
    /// Items embedded per batch: larger batches use the cores better, smaller ones hold
    /// the lease for less time.
    pub batch_size: usize,
    /// ONNX Runtime threads of the worker's model (the rest of the cores serve).
    pub worker_threads: usize,
    /// ONNX Runtime threads of the query model.
    pub query_threads: usize,
    /// How long a claimed batch stays leased before another worker may take it over.
    pub lease: Duration,
    /// Failed attempts after which an item counts as failed and is no longer claimed.
    pub max_attempts: i32,
    /// How often an idle worker looks for work.
    pub poll_interval: Duration,
    /// Weight of the content score in recommendations (0 turns the blend off).
    pub blend_weight: f32,
    /// Groups of people smaller than this are suppressed from insights.
    pub min_group_size: usize,
    /// This process's name as the owner of leases.
    pub worker_id: String,
}

impl Default for ContentConfig {
    fn default() -> Self {
        Self {
            model_dir: None,
            onnxruntime_path: PathBuf::new(),
            run_worker: false,
            batch_size: 32,
            worker_threads: 1,
            query_threads: 1,
            lease: Duration::from_secs(300),
            max_attempts: 3,
            poll_interval: Duration::from_millis(500),
            blend_weight: super::DEFAULT_BLEND_WEIGHT,
            min_group_size: 10,
            worker_id: uuid::Uuid::new_v4().simple().to_string(),
        }
    }
}

/// Cheap to clone.
#[derive(Clone)]
pub struct ContentServices {
    pub(crate) services: Services,
    pub(crate) query_encoder: Option<Arc<TextEncoder>>,
    /// Why the text model is unavailable, for `MODEL_NOT_READY` answers.
    pub(crate) encoder_error: Option<String>,
    pub(crate) index: FreshCache<i64, Arc<SemanticIndex>>,
    /// The blend's precomputation per (tenant, model); checked against the index it was
    /// built over on every use.
    pub(crate) transfers: moka::sync::Cache<(i64, String), Arc<ModelTransfer>>,
    /// One build of a transfer at a time: concurrent requests after a new index would
    /// otherwise each build the same one.
    pub(crate) transfer_builds: Arc<tokio::sync::Mutex<()>>,
    /// Whether serving has a background reload of an index under way: one at a time, or
    /// every request during a catalog's embedding would queue a reload of its own.
    pub(crate) index_reloading: Arc<std::sync::atomic::AtomicBool>,
    pub(crate) config: Arc<ContentConfig>,
}

impl ContentServices {
    /// Loads the text model when configured and starts the embedding worker when asked
    /// (on the current runtime, like the read-audit writer).
    pub fn new(services: Services, config: ContentConfig) -> Self {
        let load = |threads: usize| -> std::result::Result<Option<TextEncoder>, String> {
            let Some(dir) = &config.model_dir else { return Ok(None) };
            let files = TextEncoderFiles::in_dir(dir);
            if !files.exist() {
                return Ok(None);
            }
            OrtRuntime::init(&config.onnxruntime_path).map_err(|e| e.to_string())?;
            TextEncoder::load(&files, threads).map(Some).map_err(|e| e.to_string())
        };
        let (query_encoder, encoder_error) = match load(config.query_threads) {
            Ok(Some(encoder)) => (Some(Arc::new(encoder)), None),
            Ok(None) => (None, Some("no text model is installed (content.model_dir)".to_owned())),
            Err(e) => {
                tracing::warn!(error = %e, "the text model could not be loaded: semantic features are off");
                (None, Some("the text model could not be loaded".to_owned()))
            }
        };
        let worker_encoder = match (config.run_worker, &query_encoder) {
            (true, Some(_)) => match load(config.worker_threads) {
                Ok(Some(encoder)) => Some(Arc::new(encoder)),
                _ => {
                    tracing::warn!("the embedding worker could not load the text model");
                    None
                }
            },
            _ => None,
        };
        let content = Self {
            services,
            query_encoder,
            encoder_error,
            // Weighed in KiB: 2 GiB of vectors in all.
            index: FreshCache::weighted(2 << 20, INDEX_TTL, |_, index| index.weight()),
            transfers: moka::sync::Cache::builder().max_capacity(256).time_to_idle(Duration::from_secs(3600)).build(),
            transfer_builds: Arc::new(tokio::sync::Mutex::new(())),
            index_reloading: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            config: Arc::new(config),
        };
        content.services.serving_cache.subscribe(Arc::new(IndexListener(content.index.clone())));
        if let Some(encoder) = worker_encoder {
            super::worker::start(content.clone(), encoder);
        }
        content
    }

    /// The query model, or `MODEL_NOT_READY` saying why there is none.
    pub(crate) fn encoder(&self) -> Result<&Arc<TextEncoder>> {
        self.query_encoder.as_ref().ok_or_else(|| {
            DomainError::ModelNotReady(self.encoder_error.clone().unwrap_or_else(|| "no text model".to_owned()))
        })
    }

    /// The version of the text model embeddings are computed with, when there is one.
    pub fn model_key(&self) -> Option<&str> {
        self.query_encoder.as_deref().map(TextEncoder::model_key)
    }

    pub fn config(&self) -> &ContentConfig {
        &self.config
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The tenant's semantic index when it is loaded, without loading it.
    pub(crate) fn loaded_index(&self, ctx: &TenantCtx) -> Option<Arc<SemanticIndex>> {
        self.index.get(&ctx.tenant_id().get())
    }

    /// The tenant's semantic index (embeddings of the current model over live items).
    pub(crate) async fn semantic_index(&self, ctx: &TenantCtx) -> Result<Arc<SemanticIndex>> {
        let encoder = self.encoder()?.clone();
        let tenant = ctx.tenant_id().get();
        self.index
            .get_or_load(tenant, || async {
                let tx = self.services.db.begin(ctx).await?;
                let items = crate::catalog::store::live_items(&tx).await?;
                let vectors = store::embeddings::load(&tx, encoder.model_key()).await?;
                tx.commit().await?;
                let build = move || SemanticIndex::build(encoder.model_key(), encoder.dims(), items, vectors);
                let index = tokio::task::spawn_blocking(build)
                    .await
                    .map_err(|e| DomainError::internal_from("index thread", e))?;
                Ok(Arc::new(index))
            })
            .await
    }
}

struct IndexListener(FreshCache<i64, Arc<SemanticIndex>>);

impl ChangeListener for IndexListener {
    fn changed(&self, tenant_id: i64, change: &Change) {
        if matches!(change, Change::Embeddings | Change::ItemsDeleted) {
            self.0.invalidate(&tenant_id);
        }
    }

    fn forget_everything(&self) {
        self.0.invalidate_all();
    }
}

/// Progress of the embedding pipeline for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingStatus {
    /// The text model's version, `None` without a model.
    pub model_key: Option<String>,
    /// Items waiting to be embedded (or re-embedded after a change).
    pub pending: i64,
    /// Live items embedded with the current model.
    pub embedded: i64,
    /// Items that failed every attempt; they are tried again when they change.
    pub failed: i64,
}

pub async fn embedding_status(ctx: &TenantCtx, content: &ContentServices) -> Result<EmbeddingStatus> {
    ctx.require(Scope::CatalogRead)?;
    let model_key = content.model_key().map(str::to_owned);
    let tx = content.services.db.begin(ctx).await?;
    let (pending, failed) = store::queue::counts(&tx, content.config.max_attempts).await?;
    let embedded = match &model_key {
        Some(key) => store::embeddings::count(&tx, key).await?,
        None => 0,
    };
    tx.commit().await?;
    Ok(EmbeddingStatus { model_key, pending, embedded, failed })
}
