//! Process-wide handles of the model subsystem.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use inference::runtime::OrtRuntime;

use super::artifacts::{LocalDiskStore, ModelStore};
use super::data::CatalogView;
use super::serving::LoadedModel;

#[derive(Debug, Clone)]
pub struct ModelsConfig {
    /// Root of the local model store.
    pub store_dir: PathBuf,
    /// libonnxruntime; serving needs it, training does not.
    pub onnxruntime_path: PathBuf,
    pub training_threads: usize,
    /// ONNX Runtime sessions per loaded model (each serves one request at a time).
    pub sessions_per_model: usize,
    /// Largest accepted upload.
    pub max_upload_bytes: usize,
}

#[derive(Clone)]
pub struct ModelServices {
    pub(crate) store: Arc<dyn ModelStore>,
    pub(crate) runtime: Option<&'static OrtRuntime>,
    pub(crate) runtime_error: Option<String>,
    pub(crate) loaded: moka::future::Cache<i64, Arc<LoadedModel>>,
    /// Per tenant: the live catalog and the popularity list, briefly cached.
    pub(crate) catalog: moka::future::Cache<i64, Arc<CatalogView>>,
    pub(crate) popular: moka::future::Cache<i64, Arc<Vec<(String, f32)>>>,
    pub(crate) config: ModelsConfig,
    /// One training at a time per process: training saturates the cores already.
    pub(crate) training_slot: Arc<tokio::sync::Semaphore>,
    pub(crate) cancel_flags: Arc<Mutex<HashMap<i64, Arc<AtomicBool>>>>,
}

impl ModelServices {
    pub fn new(config: ModelsConfig) -> Self {
        let (runtime, runtime_error) = match OrtRuntime::init(&config.onnxruntime_path) {
            Ok(rt) => (Some(rt), None),
            Err(e) => {
                tracing::warn!(error = %e, "ONNX Runtime unavailable: models can be trained but not served");
                (None, Some(e.to_string()))
            }
        };
        Self {
            store: Arc::new(LocalDiskStore::new(&config.store_dir)),
            runtime,
            runtime_error,
            loaded: moka::future::Cache::builder().max_capacity(64).build(),
            catalog: moka::future::Cache::builder()
                .max_capacity(1_000)
                .time_to_live(std::time::Duration::from_secs(10))
                .build(),
            popular: moka::future::Cache::builder()
                .max_capacity(1_000)
                .time_to_live(std::time::Duration::from_secs(10))
                .build(),
            training_slot: Arc::new(tokio::sync::Semaphore::new(1)),
            cancel_flags: Arc::new(Mutex::new(HashMap::new())),
            config,
        }
    }

    pub fn runtime_ready(&self) -> bool {
        self.runtime.is_some()
    }

    pub fn check_store(&self) -> crate::error::Result<()> {
        self.store.check()
    }
}
