//! The text model, loaded when used and dropped when idle. One loaded copy of
//! all-MiniLM-L6-v2 holds about 120 MB; a server that serves recommendations but no
//! search (or whose catalog is embedded) should not carry it, let alone two (the query
//! copy and the worker's). Its version (`model_key`) and dimensions are read once at
//! start, from a load that is dropped at once, so a broken model is reported then.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use inference::text::{TextEncoder, TextEncoderFiles};

use crate::error::{DomainError, Result};

/// A loaded copy unused for this long is dropped.
const IDLE: Duration = Duration::from_secs(300);

pub(crate) struct TextModel {
    files: TextEncoderFiles,
    model_key: String,
    dims: usize,
    query_threads: usize,
    /// The copy that embeds queries, with when it was last used.
    query: Mutex<Option<(Arc<TextEncoder>, Instant)>>,
}

impl TextModel {
    /// Loads the model once to learn its version (fails when it is unusable).
    pub(crate) fn open(files: TextEncoderFiles, query_threads: usize) -> inference::Result<Self> {
        let probe = TextEncoder::load(&files, 1)?;
        let model = Self {
            model_key: probe.model_key().to_owned(),
            dims: probe.dims(),
            files,
            query_threads,
            query: Mutex::new(None),
        };
        drop(probe);
        // The probe's buffers (about 90 MB) would otherwise stay resident until the next
        // periodic trim, or for good in a process that runs none (a CLI command).
        inference::native_memory::release_free_memory();
        Ok(model)
    }

    pub(crate) fn model_key(&self) -> &str {
        &self.model_key
    }

    pub(crate) fn dims(&self) -> usize {
        self.dims
    }

    /// A new copy with `threads` ONNX Runtime threads (the worker's, loaded on its
    /// thread).
    pub(crate) fn load(&self, threads: usize) -> inference::Result<TextEncoder> {
        TextEncoder::load(&self.files, threads)
    }

    /// The query copy, loaded (off the executor) when there is none.
    pub(crate) async fn query_encoder(self: &Arc<Self>) -> Result<Arc<TextEncoder>> {
        if let Some((encoder, used)) = self.slot().as_mut() {
            *used = Instant::now();
            return Ok(encoder.clone());
        }
        let model = self.clone();
        let encoder = tokio::task::spawn_blocking(move || model.load(model.query_threads))
            .await
            .map_err(|e| DomainError::internal_from("text model thread", e))?
            .map_err(|e| DomainError::internal_from("text model", e))?;
        let mut slot = self.slot();
        // Another query may have loaded one meanwhile: keep the first.
        let (encoder, used) = slot.get_or_insert_with(|| (Arc::new(encoder), Instant::now()));
        *used = Instant::now();
        Ok(encoder.clone())
    }

    /// Drops the query copy when it has been idle (called periodically).
    pub(crate) fn drop_if_idle(&self) {
        let mut slot = self.slot();
        if slot.as_ref().is_some_and(|(_, used)| used.elapsed() >= IDLE) {
            *slot = None;
        }
    }

    pub(crate) fn idle_after() -> Duration {
        IDLE
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<(Arc<TextEncoder>, Instant)>> {
        // Only ever replaced whole: a panic elsewhere leaves it usable.
        self.query.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
