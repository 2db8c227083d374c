//! A thread-safe scorer over a small pool of ONNX Runtime sessions.

use std::sync::{Condvar, Mutex, MutexGuard};

use ndarray::{Array2, ArrayView2, Ix2};
use ort::session::{RunOptions, Session};
use ort::value::{TensorRef, ValueType};

use super::OrtRuntime;
use crate::error::{InferenceError, Result};
use crate::onnx::{HISTORY_ITEMS_INPUT, HISTORY_WEIGHTS_INPUT, SCORES_OUTPUT};

/// Runs one ONNX model from many threads.
///
/// `Session::run` needs `&mut Session`, so the scorer keeps `sessions` of them and lends
/// one per call, waiting when all are busy. Each session uses a single intra-op thread:
/// serving parallelism comes from concurrent requests, not from inside one matmul.
/// Calls block, so async callers run them on a blocking thread.
#[derive(Debug)]
pub struct OnnxScorer {
    idle: Mutex<Vec<Session>>,
    returned: Condvar,
    input_name: String,
    output_name: String,
    input_width: Option<usize>,
    n_outputs: Option<usize>,
    /// The model takes a sparse history (`history_items`, `history_weights`) rather than
    /// one dense input.
    sparse: bool,
}

impl OnnxScorer {
    /// Loads `model` into `sessions` sessions (at least one).
    pub fn new(runtime: &OrtRuntime, model: &[u8], sessions: usize) -> Result<Self> {
        let sessions = sessions.max(1);
        let mut pool = Vec::with_capacity(sessions);
        let shared = ort::session::builder::PrepackedWeights::new();
        for _ in 0..sessions {
            pool.push(runtime.session_sharing(model, 1, Some(&shared))?);
        }
        let first = &pool[0];
        let names: Vec<&str> = first.inputs().iter().map(|i| i.name()).collect();
        let sparse = match names.as_slice() {
            [_] => false,
            [a, b] if [*a, *b].contains(&HISTORY_ITEMS_INPUT) && [*a, *b].contains(&HISTORY_WEIGHTS_INPUT) => true,
            other => {
                return Err(InferenceError::ModelLoad {
                    reason: format!(
                        "a scoring model takes one input, or `{HISTORY_ITEMS_INPUT}` and `{HISTORY_WEIGHTS_INPUT}`; \
                         this one takes {}",
                        other.len()
                    ),
                });
            }
        };
        let input = &first.inputs()[0];
        let output = first
            .outputs()
            .iter()
            .find(|o| o.name() == SCORES_OUTPUT)
            .or_else(|| first.outputs().first())
            .ok_or(InferenceError::ModelLoad { reason: "the model has no output".to_string() })?;
        let input_name = input.name().to_string();
        let output_name = output.name().to_string();
        let input_width = if sparse { None } else { fixed_dim(input.dtype(), 1) };
        let n_outputs = fixed_dim(output.dtype(), 1);
        Ok(Self {
            idle: Mutex::new(pool),
            returned: Condvar::new(),
            input_name,
            output_name,
            input_width,
            n_outputs,
            sparse,
        })
    }

    /// Whether the model takes a sparse history ([`Self::score_sparse`]) rather than one
    /// dense input ([`Self::score`]).
    pub fn is_sparse(&self) -> bool {
        self.sparse
    }

    /// Scores a batch of sparse histories: row n holds person n's history item indices
    /// and their weights (pad shorter rows with weight 0).
    pub fn score_sparse(&self, items: ArrayView2<'_, i64>, weights: ArrayView2<'_, f32>) -> Result<Array2<f32>> {
        if !self.sparse {
            return Err(InferenceError::Runtime {
                context: "preparing the input",
                reason: "the model takes one dense input, not a sparse history".into(),
            });
        }
        if items.dim() != weights.dim() {
            return Err(InferenceError::DimensionMismatch {
                what: "history weights",
                expected: items.len(),
                actual: weights.len(),
            });
        }
        if let Some(n) = self.n_outputs
            && let Some(&bad) = items.iter().find(|&&i| i < 0 || i as usize >= n)
        {
            return Err(InferenceError::ItemOutOfRange { index: bad.clamp(0, i64::from(u32::MAX)) as u32, count: n });
        }
        let items = items.as_standard_layout();
        let weights = weights.as_standard_layout();
        let mut lease = self.lease();
        let session = lease.session()?;
        let tensor_items = TensorRef::from_array_view(&items).map_err(run_err("preparing the input"))?;
        let tensor_weights = TensorRef::from_array_view(&weights).map_err(run_err("preparing the input"))?;
        let outputs = session
            .run(ort::inputs![HISTORY_ITEMS_INPUT => tensor_items, HISTORY_WEIGHTS_INPUT => tensor_weights])
            .map_err(run_err("running the model"))?;
        self.read_scores(&outputs)
    }

