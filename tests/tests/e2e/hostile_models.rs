//! Tenant-uploaded models as untrusted code: a memory or time bomb is refused at upload,
//! a model that explodes only on real inputs fails its own request within seconds with
//! `MODEL_FAILED`, and the server keeps serving everyone.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{TestServer, error_code};
use crate::on_both_backends;

// The same graphs the inference crate's sandbox tests use.
#[path = "../../../inference/tests/all/hostile.rs"]
#[allow(dead_code)]
mod hostile;

const ITEMS: [&str; 3] = ["h0", "h1", "h2"];
const FAIL_WITHIN: Duration = Duration::from_secs(5);
const UPLOAD: &str = "mutation($i: UploadModelInput!) { uploadModel(input: $i) { id } }";
const RECOMMEND: &str = "query($u: String!) { recommendations(userId: $u, first: 3) { strategy items { contentId } } }";

async fn upload(server: &TestServer, key: &str, onnx: Vec<u8>) -> (u16, Value, Duration) {
    let input = json!({ "name": "own", "onnxBase64": base64::engine::general_purpose::STANDARD.encode(onnx), "itemIds": ITEMS });
    let started = Instant::now();
    let (status, body) = server.gql(Some(key), UPLOAD, json!({ "i": input })).await;
    (status, body, started.elapsed())
}

async fn seed_catalog(server: &TestServer, key: &str) {
    let contents: Vec<Value> =
        ITEMS.iter().map(|id| json!({ "id": id, "kind": "MOVIE", "title": format!("Film {id}") })).collect();
    let (_, body) = server
        .gql(
            Some(key),
            "mutation($c: [ContentInput!]!) { upsertContents(contents: $c) { errors { index message } } }",
            json!({ "c": contents }),
        )
        .await;
    assert_eq!(body["data"]["upsertContents"]["errors"], json!([]), "{body}");
}

async fn record(server: &TestServer, key: &str, user: &str, item: &str, kind: &str) {
    let event = json!({ "eventId": format!("{user}-{item}-{kind}"), "userId": user, "contentId": item, "type": kind, "occurredAt": "2026-01-01T00:00:00Z" });
    let (_, body) = server
        .gql(
            Some(key),
            "mutation($e: [InteractionInput!]!) { recordInteractions(events: $e) { accepted } }",
            json!({ "e": [event] }),
        )
        .await;
    assert_eq!(body["data"]["recordInteractions"]["accepted"], 1, "{body}");
}

on_both_backends!(memory_and_time_bombs_are_refused_at_upload, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    for (name, onnx) in
        [("expand", hostile::expand_bomb(3, 100_000_000)), ("loop", hostile::loop_bomb(3, 1_000_000_000))]
    {
        let (status, body, took) = upload(server, key, onnx).await;
        assert!(took < FAIL_WITHIN, "{name}: the upload took {took:?}");
        assert_eq!((status, error_code(&body).as_str()), (400, "INVALID_INPUT"), "{name}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains("probe"), "{name}: the reason is given: {message}");
    }
    let (_, body) = server.gql(Some(key), "{ models(first: 10) { edges { node { id } } } }", json!({})).await;
    assert_eq!(body["data"]["models"]["edges"], json!([]), "nothing was stored: {body}");
});

on_both_backends!(
    a_model_that_explodes_on_real_inputs_fails_only_its_request,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        seed_catalog(server, key).await;
        // A VIEW weighs 1 (like the probe's history), a PLAY 2: the loop runs only then.
        record(server, key, "light", "h1", "VIEW").await;
        record(server, key, "victim", "h0", "PLAY").await;
        let (status, body, _) = upload(server, key, hostile::loop_bomb_on_real_history(3, 1_000_000_000)).await;
        assert_eq!(status, 200, "harmless on the probe, so accepted: {body}");
        let model = body["data"]["uploadModel"]["id"].as_str().unwrap().to_owned();
        let (_, body) = server
            .gql(
                Some(key),
                "mutation($id: ID!) { deployModel(id: $id, allowWorse: true) { id } }",
                json!({ "id": model }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");

        let (_, body) = server.gql(Some(key), RECOMMEND, json!({ "u": "light" })).await;
        assert_eq!(body["data"]["recommendations"]["strategy"], "UPLOADED_MODEL", "{body}");

        let started = Instant::now();
        let (_, body) = server.gql(Some(key), RECOMMEND, json!({ "u": "victim" })).await;
        let took = started.elapsed();
        assert!(took < FAIL_WITHIN, "the request took {took:?}");
        assert_eq!(error_code(&body), "MODEL_FAILED", "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("did not finish within"), "{message}");

        // The server is healthy: another tenant is served, and so is this one's next request.
        let other = server.new_tenant().await;
        seed_catalog(server, &other.api_key).await;
        let (status, body) = server.gql(Some(&other.api_key), RECOMMEND, json!({ "u": "anyone" })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["recommendations"]["strategy"], "POPULAR_FALLBACK", "{body}");
        let (_, body) = server.gql(Some(key), RECOMMEND, json!({ "u": "light" })).await;
        assert_eq!(body["data"]["recommendations"]["strategy"], "UPLOADED_MODEL", "{body}");
    }
);
