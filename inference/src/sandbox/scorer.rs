//! The server's side: a pool of worker processes for one model, with a deadline on every
//! exchange.

use std::io::{self, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ndarray::{Array2, ArrayView2};

use super::SandboxConfig;
use super::protocol::{Load, MAX_MESSAGE_BYTES, Reply, Request, Stage, read_frame, scores_frame_bytes, write_frame};
use crate::error::{InferenceError, Result};

/// Scores one uploaded model in worker processes: the same `score` as
/// [`crate::runtime::OnnxScorer`], but a run that exceeds its limits costs a failed
/// request, never the server's memory or a stuck thread.
///
/// Workers start on demand (or with [`Self::warm`]) up to `config.workers`; a worker that
/// timed out, died or broke the protocol is killed and replaced on a later call. Calls
/// block, so async callers run them on a blocking thread.
#[derive(Debug)]
pub struct SandboxedScorer {
    config: SandboxConfig,
    model: Vec<u8>,
    n_outputs: usize,
    pool: Mutex<Pool>,
    returned: Condvar,
}

#[derive(Debug, Default)]
struct Pool {
    idle: Vec<Worker>,
    /// Workers lent out, or being started, right now.
    busy: usize,
}

impl SandboxedScorer {
    /// A scorer for `model`, whose output must have `n_outputs` scores per row. No
    /// worker starts yet.
    pub fn new(config: SandboxConfig, model: Vec<u8>, n_outputs: usize) -> Self {
        Self { config, model, n_outputs, pool: Mutex::new(Pool::default()), returned: Condvar::new() }
    }

    /// Starts one worker now, if none is idle, so the model's load errors surface here
    /// and the first request does not pay for the start.
    pub fn warm(&self) -> Result<()> {
        let deadline = Instant::now() + self.config.timeout;
        let worker = match self.lease(deadline)? {
            Some(worker) => worker,
            None => self.start(deadline)?,
        };
        self.give_back(Some(worker));
        Ok(())
    }

    /// Scores a batch: one input row per user, one output row of `n_outputs` scores.
    pub fn score(&self, input: ArrayView2<'_, f32>) -> Result<Array2<f32>> {
        let deadline = Instant::now() + self.config.timeout;
        let (rows, cols) = input.dim();
        let request = Request::Score { rows, cols, values: input.iter().copied().collect() }.encode();
        let mut worker = match self.lease(deadline)? {
            Some(worker) => worker,
            None => self.start(deadline)?,
        };
        let outcome = worker.exchange(&request, scores_frame_bytes(rows, self.n_outputs), deadline);
        let result = match outcome {
            Ok(Reply::Scores { rows: r, cols: c, values }) if r == rows && c == self.n_outputs => {
                Array2::from_shape_vec((rows, c), values).map_err(|e| self.protocol(e.to_string()))
            }
            Ok(Reply::Scores { rows: r, cols: c, .. }) => {
                Err(self.protocol(format!("scores of shape [{r}, {c}] for a request of {rows} rows")))
            }
            Ok(Reply::Failed { stage, message }) => Err(self.failed(stage, message)),
            Ok(Reply::Ready) => Err(self.protocol("an unexpected ready message".into())),
            Err(failure) => Err(self.lost(failure)),
        };
        // A worker that answered in the protocol's terms is reusable, even after a run
        // error or its own termination of a run at the deadline; any other is gone.
        let reusable = worker.alive
            && matches!(&result, Ok(_) | Err(InferenceError::Runtime { .. } | InferenceError::SandboxTimeout { .. }));
        self.give_back(reusable.then_some(worker));
        result
    }

    /// An idle worker, or `None` when the caller may start one; waits while all
    /// `config.workers` are busy, until the deadline.
    fn lease(&self, deadline: Instant) -> Result<Option<Worker>> {
        let mut pool = lock(&self.pool);
        loop {
            if let Some(worker) = pool.idle.pop() {
                pool.busy += 1;
                return Ok(Some(worker));
            }
            if pool.busy < self.config.workers.max(1) {
                pool.busy += 1;
                return Ok(None);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timeout());
            }
            pool = self.returned.wait_timeout(pool, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Ends a lease: the worker goes back to the idle list, or (`None`) its slot is freed.
    fn give_back(&self, worker: Option<Worker>) {
        let mut pool = lock(&self.pool);
        pool.busy = pool.busy.saturating_sub(1);
        if let Some(worker) = worker {
            pool.idle.push(worker);
        }
        drop(pool);
        self.returned.notify_one();
    }

    /// Starts a worker in a slot already counted as busy; frees the slot on failure.
    fn start(&self, deadline: Instant) -> Result<Worker> {
        let started = self.spawn_and_load(deadline);
        if started.is_err() {
            self.give_back(None);
        }
        started
    }

    fn spawn_and_load(&self, deadline: Instant) -> Result<Worker> {
        let mut child = Command::new(&self.config.program)
            .args(&self.config.args)
            // Secrets reach the server through its environment; the worker needs none.
            .env_clear()
            // Else ONNX Runtime 1.31 records usage in a SQLite file under the user's home
            // directory at start-up, which the worker's file-size limit turns into a crash.
            .env("ORT_DISABLE_TELEMETRY", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| self.unavailable(format!("could not start {}: {e}", self.config.program.display())))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(self.unavailable("the worker has no pipes".into()));
        };
        let mut worker = Worker { child, stdin, stdout: BufReader::new(stdout), alive: true };
        let load = Request::Load(Load {
            memory_limit_bytes: self.config.memory_limit_bytes,
            run_timeout_ms: worker_timeout(self.config.timeout).as_millis() as u64,
            n_outputs: self.n_outputs as u32,
            ort_library: self.config.ort_library.to_string_lossy().into_owned(),
            model: self.model.clone(),
        });
        match worker.exchange(&load.encode(), 2 + MAX_MESSAGE_BYTES, deadline) {
            Ok(Reply::Ready) => Ok(worker),
            Ok(Reply::Failed { stage, message }) => Err(self.failed(stage, message)),
            Ok(other) => Err(self.protocol(format!("an unexpected reply to loading: {other:?}"))),
            Err(failure) => Err(self.lost(failure)),
        }
    }

    fn failed(&self, stage: Stage, message: String) -> InferenceError {
        match stage {
            Stage::Setup => self.unavailable(message),
            Stage::Load => InferenceError::ModelLoad { reason: message },
            Stage::Run => InferenceError::Runtime { context: "running the model", reason: message },
            Stage::Timeout => self.timeout(),
        }
    }

    fn lost(&self, failure: Failure) -> InferenceError {
        match failure {
            Failure::TimedOut => self.timeout(),
            Failure::Died(status) => {
                InferenceError::SandboxWorkerDied { status, memory_limit_mib: self.config.memory_limit_bytes >> 20 }
            }
            Failure::Protocol(reason) => self.protocol(reason),
        }
    }

    fn timeout(&self) -> InferenceError {
        InferenceError::SandboxTimeout { timeout_ms: self.config.timeout.as_millis() as u64 }
    }

    fn protocol(&self, reason: String) -> InferenceError {
        self.unavailable(format!("the worker broke the protocol: {reason}"))
    }

    fn unavailable(&self, reason: String) -> InferenceError {
        InferenceError::SandboxUnavailable { reason }
    }
}

/// The worker stops a run itself a little before the parent's deadline, so that a run
/// stopped by ONNX Runtime keeps its worker; the parent's kill remains the guarantee.
fn worker_timeout(timeout: Duration) -> Duration {
    timeout.saturating_sub((timeout / 5).max(Duration::from_millis(50)))
}

/// Why an exchange got no reply.
#[derive(Debug)]
enum Failure {
    TimedOut,
    Died(String),
    Protocol(String),
}

#[derive(Debug)]
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    alive: bool,
}

impl Worker {
    /// Sends one frame and reads the answer, both on a helper thread so that the deadline
    /// holds even when the worker stops reading or writing; past it the worker is killed,
    /// which ends the helper's blocked read or write.
    fn exchange(&mut self, payload: &[u8], max_reply: usize, deadline: Instant) -> Result<Reply, Failure> {
        let Worker { child, stdin, stdout, alive } = self;
        let received = std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            scope.spawn(move || {
                let result = write_frame(stdin, payload).and_then(|()| read_frame(stdout, max_reply));
                let _ = tx.send(result);
            });
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(result) => Ok(result),
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    Err(Failure::TimedOut)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = child.kill();
                    Err(Failure::Protocol("the exchange thread ended without an answer".into()))
                }
            }
        });
        let outcome = match received {
            Ok(Ok(Some(frame))) => Reply::decode(&frame).map_err(|e| Failure::Protocol(e.to_string())),
            Ok(Err(e)) if e.kind() == io::ErrorKind::InvalidData => Err(Failure::Protocol(e.to_string())),
            // The stream ended or broke: the worker is gone (killed, out of memory, crashed).
            Ok(Ok(None) | Err(_)) => Err(Failure::Died(describe(reap(child, deadline)))),
            Err(failure) => Err(failure),
        };
        if outcome.is_err() {
            *alive = false;
        }
        outcome
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Idle or failed, a worker never outlives its lease or its scorer: no orphans.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The worker's exit status, waiting for it a little: its stdout closing means it is
/// exiting, but it may not be reapable yet.
fn reap(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    let until = deadline.max(Instant::now() + Duration::from_millis(200));
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                return child.wait().ok();
            }
        }
    }
}

fn describe(status: Option<ExitStatus>) -> String {
    match status {
        Some(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(6)) => "aborted".to_string(),
            (None, Some(9)) => "killed".to_string(),
            (None, Some(11)) => "segmentation fault".to_string(),
            (None, Some(signal)) => format!("signal {signal}"),
            (None, None) => "unknown status".to_string(),
        },
        None => "unknown status".to_string(),
    }
}

fn lock(m: &Mutex<Pool>) -> MutexGuard<'_, Pool> {
    // The pool is a list and a counter, consistent at every await point; keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}
