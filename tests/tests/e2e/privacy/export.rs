//! `exportUserData`: one document with everything held about the person, and nothing
//! about anyone else.

use serde_json::json;

use super::{als, seed};
use crate::helpers::{TestServer, assert_error, error_code};
use crate::on_both_backends;

const EXPORT: &str = "query($u: String!) { exportUserData(userId: $u) }";

on_both_backends!(
    an_export_holds_profile_consent_interactions_models_and_audit_events,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        seed(server, key).await;
        let model = server.train(key, als()).await.model;
        server.ok(key, "{ endUser(id: \"a0\") { id } }", json!({})).await;

        let doc = server.ok(key, EXPORT, json!({ "u": "a0" })).await["exportUserData"].clone();
        assert_eq!(doc["format"], "marquee.user-export.v1");
        assert_eq!(doc["userId"], "a0");
        assert_eq!(doc["profile"]["country"], "DE");
        assert_eq!(doc["profile"]["ageBand"], "25_34");
        assert_eq!(doc["profile"]["attributes"]["favouriteColour"], "teal");
        assert_eq!(doc["consent"], json!({ "personalization": true, "analytics": true }));
        let interactions = doc["interactions"].as_array().unwrap();
        assert_eq!(interactions.len(), 8);
        assert!(
            interactions.iter().all(|i| i["eventId"].as_str().unwrap().starts_with("e-a0-")),
            "only their own events"
        );
        let models: Vec<_> = doc["models"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
        assert_eq!(models, vec![json!(model)], "the model their data trained");

        // The audit events about them: the profile upsert, the read above, and this export.
        let pseudonym = doc["auditPseudonym"].as_str().unwrap();
        let actions: Vec<_> =
            doc["auditEvents"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
        assert_eq!(actions, ["end_user.upserted", "end_user.read", "end_user.exported"], "{doc}");
        let text = doc["auditEvents"].to_string();
        assert!(!text.contains("r0"), "nothing about others");
        let logged = crate::audit::all_events(server, key).await;
        assert!(logged.iter().any(|e| e["action"] == "end_user.exported" && e["target"] == pseudonym));

        // Unknown people and callers without `privacy:manage` get nothing.
        let (_, body) = server.gql(Some(key), EXPORT, json!({ "u": "nobody" })).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
        let reader = server.key_with(key, &["users:read"]).await;
        let (status, body) = server.gql(Some(&reader), EXPORT, json!({ "u": "a0" })).await;
        assert_error(status, &body, 403, "FORBIDDEN");
    }
);
