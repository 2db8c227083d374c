//! The content subsystem's handles: the text model (one instance for queries, one for
//! the background worker, so a query never waits behind a batch), the per-tenant
//! semantic index and the settings.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use inference::runtime::OrtRuntime;
use inference::text::TextEncoderFiles;
use tenants::{Scope, TenantCtx};

use super::background_thread::BackgroundThread;
use super::index::SemanticIndex;
use super::store;
use super::text_model::TextModel;
use super::transfer::ModelTransfer;
use crate::Services;
use crate::error::{DomainError, Result};
use crate::fresh_cache::FreshCache;
use crate::serving_cache::{Change, ChangeListener};

/// How often an index in use is read whole again: the bound on how long a change no
/// announcement carried (an item's facets changed without a new vector, a message
/// another replica lost) stays out of it. Announced batches apply within moments.
const INDEX_REREAD: Duration = Duration::from_secs(30);

/// An index nobody used for this long is dropped (each reading keeps it).
const INDEX_TTL: Duration = Duration::from_secs(600);

/// Announced batches are applied at most this often: each application copies the
/// index and makes the blend's precomputation and the answers kept over it be redone.
pub(crate) const BATCHES_EVERY: Duration = Duration::from_secs(10);

/// Batches are read from this long before the newest vector an index holds: a batch
/// stamped earlier (by another worker) may commit later.
const WRITE_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

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
    /// Run the worker's model and the index's upkeep at the lowest CPU priority, so
    /// serving keeps the cores it needs (both then progress on what serving leaves).
    pub worker_lowest_priority: bool,
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
            worker_lowest_priority: true,
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

/// Which blend precomputation: (tenant row, model). Copied, never allocated: it is
/// looked up on every request that may be blended.
pub(crate) type TransferKey = (i64, tenants::ids::PublicId);

/// Cheap to clone.
#[derive(Clone)]
pub struct ContentServices {
    pub(crate) services: Services,
    /// The text model (its version, and the copy that embeds queries, loaded when used).
    pub(crate) text_model: Option<Arc<TextModel>>,
    /// Why the text model is unavailable, for `MODEL_NOT_READY` answers.
    pub(crate) encoder_error: Option<String>,
    pub(crate) index: FreshCache<i64, Arc<SemanticIndex>>,
    /// Tenants whose loaded index misses batches the worker announced since.
    index_behind: Arc<Mutex<HashSet<i64>>>,
    /// Tenants whose index is being read in the background: one reading at a time each.
    index_reading: Arc<Mutex<HashSet<i64>>>,
    /// The last version given to an index ([`SemanticIndex::version`]).
    index_versions: Arc<AtomicU64>,
    /// The blend's precomputation per (tenant, model); checked against the index it was
    /// built over on every use.
    pub(crate) transfers: moka::sync::Cache<TransferKey, Arc<ModelTransfer>>,
    /// One build of a transfer at a time: concurrent requests after a new index would
    /// otherwise each build the same one.
    pub(crate) transfer_builds: Arc<tokio::sync::Mutex<()>>,
    /// Where work that keeps the index and the blend's precomputation up to date behind
    /// serving runs, one job at a time, off the request threads, at the worker's
    /// `SCHED_IDLE`: on a core serving leaves. Serving does not wait for it: answers
    /// over the precomputation in use are kept and served until its successor lands
    /// (`models::content_blend::BlendInput`). (When they were not, saturated serving
    /// starved this thread and answered every request the costly way: throughput while
    /// embedding fell to a third.) `None` without a text model.
    upkeep: Option<Arc<BackgroundThread>>,
    pub(crate) config: Arc<ContentConfig>,
}

