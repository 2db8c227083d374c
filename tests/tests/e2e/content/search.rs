//! `searchContent` on the labelled catalog: the real model finds targets by meaning
//! (MRR@10 ≥ 0.7, at least 0.3 above keyword search), the tiny random model does not,
//! and keyword search puts exact titles first on every backend.

use serde_json::json;

use super::labelled::{CATALOG, QUERIES, mrr_at_10};
use super::{SEARCH, embedded, labelled_catalog, real_server, search_ids, tiny_server};
use crate::helpers::{Backend, TestServer, error_code};
use crate::on_both_backends;

/// MRR@10 of SEMANTIC and KEYWORD over the labelled queries, on a fresh tenant.
async fn mrr(server: &TestServer) -> (f64, f64) {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    let r = server.upsert_contents(key, labelled_catalog()).await;
    assert_eq!(r["errors"], json!([]), "{r}");
    let status = embedded(server, key).await;
    assert_eq!(status["embedded"].as_u64(), Some(CATALOG.len() as u64), "{status}");
    let mut semantic = Vec::new();
    let mut keyword = Vec::new();
    for (query, _) in QUERIES {
        semantic.push(search_ids(server, key, query, "SEMANTIC").await);
        keyword.push(search_ids(server, key, query, "KEYWORD").await);
    }
    (mrr_at_10(&semantic), mrr_at_10(&keyword))
}

async fn the_real_model_finds_items_by_meaning(backend: Backend) {
    let Some(server) = real_server(backend) else { return };
    let (semantic, keyword) = mrr(server).await;
    println!("{backend:?}: MRR@10 SEMANTIC {semantic:.3}, KEYWORD {keyword:.3} ({} queries)", QUERIES.len());
    assert!(semantic >= 0.7, "SEMANTIC MRR@10 {semantic:.3} < 0.7");
    assert!(semantic - keyword >= 0.3, "SEMANTIC {semantic:.3} is not 0.3 above KEYWORD {keyword:.3}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_model_finds_items_by_meaning_sqlite() {
    the_real_model_finds_items_by_meaning(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_model_finds_items_by_meaning_postgres() {
    the_real_model_finds_items_by_meaning(Backend::Postgres).await;
}

/// The same test with random weights fails: the figure measures the model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_random_model_does_not_find_them() {
    let server = tiny_server(Backend::Sqlite).expect("sqlite");
    let (semantic, keyword) = mrr(server).await;
    println!("tiny random model: MRR@10 SEMANTIC {semantic:.3}, KEYWORD {keyword:.3}");
    assert!(semantic < 0.7 || semantic - keyword < 0.3, "a random model passed: {semantic:.3} vs {keyword:.3}");
}

on_both_backends!(keyword_search_finds_exact_titles_first_and_says_why, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    server.upsert_contents(key, labelled_catalog()).await;
    // Titles whose words other items share ("The", "Iron", "Night", "Kids"...).
    for (id, title) in
        [("m39", "The Iron Chancellor"), ("m59", "Night Shift"), ("m55", "Cyber Kids"), ("m50", "Lunar Base One")]
    {
        let ids = super::search_ids(server, key, title, "KEYWORD").await;
        assert_eq!(ids.first().map(String::as_str), Some(id), "{title}: {ids:?}");
    }
    let data = server.ok(key, SEARCH, json!({ "q": "submarine saboteur", "mode": "KEYWORD", "first": 5 })).await;
    let hit = &data["searchContent"][0];
    assert_eq!(hit["content"]["id"], "m03", "{data}");
    assert_eq!(hit["keyword"]["fields"], json!(["description"]), "{hit}");
    assert_eq!(hit["keyword"]["terms"], json!(["submarine", "saboteur"]), "{hit}");
    let snippet = hit["keyword"]["snippet"].as_str().unwrap();
    // The snippet is a fragment around the first matches; `terms` names them all.
    assert!(snippet.contains("[submarine]") && snippet.contains("crew"), "{snippet}");
    assert!(hit["semantic"].is_null());
    // Stemming: "thieves planning" finds "thieves plans".
    let ids = super::search_ids(server, key, "planning heists", "KEYWORD").await;
    assert_eq!(ids.first().map(String::as_str), Some("m06"), "{ids:?}");
    // Query syntax of the index is not interpreted: quotes, operators and stars are words.
    let ids = super::search_ids(server, key, "\"bank\" OR NEAR(* -", "KEYWORD").await;
    assert_eq!(ids.first().map(String::as_str), Some("m06"), "{ids:?}");
    // Deleted items leave keyword results at once.
    server.ok(key, "mutation { deleteContents(ids: [\"m06\"]) { deleted } }", json!({})).await;
    assert!(!super::search_ids(server, key, "bank heist", "KEYWORD").await.contains(&"m06".to_owned()));
    // Without a text model the shared servers answer semantic modes with MODEL_NOT_READY.
    for mode in ["SEMANTIC", "HYBRID"] {
        let (_, body) = server.gql(Some(key), SEARCH, json!({ "q": "robots", "mode": mode, "first": 5 })).await;
        assert_eq!(error_code(&body), "MODEL_NOT_READY", "{body}");
    }
    let (_, body) = server.gql(Some(key), SEARCH, json!({ "q": "  ", "mode": "KEYWORD", "first": 5 })).await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
});
