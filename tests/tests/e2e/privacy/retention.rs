//! `interactionRetentionDays` and the retention job: older interactions go, newer stay,
//! and the tenant's audit log says what was deleted.

use serde_json::json;

use crate::helpers::{TestServer, error_code};
use crate::on_both_backends;

on_both_backends!(
    the_retention_job_deletes_old_interactions_and_records_it,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        server
            .ok(
                key,
                "mutation { upsertContents(contents: [{id: \"c1\", kind: MOVIE, title: \"Old film\"}]) { accepted } }",
                json!({}),
            )
            .await;
        let old = (chrono::Utc::now() - chrono::Duration::days(400)).to_rfc3339();
        let recent = (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339();
        let events = json!([
            { "eventId": "old-1", "userId": "u1", "contentId": "c1", "type": "PLAY", "occurredAt": old },
            { "eventId": "old-2", "userId": "u2", "contentId": "c1", "type": "PLAY", "occurredAt": old },
            { "eventId": "new-1", "userId": "u1", "contentId": "c1", "type": "PLAY", "occurredAt": recent },
        ]);
        server
            .ok(
                key,
                "mutation($e: [InteractionInput!]!) { recordInteractions(events: $e) { accepted } }",
                json!({ "e": events }),
            )
            .await;

        let (_, body) = server
            .gql(
                Some(key),
                "mutation { updateTenantSettings(input: {interactionRetentionDays: -1}) { __typename } }",
                json!({}),
            )
            .await;
        assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
        let set = server.ok(
            key,
            "mutation { updateTenantSettings(input: {interactionRetentionDays: 365}) { interactionRetentionDays } }",
            json!({}),
        )
        .await;
        assert_eq!(set["updateTenantSettings"]["interactionRetentionDays"], 365);

        let slug = t.slug.clone();
        let runs = server
            .operator(move |services| async move {
                let runs = domain::privacy::apply_retention(&services).await.map_err(|e| e.to_string())?;
                let tenant = domain::access::find_tenant_by_slug(
                    &services,
                    &domain::tenants::ids::TenantSlug::parse(&slug).unwrap(),
                )
                .await
                .map_err(|e| e.to_string())?
                .unwrap();
                Ok::<_, String>(
                    runs.into_iter()
                        .filter(|r| r.tenant == tenant.id)
                        .map(|r| (r.retention_days, r.deleted))
                        .collect::<Vec<_>>(),
                )
            })
            .await
            .unwrap();
        assert_eq!(runs, vec![(365, 2)]);

        let counts = server.ok(key, "{ statistics { counts { interactions } } }", json!({})).await;
        assert_eq!(counts["statistics"]["counts"]["interactions"], 1, "the recent event stays");
        let history =
            server.ok(key, "{ endUser(id: \"u1\") { interactions { edges { node { eventId } } } } }", json!({})).await;
        assert_eq!(history["endUser"]["interactions"]["edges"], json!([{ "node": { "eventId": "new-1" } }]));

        let events = crate::audit::all_events(server, key).await;
        let purged: Vec<_> = events.iter().filter(|e| e["action"] == "interactions.retention_purged").collect();
        assert_eq!(purged.len(), 1, "{events:?}");
        assert_eq!(purged[0]["principal"], "system:retention");
        assert_eq!(purged[0]["details"]["deleted"], 2);
        assert_eq!(purged[0]["details"]["retentionDays"], 365);

        // Keeping forever again: the job leaves the tenant alone.
        let set = server
            .ok(
                key,
                "mutation { updateTenantSettings(input: {interactionRetentionDays: 0}) { interactionRetentionDays } }",
                json!({}),
            )
            .await;
        assert!(set["updateTenantSettings"]["interactionRetentionDays"].is_null());
        let report = crate::audit::verify(server, key).await;
        assert_eq!(report["ok"], true, "{report}");
    }
);
