//! The sentence-embedding encoder: a tiny random BERT built through the real path (shapes,
//! normalisation, padding invariance, errors), and the real all-MiniLM-L6-v2 checked
//! against an independent NumPy forward pass (`inference/tests/bert_reference.py`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use inference::InferenceError;
use inference::text::{
    BertOptions, TextEncoder, TextEncoderFiles, build_text_model, build_tiny_bert, locate_text_model,
};

use crate::common::runtime;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A fresh folder for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("marquee-text-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (norm(a) * norm(b))
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn tiny(name: &str, seed: u64) -> Option<(Scratch, TextEncoder)> {
    runtime()?;
    let dir = Scratch::new(name);
    let files = build_tiny_bert(&dir.0, seed).unwrap();
    let encoder = TextEncoder::load(&files, 1).unwrap();
    Some((dir, encoder))
}

const TEXTS: [&str; 4] = [
    "A robot crosses the galaxy to find its home.",
    "Dark crime drama: a detective hunts a murderer through the city at night.",
    "comedy",
    "",
];

#[test]
fn tiny_bert_gives_one_unit_vector_per_text() {
    let Some((_dir, enc)) = tiny("unit", 7) else { return };
    assert_eq!(enc.dims(), 32);
    assert_eq!(enc.max_tokens(), 64);
    assert!(enc.model_key().starts_with("tiny-bert-7@"), "{}", enc.model_key());
    let out = enc.embed(&TEXTS).unwrap();
    assert_eq!(out.len(), TEXTS.len());
    for v in &out {
        assert_eq!(v.len(), 32);
        assert!(v.iter().all(|x| x.is_finite()));
        assert!((norm(v) - 1.0).abs() < 1e-5, "norm {}", norm(v));
    }
    for i in 0..out.len() {
        for j in i + 1..out.len() {
            assert!(max_abs_diff(&out[i], &out[j]) > 1e-3, "texts {i} and {j} embed alike");
        }
    }
    assert!(enc.embed(&[]).unwrap().is_empty());
}

#[test]
fn a_text_embeds_the_same_alone_and_in_a_padded_batch() {
    let Some((_dir, enc)) = tiny("padding", 11) else { return };
    let short = "space ship";
    let alone = enc.embed(&[short]).unwrap().remove(0);
    let long = "an old king and his young queen journey from their home across a dark world of war and music";
    let batch = enc.embed(&[long, short, TEXTS[1], "x"]).unwrap();
    assert!(max_abs_diff(&alone, &batch[1]) < 1e-5, "diff {}", max_abs_diff(&alone, &batch[1]));
    // Order in the call does not matter either.
    let reversed = enc.embed(&["x", TEXTS[1], short, long]).unwrap();
    assert!(max_abs_diff(&batch[0], &reversed[3]) < 1e-5);
    // Many rows of mixed lengths (several internal runs) agree with one-by-one.
    let many: Vec<String> = (0..150).map(|i| format!("{} {}", "film ".repeat(i % 40), i)).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let together = enc.embed(&refs).unwrap();
    for i in [0, 39, 77, 149] {
        let single = enc.embed(&[refs[i]]).unwrap().remove(0);
        assert!(max_abs_diff(&single, &together[i]) < 1e-5, "row {i}");
    }
}

#[test]
fn long_texts_are_truncated_to_max_tokens() {
    let Some((_dir, enc)) = tiny("truncate", 3) else { return };
    let long = "the film ".repeat(100);
    let ids = enc.token_ids(&long).unwrap();
    assert_eq!(ids.len(), 64);
    let longer = format!("{long} and then a robot");
    // Both are cut before their difference.
    let out = enc.embed(&[&long, &longer]).unwrap();
    assert!(max_abs_diff(&out[0], &out[1]) < 1e-6);
}

#[test]
fn the_model_key_names_the_model_and_its_file() {
    let Some((_a, one)) = tiny("key-a", 5) else { return };
    let Some((_b, same)) = tiny("key-b", 5) else { return };
    let Some((_c, other)) = tiny("key-c", 6) else { return };
    assert_eq!(one.model_key(), same.model_key(), "the build is deterministic");
    assert_ne!(one.model_key(), other.model_key());
    assert_eq!(one.embed(&[TEXTS[0]]).unwrap(), same.embed(&[TEXTS[0]]).unwrap());
}

#[test]
fn bad_model_files_are_refused_with_a_reason() {
    if runtime().is_none() {
        return;
    }
    let dir = Scratch::new("bad");
    let files = build_tiny_bert(&dir.0, 1).unwrap();
    let weights = dir.0.join("weights.safetensors");
    let tokenizer = dir.0.join("vocab-tokenizer.json");

    let missing = TextEncoderFiles::in_dir(&dir.0.join("nowhere"));
    assert!(matches!(TextEncoder::load(&missing, 1), Err(InferenceError::Io { .. })));

    // 5 heads do not divide 32 dimensions.
    let options = BertOptions { name: "x".into(), heads: 5, layer_norm_eps: 1e-12, max_tokens: 64 };
    let err = build_text_model(&weights, &tokenizer, &dir.0.join("out"), &options).unwrap_err();
    assert!(matches!(err, InferenceError::InvalidParameter { name: "heads", .. }), "{err}");
    // More tokens than the model has positions.
    let options = BertOptions { heads: 4, max_tokens: 65, ..options };
    let err = build_text_model(&weights, &tokenizer, &dir.0.join("out"), &options).unwrap_err();
    assert!(matches!(err, InferenceError::InvalidParameter { name: "max_tokens", .. }), "{err}");
    // Not a checkpoint; not a tokenizer.
    let options = BertOptions { max_tokens: 64, ..options };
    let err = build_text_model(&tokenizer, &tokenizer, &dir.0.join("out"), &options).unwrap_err();
    assert!(matches!(err, InferenceError::TextModel { .. }), "{err}");
    let err = build_text_model(&weights, &weights, &dir.0.join("out"), &options).unwrap_err();
    assert!(matches!(err, InferenceError::TextModel { .. }), "{err}");
    assert!(!dir.0.join("out").join("model.onnx").exists());

    // An ONNX file that is not a text model.
    let other = dir.0.join("als.onnx");
    let als = inference::onnx::export_factor_model(ndarray::Array2::<f32>::ones((3, 2)).view(), "als").unwrap();
    std::fs::write(&other, als).unwrap();
    let err = TextEncoder::load(&TextEncoderFiles { onnx: other, tokenizer: files.tokenizer.clone() }, 1).unwrap_err();
    assert!(matches!(err, InferenceError::TextModel { .. }), "{err}");
    assert!(err.to_string().contains("not a Marquee text model"), "{err}");
}

/// `python3` that can import NumPy: the one setup installed beside the model, or the
/// system's. `None` when there is none (outside CI only).
fn numpy_python(model_dir: &Path) -> Option<(String, Option<PathBuf>)> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let beside = model_dir.join("py");
    for path in [Some(beside), None] {
        let mut cmd = Command::new(&python);
        cmd.args(["-c", "import numpy"]).stdout(Stdio::null()).stderr(Stdio::null());
        if let Some(p) = &path {
            cmd.env("PYTHONPATH", p);
        }
        if cmd.status().is_ok_and(|s| s.success()) {
            return Some((python, path));
        }
    }
    assert!(!in_ci(), "CI=true but no python3 with NumPy (scripts/setup-text-model.sh installs it)");
    eprintln!("SKIPPED: no python3 with NumPy for the reference forward pass (run scripts/setup-text-model.sh)");
    None
}

