//! Repeated reads of one person by one principal within the window are the first
//! read's event plus one that counts the rest; every read stays accounted for, and the
//! chain still verifies.

use serde_json::Value;

use super::{all_events, verify};
use crate::helpers::{TestServer, two_clusters};
use crate::on_dedicated_servers;

fn reads_of(events: &[Value], target: &str) -> (usize, u64) {
    let about: Vec<&Value> =
        events.iter().filter(|e| e["action"] == "recommendations.read" && e["target"] == target).collect();
    let reads = about.iter().map(|e| e["details"]["coalesced"]["reads"].as_u64().unwrap_or(1)).sum();
    (about.len(), reads)
}

on_dedicated_servers!(
    repeated_reads_of_a_person_are_coalesced_and_every_read_is_counted,
    Box::new(|settings: &mut api::config::Settings| settings.audit.read_coalesce_window_secs = 60),
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        server.seed(key, &two_clusters()).await;
        for _ in 0..5 {
            server.recommend(key, "a1", Value::Null).await;
        }
        for _ in 0..3 {
            server.recommend(key, "a2", Value::Null).await;
        }
        // Another principal reading a1 has a window of its own.
        let other = server.key_with(key, &["recommendations:read"]).await;
        server.recommend(&other, "a1", Value::Null).await;

        // Reading the log closes the windows: it counts every read before it.
        let events = all_events(server, key).await;
        let targets: Vec<String> = events
            .iter()
            .filter(|e| e["action"] == "recommendations.read")
            .map(|e| e["target"].as_str().unwrap().to_owned())
            .collect();
        let (a1, a2) = (targets[0].clone(), targets.iter().find(|t| **t != targets[0]).unwrap().clone());
        assert_eq!(reads_of(&events, &a1), (3, 6), "a1: two by the first key (one counting 4), one by the other");
        assert_eq!(reads_of(&events, &a2), (2, 3), "a2: its first read and one counting 2");
        let summary = events
            .iter()
            .find(|e| e["target"] == a1.as_str() && e["details"]["coalesced"]["reads"] == 4)
            .expect("a summary of a1's reads");
        let range = &summary["details"]["coalesced"];
        assert!(range["from"].as_str().unwrap() <= range["to"].as_str().unwrap(), "{range}");
        assert_eq!(summary["details"]["first"], 5, "the read's own details stay: {summary}");

        // After the flush a read opens a new window: it is written at once.
        server.recommend(key, "a1", Value::Null).await;
        let events = all_events(server, key).await;
        assert_eq!(reads_of(&events, &a1), (4, 7));
        assert_eq!(verify(server, key).await["ok"], true);
    }
);

/// The reads a server still counts when it is stopped gracefully are written before it
/// exits: a replica of its own process on PostgreSQL (where a connection belongs to the
/// runtime that opened it, and the HTTP workers' runtimes are gone by then) serves
/// insights reads, gets SIGTERM, and every read is in the log the other replica reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_still_coalesced_at_a_graceful_stop_are_written() {
    use crate::helpers::process::{free_port, spawn_server, terminate};
    use crate::helpers::{Backend, dedicated_server, movie, replica_settings, stop_when_done};

    let coalescing = Box::new(|settings: &mut api::config::Settings| settings.audit.read_coalesce_window_secs = 60);
    let Some(a) = dedicated_server(Backend::Postgres, coalescing) else { return };
    let _stop_a = stop_when_done(a);
    let t = a.new_tenant().await;
    let key = t.api_key.as_str();
    a.upsert_contents(key, serde_json::json!([movie("m1", "One")])).await;

    let dir = std::env::temp_dir().join(format!("marquee-e2e-stop-{}", uuid::Uuid::new_v4().simple()));
    let mut settings = replica_settings(&a.settings, dir);
    settings.server.port = free_port();
    let base = format!("http://127.0.0.1:{}", settings.server.port);
    let mut b = spawn_server(&settings);
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    while !http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = b.kill();
            panic!("the server process did not start");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Concurrent, so that the pool opens connections from the HTTP workers.
    const CLIENTS: u64 = 32;
    const EACH: u64 = 8;
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (http, base, key) = (http.clone(), base.clone(), key.to_owned());
        clients.spawn(async move {
            for _ in 0..EACH {
                let body: Value = http
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&key)
                    .json(&serde_json::json!({ "query": "{ contentInsights(contentId: \"m1\") { audienceSize } }" }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert!(body.get("errors").is_none(), "{body}");
            }
        });
    }
    while let Some(client) = clients.join_next().await {
        client.unwrap();
    }
    const READS: u64 = CLIENTS * EACH;
    terminate(&b);
    let exit = tokio::task::spawn_blocking(move || b.wait()).await.unwrap().unwrap();
    assert!(exit.success(), "a graceful stop: {exit}");

    let events = all_events(a, key).await;
    let about: Vec<&Value> = events.iter().filter(|e| e["action"] == "content.insights_read").collect();
    let reads: u64 = about.iter().map(|e| e["details"]["coalesced"]["reads"].as_u64().unwrap_or(1)).sum();
    assert_eq!((about.len(), reads), (2, READS), "the first read, and one counting the rest: {about:?}");
    assert_eq!(verify(a, key).await["ok"], true);
}
