//! The worker process: one tenant model, under resource limits, answering score requests
//! on stdin/stdout until its parent closes stdin or kills it.

use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use ndarray::ArrayView2;
use nix::sys::resource::{Resource, setrlimit};

use super::protocol::{Load, Reply, Request, Stage, read_frame, write_frame};
use crate::runtime::{OnnxScorer, OrtRuntime};

/// The load frame carries the model (uploads are capped far below this).
const MAX_LOAD_FRAME: usize = 1 << 30;
/// A score request is one row per user of a batch; far below this in practice.
const MAX_SCORE_FRAME: usize = 256 << 20;

/// Runs the worker on this process's stdin and stdout. Called by `marquee onnx-worker`
/// and by the `marquee-onnx-worker` test binary; never returns to serve anything else.
pub fn worker_main() -> ExitCode {
    let mut input = BufReader::new(io::stdin().lock());
    let mut output = BufWriter::new(io::stdout().lock());
    match serve(&mut input, &mut output) {
        Ok(()) => ExitCode::SUCCESS,
        // The parent reads the reason from the last frame or sees the stream end.
        Err(_) => ExitCode::FAILURE,
    }
}

fn serve(input: &mut impl io::Read, output: &mut impl Write) -> io::Result<()> {
    let Some(frame) = read_frame(input, MAX_LOAD_FRAME)? else { return Ok(()) };
    let Request::Load(load) = Request::decode(&frame)? else {
        return fail(output, Stage::Setup, "the first request must load a model".into());
    };
    let runtime = match confine(&load) {
        Ok(rt) => rt,
        Err(message) => return fail(output, Stage::Setup, message),
    };
    let scorer = match OnnxScorer::new(runtime, &load.model, 1) {
        Ok(s) => s,
        Err(e) => return fail(output, Stage::Load, e.to_string()),
    };
    drop(load.model);
    write_frame(output, &Reply::Ready.encode())?;
    let timeout = Duration::from_millis(load.run_timeout_ms);
    while let Some(frame) = read_frame(input, MAX_SCORE_FRAME)? {
        let Request::Score { rows, cols, values } = Request::decode(&frame)? else {
            return fail(output, Stage::Setup, "a model is loaded once per worker".into());
        };
        drop(frame);
        let reply = match score(&scorer, rows, cols, &values, load.n_outputs as usize, timeout) {
            Ok(scores) => Reply::Scores { rows, cols: load.n_outputs as usize, values: scores },
            Err((stage, message)) => Reply::Failed { stage, message },
        };
        write_frame(output, &reply.encode())?;
    }
    Ok(())
}

fn fail(output: &mut impl Write, stage: Stage, message: String) -> io::Result<()> {
    write_frame(output, &Reply::Failed { stage, message }.encode())
}

/// Lowers this process's limits, leaves the filesystem, then starts ONNX Runtime.
///
/// - `RLIMIT_DATA` (private writable memory, what a tensor allocation takes) rather than
///   `RLIMIT_AS`: the address space also counts the runtime's code and the guard and
///   reserve regions of thread stacks and malloc arenas, which cost no memory and would
///   make the limit depend on the library build. A refused allocation surfaces as an
///   ONNX Runtime error (or, in Rust code, an abort the parent reports).
/// - `RLIMIT_FSIZE` 0: the worker never writes a file (stdout is a pipe, not a file).
/// - `RLIMIT_CORE` 0: a crashed model leaves no core dump holding its inputs.
/// - The working directory is a fresh private directory, removed at once: a relative
///   path the model names resolves to nothing.
/// - `RLIMIT_NOFILE` is lowered once the library is loaded (`dlopen` needs descriptors;
///   nothing after it does): the model can then open no file at all, by any path.
fn confine(load: &Load) -> Result<&'static OrtRuntime, String> {
    let limit = |resource: Resource, value: u64| {
        setrlimit(resource, value, value).map_err(|e| format!("could not set {resource:?} to {value}: {e}"))
    };
    limit(Resource::RLIMIT_CORE, 0)?;
    limit(Resource::RLIMIT_FSIZE, 0)?;
    limit(Resource::RLIMIT_DATA, load.memory_limit_bytes)?;
    leave_filesystem()?;
    let runtime = OrtRuntime::init(Path::new(&load.ort_library)).map_err(|e| e.to_string())?;
    // Descriptors 0, 1 and 2 stay open; no new one can be made.
    limit(Resource::RLIMIT_NOFILE, 3)?;
    Ok(runtime)
}

fn leave_filesystem() -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("marquee-onnx-worker-{}-{nanos}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    let entered = std::env::set_current_dir(&dir).map_err(|e| format!("could not enter {}: {e}", dir.display()));
    std::fs::remove_dir(&dir).map_err(|e| format!("could not remove {}: {e}", dir.display()))?;
    entered
}

/// Scores one batch. ONNX Runtime's own termination flag stops the run at the deadline,
/// which keeps the worker (and its loaded session) alive; the parent's kill a moment
/// later covers operators that never look at the flag.
fn score(
    scorer: &OnnxScorer,
    rows: usize,
    cols: usize,
    values: &[f32],
    n_outputs: usize,
    timeout: Duration,
) -> Result<Vec<f32>, (Stage, String)> {
    let run_failed = |message: String| (Stage::Run, message);
    let input = ArrayView2::from_shape((rows, cols), values).map_err(|e| run_failed(format!("input shape: {e}")))?;
    let options = Arc::new(ort::session::RunOptions::new().map_err(|e| run_failed(e.to_string()))?);
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = {
        let options = Arc::clone(&options);
        std::thread::spawn(move || {
            let fired = matches!(finished.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
            if fired {
                let _ = options.terminate();
            }
            fired
        })
    };
    let result = scorer.score_with_options(input, &options);
    drop(done);
    let terminated = watchdog.join().unwrap_or(false);
    let scores = match result {
        Ok(scores) => scores,
        Err(_) if terminated => return Err((Stage::Timeout, "stopped at the deadline".into())),
        // The parent adds the context; only ONNX Runtime's own words travel.
        Err(crate::InferenceError::Runtime { reason, .. }) => return Err(run_failed(reason)),
        Err(e) => return Err(run_failed(e.to_string())),
    };
    if scores.dim() != (rows, n_outputs) {
        return Err(run_failed(format!(
            "the model returned scores of shape {:?}, expected [{rows}, {n_outputs}]",
            scores.shape()
        )));
    }
    Ok(scores.into_iter().collect())
}
