//! End users' rights (issue 6): export, erasure that leaves nothing behind, consent,
//! retention. Every step is also checked against the audit log.

mod consent;
mod erasure;
mod export;
mod retention;

use serde_json::{Value, json};

use crate::helpers::{Dataset, TestServer};

/// 20 films; users a0..a9 play the first ten, r0..r9 the last ten, 8 plays each, and
/// profiles for a0 and r0.
pub async fn seed(server: &TestServer, key: &str) {
    let contents =
        (0..20).map(|i| json!({ "id": format!("c{i}"), "kind": "MOVIE", "title": format!("Film {i}") })).collect();
    let users = vec![
        json!({ "id": "a0", "ageBand": "AGE_25_34", "country": "DE", "plan": "premium", "attributes": { "favouriteColour": "teal" } }),
        json!({ "id": "r0", "ageBand": "AGE_35_44", "country": "FR" }),
    ];
    let mut events = Vec::new();
    for (prefix, base) in [("a", 0), ("r", 10)] {
        for u in 0..10 {
            for j in 0..8 {
                let item = base + (u * 3 + j) % 10;
                events.push(json!({ "eventId": format!("e-{prefix}{u}-{j}"), "userId": format!("{prefix}{u}"), "contentId": format!("c{item}"), "type": "PLAY", "occurredAt": "2026-01-01T00:00:00Z" }));
            }
        }
    }
    server.seed(key, &Dataset { contents, users, events }).await;
}

pub fn als() -> Value {
    json!({ "algorithm": "ALS", "parameters": { "factors": 8, "regularization": 0.1, "alpha": 10.0, "iterations": 5 } })
}
