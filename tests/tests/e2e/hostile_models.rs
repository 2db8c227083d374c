//! Tenant-uploaded models as untrusted code: a memory or time bomb is refused at upload,
//! a model that explodes only on real inputs fails its own request within seconds with
//! `MODEL_FAILED`, and the server keeps serving everyone.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Dataset, TestServer, error_code};
use crate::on_both_backends;

// The same graphs the inference crate's sandbox tests use.
#[path = "../../../inference/tests/all/hostile.rs"]
#[allow(dead_code)]
mod hostile;

const ITEMS: [&str; 3] = ["h0", "h1", "h2"];
const FAIL_WITHIN: Duration = Duration::from_secs(5);
pub(crate) const RECOMMEND: &str =
    "query($u: String!) { recommendations(userId: $u, first: 3) { strategy items { contentId } } }";

async fn upload(server: &TestServer, key: &str, onnx: Vec<u8>) -> (u16, Value, Duration) {
    let started = Instant::now();
    let (status, body) = server.upload_model(key, "own", &onnx, &ITEMS).await;
    (status, body, started.elapsed())
}

/// The catalog, and each (user, item, event type) as one event.
fn catalog_and_events(events: &[(&str, &str, &str)]) -> Dataset {
    let contents = ITEMS.iter().map(|id| json!({ "id": id, "kind": "MOVIE", "title": format!("Film {id}") })).collect();
    let events = events
        .iter()
        .map(|(user, item, kind)| json!({ "eventId": format!("{user}-{item}-{kind}"), "userId": user, "contentId": item, "type": kind, "occurredAt": "2026-01-01T00:00:00Z" }))
        .collect();
    Dataset { contents, events, ..Dataset::default() }
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

/// Deploys an uploaded model that is harmless on the upload's probe and for user
/// `light` (one VIEW), and runs past its time limit for user `victim` (one PLAY).
pub(crate) async fn deploy_a_model_that_explodes_for_victim(server: &TestServer, key: &str) {
    // A VIEW weighs 1 (like the probe's history), a PLAY 2: the loop runs only then.
    let data = catalog_and_events(&[("light", "h1", "VIEW"), ("victim", "h0", "PLAY")]);
    assert_eq!(server.seed(key, &data).await, 2);
    let (status, body, _) = upload(server, key, hostile::loop_bomb_on_real_history(3, 1_000_000_000)).await;
    assert_eq!(status, 200, "harmless on the probe, so accepted: {body}");
    let model = body["data"]["uploadModel"]["id"].as_str().unwrap().to_owned();
    server.deploy(key, &model, true).await;
}

on_both_backends!(
    a_model_that_explodes_on_real_inputs_fails_only_its_request,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        deploy_a_model_that_explodes_for_victim(server, key).await;

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
        server.seed(&other.api_key, &catalog_and_events(&[])).await;
        let (status, body) = server.gql(Some(&other.api_key), RECOMMEND, json!({ "u": "anyone" })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["recommendations"]["strategy"], "POPULAR_FALLBACK", "{body}");
        let (_, body) = server.gql(Some(key), RECOMMEND, json!({ "u": "light" })).await;
        assert_eq!(body["data"]["recommendations"]["strategy"], "UPLOADED_MODEL", "{body}");
    }
);
