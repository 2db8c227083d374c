//! Quotas and rate limits (issue 14): a plan's limits refuse with `QUOTA_EXCEEDED` and
//! show in `usage`; a key's request rate refuses with HTTP 429, `Retry-After` and
//! `RATE_LIMITED`, counted once across two replicas that share Redis.

use domain::tenants::quota::LimitsUpdate;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestServer, TestTenant, dedicated_server, error_code, movie, replica_of, stop_when_done,
};
use crate::on_both_backends;

const USAGE: &str = "{ usage { trainingJobsLast24h trainingJobsPerDay interactions maxInteractions catalogItems maxCatalogItems keyRequestsPerSecond keyBurst } }";

/// The operator sets the tenant's own limits.
pub async fn set_limits(server: &TestServer, tenant: &TestTenant, update: LimitsUpdate) {
    let slug = tenant.slug.clone();
    server
        .operator(move |services| async move {
            let slug = domain::tenants::TenantSlug::parse(&slug).unwrap();
            let found = domain::access::find_tenant_by_slug(&services, &slug).await.unwrap().unwrap();
            let ctx = domain::TenantCtx::operator(found.id, domain::RequestId::new());
            domain::limits::set_tenant_limits(&ctx, &services, update).await.unwrap();
        })
        .await;
}

async fn usage(server: &TestServer, key: &str) -> Value {
    server.ok(key, USAGE, json!({})).await["usage"].clone()
}

fn event(i: usize) -> Value {
    json!({ "eventId": format!("e{i}"), "userId": format!("u{}", i % 2), "contentId": "m1", "type": "PLAY", "occurredAt": "2026-01-01T00:00:00Z" })
}

on_both_backends!(plan_limits_refuse_with_quota_exceeded_and_show_in_usage, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let other = server.new_tenant().await;
    let key = t.api_key.as_str();
    let update = LimitsUpdate {
        max_catalog_items: Some(2),
        max_interactions: Some(3),
        training_jobs_per_day: Some(1),
        ..Default::default()
    };
    set_limits(server, &t, update).await;
    let before = usage(server, key).await;
    assert_eq!(
        (&before["catalogItems"], &before["maxCatalogItems"], &before["interactions"], &before["trainingJobsLast24h"]),
        (&json!(0), &json!(2), &json!(0), &json!(0)),
        "{before}"
    );

    // A batch that starts under the limit is stored; the next is refused whole.
    server.upsert_contents(key, json!([movie("m1", "One"), movie("m2", "Two")])).await;
    let (status, body) = server
        .gql(
            Some(key),
            "mutation($c: [ContentInput!]!) { upsertContents(contents: $c) { accepted } }",
            json!({ "c": [movie("m3", "Three")] }),
        )
        .await;
    assert_eq!((status, error_code(&body).as_str()), (429, "QUOTA_EXCEEDED"), "{body}");

    server.record(key, json!([event(0), event(1), event(2)])).await;
    let (status, body) = server
        .gql(
            Some(key),
            "mutation($e: [InteractionInput!]!) { recordInteractions(events: $e) { accepted } }",
            json!({ "e": [event(3)] }),
        )
        .await;
    assert_eq!((status, error_code(&body).as_str()), (429, "QUOTA_EXCEEDED"), "{body}");

    server.start_training(key, json!({ "algorithm": "MOST_POPULAR" })).await;
    let (status, body) = server
        .gql(
            Some(key),
            "mutation($i: TrainModelInput!) { trainModel(input: $i) { job { id } } }",
            json!({ "i": { "algorithm": "MOST_POPULAR" } }),
        )
        .await;
    assert_eq!((status, error_code(&body).as_str()), (429, "QUOTA_EXCEEDED"), "{body}");

    let after = usage(server, key).await;
    assert_eq!(
        (&after["catalogItems"], &after["interactions"], &after["trainingJobsLast24h"], &after["trainingJobsPerDay"]),
        (&json!(2), &json!(3), &json!(1), &json!(1)),
        "{after}"
    );
    // Another tenant's plan and usage are its own.
    let theirs = usage(server, &other.api_key).await;
    assert_eq!((&theirs["catalogItems"], &theirs["maxCatalogItems"]), (&json!(0), &json!(0)), "{theirs}");
    server.upsert_contents(&other.api_key, json!([movie("m1", "One"), movie("m2", "Two"), movie("m3", "Three")])).await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keys_rate_is_shared_by_two_replicas_through_redis() {
    let prefix = format!("marquee-e2e-{}:", uuid::Uuid::new_v4().simple());
    let configure = move |settings: &mut api::config::Settings| {
        settings.redis.url = "redis://127.0.0.1:6379/".to_owned().into();
        settings.redis.key_prefix = prefix;
    };
    let Some(a) = dedicated_server(Backend::Postgres, Box::new(configure)) else { return };
    let _stop_a = stop_when_done(a);
    let b = replica_of(a, Box::new(|_| {}));
    let _stop_b = stop_when_done(b);
    let t = a.new_tenant().await;
    let update = LimitsUpdate { key_requests_per_sec: Some(0.5), key_burst: Some(4), ..Default::default() };
    set_limits(a, &t, update).await;
    let key = t.api_key.as_str();
    let query = "{ usage { keyBurst } }";
    let mut statuses = Vec::new();
    let mut refused = None;
    for i in 0..6 {
        let replica = if i % 2 == 0 { a } else { b };
        let (status, headers, body) =
            replica.gql_with_headers(query, json!({}), &[("authorization", format!("Bearer {key}"))]).await;
        statuses.push(status);
        if status == 429 && refused.is_none() {
            refused = Some((headers, body));
        }
    }
    // Four between them, not four each.
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
    let (headers, body) = refused.unwrap();
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    // Another tenant's key is not limited by this one's use.
    let other = a.new_tenant().await;
    let (status, _, _) =
        b.gql_with_headers(query, json!({}), &[("authorization", format!("Bearer {}", other.api_key))]).await;
    assert_eq!(status, 200);
}
