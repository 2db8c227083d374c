//! Process-wide handles of the model subsystem.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use inference::runtime::OrtRuntime;
use inference::sandbox::SandboxConfig;

use super::artifacts::{ModelStore, StoreChoice};
use super::data::{CachedPerson, CatalogView};
use super::serving::LoadedModel;
use crate::Services;
use crate::content::ContentServices;
use crate::fresh_cache::FreshCache;
use crate::serving_cache::{Change, ChangeListener};
use crate::settings::TenantSettings;

/// A catalog view whose mark has not changed is still read whole this often: the bound
/// on a change the mark misses (a row stamped by a replica whose clock is behind).
pub(crate) const CATALOG_READ_WHOLE: std::time::Duration = std::time::Duration::from_secs(60);

/// A tenant's catalog view nobody asked for in this long is dropped.
const CATALOG_IDLE: std::time::Duration = std::time::Duration::from_secs(600);

/// How long a deployment made by another process may take to reach this one's serving.
const ACTIVE_MODEL_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// How long another process's settings change may take to reach this process's
/// serving path (changes made here apply at once).
const SETTINGS_TTL: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct ModelsConfig {
    /// Where model files live (`models.store`).
    pub store: StoreChoice,
    /// libonnxruntime; serving needs it, training does not.
    pub onnxruntime_path: PathBuf,
    pub training_threads: usize,
    /// Wall-clock budget of one training job's tuning search (`None`: no limit).
    pub tuning_budget: Option<std::time::Duration>,
    /// Bytes an EASE fit may hold: its memory grows with the square of the catalog, so
    /// this caps the catalogs EASE accepts (docs/models.md).
    pub ease_memory_budget: usize,
    /// ONNX Runtime sessions per loaded model (each serves one request at a time).
    pub sessions_per_model: usize,
    /// Largest accepted upload.
    pub max_upload_bytes: usize,
    /// How many events of people's recent history serving keeps in memory, in all.
    pub person_cache_events: u64,
    /// How long a change made by another process may take to reach this process's
    /// serving (changes made through this process invalidate at once).
    pub person_cache_ttl: std::time::Duration,
    /// Keep each person's last answers with their cached history (`data::CachedAnswer`).
    pub answer_cache: bool,
    /// How long a catalog change may take to reach serving (deletions through this
    /// process apply at once): a view older than this is checked in the background, and
    /// read again when the catalog's mark moved (`catalog::store::mark`: a query of one
    /// row, where reading 11,700 items whole took 130 to 430 ms of a connection and a core).
    pub catalog_ttl: std::time::Duration,
    /// For tests only (zero in production): how long a training job waits between
    /// fitting and storing its model, so a test can erase someone in that window.
    pub pause_before_store: std::time::Duration,
    /// How tenant-uploaded models run: in worker processes, under these limits.
    pub sandbox: SandboxSettings,
    /// This process's node: stable across its restarts (api keeps it in the data
    /// directory), distinct for every machine or data directory that runs jobs.
    pub node_id: String,
    /// Who runs the training jobs this process queues.
    pub job_runner: JobRunner,
    /// How long a job's holder may go without renewing its lease before another worker
    /// takes the job over.
    pub job_lease: std::time::Duration,
}

/// Who runs the training jobs a process queues (`queue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobRunner {
    /// This process, at once, holding the job's lease from the start (`marquee train`).
    Local,
    /// Whichever worker claims it first; this process runs one (`serve --role worker|all`).
    Worker,
    /// The workers of other processes (`serve --role api`).
    None,
}

/// Limits for tenant-uploaded models (`inference::sandbox`); built-in models run
/// in-process.
#[derive(Debug, Clone)]
pub struct SandboxSettings {
    /// The worker program and its arguments (the server's own binary, `onnx-worker`).
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Private writable memory of one worker.
    pub memory_limit_bytes: u64,
    /// One scoring at serving, a worker's start included.
    pub timeout: std::time::Duration,
    /// The upload probe: a worker's start, the model's load and one run.
    pub probe_timeout: std::time::Duration,
    /// Workers per uploaded model: its concurrent scorings.
    pub workers: usize,
}

/// Who runs the training jobs a process queues: they live in its memory, so they die
/// with it. A starting server fails the unfinished jobs of its own node that belong to
/// another (earlier) instance; nothing else fails jobs (docs/models.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOwner {
    pub node: String,
    /// New for every process.
    pub instance: String,
}

