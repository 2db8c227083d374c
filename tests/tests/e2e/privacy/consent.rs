//! `setConsent`: without personalization a person gets non-personalized answers that say
//! so and stays out of training; without analytics, out of statistics.

use serde_json::{Value, json};

use super::{als, seed};
use crate::helpers::{TestServer, assert_error, error_code};
use crate::on_both_backends;

const SET: &str = "mutation($u: String!, $p: Boolean, $a: Boolean) { setConsent(userId: $u, consent: {personalization: $p, analytics: $a}) { personalization analytics } }";

on_both_backends!(withdrawn_consent_is_honoured_everywhere, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    seed(server, key).await;
    let first = server.train(key, als()).await.model;
    server.deploy(key, &first, false).await;
    assert_eq!(server.recommend(key, "a0", Value::Null).await["strategy"], "PERSONALIZED");

    let stored = server.ok(key, SET, json!({ "u": "a0", "p": false })).await;
    assert_eq!(stored["setConsent"], json!({ "personalization": false, "analytics": true }), "an absent flag stays");
    let recs = server.recommend(key, "a0", Value::Null).await;
    assert_eq!(recs["strategy"], "POPULAR_FALLBACK", "{recs}");
    assert!(recs["fallbackReason"].as_str().unwrap().contains("consent"), "the answer says why: {recs}");
    let profile = server.ok(key, "{ endUser(id: \"a0\") { consent { personalization analytics } } }", json!({})).await;
    assert_eq!(profile["endUser"]["consent"]["personalization"], false);

    // A model trained now leaves a0's data out: their export no longer lists it.
    let second = server.train(key, als()).await.model;
    let doc = server.ok(key, "{ exportUserData(userId: \"a0\") }", json!({})).await["exportUserData"].clone();
    let models: Vec<_> =
        doc["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert!(models.contains(&first) && !models.contains(&second), "{models:?}");

    // Analytics: a0 and their 8 events leave the statistics.
    let before = server.ok(key, "{ statistics { counts { users interactions } } }", json!({})).await;
    server.ok(key, SET, json!({ "u": "a0", "a": false })).await;
    let after = server.ok(key, "{ statistics { counts { users interactions } } }", json!({})).await;
    assert_eq!(after["statistics"]["counts"]["users"], before["statistics"]["counts"]["users"].as_i64().unwrap() - 1);
    assert_eq!(
        after["statistics"]["counts"]["interactions"],
        before["statistics"]["counts"]["interactions"].as_i64().unwrap() - 8
    );

    // Each change is in the audit log, under the pseudonym.
    let events = crate::audit::all_events(server, key).await;
    let changes: Vec<_> = events.iter().filter(|e| e["action"] == "end_user.consent_changed").collect();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1]["details"], json!({ "personalization": false, "analytics": false }));

    let (_, body) = server.gql(Some(key), SET, json!({ "u": "nobody", "p": true })).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let reader = server.key_with(key, &["users:read"]).await;
    let (status, body) = server.gql(Some(&reader), SET, json!({ "u": "a0", "p": true })).await;
    assert_error(status, &body, 403, "FORBIDDEN");
});
