//! Loading a text model and embedding texts with it.

use std::sync::{Mutex, MutexGuard};

use ndarray::{Array2, Ix2};
use ort::session::Session;
use ort::value::{TensorRef, ValueType};
use sha2::{Digest, Sha256};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

use super::{
    ATTENTION_MASK, EMBEDDINGS_OUTPUT, INPUT_IDS, META_MAX_TOKENS, META_TEXT_MODEL, META_VOCAB, TextEncoderFiles,
};
use crate::error::{InferenceError, Result};
use crate::runtime::OrtRuntime;

/// Tokens per run (rows x padded length). Attention holds heads x rows x length² floats,
/// so this bounds memory (about 100 MB for MiniLM at 256 tokens) while keeping batches
/// large enough for throughput.
const TOKENS_PER_RUN: usize = 8192;
/// Rows per run whatever their length.
const MAX_ROWS_PER_RUN: usize = 64;

/// A sentence-embedding model: tokenizer plus ONNX Runtime session.
///
/// `Session::run` needs `&mut`, so calls take turns on one session; a caller that wants
/// parallel embedding loads several encoders (the background embedder needs one: its
/// throughput comes from batching and the session's intra-op threads).
#[derive(Debug)]
pub struct TextEncoder {
    session: Mutex<Session>,
    tokenizer: Tokenizer,
    dims: usize,
    max_tokens: usize,
    vocab: usize,
    model_key: String,
}

fn unusable(reason: impl Into<String>) -> InferenceError {
    InferenceError::TextModel { reason: reason.into() }
}