/// The model subsystem's handles, built on the shared [`Services`]: the model store,
/// ONNX Runtime, the training slot and the caches serving reads on every request. The
/// caches listen to the shared serving cache, so the features that change what they
/// hold need not know them. Cheap to clone.
#[derive(Clone)]
pub struct ModelServices {
    pub(crate) services: Services,
    /// Content scores for the blend and for similar items no model knows.
    pub(crate) content: ContentServices,
    pub(crate) store: Arc<dyn ModelStore>,
    pub(crate) runtime: Option<&'static OrtRuntime>,
    pub(crate) runtime_error: Option<String>,
    /// Where uploaded models run; `None` when ONNX Runtime is unavailable.
    pub(crate) sandbox: Option<SandboxConfig>,
    pub(crate) loaded: FreshCache<i64, Arc<LoadedModel>>,
    /// Per tenant, the registry row of the active model (`None`: nothing deployed), so
    /// serving does not ask the registry on every request. Deploy and rollback replace
    /// the entry after their commit.
    pub(crate) active: FreshCache<i64, Option<i64>>,
    /// Per (tenant, end user): consent and recent history (`data::user_state`).
    pub(crate) people: FreshCache<(i64, String), Arc<CachedPerson>>,
    /// Per tenant: the live catalog and the popularity list, briefly cached.
    pub(crate) catalog: FreshCache<i64, Arc<CatalogView>>,
    pub(crate) popular: moka::sync::Cache<i64, Arc<Vec<(String, f32)>>>,
    /// Numbers the catalog views as they load (`CatalogView::generation`).
    pub(crate) catalog_generation: Arc<std::sync::atomic::AtomicU64>,
    /// Tenants whose catalog view is being read again in the background.
    pub(crate) catalog_refreshing: Arc<Mutex<std::collections::HashSet<i64>>>,
    /// Hits and misses of the kept answers.
    pub(crate) answer_counters: crate::metrics::CacheCounters,
    /// Per tenant, the settings serving needs on every request (event weights).
    pub(crate) settings: FreshCache<i64, TenantSettings>,
    pub(crate) config: ModelsConfig,
    /// One training at a time per process: training saturates the cores already.
    pub(crate) training_slot: Arc<tokio::sync::Semaphore>,
    pub(crate) cancel_flags: Arc<Mutex<HashMap<i64, Arc<AtomicBool>>>>,
    /// Per model row, held while its files are read and rewritten by a scrub, so two
    /// erasures in this process never interleave on one model (the database lock in
    /// `privacy::erasure_lock` orders processes).
    pub(crate) scrub_locks: Arc<Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>>,
    pub(crate) owner: JobOwner,
    /// Rung when this process queues a job, so its worker claims it at once.
    pub(crate) work_queued: Arc<tokio::sync::Notify>,
}

impl ModelServices {
    /// Fails when the model store's settings are unusable (an S3 store without a bucket).
    pub fn new(services: Services, content: ContentServices, config: ModelsConfig) -> crate::error::Result<Self> {
        let store = super::artifacts::open(&config.store, &services.db)?;
        let (runtime, runtime_error) = match OrtRuntime::init(&config.onnxruntime_path) {
            Ok(rt) => (Some(rt), None),
            Err(e) => {
                tracing::warn!(error = %e, "ONNX Runtime unavailable: models can be trained but not served");
                (None, Some(e.to_string()))
            }
        };
        let sandbox = runtime.map(|rt| SandboxConfig {
            program: config.sandbox.program.clone(),
            args: config.sandbox.args.clone(),
            ort_library: rt.library_path().to_path_buf(),
            memory_limit_bytes: config.sandbox.memory_limit_bytes,
            timeout: config.sandbox.timeout,
            workers: config.sandbox.workers,
        });
        let metrics = services.metrics.clone();
        let models = Self {
            services,
            content,
            store,
            runtime,
            runtime_error,
            sandbox,
            loaded: FreshCache::without_expiry(64).counted(metrics.cache("models")),
            active: FreshCache::new(10_000, ACTIVE_MODEL_TTL).counted(metrics.cache("active_model")),
            // A zero time to live means no caching: nothing is kept.
            people: FreshCache::weighted(
                if config.person_cache_ttl.is_zero() { 0 } else { config.person_cache_events },
                config.person_cache_ttl,
                |_, person: &Arc<CachedPerson>| person.weight(),
            )
            .counted(metrics.cache("people")),
            catalog: FreshCache::new(1_000, CATALOG_IDLE).counted(metrics.cache("catalog")),
            popular: moka::sync::Cache::builder()
                .max_capacity(1_000)
                .time_to_live(std::time::Duration::from_secs(10))
                .build(),
            settings: FreshCache::new(10_000, SETTINGS_TTL).counted(metrics.cache("settings")),
            catalog_generation: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            catalog_refreshing: Arc::default(),
            answer_counters: metrics.cache("answers"),
            training_slot: Arc::new(tokio::sync::Semaphore::new(1)),
            cancel_flags: Arc::new(Mutex::new(HashMap::new())),
            scrub_locks: Arc::new(Mutex::new(HashMap::new())),
            owner: JobOwner { node: config.node_id.clone(), instance: uuid::Uuid::new_v4().simple().to_string() },
            work_queued: Arc::new(tokio::sync::Notify::new()),
            config,
        };
        models.services.serving_cache.subscribe(Arc::new(ServingCaches::of(&models)));
        Ok(models)
    }

