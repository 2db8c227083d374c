use serde_json::json;

use super::*;
use crate::helpers::{TestServer, error_code};
use crate::on_both_backends;

on_both_backends!(end_users_upsert_read_and_filter, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    let users = json!([
        { "id": "u1", "ageBand": "AGE_25_34", "gender": "Female", "country": "de", "plan": "premium",
          "signupDate": "2023-04-01", "attributes": { "occupation": "writer" }, "consentAnalytics": false },
        { "id": "u2", "ageBand": "UNDER_18", "country": "Germany" },
        { "id": "u3", "gender": "male", "country": "FR" },
    ]);
    let r = server.ok(key, UPSERT_USERS, json!({ "u": users })).await["upsertEndUsers"].clone();
    assert_eq!(r["created"].as_i64(), Some(2), "{r}");
    assert_eq!((r["errors"][0]["index"].as_i64(), r["errors"][0]["field"].as_str()), (Some(1), Some("country")), "{r}");
    let d = server.ok(key, "{ endUser(id: \"u1\") { id ageBand gender country plan signupDate attributes consent { personalization analytics } } }", json!({})).await;
    assert_eq!(
        d["endUser"],
        json!({ "id": "u1", "ageBand": "AGE_25_34", "gender": "female", "country": "DE", "plan": "premium", "signupDate": "2023-04-01",
                "attributes": { "occupation": "writer" }, "consent": { "personalization": true, "analytics": false } })
    );
    // Again: unchanged. Leaving consent out keeps it; profile fields are replaced.
    let r = server.ok(key, UPSERT_USERS, json!({ "u": [users[0].clone()] })).await["upsertEndUsers"].clone();
    assert_eq!(r["unchanged"].as_i64(), Some(1), "{r}");
    let r =
        server.ok(key, UPSERT_USERS, json!({ "u": [{ "id": "u1", "plan": "free" }] })).await["upsertEndUsers"].clone();
    assert_eq!(r["updated"].as_i64(), Some(1), "{r}");
    let d = server.ok(key, "{ endUser(id: \"u1\") { plan country consent { analytics } } }", json!({})).await;
    assert_eq!(d["endUser"], json!({ "plan": "free", "country": null, "consent": { "analytics": false } }));

    let list = |filter: serde_json::Value| async move {
        let d = server
            .ok(
                key,
                "query($f: EndUserFilterInput) { endUsers(filter: $f) { edges { node { id } } } }",
                json!({ "f": filter }),
            )
            .await;
        d["endUsers"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(list(json!(null)).await, ["u1", "u3"]);
    assert_eq!(list(json!({ "country": "fr" })).await, ["u3"]);
    assert_eq!(list(json!({ "gender": "MALE" })).await, ["u3"]);
    assert_eq!(list(json!({ "plan": "free", "consentPersonalization": true })).await, ["u1"]);
    let (_, body) = server.gql(Some(key), "{ endUser(id: \"ghost\") { id } }", json!({})).await;
    assert_eq!(error_code(&body), "NOT_FOUND");

    // Personal data needs users:read; a catalog reader may not see it.
    let reader = server.key_with(key, &["catalog:read"]).await;
    for q in ["{ endUser(id: \"u1\") { id } }", "{ endUsers { edges { node { id } } } }"] {
        let (_, body) = server.gql(Some(&reader), q, json!({})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{q}: {body}");
    }
    let (_, body) = server.gql(Some(&reader), UPSERT_USERS, json!({ "u": [{ "id": "x" }] })).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
});
