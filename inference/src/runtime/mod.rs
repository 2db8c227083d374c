//! ONNX Runtime, loaded at run time from a shared library (`ort` with `load-dynamic`).
//!
//! The library comes from the `onnxruntime` wheel on PyPI (`scripts/setup-onnxruntime.sh`)
//! and its location is a setting: `ORT_DYLIB_PATH`, else
//! `<repo>/.tools/onnxruntime/libonnxruntime.so.1.31.1`.

mod adapters;
mod scorer;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;

use crate::error::{InferenceError, Result};

pub use adapters::{OnnxFactorScorer, OnnxHistoryScorer};
pub use scorer::OnnxScorer;

/// File name of the supported ONNX Runtime release (ort `api-31`).
pub const ORT_LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";
/// Environment variable that overrides the library location.
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// Where the project installs the library: `<repo_root>/.tools/onnxruntime/<file>`.
pub fn default_dylib_path(repo_root: &Path) -> PathBuf {
    repo_root.join(".tools").join("onnxruntime").join(ORT_LIBRARY_FILE)
}

/// The library path for tests and tools of this repository: `ORT_DYLIB_PATH` if set,
/// else the default install location relative to this crate's manifest directory.
pub fn locate_dylib() -> PathBuf {
    match std::env::var_os(ORT_DYLIB_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => default_dylib_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..")),
    }
}

/// ONNX Runtime's session option naming the folder that external tensor data is read
/// from when a model is loaded from memory (without it, the process's working directory).
const EXTERNAL_DATA_FOLDER_KEY: &str = "session.model_external_initializers_file_folder_path";

/// The process-wide ONNX Runtime environment.
#[derive(Debug)]
pub struct OrtRuntime {
    env: Environment,
    library: PathBuf,
    /// An empty, read-only folder every session resolves external data against, so a
    /// model that slipped past validation with a relative data path finds no file.
    no_files: PathBuf,
}

static RUNTIME: OnceLock<OrtRuntime> = OnceLock::new();
static INIT_LOCK: Mutex<()> = Mutex::new(());