impl ContentServices {
    /// Loads the text model when configured and starts the embedding worker when asked
    /// (on the current runtime, like the read-audit writer).
    pub fn new(services: Services, config: ContentConfig) -> Self {
        let open = || -> std::result::Result<Option<TextModel>, String> {
            let Some(dir) = &config.model_dir else { return Ok(None) };
            let files = TextEncoderFiles::in_dir(dir);
            if !files.exist() {
                return Ok(None);
            }
            OrtRuntime::init(&config.onnxruntime_path).map_err(|e| e.to_string())?;
            TextModel::open(files, config.query_threads).map(Some).map_err(|e| e.to_string())
        };
        let (text_model, encoder_error) = match open() {
            Ok(Some(model)) => (Some(Arc::new(model)), None),
            Ok(None) => (None, Some("no text model is installed (content.model_dir)".to_owned())),
            Err(e) => {
                tracing::warn!(error = %e, "the text model could not be loaded: semantic features are off");
                (None, Some("the text model could not be loaded".to_owned()))
            }
        };
        let has_text_model = text_model.is_some();
        let run_worker = config.run_worker && has_text_model;
        if let (Some(model), Ok(runtime)) = (&text_model, tokio::runtime::Handle::try_current()) {
            let model = Arc::downgrade(model);
            runtime.spawn(async move {
                let mut every = tokio::time::interval(TextModel::idle_after() / 5);
                while let Some(model) = model.upgrade() {
                    model.drop_if_idle();
                    drop(model);
                    every.tick().await;
                }
            });
        }
        let content = Self {
            services,
            text_model,
            encoder_error,
            // Weighed in KiB: 2 GiB of vectors in all.
            index: FreshCache::weighted(2 << 20, INDEX_TTL, |_, index| index.weight()),
            transfers: moka::sync::Cache::builder().max_capacity(256).time_to_idle(Duration::from_secs(3600)).build(),
            transfer_builds: Arc::new(tokio::sync::Mutex::new(())),
            index_behind: Arc::default(),
            index_reading: Arc::default(),
            index_versions: Arc::default(),
            upkeep: has_text_model
                .then(|| {
                    BackgroundThread::start("content-upkeep", config.worker_lowest_priority)
                        .map_err(
                            |e| tracing::warn!(error = %e, "no upkeep thread: index upkeep runs on the blocking pool"),
                        )
                        .ok()
                        .map(Arc::new)
                })
                .flatten(),
            config: Arc::new(config),
        };
        content
            .services
            .serving_cache
            .subscribe(Arc::new(IndexListener { index: content.index.clone(), behind: content.index_behind.clone() }));
        if run_worker {
            match BackgroundThread::start("embedding", content.config.worker_lowest_priority) {
                Ok(thread) => super::worker::start(content.clone(), thread),
                Err(e) => tracing::error!(error = %e, "the embedding worker's thread could not start"),
            }
        }
        content
    }

