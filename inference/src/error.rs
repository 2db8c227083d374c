//! The crate's single error type.

use std::path::PathBuf;

/// Convenience alias used throughout the crate.
pub type Result<T, E = InferenceError> = std::result::Result<T, E>;

/// Everything that can go wrong in training, evaluation, export and serving.
///
/// Variants are structured so callers (the domain crate) can map them to their own error
/// codes without parsing messages; every message is meant to be readable by a tenant.
#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    /// A hyper-parameter or argument is outside its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter { name: &'static str, reason: String },

    /// A user index does not exist in the model or matrix.
    #[error("user index {index} is out of range ({count} users)")]
    UserOutOfRange { index: u32, count: usize },

    /// An item index does not exist in the model or catalog.
    #[error("item index {index} is out of range ({count} items)")]
    ItemOutOfRange { index: u32, count: usize },

    /// An interaction weight is NaN or infinite.
    #[error("interaction ({user}, {item}) has a non-finite weight")]
    NonFiniteWeight { user: u32, item: u32 },

    /// Two inputs that must agree in size do not.
    #[error("{what}: expected {expected}, got {actual}")]
    DimensionMismatch { what: &'static str, expected: usize, actual: usize },

    /// A progress callback asked training to stop.
    #[error("training was cancelled")]
    Cancelled,

    /// A least-squares system could not be factorised (only possible without regularisation).
    #[error("the linear system for the user is not positive definite; increase regularization")]
    NotPositiveDefinite,

    /// A model whose size grows with the square of the catalog would not fit the memory
    /// budget its caller set.
    #[error("a catalog of {items} items needs {needed} bytes for this model, more than the budget of {budget} bytes")]
    CatalogTooLarge { items: usize, needed: usize, budget: usize },

    /// Memory for a computation could not be allocated.
    #[error("could not allocate {bytes} bytes")]
    Allocation { bytes: usize },

    /// A rayon thread pool could not be created.
    #[error("could not start a pool of {threads} threads: {reason}")]
    ThreadPool { threads: usize, reason: String },

    /// A data file could not be read.
    #[error("could not read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A data file has a malformed line.
    #[error("{path}, line {line}: {reason}")]
    Parse { path: PathBuf, line: usize, reason: String },

    /// An uploaded model is larger than allowed.
    #[error("the model is {size} bytes, more than the limit of {limit} bytes")]
    ModelTooLarge { size: usize, limit: usize },

    /// The bytes are not a decodable ONNX model.
    #[error("not an ONNX model: {reason}")]
    NotOnnx { reason: String },

    /// A required graph input is absent.
    #[error("the model has no input named `{expected}` (it has: {found})")]
    MissingInput { expected: String, found: String },

    /// A required graph output is absent.
    #[error("the model has no output named `{expected}` (it has: {found})")]
    MissingOutput { expected: String, found: String },

    /// The graph has more inputs than the signature allows.
    #[error("the model has unexpected extra inputs: {names}; only `{expected}` is allowed")]
    UnexpectedInputs { expected: String, names: String },

    /// An input or output has the wrong element type.
    #[error("`{name}` has element type {found}, expected {expected}")]
    WrongElementType { name: String, expected: String, found: String },

    /// An input or output has the wrong shape.
    #[error("`{name}` has shape {found}, expected {expected}")]
    WrongShape { name: String, expected: String, found: String },

    /// A tensor of an uploaded model keeps its data in a file outside the model.
    #[error(
        "tensor `{tensor}` ({place}) stores its data outside the model (location `{location}`); \
         uploaded models must carry all their data inside the file"
    )]
    ExternalData { tensor: String, place: String, location: String },

    /// ONNX Runtime refused to load the model.
    #[error("ONNX Runtime could not load the model: {reason}")]
    ModelLoad { reason: String },

    /// The probe inference run during validation failed.
    #[error("the probe inference failed: {reason}")]
    ProbeFailed { reason: String },

    /// The probe inference returned an output of the wrong shape.
    #[error("the probe inference returned shape {found:?}, expected {expected:?}")]
    ProbeWrongShape { expected: Vec<usize>, found: Vec<usize> },

    /// The probe inference returned NaN or infinite scores.
    #[error("the probe inference returned {count} non-finite scores")]
    ProbeNotFinite { count: usize },

    /// The ONNX Runtime shared library is not at the configured path.
    #[error(
        "the ONNX Runtime library was not found at {path} \
         (run scripts/setup-onnxruntime.sh or set ORT_DYLIB_PATH)"
    )]
    RuntimeLibraryMissing { path: PathBuf },

    /// The ONNX Runtime library exists but could not be initialised.
    #[error("ONNX Runtime could not be initialised from {path}: {reason}")]
    RuntimeInit { path: PathBuf, reason: String },

    /// A session was requested before [`crate::runtime::OrtRuntime::init`].
    #[error("ONNX Runtime is not initialised; call OrtRuntime::init first")]
    RuntimeNotInitialised,

    /// A sandboxed model did not answer in time; its run was stopped.
    #[error("the model did not finish within {timeout_ms} ms and was stopped")]
    SandboxTimeout { timeout_ms: u64 },

    /// The worker process running a sandboxed model ended abnormally.
    #[error(
        "the model's process ended abnormally ({status}); the model may have exceeded \
         its memory limit of {memory_limit_mib} MiB"
    )]
    SandboxWorkerDied { status: String, memory_limit_mib: u64 },

    /// The sandbox could not run a model at all: a fault on the server's side (worker
    /// program missing, limits refused, protocol broken).
    #[error("the model sandbox is unavailable: {reason}")]
    SandboxUnavailable { reason: String },

    /// A text model's files (weights, tokenizer, ONNX graph) are missing a part or
    /// disagree with each other.
    #[error("the text model is unusable: {reason}")]
    TextModel { reason: String },

    /// A text could not be tokenised.
    #[error("could not tokenise a text: {reason}")]
    Tokenize { reason: String },

    /// An inference call failed inside ONNX Runtime.
    #[error("ONNX Runtime failed while {context}: {reason}")]
    Runtime { context: &'static str, reason: String },
}

impl InferenceError {
    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidParameter { name, reason: reason.into() }
    }
}
