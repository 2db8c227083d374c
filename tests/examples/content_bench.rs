//! Semantic search latency (issue #13): exact top-10 over a tenant's matrix of 10,000 and
//! 100,000 unit vectors of 384 dimensions (random; latency does not depend on the
//! values), as `searchContent(mode: SEMANTIC)` runs it after embedding the query; and,
//! when the text model is installed, the time to embed one query.
//!
//! cargo run --release -p e2e --example content_bench

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use domain::content::SemanticIndex;
use inference::rng::SplitMix64;

const DIMS: usize = 384;
const QUERIES: usize = 200;

fn unit_vector(rng: &mut SplitMix64) -> Vec<f32> {
    let mut v: Vec<f32> = (0..DIMS).map(|_| rng.next_f32() - 0.5).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let mut rng = SplitMix64::new(7);
    for n in [10_000, 100_000] {
        let vectors: Vec<Vec<f32>> = (0..n).map(|_| unit_vector(&mut rng)).collect();
        let index = SemanticIndex::from_vectors("bench", DIMS, vectors);
        let queries: Vec<Vec<f32>> = (0..QUERIES).map(|_| unit_vector(&mut rng)).collect();
        let mut times = Vec::with_capacity(QUERIES);
        for q in &queries {
            let started = Instant::now();
            let top = index.top_k(q, 10, |_| true);
            times.push(started.elapsed());
            assert_eq!(top.len(), 10);
        }
        times.sort();
        println!(
            "semantic top-10 over {n:>7} items x {DIMS} dims: p50 {:>7.2} ms  p99 {:>7.2} ms  ({} MB of vectors)",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
            n * DIMS * 4 / 1_000_000
        );
    }
    let model_dir = inference::text::locate_text_model();
    let files = inference::text::TextEncoderFiles::in_dir(&model_dir);
    if !files.exist() {
        println!("no text model at {}: query embedding not measured", model_dir.display());
        return;
    }
    let ort = std::env::var_os("ORT_DYLIB_PATH").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/onnxruntime/libonnxruntime.so.1.31.1")
    });
    inference::runtime::OrtRuntime::init(&ort).expect("ONNX Runtime");
    let encoder = inference::text::TextEncoder::load(&files, 1).expect("text model");
    let queries =
        ["space adventure with robots", "a heist in a swiss bank", "love story in paris", "documentary about wolves"];
    encoder.embed(&queries[..1]).unwrap();
    let mut times = Vec::new();
    for _ in 0..50 {
        for q in queries {
            let started = Instant::now();
            encoder.embed(&[q]).unwrap();
            times.push(started.elapsed());
        }
    }
    times.sort();
    println!(
        "embedding one query (1 thread): p50 {:.2} ms  p99 {:.2} ms",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3
    );
}
