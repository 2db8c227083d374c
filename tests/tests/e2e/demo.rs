//! `serve --demo` hands out one working, expiring key per start: the keys of earlier
//! starts (and the tenant's never-expiring creation key) stop working.

use serde_json::json;

use crate::helpers::TestServer;
use crate::{on_both_backends, on_dedicated_servers};

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

/// Smaller than `serve --demo`'s, so both backends fill and train it quickly.
const TEST_SIZES: domain::import::demo::DemoSizes = domain::import::demo::DemoSizes { items: 1000, users: 1000 };

async fn first_run(server: &TestServer, tenant_id: domain::tenants::ids::TenantId) -> api::demo::FirstRun {
    server
        .operator_app(move |app| async move {
            api::demo::first_run(&app, tenant_id, TEST_SIZES).await.map_err(|e| format!("{e:#}"))
        })
        .await
        .unwrap()
}

on_dedicated_servers!(
    the_first_run_fills_trains_deploys_and_reports_once,
    Box::new(api::demo::adjust_settings),
    |server: &'static TestServer| async move {
        let access = demo_start(server).await;
        let key = access.api_key.as_str();
        let run = first_run(server, access.tenant_id).await;
        assert!(run.filled && run.trained, "{run:?}");
        assert_eq!(run.items, 1000);
        assert!(run.interactions > 15_000, "{run:?}");
        let (tenant_id, for_report) = (access.tenant_id, run.clone());
        let report = server
            .operator_app(move |app| async move {
                api::demo::first_report(&app, tenant_id, &for_report).await.map_err(|e| format!("{e:#}"))
            })
            .await
            .unwrap();
        assert!(report.warnings >= 1, "the demo's under-served groups show in the report: {report:?}");

        // The console's overview reads the same figures.
        let stats = server.ok(key, "{ statistics { counts { items users interactions } } }", json!({})).await;
        let counts = &stats["statistics"]["counts"];
        assert_eq!(counts["items"], run.items);
        assert_eq!(counts["users"], run.users);
        assert_eq!(counts["interactions"], run.interactions);

        // Personalized, explained recommendations for a consenting person.
        let people = server
            .ok(key, "{ endUsers(first: 20, filter: { consentPersonalization: true }) { nodes { id } } }", json!({}))
            .await;
        let person = people["endUsers"]["nodes"][0]["id"].as_str().unwrap().to_owned();
        let query = "query($u: String!) { recommendations(userId: $u, first: 10, explain: true) { strategy modelId items { contentId explanation { summary contributions { contentId share } } } } }";
        let recs = server.ok(key, query, json!({ "u": person })).await["recommendations"].clone();
        assert_eq!(recs["strategy"], "PERSONALIZED", "{recs}");
        assert_eq!(recs["modelId"], run.model_id.as_str());
        let items = recs["items"].as_array().unwrap();
        assert_eq!(items.len(), 10, "{recs}");
        assert!(
            items.iter().any(|i| !i["explanation"]["contributions"].as_array().unwrap().is_empty()),
            "explanations name contributing items: {recs}"
        );

        // The report and the audit log have content.
        let reports = server.ok(key, "{ fairnessReports(first: 5) { nodes { id modelId } } }", json!({})).await;
        assert_eq!(reports["fairnessReports"]["nodes"][0]["id"], report.id.as_str(), "{reports}");
        let audit = server
            .ok(
                key,
                "{ auditEvents(first: 100, filter: { action: \"model.deployed\" }) { nodes { action } } }",
                json!({}),
            )
            .await;
        assert_eq!(audit["auditEvents"]["nodes"].as_array().unwrap().len(), 1, "{audit}");

        // The tuned model beats recommending the most popular items on this data.
        let popular = server.train(key, json!({ "algorithm": "MOST_POPULAR" })).await;
        let ndcg = |id: String| async move {
            let q = "query($id: ID!) { model(id: $id) { metrics { ndcg } } }";
            server.ok(key, q, json!({ "id": id })).await["model"]["metrics"]["ndcg"].as_f64().unwrap()
        };
        let (tuned, baseline) = (ndcg(run.model_id.clone()).await, ndcg(popular.model).await);
        assert!(tuned > baseline * 1.1, "tuned NDCG@10 {tuned} against most popular {baseline}");

        // A restart finds everything in place and changes nothing.
        let again = first_run(server, access.tenant_id).await;
        assert!(!again.filled && !again.trained, "{again:?}");
        assert_eq!(again.model_id, run.model_id);
        assert_eq!(again.interactions, run.interactions);

        // Another tenant sees none of it.
        let other = server.new_tenant().await;
        let stats =
            server.ok(&other.api_key, "{ statistics { counts { items users interactions } } }", json!({})).await;
        assert_eq!(stats["statistics"]["counts"], json!({ "items": 0, "users": 0, "interactions": 0 }));
        let recs = server.recommend(&other.api_key, &person, json!(null)).await;
        assert_ne!(recs["strategy"], "PERSONALIZED", "{recs}");
        assert!(recs["items"].as_array().unwrap().is_empty(), "{recs}");
    }
);
