//! Trustworthy comparisons: metrics carry 95 % intervals (bootstrap over users), models
//! compare with a significance verdict, and deploy refuses only a significantly worse
//! model.

use serde_json::{Value, json};

use crate::helpers::{TestServer, error_code, two_clusters};
use crate::on_both_backends;

/// Pinned ALS: regularization 0.1, alpha 1, 10 iterations.
fn als(factors: u32) -> Value {
    als_for(factors, 10)
}

fn als_for(factors: u32, iterations: u32) -> Value {
    json!({ "algorithm": "ALS", "parameters": { "factors": factors, "regularization": 0.1, "alpha": 1.0, "iterations": iterations } })
}

const METRIC: &str = "candidate baseline difference interval { low high } significant";

async fn metrics(server: &TestServer, key: &str, model: &str) -> Value {
    let query = "query($id: ID!) { model(id: $id) { metrics { ndcg ndcgInterval { low high } recall recallInterval { low high } evaluatedUsers } } }";
    server.ok(key, query, json!({ "id": model })).await["model"]["metrics"].clone()
}

/// `model(id).comparison(baselineId)`; `baseline` null compares with the active model.
async fn compare(server: &TestServer, key: &str, model: &str, baseline: Option<&str>) -> Value {
    let query = format!(
        "query($id: ID!, $b: ID) {{ model(id: $id) {{ comparison(baselineId: $b) {{ baselineId pairing level candidateUsers baselineUsers k ndcg {{ {METRIC} }} recall {{ {METRIC} }} }} }} }}"
    );
    server.ok(key, &query, json!({ "id": model, "b": baseline })).await["model"]["comparison"].clone()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn assert_brackets(interval: &Value, estimate: &Value) {
    let (low, high, x) = (f(&interval["low"]), f(&interval["high"]), f(estimate));
    assert!(low <= x && x <= high, "{x} outside [{low}, {high}]");
}

async fn deployed_details(server: &TestServer, key: &str) -> Vec<Value> {
    let query = "{ auditEvents(first: 100, filter: {action: \"model.deployed\"}) { edges { node { details } } } }";
    server.ok(key, query, json!({})).await["auditEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["details"].clone())
        .collect()
}

on_both_backends!(
    twins_are_not_significant_and_als_significantly_beats_popularity,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        server.seed(key, &two_clusters()).await;

        let first = server.train(key, als(16)).await.model;
        let twin = server.train(key, als(16)).await.model;
        let popular = server.train(key, json!({ "algorithm": "MOST_POPULAR" })).await.model;

        // Every trained model's metrics carry intervals around their point estimates.
        for model in [&first, &popular] {
            let m = metrics(server, key, model).await;
            assert_eq!(m["evaluatedUsers"], 60, "{m}");
            assert_brackets(&m["ndcgInterval"], &m["ndcg"]);
            assert_brackets(&m["recallInterval"], &m["recall"]);
            let width = f(&m["ndcgInterval"]["high"]) - f(&m["ndcgInterval"]["low"]);
            assert!(width > 0.0 && width < 0.5, "60 users: a real but bounded interval: {m}");
        }

        // Nothing deployed: no default baseline.
        assert_eq!(compare(server, key, &first, None).await, Value::Null);

        // The same request on the same data: the same per-user figures, difference 0.
        let twins = compare(server, key, &twin, Some(&first)).await;
        assert_eq!(twins["pairing"], "PAIRED", "{twins}");
        assert_eq!(
            (&twins["candidateUsers"], &twins["baselineUsers"], &twins["k"]),
            (&json!(60), &json!(60), &json!(10))
        );
        assert_eq!(twins["level"], 0.95);
        assert_eq!(twins["baselineId"], first.as_str());
        for metric in ["ndcg", "recall"] {
            assert_eq!(twins[metric]["difference"], 0.0, "{twins}");
            assert_eq!(twins[metric]["interval"], json!({ "low": 0.0, "high": 0.0 }), "{twins}");
            assert_eq!(twins[metric]["significant"], false, "{twins}");
        }

        // ALS against most-popular on two taste clusters: better, and significantly so.
        let versus = compare(server, key, &first, Some(&popular)).await;
        assert_eq!(versus["pairing"], "PAIRED", "{versus}");
        let ndcg = &versus["ndcg"];
        assert_eq!(ndcg["significant"], true, "{versus}");
        assert!(f(&ndcg["interval"]["low"]) > 0.0, "{versus}");
        assert_brackets(&ndcg["interval"], &ndcg["difference"]);
        let m = metrics(server, key, &first).await;
        assert_eq!(ndcg["candidate"], m["ndcg"], "the compared means are the model's metrics: {versus} {m}");
        assert!((f(&ndcg["candidate"]) - f(&ndcg["baseline"]) - f(&ndcg["difference"])).abs() < 1e-12);

        // Deploy: the significantly worse model is refused with the figures...
        server.deploy(key, &first, false).await;
        let against_active = compare(server, key, &popular, None).await;
        assert_eq!(against_active["baselineId"], first.as_str());
        assert_eq!(against_active["ndcg"]["significant"], true, "{against_active}");
        assert!(f(&against_active["ndcg"]["interval"]["high"]) < 0.0, "{against_active}");
        let deploy = "mutation($id: ID!, $w: Boolean) { deployModel(id: $id, allowWorse: $w) { id active } }";
        let (_, body) = server.gql(Some(key), deploy, json!({ "id": popular, "w": false })).await;
        assert_eq!(error_code(&body), "CONFLICT", "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        for part in ["significantly below", "95% interval", "paired bootstrap over 60 users", "allowWorse"] {
            assert!(message.contains(part), "{part:?} missing from {message:?}");
        }
        // ...the twin deploys (not significantly worse), and the audit event says why.
        server.deploy(key, &twin, false).await;
        let details = deployed_details(server, key).await;
        let last = details.iter().find(|d| d["comparison"]["baseline"] == first.as_str()).unwrap();
        assert_eq!(last["comparison"]["pairing"], "paired", "{last}");
        assert_eq!(last["comparison"]["ndcg"]["significant"], false, "{last}");
        assert_eq!(last["comparison"]["ndcg"]["difference"], 0.0, "{last}");
        assert_eq!(last["allowWorse"], false);
        // allowWorse deploys a significantly worse model, and says so in the audit log.
        let (_, body) = server.gql(Some(key), deploy, json!({ "id": popular, "w": true })).await;
        assert_eq!(body["data"]["deployModel"]["active"], true, "{body}");
        let details = deployed_details(server, key).await;
        let forced = details.iter().find(|d| d["comparison"]["baseline"] == twin.as_str()).unwrap();
        assert_eq!((&forced["allowWorse"], &forced["comparison"]["ndcg"]["significant"]), (&json!(true), &json!(true)));
    }
);

on_both_backends!(
    a_worse_model_within_the_noise_deploys_and_changed_data_compares_unpaired,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        server.seed(key, &two_clusters()).await;

        // 10 and 9 iterations: whichever scores lower is worse by a margin the 60 users
        // cannot tell from chance.
        let a = server.train(key, als(16)).await.model;
        let b = server.train(key, als_for(16, 9)).await.model;
        let c = compare(server, key, &b, Some(&a)).await;
        assert_eq!(c["pairing"], "PAIRED", "{c}");
        let difference = f(&c["ndcg"]["difference"]);
        assert_ne!(difference, 0.0, "the two settings must differ for this test to mean anything: {c}");
        assert_eq!(c["ndcg"]["significant"], false, "{c}");
        let (better, worse) = if difference > 0.0 { (&b, &a) } else { (&a, &b) };
        server.deploy(key, better, false).await;
        server.deploy(key, worse, false).await;
        let against = compare(server, key, better, None).await;
        assert_eq!(against["baselineId"], worse.as_str());
        assert!(f(&against["ndcg"]["difference"]) > 0.0 && against["ndcg"]["significant"] == false, "{against}");

        // New people and events change the split: the next model is compared unpaired.
        let events: Vec<Value> = (0..10)
        .flat_map(|u| {
            (0..6).map(move |j| json!({ "eventId": format!("late-{u}-{j}"), "userId": format!("late{u}"), "contentId": format!("c{}", (u + j * 3) % 20), "type": "PLAY" }))
        })
        .collect();
        server.record(key, json!(events)).await;
        let later = server.train(key, als(16)).await.model;
        let u = compare(server, key, &later, Some(&a)).await;
        assert_eq!(u["pairing"], "UNPAIRED", "{u}");
        assert_eq!((&u["candidateUsers"], &u["baselineUsers"]), (&json!(70), &json!(60)), "{u}");
        assert_brackets(&u["ndcg"]["interval"], &u["ndcg"]["difference"]);

        // Models of another tenant are not found; a model without an evaluation (here one
        // whose training failed) cannot be compared.
        let other = server.new_tenant().await;
        let query = "query($id: ID!, $b: ID) { model(id: $id) { comparison(baselineId: $b) { k } } }";
        let (_, body) = server.gql(Some(&other.api_key), query, json!({ "id": a, "b": b })).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
        let failed = server.start_training(&other.api_key, json!({ "algorithm": "MOST_POPULAR" })).await;
        assert_eq!(server.job_outcome(&other.api_key, &failed.job).await["status"], "FAILED");
        let (_, body) = server.gql(Some(&other.api_key), query, json!({ "id": failed.model, "b": failed.model })).await;
        assert_eq!(error_code(&body), "MODEL_NOT_READY", "{body}");
    }
);