    /// The model's input name.
    pub fn input_name(&self) -> &str {
        &self.input_name
    }

    /// Columns the input must have, when the model fixes it.
    pub fn input_width(&self) -> Option<usize> {
        self.input_width
    }

    /// Scores per row, when the model declares it.
    pub fn n_outputs(&self) -> Option<usize> {
        self.n_outputs
    }

    /// Scores a batch: one input row per user, one output row of scores per user.
    pub fn score(&self, input: ArrayView2<'_, f32>) -> Result<Array2<f32>> {
        self.run(input, None)
    }

    /// [`Self::score`] with run options, so another thread can stop the run.
    pub(crate) fn score_with_options(&self, input: ArrayView2<'_, f32>, options: &RunOptions) -> Result<Array2<f32>> {
        self.run(input, Some(options))
    }

    fn run(&self, input: ArrayView2<'_, f32>, options: Option<&RunOptions>) -> Result<Array2<f32>> {
        if let Some(w) = self.input_width
            && input.ncols() != w
        {
            return Err(InferenceError::DimensionMismatch {
                what: "model input columns",
                expected: w,
                actual: input.ncols(),
            });
        }
        if self.sparse {
            return Err(InferenceError::Runtime {
                context: "preparing the input",
                reason: "the model takes a sparse history, not one dense input".into(),
            });
        }
        let input = input.as_standard_layout();
        let mut lease = self.lease();
        let session = lease.session()?;
        let tensor = TensorRef::from_array_view(&input).map_err(run_err("preparing the input"))?;
        let inputs = ort::inputs![self.input_name.as_str() => tensor];
        let outputs = match options {
            Some(options) => session.run_with_options(inputs, options),
            None => session.run(inputs),
        }
        .map_err(run_err("running the model"))?;
        self.read_scores(&outputs)
    }

    fn read_scores(&self, outputs: &ort::session::SessionOutputs<'_>) -> Result<Array2<f32>> {
        let value = outputs.get(&self.output_name).ok_or(InferenceError::Runtime {
            context: "reading the output",
            reason: format!("no output named `{}`", self.output_name),
        })?;
        let scores = value.try_extract_array::<f32>().map_err(run_err("reading the output"))?;
        let scores = scores.into_dimensionality::<Ix2>().map_err(|e| InferenceError::Runtime {
            context: "reading the output",
            reason: format!("expected a matrix of scores: {e}"),
        })?;
        Ok(scores.to_owned())
    }

    fn lease(&self) -> Lease<'_> {
        let mut idle = lock(&self.idle);
        loop {
            if let Some(session) = idle.pop() {
                return Lease { owner: self, session: Some(session) };
            }
            idle = self.returned.wait(idle).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// A borrowed session that goes back to the pool when dropped, even on error.
struct Lease<'a> {
    owner: &'a OnnxScorer,
    session: Option<Session>,
}

impl Lease<'_> {
    fn session(&mut self) -> Result<&mut Session> {
        self.session
            .as_mut()
            .ok_or(InferenceError::Runtime { context: "leasing a session", reason: "empty lease".into() })
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            lock(&self.owner.idle).push(s);
            self.owner.returned.notify_one();
        }
    }
}

fn run_err(context: &'static str) -> impl Fn(ort::Error) -> InferenceError {
    move |e| InferenceError::Runtime { context, reason: e.to_string() }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the Vec half-updated; keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn fixed_dim(dtype: &ValueType, axis: usize) -> Option<usize> {
    match dtype {
        ValueType::Tensor { shape, .. } => shape.get(axis).copied().filter(|&d| d >= 0).map(|d| d as usize),
        _ => None,
    }
}
