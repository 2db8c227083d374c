//! Cold start on MovieLens 100K (issue #13): 10% of the items held out as new, known by
//! their titles and genres only. Prints, for several blend weights, the whole list's NDCG@10
//! and the warm test items' (collaborative against blended) and the new items' Recall@10
//! (blended against most-popular).
//!
//! cargo run --release -p e2e --example content_cold_start [-- WEIGHT...]

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/e2e/content/cold_start_eval.rs"]
mod cold_start_eval;

fn main() {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let ml_dir = inference::movielens::shared_dataset_dir(manifest, "ml-100k");
    let model_dir = inference::text::locate_text_model();
    if !inference::text::TextEncoderFiles::in_dir(&model_dir).exist() {
        eprintln!("no text model at {} (run `make setup`)", model_dir.display());
        std::process::exit(2);
    }
    let mut weights: Vec<f32> = std::env::args().skip(1).map(|w| w.parse().unwrap()).collect();
    if weights.is_empty() {
        weights = vec![0.5, 0.8, 1.0, 1.2, 1.5];
    }
    let started = std::time::Instant::now();
    let (ml, embeddings) = cold_start_eval::load(&ml_dir, &model_dir, 2);
    println!("embedded {} items in {:.1} s", embeddings.len(), started.elapsed().as_secs_f64());
    let figures = cold_start_eval::evaluate(&ml, &embeddings, &weights, 42);
    cold_start_eval::print(&figures);
    println!("default blend weight: {}", domain::content::DEFAULT_BLEND_WEIGHT);
}