    /// The shared handles this subsystem is built on.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The largest model file an upload may carry (`models.max_upload_bytes`), so an
    /// upload endpoint can stop reading past it.
    pub fn max_upload_bytes(&self) -> usize {
        self.config.max_upload_bytes
    }

    /// This process's identity as the owner of the jobs it queues.
    pub fn job_owner(&self) -> &JobOwner {
        &self.owner
    }

    pub fn runtime_ready(&self) -> bool {
        self.runtime.is_some()
    }

    /// The scrub lock of one model (see `scrub_locks`).
    pub(crate) fn scrub_lock(&self, model_row: i64) -> Arc<tokio::sync::Mutex<()>> {
        // The map only hands out locks: a panic elsewhere leaves it consistent.
        let mut locks = self.scrub_locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(model_row).or_default().clone()
    }

    /// Whether the model store can be reached (disk writable, database or bucket answering).
    pub async fn check_store(&self) -> crate::error::Result<()> {
        self.store.check().await
    }
}

/// The caches of serving, as one listener of the shared serving cache.
struct ServingCaches {
    people: FreshCache<(i64, String), Arc<CachedPerson>>,
    catalog: FreshCache<i64, Arc<CatalogView>>,
    popular: moka::sync::Cache<i64, Arc<Vec<(String, f32)>>>,
    settings: FreshCache<i64, TenantSettings>,
    active: FreshCache<i64, Option<i64>>,
    loaded: FreshCache<i64, Arc<LoadedModel>>,
}

impl ServingCaches {
    fn of(models: &ModelServices) -> Self {
        Self {
            people: models.people.clone(),
            catalog: models.catalog.clone(),
            popular: models.popular.clone(),
            settings: models.settings.clone(),
            active: models.active.clone(),
            loaded: models.loaded.clone(),
        }
    }
}

impl ChangeListener for ServingCaches {
    fn changed(&self, tenant_id: i64, change: &Change) {
        match change {
            Change::ItemsDeleted => self.catalog.invalidate(&tenant_id),
            Change::People(people) => {
                for person in people {
                    self.people.invalidate(&(tenant_id, person.as_str().to_owned()));
                }
            }
            // Entries are keyed by person: a purge of one tenant drops them all rather
            // than scanning for the tenant's.
            Change::Everyone => self.people.invalidate_all(),
            Change::Settings => self.settings.invalidate(&tenant_id),
            Change::ActiveModel => self.active.invalidate(&tenant_id),
            Change::ModelFiles(rows) => {
                for row in rows {
                    self.loaded.invalidate(row);
                }
            }
            Change::KeysRevoked(_) => {}
            // The semantic index takes a batch in place, and blended answers follow it
            // within the catalog view's lifetime, as upserted items do: a kept answer
            // lapses with the view. Dropping every person's cache and the view on each
            // batch made serving run cold for as long as a catalog was being embedded.
            Change::Embeddings => {}
        }
    }

    // Loaded models go too, though reloading them is slow: a missed `ModelFiles` change
    // (an erasure's scrub) is never sent again.
    fn forget_everything(&self) {
        self.people.invalidate_all();
        self.catalog.invalidate_all();
        self.popular.invalidate_all();
        self.settings.invalidate_all();
        self.active.invalidate_all();
        self.loaded.invalidate_all();
    }
}