/// Embeddings of `texts` by the NumPy reference, one text at a time and without padding.
fn reference(python: &(String, Option<PathBuf>), weights: &Path, heads: usize, ids: &[Vec<u32>]) -> Vec<Vec<f32>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("bert_reference.py");
    let mut cmd = Command::new(&python.0);
    cmd.arg(script).arg(weights).arg(heads.to_string()).arg("1e-12");
    if let Some(p) = &python.1 {
        cmd.env("PYTHONPATH", p);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let input = serde_json::to_vec(ids).unwrap();
    {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(&input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the reference failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn tiny_bert_matches_the_numpy_reference() {
    if runtime().is_none() {
        return;
    }
    let dir = Scratch::new("tiny-ref");
    let files = build_tiny_bert(&dir.0, 9).unwrap();
    let Some(python) = numpy_python(&locate_text_model()) else { return };
    let enc = TextEncoder::load(&files, 1).unwrap();
    let ids: Vec<Vec<u32>> = TEXTS.iter().map(|t| enc.token_ids(t).unwrap()).collect();
    let expected = reference(&python, &dir.0.join("weights.safetensors"), 4, &ids);
    let got = enc.embed(&TEXTS).unwrap();
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert!(cosine(g, e) >= 0.9999, "text {i}: cosine {}", cosine(g, e));
    }
}

/// The real all-MiniLM-L6-v2 that `scripts/setup-text-model.sh` builds, or `None` (with a
/// message) outside CI when it is not built. Under CI=true its absence fails the test.
fn real_model() -> Option<(PathBuf, TextEncoder)> {
    runtime()?;
    let dir = locate_text_model();
    let files = TextEncoderFiles::in_dir(&dir);
    if !files.exist() || !dir.join("source").join("model.safetensors").is_file() {
        assert!(!in_ci(), "CI=true but the text model is not built in {}", dir.display());
        eprintln!("SKIPPED: no text model in {} (run scripts/setup-text-model.sh)", dir.display());
        return None;
    }
    Some((dir, TextEncoder::load(&files, 2).unwrap()))
}

#[test]
fn minilm_matches_an_independent_numpy_forward_pass() {
    // The real model takes a few hundred megabytes while it loads and runs: the tests
    // that measure this process's resident memory must not see them (one of them failed
    // under CI when this test overlapped it).
    let _memory = crate::common::resident_memory_lock();
    let Some((dir, enc)) = real_model() else { return };
    let Some(python) = numpy_python(&dir) else { return };
    assert_eq!(enc.dims(), 384);
    assert_eq!(enc.max_tokens(), 256);
    assert!(enc.model_key().starts_with("all-MiniLM-L6-v2@"), "{}", enc.model_key());
    // BERT's uncased WordPiece vocabulary: [CLS] hello world [SEP].
    assert_eq!(enc.token_ids("Hello, World").unwrap(), vec![101, 7592, 1010, 2088, 102]);
    let texts = [
        "An android crosses the galaxy to find the engineer who built it.",
        "space adventure with robots",
        "A romantic comedy set in a Parisian bakery.",
        "Die Hard",
        "Two detectives hunt a serial killer through a rain-soaked city; each murder mirrors one of the seven deadly sins.",
        "",
    ];
    let ids: Vec<Vec<u32>> = texts.iter().map(|t| enc.token_ids(t).unwrap()).collect();
    let expected = reference(&python, &dir.join("source").join("model.safetensors"), 12, &ids);
    let got = enc.embed(&texts).unwrap();
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        let c = cosine(g, e);
        eprintln!("text {i}: cosine to the NumPy reference {c:.6}");
        assert!(c >= 0.999, "text {i}: cosine {c}");
        assert!((norm(g) - 1.0).abs() < 1e-4);
    }
    // And the model means something: the query is nearer the android film than the comedy.
    let (near, far) = (cosine(&got[1], &got[0]), cosine(&got[1], &got[2]));
    eprintln!("query to the android film {near:.3}, to the comedy {far:.3}");
    assert!(near > far, "{near} <= {far}");
}
