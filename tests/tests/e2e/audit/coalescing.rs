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
