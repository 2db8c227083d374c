//! End users' rights (issue 6): export, erasure that leaves nothing behind, consent,
//! retention. Every step is also checked against the audit log.

mod consent;
mod erasure;
mod export;
mod retention;

use serde_json::{Value, json};

use crate::helpers::TestServer;

/// Runs a request that must succeed; returns `data`.
pub async fn ok(server: &TestServer, token: &str, query: &str, variables: Value) -> Value {
    let (status, body) = server.gql(Some(token), query, variables).await;
    assert!(status == 200 && body["errors"].is_null(), "{status} {body}");
    body["data"].clone()
}

/// 20 films; users a0..a9 play the first ten, r0..r9 the last ten, 8 plays each, and
/// profiles for a0 and r0.
pub async fn seed(server: &TestServer, key: &str) {
    let contents: Vec<Value> =
        (0..20).map(|i| json!({ "id": format!("c{i}"), "kind": "MOVIE", "title": format!("Film {i}") })).collect();
    ok(
        server,
        key,
        "mutation($c: [ContentInput!]!) { upsertContents(contents: $c) { accepted } }",
        json!({ "c": contents }),
    )
    .await;
    let users = json!([
        { "id": "a0", "ageBand": "AGE_25_34", "country": "DE", "plan": "premium", "attributes": { "favouriteColour": "teal" } },
        { "id": "r0", "ageBand": "AGE_35_44", "country": "FR" },
    ]);
    ok(server, key, "mutation($u: [EndUserInput!]!) { upsertEndUsers(users: $u) { accepted } }", json!({ "u": users }))
        .await;
    let mut events = Vec::new();
    for (prefix, base) in [("a", 0), ("r", 10)] {
        for u in 0..10 {
            for j in 0..8 {
                let item = base + (u * 3 + j) % 10;
                events.push(json!({ "eventId": format!("e-{prefix}{u}-{j}"), "userId": format!("{prefix}{u}"), "contentId": format!("c{item}"), "type": "PLAY", "occurredAt": "2026-01-01T00:00:00Z" }));
            }
        }
    }
    ok(
        server,
        key,
        "mutation($e: [InteractionInput!]!) { recordInteractions(events: $e) { accepted } }",
        json!({ "e": events }),
    )
    .await;
}

/// Trains a model and waits until it is ready; returns its id.
pub async fn train(server: &TestServer, key: &str, input: Value) -> String {
    let data = ok(
        server,
        key,
        "mutation($i: TrainModelInput!) { trainModel(input: $i) { model { id } job { id } } }",
        json!({ "i": input }),
    )
    .await;
    let model = data["trainModel"]["model"]["id"].as_str().unwrap().to_owned();
    let job = data["trainModel"]["job"]["id"].clone();
    for _ in 0..600 {
        let data = ok(server, key, "query($id: ID!) { job(id: $id) { status error } }", json!({ "id": job })).await;
        match data["job"]["status"].as_str() {
            Some("SUCCEEDED") => return model,
            Some("FAILED" | "CANCELLED") => panic!("training ended badly: {data}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("training did not finish in time");
}

pub fn als() -> Value {
    json!({ "algorithm": "ALS", "parameters": { "factors": 8, "regularization": 0.1, "alpha": 10.0, "iterations": 5 } })
}

pub async fn recommend(server: &TestServer, key: &str, user: &str) -> Value {
    let query =
        "query($u: String!) { recommendations(userId: $u, first: 5) { strategy fallbackReason items { contentId } } }";
    ok(server, key, query, json!({ "u": user })).await["recommendations"].clone()
}
