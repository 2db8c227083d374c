//! Tenant-uploaded ONNX models run in worker processes with resource limits.
//!
//! An uploaded graph is code: an `Expand` can ask for gigabytes, a `Loop` can run for
//! hours, and a graph may behave differently on real inputs than on the upload probe.
//! ONNX Runtime's safe API offers no memory cap, and this workspace forbids unsafe code,
//! so each uploaded model runs in a child process (`marquee onnx-worker`, or the
//! `marquee-onnx-worker` binary of this crate in tests) that first lowers its own limits
//! ([`worker_main`]); the server only ever sees the scores, or a failed request.
//!
//! - memory: the worker's `RLIMIT_DATA`; the server reads replies whose size it has
//!   computed from the request, so its own memory does not grow with the model's;
//! - time: ONNX Runtime's run termination inside the worker at the deadline, and the
//!   server kills the worker if it has not answered by then (a new one starts on the
//!   next request);
//! - files: no file can be opened or written by the worker once the model is loaded,
//!   and its working directory is an empty directory that no longer exists;
//! - environment: the worker starts with an empty environment (no secrets in it).
//!
//! Built-in models (ALS, kNN) stay in-process: the service produced them.

mod protocol;
mod scorer;
mod worker;

use std::path::PathBuf;
use std::time::Duration;

pub use scorer::SandboxedScorer;
pub use worker::worker_main;

/// How to start workers and what they may use. Loaded once from the settings and passed
/// down; a copy with another timeout serves the upload probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// The worker program and its arguments (`<marquee> onnx-worker` in the server).
    pub program: PathBuf,
    pub args: Vec<String>,
    /// libonnxruntime, as the worker loads it: absolute, since the worker has no
    /// working directory to resolve against.
    pub ort_library: PathBuf,
    /// Private writable memory one worker may map (`RLIMIT_DATA`).
    pub memory_limit_bytes: u64,
    /// The longest one scoring may take, starting a worker included when none is idle.
    pub timeout: Duration,
    /// Workers per model: how many scorings of one model run at once.
    pub workers: usize,
}

impl SandboxConfig {
    /// The same limits with another timeout (the upload probe allows a slower first run).
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        Self { timeout, ..self.clone() }
    }
}
