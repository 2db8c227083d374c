use serde_json::json;

use super::*;
use crate::helpers::{TestServer, error_code};
use crate::on_both_backends;

on_both_backends!(recording_is_idempotent_and_keeps_good_rows, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    server.upsert_contents(key, json!([movie("c1", "One"), movie("c2", "Two")])).await;
    let events = json!([
        { "eventId": "e1", "userId": "u1", "contentId": "c1", "type": "PLAY", "value": 120.5, "occurredAt": "2024-03-01T10:00:00Z" },
        { "eventId": "e2", "userId": "u1", "contentId": "nope", "type": "VIEW" },
        { "eventId": "e3", "userId": "u2", "contentId": "c2", "type": "RATING", "value": 4, "occurredAt": "2024-03-02T10:00:00Z" },
        { "eventId": "e4", "userId": "u2", "contentId": "c2", "type": "RATING" },
        { "eventId": "e1", "userId": "u1", "contentId": "c1", "type": "PLAY" },
        { "eventId": "e5", "userId": "u3", "contentId": "c1", "type": "LIKE", "occurredAt": "2999-01-01T00:00:00Z" },
    ]);
    let r = server.record(key, events.clone()).await;
    assert_eq!(
        (r["accepted"].as_i64(), r["duplicates"].as_i64(), r["usersCreated"].as_i64()),
        (Some(2), Some(1), Some(2)),
        "{r}"
    );
    let errors: Vec<_> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_i64().unwrap(),
                e["code"].as_str().unwrap().to_owned(),
                e["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (1, "NOT_FOUND".to_owned(), "contentId".to_owned()),
            (3, "INVALID_INPUT".to_owned(), "value".to_owned()),
            (5, "INVALID_INPUT".to_owned(), "occurredAt".to_owned())
        ],
        "{r}"
    );
    assert_eq!(r["errors"][0]["id"], "e2");

    // The same batch again stores nothing and creates no one.
    let r = server.record(key, events).await;
    assert_eq!(
        (r["accepted"].as_i64(), r["duplicates"].as_i64(), r["usersCreated"].as_i64()),
        (Some(0), Some(3), Some(0)),
        "{r}"
    );
    let d = server.ok(key, "{ statistics { counts { items users interactions } } }", json!({})).await;
    assert_eq!(d["statistics"]["counts"], json!({ "items": 2, "users": 2, "interactions": 2 }));

    // The unknown users were created with the tenant's default consent, and their events read back.
    let d = server.ok(
        key,
        "{ endUser(id: \"u1\") { id consent { personalization analytics } interactions { edges { node { eventId contentId type value occurredAt } } } } }",
        json!({}),
    )
    .await;
    let u = &d["endUser"];
    assert_eq!(u["consent"], json!({ "personalization": true, "analytics": true }));
    assert_eq!(
        u["interactions"]["edges"][0]["node"],
        json!({ "eventId": "e1", "contentId": "c1", "type": "PLAY", "value": 120.5, "occurredAt": "2024-03-01T10:00:00+00:00" })
    );

    // An event on a deleted item is refused like an unknown one.
    server.ok(key, "mutation { deleteContents(ids: [\"c2\"]) { deleted } }", json!({})).await;
    let r = server.record(key, json!([{ "eventId": "e9", "userId": "u1", "contentId": "c2", "type": "VIEW" }])).await;
    assert_eq!(r["errors"][0]["code"], "NOT_FOUND", "{r}");
});

