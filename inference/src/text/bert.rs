//! The BERT encoder as an ONNX graph, built from a safetensors checkpoint.

use std::path::Path;

use super::graph::{GraphBuilder, float_attribute};
use super::weights::Weights;
use super::{
    ATTENTION_MASK, EMBEDDINGS_OUTPUT, INPUT_IDS, META_MAX_TOKENS, META_TEXT_MODEL, META_VOCAB, TextEncoderFiles,
};
use crate::error::{InferenceError, Result};
use crate::onnx::graph::{Dim, encode_model, float_value_info, int_attribute, int64_value_info, ints_attribute};
use crate::onnx::proto::GraphProto;
use crate::onnx::{META_MODEL_KIND, proto::tensor_proto::DataType};

/// What the checkpoint's tensors do not say: they fix every size but the head count.
#[derive(Debug, Clone, PartialEq)]
pub struct BertOptions {
    /// Name recorded in the model (the first half of its model key).
    pub name: String,
    /// Attention heads per layer (`num_attention_heads` of the model's config.json).
    pub heads: usize,
    /// `layer_norm_eps` of config.json.
    pub layer_norm_eps: f32,
    /// Texts are truncated to this many tokens, [CLS] and [SEP] included.
    pub max_tokens: usize,
}

impl Default for BertOptions {
    /// all-MiniLM-L6-v2, truncated at 256 tokens as sentence-transformers does.
    fn default() -> Self {
        Self { name: "all-MiniLM-L6-v2".to_string(), heads: 12, layer_norm_eps: 1e-12, max_tokens: 256 }
    }
}

