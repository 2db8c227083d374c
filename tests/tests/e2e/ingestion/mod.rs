//! Catalog, audience and interaction ingestion (issue #3): batches with per-row errors,
//! idempotency, filters and pagination, tenant isolation, bad input, statistics and
//! the MovieLens import.

mod audience;
mod bad_input;
mod catalog;
mod interactions;
mod isolation;
mod movielens;
mod pagination;

use serde_json::{Value, json};

use crate::helpers::TestServer;

pub const UPSERT_CONTENTS: &str = "mutation($c: [ContentInput!]!) { upsertContents(contents: $c) { accepted created updated unchanged errors { index id code field message } } }";
pub const UPSERT_USERS: &str = "mutation($u: [EndUserInput!]!) { upsertEndUsers(users: $u) { accepted created updated unchanged errors { index id code field message } } }";
pub const RECORD: &str = "mutation($e: [InteractionInput!]!) { recordInteractions(events: $e) { accepted duplicates usersCreated errors { index id code field message } } }";

/// Runs a GraphQL request that must succeed without errors; returns `data`.
pub async fn ok(server: &TestServer, token: &str, query: &str, variables: Value) -> Value {
    let (status, body) = server.gql(Some(token), query, variables).await;
    assert!(status == 200 && body["errors"].is_null(), "{status} {body}");
    body["data"].clone()
}

pub fn movie(id: &str, title: &str) -> Value {
    json!({ "id": id, "kind": "MOVIE", "title": title })
}

pub async fn upsert_contents(server: &TestServer, token: &str, contents: Value) -> Value {
    ok(server, token, UPSERT_CONTENTS, json!({ "c": contents })).await["upsertContents"].clone()
}

pub async fn record(server: &TestServer, token: &str, events: Value) -> Value {
    ok(server, token, RECORD, json!({ "e": events })).await["recordInteractions"].clone()
}

/// A key of the tenant with just these scopes.
pub async fn key_with(server: &TestServer, owner_key: &str, scopes: &[&str]) -> String {
    let data = ok(
        server,
        owner_key,
        "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }",
        json!({ "i": { "name": "scoped", "scopes": scopes } }),
    )
    .await;
    data["createApiKey"]["secret"].as_str().unwrap().to_owned()
}
