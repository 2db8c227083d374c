//! Keyset pagination: while rows are inserted between page requests, every row that
//! existed before the walk shows up exactly once, in order.

use std::collections::HashSet;

use serde_json::json;

use super::*;
use crate::helpers::{TestServer, error_code};
use crate::on_both_backends;

/// Walks a connection 3 rows at a time, calling `insert(page_number)` after each of the
/// first three pages.
async fn walk<F, Fut>(
    server: &TestServer,
    key: &str,
    query: &str,
    path: &[&str],
    field: &str,
    mut insert: F,
) -> Vec<String>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    for page in 0.. {
        let data = server.ok(key, query, json!({ "first": 3, "after": after })).await;
        let mut conn = &data;
        for p in path {
            conn = &conn[*p];
        }
        out.extend(conn["edges"].as_array().unwrap().iter().map(|e| e["node"][field].as_str().unwrap().to_owned()));
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        // Insert while the first pages are read (rows after the cursor keep coming
        // otherwise, and the walk would never end).
        if page < 3 {
            insert(page).await;
        }
    }
    out
}

fn assert_complete(seen: &[String], before: &[&str]) {
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a row was repeated: {seen:?}");
    for id in before {
        assert!(seen.iter().any(|s| s == id), "{id} was lost: {seen:?}");
    }
}

on_both_backends!(pages_neither_lose_nor_repeat_rows_during_inserts, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    let titles = ["b", "d", "f", "h", "j", "l", "n", "p", "r", "t"];
    let items: Vec<_> = titles.iter().map(|t| movie(&format!("id-{t}"), t)).collect();
    server.upsert_contents(key, json!(items)).await;
    let before: Vec<String> = titles.iter().map(|t| format!("id-{t}")).collect();
    let before: Vec<&str> = before.iter().map(String::as_str).collect();

    for sort in [
        json!(null),
        json!({ "field": "TITLE" }),
        json!({ "field": "TITLE", "direction": "DESC" }),
        json!({ "field": "RELEASE_DATE" }),
    ] {
        let query = format!(
            "query($first: Int, $after: String) {{ contents(first: $first, after: $after, sort: {}) {{ edges {{ node {{ id }} }} pageInfo {{ hasNextPage endCursor }} }} }}",
            if sort.is_null() {
                "null".to_owned()
            } else {
                sort.to_string().replace("\"field\"", "field").replace("\"direction\"", "direction").replace('"', "")
            }
        );
        let tag = sort.to_string();
        let seen = walk(server, key, &query, &["contents"], "id", |page| {
            // New titles land before, inside and after the pages already read.
            let tag = tag.clone();
            async move {
                let n = format!("{}{page}", tag.len());
                server
                    .upsert_contents(
                        key,
                        json!([
                            movie(&format!("new-a{n}"), "a"),
                            movie(&format!("new-k{n}"), "k"),
                            movie(&format!("new-z{n}"), "z")
                        ]),
                    )
                    .await;
            }
        })
        .await;
        assert_complete(&seen, &before);
        // Rows come in the promised order.
        if sort.get("field").is_some_and(|f| f == "TITLE") {
            let d = server
                .ok(
                    key,
                    "query($s: ContentSortInput) { contents(first: 100, sort: $s) { edges { node { id } } } }",
                    json!({ "s": sort }),
                )
                .await;
            let all: Vec<_> = d["contents"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
                .collect();
            let walked: Vec<_> = all.iter().filter(|id| seen.contains(id)).cloned().collect();
            assert_eq!(seen, walked, "walk order equals the final order restricted to what was seen");
        }
    }

    // End users, and one user's interactions (newest first) while events arrive.
    let users: Vec<_> = (0..8).map(|i| json!({ "id": format!("u{i}") })).collect();
    server.ok(key, UPSERT_USERS, json!({ "u": users })).await;
    let seen = walk(
        server,
        key,
        "query($first: Int, $after: String) { endUsers(first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }",
        &["endUsers"],
        "id",
        |page| async move {
            server.ok(key, UPSERT_USERS, json!({ "u": [{ "id": format!("late{page}") }] })).await;
        },
    )
    .await;
    assert_complete(&seen, &["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"]);

    let events: Vec<_> = (0..9)
        .map(|i| json!({ "eventId": format!("e{i}"), "userId": "u0", "contentId": "id-b", "type": "VIEW", "occurredAt": format!("2024-01-0{}T00:00:00Z", 1 + i % 3) }))
        .collect();
    server.record(key, json!(events)).await;
    let seen = walk(
        server,
        key,
        "query($first: Int, $after: String) { endUser(id: \"u0\") { interactions(first: $first, after: $after) { edges { node { eventId } } pageInfo { hasNextPage endCursor } } } }",
        &["endUser", "interactions"],
        "eventId",
        |page| async move {
            // Events older, newer and equal in time to those already read.
            server.record(key, json!([
                { "eventId": format!("old{page}"), "userId": "u0", "contentId": "id-b", "type": "VIEW", "occurredAt": "2023-01-01T00:00:00Z" },
                { "eventId": format!("tie{page}"), "userId": "u0", "contentId": "id-b", "type": "VIEW", "occurredAt": "2024-01-02T00:00:00Z" },
                { "eventId": format!("new{page}"), "userId": "u0", "contentId": "id-b", "type": "VIEW" },
            ])).await;
        },
    )
    .await;
    assert_complete(&seen, &["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"]);

    // Cursors are opaque and bound to their order.
    let d = server.ok(key, "{ contents(first: 1, sort: {field: TITLE}) { pageInfo { endCursor } } }", json!({})).await;
    let cursor = d["contents"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let (_, body) = server
        .gql(
            Some(key),
            "query($a: String) { contents(after: $a, sort: {field: RELEASE_DATE}) { edges { cursor } } }",
            json!({ "a": cursor }),
        )
        .await;
    assert_eq!(
        (error_code(&body).as_str(), body["errors"][0]["extensions"]["field"].as_str()),
        ("INVALID_INPUT", Some("after")),
        "{body}"
    );
    let (_, body) =
        server.gql(Some(key), "{ contents(after: \"bm90LWEtY3Vyc29y\") { edges { cursor } } }", json!({})).await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
});