/// Builds `out_dir/model.onnx` from a safetensors checkpoint and copies the tokenizer
/// beside it as `out_dir/tokenizer.json`, after checking that the two fit together.
/// Files are written under temporary names and renamed, so a reader never sees half a model.
pub fn build_text_model(
    weights: &Path,
    tokenizer: &Path,
    out_dir: &Path,
    options: &BertOptions,
) -> Result<TextEncoderFiles> {
    let checkpoint = Weights::read(weights)?;
    let tok = tokenizers::Tokenizer::from_file(tokenizer).map_err(|e| InferenceError::TextModel {
        reason: format!("{} is not a usable tokenizer.json ({e})", tokenizer.display()),
    })?;
    let model = bert_graph(&checkpoint, options)?;
    let (vocab, _) = checkpoint.get("embeddings.word_embeddings.weight", None)?;
    if tok.get_vocab_size(true) > vocab[0] {
        return Err(InferenceError::TextModel {
            reason: format!(
                "the tokenizer has {} tokens but the checkpoint embeds only {}",
                tok.get_vocab_size(true),
                vocab[0]
            ),
        });
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InferenceError::Io { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let files = TextEncoderFiles::in_dir(out_dir);
    let tmp_model = out_dir.join(".model.onnx.tmp");
    std::fs::write(&tmp_model, model).map_err(io(&tmp_model))?;
    let tmp_tok = out_dir.join(".tokenizer.json.tmp");
    std::fs::copy(tokenizer, &tmp_tok).map_err(io(&tmp_tok))?;
    std::fs::rename(&tmp_tok, &files.tokenizer).map_err(io(&files.tokenizer))?;
    // The model last: its presence is what says the folder is complete.
    std::fs::rename(&tmp_model, &files.onnx).map_err(io(&files.onnx))?;
    Ok(files)
}

fn bad_option(name: &'static str, reason: String) -> InferenceError {
    InferenceError::InvalidParameter { name, reason }
}

/// The serialised ONNX model of the encoder with mean pooling and L2 normalisation.
pub(super) fn bert_graph(w: &Weights, options: &BertOptions) -> Result<Vec<u8>> {
    let (emb_dims, word) = w.get("embeddings.word_embeddings.weight", None)?;
    let [vocab, hidden] = *emb_dims else {
        return Err(InferenceError::TextModel { reason: "the token embedding table is not a matrix".into() });
    };
    let heads = options.heads;
    if heads == 0 || hidden % heads != 0 {
        return Err(bad_option("heads", format!("{heads} heads do not divide the hidden size {hidden}")));
    }
    let (pos_dims, positions) = w.get("embeddings.position_embeddings.weight", None)?;
    let max_positions = pos_dims.first().copied().unwrap_or(0);
    if options.max_tokens < 2 || options.max_tokens > max_positions {
        return Err(bad_option(
            "max_tokens",
            format!("must be between 2 and the model's {max_positions} positions, not {}", options.max_tokens),
        ));
    }
    if !(options.layer_norm_eps.is_finite() && options.layer_norm_eps > 0.0) {
        return Err(bad_option("layer_norm_eps", "must be a positive number".into()));
    }
    if pos_dims != [max_positions, hidden] {
        return Err(InferenceError::TextModel { reason: format!("position embeddings have shape {pos_dims:?}") });
    }
    let (_, segment) = w.get("embeddings.token_type_embeddings.weight", None)?;
    let layers = w.layer_count();
    if layers == 0 {
        return Err(InferenceError::TextModel { reason: "the checkpoint has no encoder layers".into() });
    }

    let mut g = GraphBuilder::default();
    let eps = options.layer_norm_eps;
    let word = g.constant("word_embeddings", &[vocab, hidden], word.iter().copied());
    let positions = g.constant("position_embeddings", &[max_positions, hidden], positions.iter().copied());
    // Every text is one segment, so only the first segment row is ever added.
    let segment0 = g.constant("segment_embedding", &[hidden], segment.iter().take(hidden).copied());
    let zero = g.ints("zero_1d", &[1], &[0]);
    let axes_seq = g.ints("axes_seq", &[1], &[1]);
    let axes_heads_seq = g.ints("axes_heads_seq", &[2], &[1, 2]);
    let axes_hidden = g.ints("axes_hidden", &[1], &[2]);
    let one = g.constant("one", &[], std::iter::once(1.0));
    let dh = hidden / heads;
    let split_heads = g.ints("split_heads", &[4], &[0, 0, heads as i64, dh as i64]);
    let merge_heads = g.ints("merge_heads", &[3], &[0, 0, hidden as i64]);
    let scale = g.constant("attention_scale", &[], std::iter::once(1.0 / (dh as f32).sqrt()));
    let masked = g.constant("masked_score", &[], std::iter::once(-1e9));
    let inv_sqrt2 = g.constant("inv_sqrt2", &[], std::iter::once(std::f32::consts::FRAC_1_SQRT_2));
    let half = g.constant("half", &[], std::iter::once(0.5));
    let tiny = g.constant("tiny", &[], std::iter::once(1e-12));

    // Embeddings: token + position (the first L rows) + segment, then LayerNorm.
    let tokens = g.op("Gather", "tokens", &[&word, INPUT_IDS], vec![int_attribute("axis", 0)]);
    let seq_len = g.op("Shape", "seq_len", &[INPUT_IDS], vec![int_attribute("start", 1), int_attribute("end", 2)]);
    let pos = g.op("Slice", "positions", &[&positions, &zero, &seq_len, &zero], vec![]);
    let x = g.op("Add", "tok_pos", &[&tokens, &pos], vec![]);
    let x = g.op("Add", "embedded", &[&x, &segment0], vec![]);
    let mut x = layer_norm(&mut g, w, &x, "embeddings.LayerNorm", hidden, eps)?;

    // The mask as floats [N, L], and as an additive bias on attention scores [N, 1, 1, L]
    // that keeps padding out of every softmax.
    let mask = g.op("Cast", "mask", &[ATTENTION_MASK], vec![int_attribute("to", DataType::Float as i64)]);
    let inverted = g.op("Sub", "mask_inverted", &[&one, &mask], vec![]);
    let bias = g.op("Mul", "mask_bias", &[&inverted, &masked], vec![]);
    let bias = g.op("Unsqueeze", "mask_bias4", &[&bias, &axes_heads_seq], vec![]);

    for layer in 0..layers {
        let p = format!("encoder.layer.{layer}");
        let q = linear(&mut g, w, &x, &format!("{p}.attention.self.query"), hidden, hidden)?;
        let k = linear(&mut g, w, &x, &format!("{p}.attention.self.key"), hidden, hidden)?;
        let v = linear(&mut g, w, &x, &format!("{p}.attention.self.value"), hidden, hidden)?;
        let q = g.op("Reshape", "q_heads", &[&q, &split_heads], vec![]);
        let q = g.op("Transpose", "q_t", &[&q], vec![ints_attribute("perm", &[0, 2, 1, 3])]);
        let k = g.op("Reshape", "k_heads", &[&k, &split_heads], vec![]);
        let k = g.op("Transpose", "k_t", &[&k], vec![ints_attribute("perm", &[0, 2, 3, 1])]);
        let v = g.op("Reshape", "v_heads", &[&v, &split_heads], vec![]);
        let v = g.op("Transpose", "v_t", &[&v], vec![ints_attribute("perm", &[0, 2, 1, 3])]);
        let scores = g.op("MatMul", "scores", &[&q, &k], vec![]);
        let scores = g.op("Mul", "scores_scaled", &[&scores, &scale], vec![]);
        let scores = g.op("Add", "scores_masked", &[&scores, &bias], vec![]);
        let attn = g.op("Softmax", "attention", &[&scores], vec![int_attribute("axis", -1)]);
        let ctx = g.op("MatMul", "context", &[&attn, &v], vec![]);
        let ctx = g.op("Transpose", "context_t", &[&ctx], vec![ints_attribute("perm", &[0, 2, 1, 3])]);
        let ctx = g.op("Reshape", "context_merged", &[&ctx, &merge_heads], vec![]);
        let out = linear(&mut g, w, &ctx, &format!("{p}.attention.output.dense"), hidden, hidden)?;
        let res = g.op("Add", "attention_residual", &[&out, &x], vec![]);
        let x1 = layer_norm(&mut g, w, &res, &format!("{p}.attention.output.LayerNorm"), hidden, eps)?;
        let (inter_dims, _) = w.get(&format!("{p}.intermediate.dense.weight"), None)?;
        let inter = inter_dims.first().copied().unwrap_or(0);
        let h = linear(&mut g, w, &x1, &format!("{p}.intermediate.dense"), hidden, inter)?;
        let h = gelu(&mut g, &h, &inv_sqrt2, &one, &half);
        let out = linear(&mut g, w, &h, &format!("{p}.output.dense"), inter, hidden)?;
        let res = g.op("Add", "ffn_residual", &[&out, &x1], vec![]);
        x = layer_norm(&mut g, w, &res, &format!("{p}.output.LayerNorm"), hidden, eps)?;
    }

    // Mean over the real tokens, then unit length.
    let mask3 = g.op("Unsqueeze", "mask3", &[&mask, &axes_hidden], vec![]);
    let kept = g.op("Mul", "masked_states", &[&x, &mask3], vec![]);
    let summed = g.op("ReduceSum", "summed", &[&kept, &axes_seq], vec![int_attribute("keepdims", 0)]);
    let count = g.op("ReduceSum", "token_count", &[&mask3, &axes_seq], vec![int_attribute("keepdims", 0)]);
    let count = g.op("Max", "token_count_safe", &[&count, &tiny], vec![]);
    let mean = g.op("Div", "mean_pooled", &[&summed, &count], vec![]);
    let norm = g.op("ReduceL2", "norm", &[&mean], vec![ints_attribute("axes", &[1]), int_attribute("keepdims", 1)]);
    let norm = g.op("Max", "norm_safe", &[&norm, &tiny], vec![]);
    g.op_named("Div", EMBEDDINGS_OUTPUT, &[&mean, &norm], vec![]);

    let batch_by_len = [Dim::Symbolic("N"), Dim::Symbolic("L")];
    let graph = GraphProto {
        name: Some("marquee_text_encoder".to_string()),
        node: g.nodes,
        initializer: g.initializers,
        input: vec![int64_value_info(INPUT_IDS, &batch_by_len), int64_value_info(ATTENTION_MASK, &batch_by_len)],
        output: vec![float_value_info(EMBEDDINGS_OUTPUT, &[Dim::Symbolic("N"), Dim::Fixed(hidden)])],
        ..Default::default()
    };
    Ok(encode_model(
        graph,
        "Marquee text encoder: BERT, mean pooling over the attention mask, L2 normalisation",
        &[
            (META_MODEL_KIND, "text_encoder".to_string()),
            (META_TEXT_MODEL, options.name.clone()),
            (META_MAX_TOKENS, options.max_tokens.to_string()),
            (META_VOCAB, vocab.to_string()),
        ],
    ))
}

/// `x W^T + b` for a PyTorch `Linear` (weight `[out, in]`), with W transposed once here.
fn linear(g: &mut GraphBuilder, w: &Weights, x: &str, prefix: &str, inputs: usize, outputs: usize) -> Result<String> {
    let (_, weight) = w.get(&format!("{prefix}.weight"), Some(&[outputs, inputs]))?;
    let (_, bias) = w.get(&format!("{prefix}.bias"), Some(&[outputs]))?;
    let transposed = (0..inputs).flat_map(|i| (0..outputs).map(move |o| weight[o * inputs + i]));
    let wt = g.constant(&format!("{prefix}.weight_t"), &[inputs, outputs], transposed);
    let b = g.constant(&format!("{prefix}.bias"), &[outputs], bias.iter().copied());
    let y = g.op("MatMul", "linear", &[x, &wt], vec![]);
    Ok(g.op("Add", "linear_bias", &[&y, &b], vec![]))
}

fn layer_norm(g: &mut GraphBuilder, w: &Weights, x: &str, prefix: &str, hidden: usize, eps: f32) -> Result<String> {
    let (_, gamma) = w.get(&format!("{prefix}.weight"), Some(&[hidden]))?;
    let (_, beta) = w.get(&format!("{prefix}.bias"), Some(&[hidden]))?;
    let gamma = g.constant(&format!("{prefix}.weight"), &[hidden], gamma.iter().copied());
    let beta = g.constant(&format!("{prefix}.bias"), &[hidden], beta.iter().copied());
    Ok(g.op(
        "LayerNormalization",
        "layer_norm",
        &[x, &gamma, &beta],
        vec![int_attribute("axis", -1), float_attribute("epsilon", eps)],
    ))
}

/// BERT's exact GELU, `0.5 x (1 + erf(x / sqrt 2))` (opset 17 has no Gelu operator).
fn gelu(g: &mut GraphBuilder, x: &str, inv_sqrt2: &str, one: &str, half: &str) -> String {
    let scaled = g.op("Mul", "gelu_scaled", &[x, inv_sqrt2], vec![]);
    let erf = g.op("Erf", "gelu_erf", &[&scaled], vec![]);
    let shifted = g.op("Add", "gelu_shifted", &[&erf, one], vec![]);
    let gated = g.op("Mul", "gelu_gated", &[x, &shifted], vec![]);
    g.op("Mul", "gelu", &[&gated, half], vec![])
}