on_both_backends!(weights_and_default_consent_are_tenant_settings, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    let d = server
        .ok(key, "{ tenantSettings { eventWeights { type weight } defaultConsentPersonalization } }", json!({}))
        .await;
    let weights = d["tenantSettings"]["eventWeights"].as_array().unwrap();
    assert_eq!(weights.len(), 9);
    assert!(weights.contains(&json!({ "type": "RATING", "weight": 1.0 })));
    let d = server.ok(
        key,
        "mutation { updateTenantSettings(input: {eventWeights: [{type: LIKE, weight: 7.5}], defaultConsentPersonalization: false}) { eventWeights { type weight } defaultConsentPersonalization defaultConsentAnalytics } }",
        json!({}),
    )
    .await;
    let s = &d["updateTenantSettings"];
    assert!(s["eventWeights"].as_array().unwrap().contains(&json!({ "type": "LIKE", "weight": 7.5 })));
    assert!(s["eventWeights"].as_array().unwrap().contains(&json!({ "type": "PLAY", "weight": 2.0 })), "others kept");
    assert_eq!(
        (s["defaultConsentPersonalization"].as_bool(), s["defaultConsentAnalytics"].as_bool()),
        (Some(false), Some(true))
    );

    // New users now start without personalization consent; given flags still win.
    server.upsert_contents(key, json!([movie("c1", "One")])).await;
    server.record(key, json!([{ "eventId": "x", "userId": "new", "contentId": "c1", "type": "LIKE" }])).await;
    server.ok(key, UPSERT_USERS, json!({ "u": [{ "id": "given", "consentPersonalization": true }] })).await;
    let d = server.ok(key, "{ a: endUser(id: \"new\") { consent { personalization } } b: endUser(id: \"given\") { consent { personalization } } }", json!({})).await;
    assert_eq!(
        (d["a"]["consent"]["personalization"].as_bool(), d["b"]["consent"]["personalization"].as_bool()),
        (Some(false), Some(true))
    );

    // Out-of-range weights are refused; a key without settings:manage may not change them.
    let (_, body) = server.gql(Some(key), "mutation { updateTenantSettings(input: {eventWeights: [{type: VIEW, weight: -1}]}) { defaultConsentAnalytics } }", json!({})).await;
    assert_eq!(
        (error_code(&body).as_str(), body["errors"][0]["extensions"]["field"].as_str()),
        ("INVALID_INPUT", Some("eventWeights")),
        "{body}"
    );
    let writer = server.key_with(key, &["events:write"]).await;
    let (_, body) = server
        .gql(
            Some(&writer),
            "mutation { updateTenantSettings(input: {defaultConsentAnalytics: false}) { defaultConsentAnalytics } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
});

on_both_backends!(statistics_answer_for_the_console, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    server
        .upsert_contents(
            key,
            json!([
                { "id": "a", "kind": "MOVIE", "title": "A", "genres": ["Drama", "Crime"] },
                { "id": "b", "kind": "MOVIE", "title": "B", "genres": ["Drama"] },
                { "id": "c", "kind": "ALBUM", "title": "C" },
            ]),
        )
        .await;
    let ev = |id: &str, user: &str, item: &str, day: &str| json!({ "eventId": id, "userId": user, "contentId": item, "type": "VIEW", "occurredAt": format!("2024-01-{day}T12:00:00Z") });
    server
        .record(
            key,
            json!([
                ev("1", "u1", "b", "01"),
                ev("2", "u2", "b", "01"),
                ev("3", "u1", "b", "03"),
                ev("4", "u1", "a", "03"),
                ev("5", "u3", "c", "02")
            ]),
        )
        .await;
    let d = server.ok(
        key,
        "{ statistics { counts { items users interactions } interactionsPerDay { day count } topContent(first: 2) { content { id } interactions users } genres { genre items } kinds { kind items } eventTypes { type interactions } } }",
        json!({}),
    )
    .await;
    let s = &d["statistics"];
    assert_eq!(s["counts"], json!({ "items": 3, "users": 3, "interactions": 5 }));
    let days = s["interactionsPerDay"].as_array().unwrap();
    assert_eq!(days.len(), 30, "the 30 days up to the latest event");
    assert_eq!(
        days[27..],
        [
            json!({ "day": "2024-01-01", "count": 2 }),
            json!({ "day": "2024-01-02", "count": 1 }),
            json!({ "day": "2024-01-03", "count": 2 })
        ]
    );
    assert_eq!(
        s["topContent"],
        json!([{ "content": { "id": "b" }, "interactions": 3, "users": 2 }, { "content": { "id": "a" }, "interactions": 1, "users": 1 }])
    );
    assert_eq!(s["genres"], json!([{ "genre": "Drama", "items": 2 }, { "genre": "Crime", "items": 1 }]));
    assert_eq!(s["kinds"], json!([{ "kind": "MOVIE", "items": 2 }, { "kind": "ALBUM", "items": 1 }]));
    assert_eq!(s["eventTypes"], json!([{ "type": "VIEW", "interactions": 5 }]));
    let d = server
        .ok(
            key,
            "{ statistics { interactionsPerDay(from: \"2024-01-02\", to: \"2024-01-03\") { day count } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["statistics"]["interactionsPerDay"],
        json!([{ "day": "2024-01-02", "count": 1 }, { "day": "2024-01-03", "count": 2 }])
    );
    let (_, body) = server
        .gql(
            Some(key),
            "{ statistics { interactionsPerDay(from: \"2020-01-01\", to: \"2024-01-01\") { day } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    let reader = server.key_with(key, &["catalog:read"]).await;
    let (_, body) = server.gql(Some(&reader), "{ statistics { counts { items } } }", json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
});
