//! Bad input to the ingestion API gets clear codes: whole-request refusals for what the
//! schema rules out, row errors for what a row breaks.

use serde_json::json;

use super::*;
use crate::helpers::{TestServer, assert_refused, error_code};
use crate::on_both_backends;

on_both_backends!(ingestion_bad_input_gets_clear_codes, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = Some(t.api_key.as_str());
    server.upsert_contents(&t.api_key, json!([movie("c1", "One")])).await;

    // Oversized batches are refused whole, naming the limit.
    let contents: Vec<_> = (0..501).map(|i| movie(&format!("m{i}"), "t")).collect();
    let (s, b) = server.gql(key, UPSERT_CONTENTS, json!({ "c": contents })).await;
    assert_refused(s, &b, 400, "INVALID_INPUT");
    assert_eq!(b["errors"][0]["extensions"]["field"], "contents");
    assert!(b["errors"][0]["message"].as_str().unwrap().contains("500"), "{b}");
    let events: Vec<_> = (0..1001)
        .map(|i| json!({ "eventId": format!("{i}"), "userId": "u", "contentId": "c1", "type": "VIEW" }))
        .collect();
    let (s, b) = server.gql(key, RECORD, json!({ "e": events })).await;
    assert_refused(s, &b, 400, "INVALID_INPUT");
    assert_eq!(b["errors"][0]["extensions"]["field"], "events");
    let users: Vec<_> = (0..1001).map(|i| json!({ "id": format!("{i}") })).collect();
    let (s, b) = server.gql(key, UPSERT_USERS, json!({ "u": users })).await;
    assert_refused(s, &b, 400, "INVALID_INPUT");
    let ids: Vec<_> = (0..1001).map(|i| format!("{i}")).collect();
    let (s, b) =
        server.gql(key, "mutation($i: [String!]!) { deleteContents(ids: $i) { deleted } }", json!({ "i": ids })).await;
    assert_refused(s, &b, 400, "INVALID_INPUT");
    let d = server.ok(&t.api_key, "{ statistics { counts { items users interactions } } }", json!({})).await;
    assert_eq!(
        d["statistics"]["counts"],
        json!({ "items": 1, "users": 0, "interactions": 0 }),
        "nothing of a refused batch is stored"
    );

    // Wrong types, unknown enum values and malformed dates are ruled out by the schema.
    for (query, vars) in [
        (UPSERT_CONTENTS, json!({ "c": [{ "id": "x", "kind": "MOVIE", "title": 5 }] })),
        (UPSERT_CONTENTS, json!({ "c": [{ "id": "x", "kind": "HOLOGRAM", "title": "x" }] })),
        (UPSERT_CONTENTS, json!({ "c": [{ "id": "x", "kind": "MOVIE", "title": "x", "releaseDate": "2020-13-01" }] })),
        (UPSERT_CONTENTS, json!({ "c": [{ "id": "x", "kind": "MOVIE", "title": "x", "availableFrom": "tomorrow" }] })),
        (UPSERT_CONTENTS, json!({ "c": [{ "id": "x", "kind": "MOVIE", "title": "x", "durationSeconds": "long" }] })),
        (UPSERT_CONTENTS, json!({ "c": { "id": "x" } })),
        (RECORD, json!({ "e": [{ "eventId": "x", "userId": "u", "contentId": "c1", "type": "BINGE" }] })),
        (
            RECORD,
            json!({ "e": [{ "eventId": "x", "userId": "u", "contentId": "c1", "type": "VIEW", "occurredAt": "2024-02-30T00:00:00Z" }] }),
        ),
        (
            RECORD,
            json!({ "e": [{ "eventId": "x", "userId": "u", "contentId": "c1", "type": "RATING", "value": "five" }] }),
        ),
        (RECORD, json!({ "e": [{ "eventId": "x", "userId": "u", "type": "VIEW" }] })),
        (UPSERT_USERS, json!({ "u": [{ "id": "x", "ageBand": "AGE_30" }] })),
        (UPSERT_USERS, json!({ "u": [{ "id": "x", "signupDate": "01/02/2023" }] })),
    ] {
        let (s, b) = server.gql(key, query, vars.clone()).await;
        assert_eq!(s, 400, "{vars}: {b}");
        let code = error_code(&b);
        assert!(code == "GRAPHQL_VALIDATION_FAILED" || code == "INVALID_INPUT", "{vars}: {b}");
        assert!(b["data"].is_null() || b["data"]["upsertContents"].is_null(), "{b}");
    }
    let (s, b) = server
        .gql(
            key,
            "mutation { upsertContents(contents: [{id: \"x\", kind: HOLOGRAM, title: \"x\"}]) { accepted } }",
            json!({}),
        )
        .await;
    assert_refused(s, &b, 400, "GRAPHQL_VALIDATION_FAILED");
    let (s, b) = server.gql(key, "mutation { recordInteractions(events: [{eventId: \"x\", userId: \"u\", contentId: \"c1\", type: VIEW, occurredAt: \"not a date\"}]) { accepted } }", json!({})).await;
    assert_refused(s, &b, 400, "INVALID_INPUT");
    assert!(b["errors"][0]["message"].as_str().unwrap().contains("DateTime"), "{b}");

    // Over-long and otherwise invalid values are row errors; the good row is stored.
    let long = "x".repeat(501);
    let r = server.upsert_contents(&t.api_key, json!([
        { "id": "ok", "kind": "MOVIE", "title": "fine" },
        { "id": "x".repeat(257), "kind": "MOVIE", "title": "t" },
        { "id": "t", "kind": "MOVIE", "title": long },
        { "id": "d", "kind": "MOVIE", "title": "t", "description": "y".repeat(10_001) },
        { "id": "g", "kind": "MOVIE", "title": "t", "genres": ["z".repeat(101)] },
        { "id": "a", "kind": "MOVIE", "title": "t", "attributes": [1, 2] },
        { "id": "w", "kind": "MOVIE", "title": "t", "availableFrom": "2025-01-01T00:00:00Z", "availableUntil": "2024-01-01T00:00:00Z" },
        { "id": "r", "kind": "MOVIE", "title": "t", "releaseDate": "0001-01-01" },
        { "id": "n", "kind": "MOVIE", "title": "t", "durationSeconds": -5 },
    ])).await;
    assert_eq!(r["created"].as_i64(), Some(1), "{r}");
    let fields: Vec<_> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["code"], "INVALID_INPUT", "{e}");
            e["field"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        fields,
        ["id", "title", "description", "genres", "attributes", "availableUntil", "releaseDate", "durationSeconds"]
    );

    let r = server.record(
        &t.api_key,
        json!([
            { "eventId": "good", "userId": "u", "contentId": "c1", "type": "VIEW" },
            { "eventId": "", "userId": "u", "contentId": "c1", "type": "VIEW" },
            { "eventId": "e2", "userId": "u".repeat(300), "contentId": "c1", "type": "VIEW" },
            { "eventId": "e3", "userId": "u", "contentId": "c1", "type": "PLAY", "value": 1e300 },
            { "eventId": "e4", "userId": "u", "contentId": "c1", "type": "VIEW", "occurredAt": "1960-01-01T00:00:00Z" },
        ]),
    )
    .await;
    assert_eq!(r["accepted"].as_i64(), Some(1), "{r}");
    let fields: Vec<_> =
        r["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
    assert_eq!(fields, ["eventId", "userId", "value", "occurredAt"], "{r}");

    let r = server.ok(&t.api_key, UPSERT_USERS, json!({ "u": [{ "id": "u2", "gender": "g".repeat(33) }, { "id": "u3", "plan": "p".repeat(65) }, { "id": "u4", "signupDate": "1900-01-01" }] })).await;
    let fields: Vec<_> = r["upsertEndUsers"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["gender", "plan", "signupDate"]);

    let (s, b) = server.gql(key, "{ contents(first: 101) { edges { cursor } } }", json!({})).await;
    assert_refused(s, &b, 400, "INVALID_INPUT");
    let (s, b) = server.gql(key, "{ statistics { topContent(first: 500) { users } } }", json!({})).await;
    assert_eq!(error_code(&b), "INVALID_INPUT", "{s} {b}");
    let long_text = format!("{{ contents(filter: {{text: \"{}\"}}) {{ edges {{ cursor }} }} }}", "q".repeat(201));
    let (s, b) = server.gql(key, &long_text, json!({})).await;
    assert_refused(s, &b, 400, "INVALID_INPUT");
});