impl OrtRuntime {
    /// Loads the library at `dylib_path` and creates the environment, once per process.
    /// Later calls return the first runtime, whatever path they pass (ONNX Runtime allows
    /// one environment per process).
    pub fn init(dylib_path: &Path) -> Result<&'static OrtRuntime> {
        if let Some(rt) = RUNTIME.get() {
            return Ok(rt);
        }
        let _guard = INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(rt) = RUNTIME.get() {
            return Ok(rt);
        }
        if !dylib_path.is_file() {
            return Err(InferenceError::RuntimeLibraryMissing { path: dylib_path.to_path_buf() });
        }
        // ort resolves relative paths against the executable's folder; make it absolute.
        let library = std::path::absolute(dylib_path).unwrap_or_else(|_| dylib_path.to_path_buf());
        let init_err = |reason: String| InferenceError::RuntimeInit { path: library.clone(), reason };
        let env = ort::init_from(&library)
            .map_err(|e| init_err(e.to_string()))?
            .with_name("marquee")
            .with_telemetry(false)
            .build()
            .map_err(|e| init_err(e.to_string()))?;
        let no_files = empty_private_dir()
            .map_err(|e| init_err(format!("cannot create an empty folder for external data: {e}")))?;
        let _ = RUNTIME.set(OrtRuntime { env, library, no_files });
        RUNTIME.get().ok_or(InferenceError::RuntimeNotInitialised)
    }

    /// The runtime, if [`Self::init`] succeeded earlier.
    pub fn get() -> Result<&'static OrtRuntime> {
        RUNTIME.get().ok_or(InferenceError::RuntimeNotInitialised)
    }

    /// The loaded library's path.
    pub fn library_path(&self) -> &Path {
        &self.library
    }

    /// The empty folder sessions resolve external tensor data against.
    pub fn external_data_folder(&self) -> &Path {
        &self.no_files
    }

    /// A session on `model` with `intra_threads` threads inside each operator. External
    /// tensor data resolves inside an empty folder, whatever the model says.
    pub(crate) fn session(&self, model: &[u8], intra_threads: usize) -> Result<Session> {
        self.session_sharing(model, intra_threads, None)
    }

    /// [`Self::session`] whose operators' pre-packed weights (a matrix product's
    /// constant operand, rearranged once for the kernel) live in `shared`: sessions of
    /// one model given the same container hold one copy between them instead of one each.
    ///
    /// Such sessions (a scorer's pool) also allocate their intermediate tensors from the
    /// C heap rather than an arena of their own: a session's arena grows to the largest
    /// request it ever served and keeps it (a history of hundreds of items gathers
    /// megabytes of rows), so a pool of them held tens of megabytes each under load
    /// (74 MB for an EASE model's four sessions, by heap profile), while freed heap
    /// memory is shared by all and handed back (`native_memory`). The memory pattern is
    /// off too: inputs vary in length from one request to the next.
    pub(crate) fn session_sharing(
        &self,
        model: &[u8],
        intra_threads: usize,
        shared: Option<&ort::session::builder::PrepackedWeights>,
    ) -> Result<Session> {
        let load_err = |e: String| InferenceError::ModelLoad { reason: e };
        let mut builder = Session::builder(&self.env).map_err(|e| load_err(e.to_string()))?;
        if let Some(shared) = shared {
            builder = builder
                .with_prepacked_weights(shared)
                .map_err(|e| load_err(e.to_string()))?
                .with_execution_providers([ort::ep::CPU::default().with_arena_allocator(false).build()])
                .map_err(|e| load_err(e.to_string()))?
                .with_memory_pattern(false)
                .map_err(|e| load_err(e.to_string()))?;
        }
        builder
            .with_config_entry(EXTERNAL_DATA_FOLDER_KEY, self.no_files.to_string_lossy())
            .map_err(|e| load_err(e.to_string()))?
            .with_intra_threads(intra_threads)
            .map_err(|e| load_err(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| load_err(e.to_string()))?
            .commit_from_memory(model)
            .map_err(|e| load_err(e.to_string()))
    }
}

/// A new folder only this process knows of, made read-only so that nothing, not even
/// this process by mistake, can place a file in it.
fn empty_private_dir() -> std::io::Result<PathBuf> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("marquee-ort-no-files-{}-{nanos}", std::process::id()));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o500);
    }
    builder.create(&dir)?;
    Ok(dir)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // No unit test in this binary initialises ONNX Runtime successfully, so these
    // failures cannot be masked by an earlier init.
    #[test]
    fn missing_library_names_the_path() {
        let err = OrtRuntime::init(Path::new("/nonexistent/dir/libonnxruntime.so.1.31.1")).unwrap_err();
        assert!(matches!(err, InferenceError::RuntimeLibraryMissing { .. }));
        let text = err.to_string();
        assert!(
            text.contains("/nonexistent/dir/libonnxruntime.so.1.31.1") && text.contains("ORT_DYLIB_PATH"),
            "{text}"
        );
    }

    #[test]
    fn a_file_that_is_not_the_library_is_refused() {
        let path = std::env::temp_dir().join(format!("not-onnxruntime-{}.so", std::process::id()));
        std::fs::write(&path, b"not a shared library").unwrap();
        let err = OrtRuntime::init(&path).unwrap_err();
        std::fs::remove_file(&path).ok();
        assert!(matches!(err, InferenceError::RuntimeInit { .. }), "{err:?}");
        assert!(matches!(OrtRuntime::get(), Err(InferenceError::RuntimeNotInitialised)));
    }

    #[test]
    fn default_path_is_under_tools() {
        let p = default_dylib_path(Path::new("/repo"));
        assert_eq!(p, Path::new("/repo/.tools/onnxruntime/libonnxruntime.so.1.31.1"));
    }
}
