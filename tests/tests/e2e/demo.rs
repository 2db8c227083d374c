//! `serve --demo` hands out one working, expiring key per start: the keys of earlier
//! starts (and the tenant's never-expiring creation key) stop working.

use serde_json::json;

use crate::helpers::TestServer;
use crate::on_both_backends;

async fn demo_start(server: &TestServer) -> api::demo::DemoAccess {
    server
        .operator(|services| async move { api::demo::ensure_demo_tenant(&services).await.map_err(|e| e.to_string()) })
        .await
        .unwrap()
}

async fn works(server: &TestServer, key: &str) -> bool {
    let (status, body) = server.gql(Some(key), "{ viewer { kind } }", json!({})).await;
    status == 200 && body["errors"].is_null()
}

on_both_backends!(
    each_demo_start_revokes_the_earlier_keys_and_issues_an_expiring_one,
    |server: &'static TestServer| async move {
        let first = demo_start(server).await;
        assert!(first.created);
        assert!(works(server, &first.api_key).await);
        let days = (first.expires_at - chrono::Utc::now()).num_hours() as f64 / 24.0;
        assert!((29.9..=30.0).contains(&days), "expires in {days} days");

        let second = demo_start(server).await;
        assert!(!second.created);
        assert!(second.revoked >= 1, "the first start's key is revoked");
        assert!(!works(server, &first.api_key).await, "an earlier start's key no longer works");
        assert!(works(server, &second.api_key).await);

        // One live key in the demo tenant, and it expires.
        let (_, body) = server
            .gql(
                Some(&second.api_key),
                "{ apiKeys(first: 100) { edges { node { name expiresAt revokedAt } } } }",
                json!({}),
            )
            .await;
        let live: Vec<_> = body["data"]["apiKeys"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"])
            .filter(|k| k["revokedAt"].is_null())
            .collect();
        assert_eq!(live.len(), 1, "{body}");
        assert!(live[0]["expiresAt"].is_string(), "{body}");
    }
);
