//! A tiny BERT with random weights, built through the same path as the real model, so
//! fast tests exercise the graph builder, the tokenizer and the encoder without the
//! 90 MB checkpoint.

use std::path::Path;

use safetensors::{Dtype, tensor::TensorView};

use super::TextEncoderFiles;
use super::bert::{BertOptions, build_text_model};
use crate::error::{InferenceError, Result};
use crate::rng::SplitMix64;

const HIDDEN: usize = 32;
const HEADS: usize = 4;
const LAYERS: usize = 2;
const INTERMEDIATE: usize = 64;
const POSITIONS: usize = 64;
const SPECIAL: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
/// Whole words of the tiny vocabulary; anything else is spelled out in letter pieces.
const WORDS: &str = "the a an of and in on with to for is are was by from at as it its his her their \
    film movie story man woman boy girl family friends love war space ship robot alien planet galaxy \
    crime detective murder city night dark comedy drama horror music dance school journey home king \
    queen world life death new old young first last great little big small red blue black white";

/// Writes `dir/weights.safetensors`, `dir/vocab-tokenizer.json` and the built model
/// (`dir/model.onnx`, `dir/tokenizer.json`): 2 layers, 4 heads, 32 dimensions, 64 tokens,
/// random weights from `seed`.
pub fn build_tiny_bert(dir: &Path, seed: u64) -> Result<TextEncoderFiles> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InferenceError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let vocab = vocabulary();
    let tokenizer = dir.join("vocab-tokenizer.json");
    std::fs::write(&tokenizer, tokenizer_json(&vocab)).map_err(io(&tokenizer))?;

    let mut rng = SplitMix64::new(seed);
    let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, scale: f32, centre: f32| {
        let n = shape.iter().product();
        let values = (0..n).map(|_| centre + scale * (2.0 * rng.next_f32() - 1.0)).collect();
        tensors.push((name, shape, values));
    };
    add("embeddings.word_embeddings.weight".into(), vec![vocab.len(), HIDDEN], 1.0, 0.0);
    add("embeddings.position_embeddings.weight".into(), vec![POSITIONS, HIDDEN], 0.3, 0.0);
    add("embeddings.token_type_embeddings.weight".into(), vec![2, HIDDEN], 0.3, 0.0);
    layer_norm(&mut add, "embeddings.LayerNorm");
    for layer in 0..LAYERS {
        let p = format!("encoder.layer.{layer}");
        linear(&mut add, &format!("{p}.attention.self.query"), HIDDEN, HIDDEN);
        linear(&mut add, &format!("{p}.attention.self.key"), HIDDEN, HIDDEN);
        linear(&mut add, &format!("{p}.attention.self.value"), HIDDEN, HIDDEN);
        linear(&mut add, &format!("{p}.attention.output.dense"), HIDDEN, HIDDEN);
        linear(&mut add, &format!("{p}.intermediate.dense"), HIDDEN, INTERMEDIATE);
        linear(&mut add, &format!("{p}.output.dense"), INTERMEDIATE, HIDDEN);
        layer_norm(&mut add, &format!("{p}.attention.output.LayerNorm"));
        layer_norm(&mut add, &format!("{p}.output.LayerNorm"));
    }

    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, shape, values)| (name, shape, values.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|view| (name.clone(), view))
                .map_err(|e| InferenceError::TextModel { reason: format!("tensor `{name}`: {e}") })
        })
        .collect::<Result<Vec<_>>>()?;
    let weights = dir.join("weights.safetensors");
    safetensors::serialize_to_file(views, None, &weights)
        .map_err(|e| InferenceError::TextModel { reason: format!("cannot write {}: {e}", weights.display()) })?;

    let options =
        BertOptions { name: format!("tiny-bert-{seed}"), heads: HEADS, layer_norm_eps: 1e-12, max_tokens: POSITIONS };
    build_text_model(&weights, &tokenizer, dir, &options)
}

/// Adds a random tensor: name, shape, half-width of the uniform draw, centre.
type AddTensor<'a> = dyn FnMut(String, Vec<usize>, f32, f32) + 'a;

fn layer_norm(add: &mut AddTensor<'_>, prefix: &str) {
    add(format!("{prefix}.weight"), vec![HIDDEN], 0.1, 1.0);
    add(format!("{prefix}.bias"), vec![HIDDEN], 0.1, 0.0);
}

fn linear(add: &mut AddTensor<'_>, prefix: &str, inputs: usize, outputs: usize) {
    // Uniform with the variance of a 1/sqrt(inputs) normal initialisation.
    let scale = (3.0 / inputs as f32).sqrt();
    add(format!("{prefix}.weight"), vec![outputs, inputs], scale, 0.0);
    add(format!("{prefix}.bias"), vec![outputs], 0.1, 0.0);
}

/// Special tokens first (as BERT vocabularies have them), whole words, then single
/// characters and their `##` continuations so that every ASCII word can be spelled.
fn vocabulary() -> Vec<String> {
    let mut vocab: Vec<String> = SPECIAL.iter().map(|s| s.to_string()).collect();
    vocab.extend(WORDS.split_whitespace().map(str::to_string));
    let chars = ('a'..='z').chain('0'..='9');
    vocab.extend(chars.clone().map(String::from));
    vocab.extend(chars.map(|c| format!("##{c}")));
    vocab.extend(".,;:!?'\"()-&/".chars().map(String::from));
    let mut seen = std::collections::HashSet::new();
    vocab.retain(|t| seen.insert(t.clone()));
    vocab
}

/// A `tokenizer.json` of the same kind as BERT's (uncased WordPiece, [CLS] x [SEP]).
fn tokenizer_json(vocab: &[String]) -> String {
    let id = |t: &str| vocab.iter().position(|v| v == t).unwrap_or(0);
    let added: Vec<serde_json::Value> = SPECIAL
        .iter()
        .map(|t| {
            serde_json::json!({"id": id(t), "content": t, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let vocab_map: serde_json::Map<String, serde_json::Value> =
        vocab.iter().enumerate().map(|(i, t)| (t.clone(), serde_json::json!(i))).collect();
    let special = |t: &str| serde_json::json!({"SpecialToken": {"id": t, "type_id": 0}});
    serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
            "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("[CLS]"), {"Sequence": {"id": "A", "type_id": 0}}, special("[SEP]")],
            "pair": [special("[CLS]"), {"Sequence": {"id": "A", "type_id": 0}}, special("[SEP]"),
                {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [id("[CLS]")], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [id("[SEP]")], "tokens": ["[SEP]"]}
            }
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": vocab_map}
    })
    .to_string()
}
