//! Explanations: exact ALS decompositions, consistent with what is served, changing
//! with the history, and honest about fallbacks and unranked items.

use serde_json::{Value, json};

use crate::helpers::{TestServer, error_code, two_clusters};
use crate::on_both_backends;

const EXPLAIN: &str = "query($u: String!, $c: String!) { explainRecommendation(userId: $u, contentId: $c) { strategy score contributionsTotal rank summary fallbackReason contributions { contentId contribution share } contentReasons { kind value sharedWith } } }";

async fn explain(server: &TestServer, key: &str, user: &str, content: &str) -> Value {
    server.ok(key, EXPLAIN, json!({ "u": user, "c": content })).await["explainRecommendation"].clone()
}

/// Records events, none of which may be refused.
async fn record(server: &TestServer, key: &str, events: Vec<Value>) {
    let r = server.record(key, json!(events)).await;
    assert_eq!(r["errors"], json!([]), "{r}");
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-6)
}

on_both_backends!(explanations_decompose_the_served_scores, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    server.seed(key, &two_clusters()).await;
    let model = server.train(key, json!({ "algorithm": "ALS", "parameters": { "factors": 8, "regularization": 0.1, "alpha": 10.0, "iterations": 10 } })).await.model;
    server.deploy(key, &model, false).await;

    // Without history the answer is a fallback, and says why.
    let e = explain(server, key, "stranger", "c1").await;
    assert_eq!(e["strategy"], "POPULAR_FALLBACK", "{e}");
    assert!(e["fallbackReason"].as_str().unwrap().contains("no history"), "{e}");

    // A trained user: contributions add up to the explained score of their top item.
    let top = server.recommend(key, "a0", json!(null)).await["items"][0]["contentId"].as_str().unwrap().to_owned();
    let e = explain(server, key, "a0", &top).await;
    assert_eq!(e["rank"], 1, "{e}");
    assert_eq!(e["strategy"], "PERSONALIZED", "{e}");
    let (score, total) = (e["score"].as_f64().unwrap(), e["contributionsTotal"].as_f64().unwrap());
    assert!(score > 0.0 && close(score, total, 1e-4), "score {score} vs total {total}: {e}");
    assert!(!e["contributions"].as_array().unwrap().is_empty());
    assert!(e["summary"].as_str().unwrap().contains("because you watched"), "{e}");
    assert!(
        e["contentReasons"].as_array().unwrap().iter().any(|r| r["kind"] == "GENRE" && r["value"] == "Action"),
        "{e}"
    );

    let low = explain(server, key, "a0", "c25").await;
    assert!(close(low["score"].as_f64().unwrap(), low["contributionsTotal"].as_f64().unwrap(), 1e-4), "{low}");

    // An item the user has seen is not in their list: the explanation says so.
    let seen = explain(server, key, "a0", "c0").await;
    assert!(seen["rank"].is_null(), "{seen}");
    assert!(seen["summary"].as_str().unwrap().contains("not in your current list"), "{seen}");

    // A fold-in user: the explanation scores exactly what was served, and its top
    // contributor follows the history.
    record(server, key, vec![json!({ "eventId": "f-1", "userId": "fresh", "contentId": "c20", "type": "LIKE" })]).await;
    let (_, body) = server
        .gql(Some(key), "{ recommendations(userId: \"fresh\", first: 3, explain: true) { strategy items { contentId rank score explanation { score rank contributionsTotal summary contributions { contentId } } } } }", json!({}))
        .await;
    let list = &body["data"]["recommendations"];
    assert_eq!(list["strategy"], "FOLD_IN", "{body}");
    for item in list["items"].as_array().unwrap() {
        let x = &item["explanation"];
        assert_eq!(x["rank"], item["rank"], "{item}");
        assert!(
            close(x["score"].as_f64().unwrap(), item["score"].as_f64().unwrap(), 1e-3),
            "served {} explained {}",
            item["score"],
            x["score"]
        );
        assert!(close(x["score"].as_f64().unwrap(), x["contributionsTotal"].as_f64().unwrap(), 1e-4), "{x}");
        assert_eq!(x["contributions"][0]["contentId"], "c20", "the only history item drives it: {x}");
    }
    // Take an item close to c27 (not yet in the history): c20 drives it now, c27 will.
    let (_, similar) = server
        .gql(Some(key), "{ similarContent(contentId: \"c27\", first: 5) { items { contentId } } }", json!({}))
        .await;
    let target = similar["data"]["similarContent"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["contentId"].as_str().unwrap().to_owned())
        .find(|id| id != "c20")
        .unwrap();
    let before = explain(server, key, "fresh", &target).await;
    assert_eq!(before["contributions"][0]["contentId"], "c20", "{before}");
    let more: Vec<Value> = (0..6)
        .map(|i| json!({ "eventId": format!("f-more-{i}"), "userId": "fresh", "contentId": "c27", "type": "LIKE" }))
        .collect();
    record(server, key, more).await;
    let after = explain(server, key, "fresh", &target).await;
    assert_eq!(after["strategy"], "FOLD_IN", "{after}");
    assert_eq!(after["contributions"][0]["contentId"], "c27", "the heavier history item now leads: {after}");

    // Unknown content is NOT_FOUND; another tenant cannot explain this tenant's users.
    let (_, body) = server.gql(Some(key), EXPLAIN, json!({ "u": "a0", "c": "no-such-item" })).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let b = server.new_tenant().await;
    let (_, body) = server.gql(Some(&b.api_key), EXPLAIN, json!({ "u": "a0", "c": "c2" })).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "B has no such content: {body}");
});
