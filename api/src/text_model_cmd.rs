//! `marquee text-model build`: the sentence-embedding model's ONNX file, built from a BERT
//! checkpoint (`scripts/setup-text-model.sh` runs it on all-MiniLM-L6-v2's files).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use inference::text::{BertOptions, build_text_model};

#[derive(Subcommand, Debug)]
pub enum TextModelCommand {
    /// Build `OUT/model.onnx` and `OUT/tokenizer.json` from `model.safetensors` and `tokenizer.json`.
    Build(BuildArgs),
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The checkpoint's `model.safetensors` (float32 BERT weights).
    #[arg(long)]
    pub weights: PathBuf,
    /// The model's `tokenizer.json`.
    #[arg(long)]
    pub tokenizer: PathBuf,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// The model's `config.json`, for the head count and LayerNorm epsilon the weights do
    /// not tell. Default: `config.json` beside the weights if there, else MiniLM's values.
    #[arg(long)]
    pub model_config: Option<PathBuf>,
    /// Name recorded in the model (stored embeddings carry it with a hash of the file).
    #[arg(long, default_value = "all-MiniLM-L6-v2")]
    pub name: String,
    /// Texts are truncated to this many tokens (256 as sentence-transformers does for MiniLM).
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
}

pub fn run(command: &TextModelCommand) -> anyhow::Result<()> {
    match command {
        TextModelCommand::Build(args) => build(args),
    }
}

fn build(args: &BuildArgs) -> anyhow::Result<()> {
    let mut options = BertOptions { name: args.name.clone(), max_tokens: args.max_tokens, ..BertOptions::default() };
    let beside = args.weights.with_file_name("config.json");
    let config = args.model_config.clone().or_else(|| beside.is_file().then_some(beside));
    if let Some(path) = config {
        read_model_config(&path, &mut options)?;
    }
    let files = build_text_model(&args.weights, &args.tokenizer, &args.out, &options)
        .with_context(|| format!("cannot build the text model from {}", args.weights.display()))?;
    println!("{}", files.onnx.display());
    Ok(())
}

/// Takes `num_attention_heads` and `layer_norm_eps` from a Hugging Face `config.json`, and
/// refuses an activation other than BERT's exact GELU (the graph has no other).
fn read_model_config(path: &Path, options: &mut BertOptions) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let config: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    if let Some(heads) = config.get("num_attention_heads").and_then(serde_json::Value::as_u64) {
        options.heads = usize::try_from(heads)?;
    }
    if let Some(eps) = config.get("layer_norm_eps").and_then(serde_json::Value::as_f64) {
        options.layer_norm_eps = eps as f32;
    }
    if let Some(act) = config.get("hidden_act").and_then(serde_json::Value::as_str)
        && act != "gelu"
    {
        anyhow::bail!("{}: hidden_act `{act}` is not supported (only BERT's `gelu`)", path.display());
    }
    Ok(())
}
