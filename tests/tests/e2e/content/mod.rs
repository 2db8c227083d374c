//! Content analysis (issue #13): the embedding pipeline, search, tag suggestions,
//! insights, and their tenant isolation. Servers with a text model are dedicated ones:
//! one with the tiny random-weight model (built here, fast), one with the real model
//! (built by `make setup`; tests that need it skip without it, and fail under CI=true).

mod cold_start;
mod cold_start_eval;
mod insights;
mod isolation;
mod labelled;
mod new_items;
mod pipeline;
mod search;
mod tag_suggestions;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Backend, TestServer, dedicated_server};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A tiny BERT with random weights, built once per run.
fn tiny_model_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("marquee-e2e-tiny-bert-{}", std::process::id()));
        inference::text::build_tiny_bert(&dir, 7).expect("build the tiny text model");
        dir
    })
    .clone()
}

/// The real text model's folder, `None` when it is not installed (a failure under CI).
fn real_model_dir() -> Option<PathBuf> {
    let dir = inference::text::locate_text_model();
    if inference::text::TextEncoderFiles::in_dir(&dir).exist() {
        return Some(dir);
    }
    assert!(!in_ci(), "the text model is required under CI: run `make setup` ({} is missing)", dir.display());
    eprintln!("SKIPPED: no text model at {} (run `make setup`)", dir.display());
    None
}

fn with_text_model(dir: PathBuf) -> crate::helpers::Configure {
    Box::new(move |s: &mut api::config::Settings| {
        s.content.text_model = true;
        s.content.model_dir = dir.display().to_string();
        s.content.min_group_size = 3;
    })
}

/// A server per backend with the tiny model, shared by this module's tests.
pub fn tiny_server(backend: Backend) -> Option<&'static TestServer> {
    static SQLITE: OnceLock<Option<&'static TestServer>> = OnceLock::new();
    static POSTGRES: OnceLock<Option<&'static TestServer>> = OnceLock::new();
    let cell = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    *cell.get_or_init(|| dedicated_server(backend, with_text_model(tiny_model_dir())))
}

/// A server per backend with the real model; `None` without one (or without PostgreSQL).
pub fn real_server(backend: Backend) -> Option<&'static TestServer> {
    static SQLITE: OnceLock<Option<&'static TestServer>> = OnceLock::new();
    static POSTGRES: OnceLock<Option<&'static TestServer>> = OnceLock::new();
    let cell = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    *cell.get_or_init(|| dedicated_server(backend, with_text_model(real_model_dir()?)))
}

/// Runs the body on the tiny-model server of each backend.
#[macro_export]
macro_rules! on_tiny_model_servers {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = $crate::content::tiny_server($crate::helpers::Backend::Sqlite).expect("sqlite");
                ($body)(server).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(server) = $crate::content::tiny_server($crate::helpers::Backend::Postgres) {
                    ($body)(server).await;
                }
            }
        }
    };
}

pub const STATUS: &str = "{ contentEmbeddingStatus { modelKey pending embedded failed } }";

/// Waits until the tenant's catalog is embedded; returns the final status.
pub async fn embedded(server: &TestServer, key: &str) -> Value {
    let start = Instant::now();
    loop {
        let status = server.ok(key, STATUS, json!({})).await["contentEmbeddingStatus"].clone();
        if status["pending"] == 0 {
            return status;
        }
        assert!(start.elapsed() < Duration::from_secs(180), "embedding did not finish: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The labelled catalog as `upsertContents` rows.
pub fn labelled_catalog() -> Value {
    Value::Array(
        labelled::CATALOG
            .iter()
            .map(|(id, title, genres, description)| {
                json!({ "id": id, "kind": "MOVIE", "title": title, "genres": genres, "description": description })
            })
            .collect(),
    )
}

pub const SEARCH: &str = "query($q: String!, $mode: SearchMode!, $first: Int!) {
    searchContent(query: $q, mode: $mode, first: $first) {
        rank score content { id title }
        keyword { rank score fields terms snippet }
        semantic { rank cosine }
    } }";

/// The ids `searchContent` returns, best first.
pub async fn search_ids(server: &TestServer, key: &str, query: &str, mode: &str) -> Vec<String> {
    let data = server.ok(key, SEARCH, json!({ "q": query, "mode": mode, "first": 10 })).await;
    data["searchContent"].as_array().unwrap().iter().map(|h| h["content"]["id"].as_str().unwrap().to_owned()).collect()
}