    /// Runs `work` behind serving (on the upkeep thread, else on the blocking pool) and
    /// waits for it. Only for work no request waits on.
    pub(crate) async fn behind_serving<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        match &self.upkeep {
            Some(thread) => thread.run(work).await,
            None => tokio::task::spawn_blocking(work).await.map_err(|e| DomainError::internal_from("upkeep thread", e)),
        }
    }

    /// The text model, or `MODEL_NOT_READY` saying why there is none.
    pub(crate) fn encoder(&self) -> Result<&Arc<TextModel>> {
        self.text_model.as_ref().ok_or_else(|| {
            DomainError::ModelNotReady(self.encoder_error.clone().unwrap_or_else(|| "no text model".to_owned()))
        })
    }

    /// The version of the text model embeddings are computed with, when there is one.
    pub fn model_key(&self) -> Option<&str> {
        self.text_model.as_deref().map(TextModel::model_key)
    }

    pub fn config(&self) -> &ContentConfig {
        &self.config
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The tenant's semantic index as loaded, without waiting: serving's path. A missing
    /// index, or one behind the worker's batches, is brought up to date in the
    /// background meanwhile.
    pub(crate) fn current_index(&self, ctx: &TenantCtx) -> Option<Arc<SemanticIndex>> {
        let loaded = self.index.get(&ctx.tenant_id().get());
        self.keep_up(ctx, loaded.as_ref());
        loaded
    }

    /// The tenant's semantic index (embeddings of the current model over live items),
    /// read when none is loaded.
    pub(crate) async fn semantic_index(&self, ctx: &TenantCtx) -> Result<Arc<SemanticIndex>> {
        self.encoder()?;
        let tenant = ctx.tenant_id().get();
        if let Some(index) = self.index.get(&tenant) {
            self.keep_up(ctx, Some(&index));
            return Ok(index);
        }
        self.index.get_or_load(tenant, || self.read_whole(ctx)).await
    }

    /// Starts a background reading when the loaded index is missing, behind or due to be
    /// read whole again; one per tenant at a time, so a catalog being embedded costs one
    /// reading after another, not one per request.
    fn keep_up(&self, ctx: &TenantCtx, loaded: Option<&Arc<SemanticIndex>>) {
        let tenant = ctx.tenant_id().get();
        let due = match loaded {
            None => true,
            Some(index) => {
                index.read_whole_at.elapsed() >= INDEX_REREAD
                    || (index.made_at.elapsed() >= BATCHES_EVERY && locked(&self.index_behind).contains(&tenant))
            }
        };
        if !due || self.text_model.is_none() || !locked(&self.index_reading).insert(tenant) {
            return;
        }
        let (content, ctx) = (self.clone(), ctx.clone());
        self.services.background.spawn(async move {
            if let Err(e) = content.catch_up(&ctx).await {
                tracing::warn!(error = %e, tenant, "the semantic index could not be brought up to date");
                locked(&content.index_behind).insert(tenant);
            }
            locked(&content.index_reading).remove(&tenant);
        });
    }

    async fn catch_up(&self, ctx: &TenantCtx) -> Result<()> {
        let tenant = ctx.tenant_id().get();
        let model_key = self.encoder()?.model_key();
        let Some(current) = self.index.get(&tenant) else {
            self.index.get_or_load(tenant, || self.read_whole(ctx)).await?;
            return Ok(());
        };
        // Taken before reading: a batch announced while this reads marks it behind again.
        let behind = locked(&self.index_behind).remove(&tenant);
        let started = std::time::Instant::now();
        let whole = current.read_whole_at.elapsed() >= INDEX_REREAD || current.model_key() != model_key;
        if whole {
            self.index.replace(tenant, |current| self.read(ctx, Some(current))).await?;
        } else if behind {
            self.index.replace(tenant, |current| self.read_batches(ctx, current)).await?;
        } else {
            return Ok(());
        }
        tracing::debug!(tenant, whole, ms = started.elapsed().as_secs_f64() * 1e3, "semantic index brought up to date");
        Ok(())
    }

    async fn read_whole(&self, ctx: &TenantCtx) -> Result<Arc<SemanticIndex>> {
        self.read(ctx, None).await
    }

    /// The index read whole. With the index it replaces (which serves meanwhile), it is
    /// built and compared on the upkeep thread; without, on the blocking pool (a request
    /// waits).
    async fn read(&self, ctx: &TenantCtx, previous: Option<Arc<SemanticIndex>>) -> Result<Arc<SemanticIndex>> {
        let encoder = self.encoder()?.clone();
        let tx = self.services.db.begin(ctx).await?;
        let items = crate::catalog::store::live_items(&tx).await?;
        let vectors = store::embeddings::load(&tx, encoder.model_key(), None).await?;
        tx.commit().await?;
        let build = move || SemanticIndex::build(encoder.model_key(), encoder.dims(), items, vectors);
        let Some(previous) = previous else {
            let index =
                tokio::task::spawn_blocking(build).await.map_err(|e| DomainError::internal_from("index thread", e))?;
            return Ok(self.numbered(index, None));
        };
        let (index, unchanged) = self.behind_serving(compared(build, previous.clone())).await?;
        Ok(self.numbered(index, Some((&previous, unchanged))))
    }

    /// `current` with the vectors written since its newest one applied in place.
    async fn read_batches(&self, ctx: &TenantCtx, current: Arc<SemanticIndex>) -> Result<Arc<SemanticIndex>> {
        let since = current.written_through.map(|t| t - WRITE_SKEW);
        let tx = self.services.db.begin(ctx).await?;
        let vectors = store::embeddings::load(&tx, current.model_key(), since).await?;
        let rows: Vec<i64> = vectors.iter().map(|v| v.item_row).collect();
        let items = crate::catalog::store::live_items_in(&tx, &rows).await?;
        tx.commit().await?;
        if vectors.is_empty() {
            return Ok(current);
        }
        let apply = {
            let base = current.clone();
            compared(move || base.with_vectors(items, vectors), current.clone())
        };
        let (index, unchanged) = self.behind_serving(apply).await?;
        Ok(self.numbered(index, Some((&current, unchanged))))
    }

    /// Gives `index` a new version, or `previous`'s when nothing in it changed (the
    /// periodic whole reading, a batch of vectors already applied): `previous` comes
    /// with whether the contents are the same ([`compared`]).
    fn numbered(&self, mut index: SemanticIndex, previous: Option<(&SemanticIndex, bool)>) -> Arc<SemanticIndex> {
        match previous {
            Some((previous, true)) if previous.version != 0 => {
                index.version = previous.version;
                index.replaced_version = previous.replaced_version;
                index.made_at = previous.made_at;
            }
            _ => {
                index.version = self.index_versions.fetch_add(1, Ordering::Relaxed) + 1;
                index.replaced_version = previous.map_or(0, |(p, _)| p.version);
            }
        }
        Arc::new(index)
    }
}

/// `make`, then whether what it made holds the same contents as `previous`: both are
/// work over every vector (megabytes), done together off the request threads.
fn compared(
    make: impl FnOnce() -> SemanticIndex + Send + 'static,
    previous: Arc<SemanticIndex>,
) -> impl FnOnce() -> (SemanticIndex, bool) + Send + 'static {
    move || {
        let index = make();
        let unchanged = index.same_contents(&previous);
        (index, unchanged)
    }
}

/// The sets above only ever take or drop a tenant: a panic elsewhere leaves them whole.
fn locked(set: &Mutex<HashSet<i64>>) -> std::sync::MutexGuard<'_, HashSet<i64>> {
    set.lock().unwrap_or_else(PoisonError::into_inner)
}

struct IndexListener {
    index: FreshCache<i64, Arc<SemanticIndex>>,
    behind: Arc<Mutex<HashSet<i64>>>,
}

impl ChangeListener for IndexListener {
    fn changed(&self, tenant_id: i64, change: &Change) {
        match change {
            // A batch is applied to the loaded index in place, in the background.
            Change::Embeddings => {
                locked(&self.behind).insert(tenant_id);
            }
            Change::ItemsDeleted => self.index.invalidate(&tenant_id),
            _ => {}
        }
    }

    fn forget_everything(&self) {
        self.index.invalidate_all();
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