impl TextEncoder {
    /// Loads the model (ONNX Runtime must be initialised: [`OrtRuntime::init`]) with
    /// `threads` intra-op threads.
    pub fn load(files: &TextEncoderFiles, threads: usize) -> Result<Self> {
        let runtime = OrtRuntime::get()?;
        let bytes =
            std::fs::read(&files.onnx).map_err(|source| InferenceError::Io { path: files.onnx.clone(), source })?;
        let digest = Sha256::digest(&bytes);
        let session = runtime.session(&bytes, threads.max(1))?;
        drop(bytes);

        let meta = session.metadata().map_err(|e| unusable(format!("cannot read the model's metadata: {e}")))?;
        let read_meta = |key: &str| {
            meta.custom(key)
                .ok_or_else(|| unusable(format!("the model has no `{key}` metadata: not a Marquee text model")))
        };
        let name = read_meta(META_TEXT_MODEL)?;
        let number = |key: &str| -> Result<usize> {
            read_meta(key)?.parse::<usize>().map_err(|e| unusable(format!("metadata `{key}` is not a number ({e})")))
        };
        let max_tokens = number(META_MAX_TOKENS)?;
        let vocab = number(META_VOCAB)?;
        drop(meta);
        let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        if !(names.len() == 2 && names.contains(&INPUT_IDS) && names.contains(&ATTENTION_MASK)) {
            return Err(unusable(format!(
                "the model's inputs are {names:?}, expected `{INPUT_IDS}`, `{ATTENTION_MASK}`"
            )));
        }
        let dims = session
            .outputs()
            .iter()
            .find(|o| o.name() == EMBEDDINGS_OUTPUT)
            .and_then(|o| match o.dtype() {
                ValueType::Tensor { shape, .. } => shape.get(1).copied().filter(|&d| d > 0).map(|d| d as usize),
                _ => None,
            })
            .ok_or_else(|| unusable(format!("the model has no `{EMBEDDINGS_OUTPUT}` output of fixed width")))?;

        let mut tokenizer = Tokenizer::from_file(&files.tokenizer)
            .map_err(|e| unusable(format!("{} is not a usable tokenizer.json ({e})", files.tokenizer.display())))?;
        if tokenizer.get_vocab_size(true) > vocab {
            return Err(unusable(format!(
                "the tokenizer has {} tokens, the model embeds {vocab}: they are not from the same model",
                tokenizer.get_vocab_size(true)
            )));
        }
        // The file's own truncation and fixed padding (128 for MiniLM) are replaced: texts
        // are cut at the model's length and batches padded to their longest text only.
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: max_tokens, ..Default::default() }))
            .map_err(|e| unusable(format!("cannot truncate at {max_tokens} tokens: {e}")))?;
        tokenizer.with_padding(None::<PaddingParams>);

        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            session: Mutex::new(session),
            tokenizer,
            dims,
            max_tokens,
            vocab,
            model_key: format!("{name}@{hex}"),
        })
    }

    /// Width of every embedding (384 for all-MiniLM-L6-v2).
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The model's name and the first 12 hex digits of the ONNX file's SHA-256, e.g.
    /// `all-MiniLM-L6-v2@1a2b3c4d5e6f`: stored embeddings carry it, so a changed model is
    /// noticed even when its name did not change.
    pub fn model_key(&self) -> &str {
        &self.model_key
    }

    /// Texts are truncated to this many tokens, [CLS] and [SEP] included.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Token ids of one text as the model sees them (truncated, with [CLS] and [SEP]).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.encode(text)?.0)
    }

    /// One L2-normalised embedding per text, in order. Texts are grouped by length into
    /// padded batches, so a text's embedding does not depend on what it was batched with.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encoded = texts.iter().map(|t| self.encode(t)).collect::<Result<Vec<_>>>()?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encoded[i].0.len());
        let mut out = vec![Vec::new(); texts.len()];
        let mut start = 0;
        while start < order.len() {
            // Sorted by length, so the last row of a run sets its padded length.
            let mut end = start + 1;
            while end < order.len()
                && end - start < MAX_ROWS_PER_RUN
                && (end + 1 - start) * encoded[order[end]].0.len() <= TOKENS_PER_RUN
            {
                end += 1;
            }
            let rows = &order[start..end];
            let vectors = self.run(rows.iter().map(|&i| &encoded[i]))?;
            for (&i, v) in rows.iter().zip(vectors) {
                out[i] = v;
            }
            start = end;
        }
        Ok(out)
    }

    fn encode(&self, text: &str) -> Result<(Vec<u32>, Vec<u32>)> {
        let enc = self.tokenizer.encode(text, true).map_err(|e| InferenceError::Tokenize { reason: e.to_string() })?;
        let ids = enc.get_ids().to_vec();
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= self.vocab) {
            return Err(InferenceError::Tokenize { reason: format!("token id {bad} is outside the vocabulary") });
        }
        Ok((ids, enc.get_attention_mask().to_vec()))
    }

    fn run<'a>(&self, rows: impl ExactSizeIterator<Item = &'a (Vec<u32>, Vec<u32>)> + Clone) -> Result<Vec<Vec<f32>>> {
        let n = rows.len();
        let len = rows.clone().map(|(ids, _)| ids.len()).max().unwrap_or(0).max(1);
        let mut ids = Array2::<i64>::zeros((n, len));
        let mut mask = Array2::<i64>::zeros((n, len));
        for (r, (row_ids, row_mask)) in rows.enumerate() {
            for (c, (&id, &m)) in row_ids.iter().zip(row_mask).enumerate() {
                ids[[r, c]] = i64::from(id);
                mask[[r, c]] = i64::from(m);
            }
        }
        let run_err =
            |context: &'static str| move |e: ort::Error| InferenceError::Runtime { context, reason: e.to_string() };
        let ids_t = TensorRef::from_array_view(&ids).map_err(run_err("preparing the input"))?;
        let mask_t = TensorRef::from_array_view(&mask).map_err(run_err("preparing the input"))?;
        let mut session = lock(&self.session);
        let outputs = session
            .run(ort::inputs![INPUT_IDS => ids_t, ATTENTION_MASK => mask_t])
            .map_err(run_err("embedding texts"))?;
        let value = outputs.get(EMBEDDINGS_OUTPUT).ok_or(InferenceError::Runtime {
            context: "reading the output",
            reason: format!("no output named `{EMBEDDINGS_OUTPUT}`"),
        })?;
        let array = value.try_extract_array::<f32>().map_err(run_err("reading the output"))?;
        let array = array.into_dimensionality::<Ix2>().map_err(|e| InferenceError::Runtime {
            context: "reading the output",
            reason: format!("expected a matrix of embeddings: {e}"),
        })?;
        if array.dim() != (n, self.dims) {
            return Err(InferenceError::Runtime {
                context: "reading the output",
                reason: format!("expected {n} x {} embeddings, got {:?}", self.dims, array.dim()),
            });
        }
        Ok(array.rows().into_iter().map(|r| r.to_vec()).collect())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside a run leaves the session usable; keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}
