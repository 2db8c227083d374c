//! Faults survived (issue 14): a server stopped with SIGTERM under load answers every
//! request it accepted, and every answered write is stored.

use std::time::{Duration, Instant};

use api::config::Settings;
use serde_json::{Value, json};

use crate::audit::tenant_row_id;
use crate::helpers::process::{free_port, spawn_server, terminate};
use crate::helpers::{Backend, RECORD, dedicated_server, movie, query_value, replica_settings};

const BATCH: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_accepted_request() {
    let Some(a) = dedicated_server(Backend::Postgres, Box::new(|_| {})) else { return };
    let t = a.new_tenant().await;
    a.upsert_contents(&t.api_key, json!([movie("m1", "One")])).await;

    let dir = std::env::temp_dir().join(format!("marquee-e2e-term-{}", uuid::Uuid::new_v4().simple()));
    let mut settings: Settings = replica_settings(&a.settings, dir);
    settings.server.port = free_port();
    let base = format!("http://127.0.0.1:{}", settings.server.port);
    let mut child = spawn_server(&settings);
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let started = Instant::now();
    while !http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(started.elapsed() < Duration::from_secs(60), "the server process did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Batches of events go out continuously from 8 clients; SIGTERM comes in the middle.
    let mut clients = Vec::new();
    for client in 0..8 {
        let (http, base, key) = (http.clone(), base.clone(), t.api_key.clone());
        clients.push(tokio::spawn(async move {
            let mut answered = Vec::new();
            for round in 0..1_000 {
                let events: Vec<Value> = (0..BATCH)
                    .map(|i| json!({ "eventId": format!("c{client}-r{round}-{i}"), "userId": format!("u{i}"), "contentId": "m1", "type": "PLAY", "occurredAt": "2026-01-01T00:00:00Z" }))
                    .collect();
                let sent = http
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&key)
                    .json(&json!({ "query": RECORD, "variables": { "e": events } }))
                    .send()
                    .await;
                // Refused connections after the stop: not accepted, so not answered.
                let Ok(response) = sent else { break };
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                answered.push((status, body["data"]["recordInteractions"]["accepted"].as_u64()));
            }
            answered
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    terminate(&child);
    let stopped_at = Instant::now();
    let mut answered = Vec::new();
    for client in clients {
        answered.extend(client.await.unwrap());
    }
    let exit = child.wait().unwrap();
    eprintln!("stopped {:?} after SIGTERM ({exit}); {} batches answered", stopped_at.elapsed(), answered.len());
    assert!(exit.success(), "a graceful stop: {exit}");
    assert!(answered.len() > 8, "the load ran before the stop");
    for (status, accepted) in &answered {
        assert_eq!((*status, *accepted), (200, Some(BATCH as u64)), "every accepted request is answered in full");
    }
    let db = a.raw_db().await;
    let tid = tenant_row_id(&db, &t.slug).await;
    let stored: i64 =
        query_value(&db, "n", format!("SELECT COUNT(*) AS n FROM interactions WHERE tenant_id = {tid}")).await;
    assert_eq!(stored as usize, answered.len() * BATCH, "every answered batch is stored");
}

async fn ready(http: &reqwest::Client, base: &str) -> u16 {
    match http.get(format!("{base}/readyz")).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

/// Waits until `/readyz` answers `want`; returns how long that took.
async fn until_ready_is(http: &reqwest::Client, base: &str, want: u16, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if ready(http, base).await == want {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "/readyz did not answer {want} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn events(prefix: &str, n: usize) -> Value {
    json!((0..n)
        .map(|i| json!({ "eventId": format!("{prefix}-{i}"), "userId": format!("u{i}"), "contentId": "m1", "type": "PLAY", "occurredAt": "2026-01-01T00:00:00Z" }))
        .collect::<Vec<_>>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_fails_fast_and_is_survived_without_a_restart() {
    use api::config::ExposeSecret as _;
    // The server reaches PostgreSQL through a proxy this test cuts: the database goes
    // away for this server only.
    let proxy = crate::helpers::db_proxy::DbProxy::start("127.0.0.1:5432").await;
    let port = proxy.port;
    let configure = move |s: &mut Settings| {
        let url = s.database.url.expose_secret().replace("127.0.0.1:5432", &format!("127.0.0.1:{port}"));
        s.database.url = url.into();
    };
    let Some(a) = dedicated_server(Backend::Postgres, Box::new(configure)) else { return };
    let t = a.new_tenant().await;
    let key = t.api_key.as_str();
    a.upsert_contents(key, json!([movie("m1", "One")])).await;
    assert_eq!(a.record(key, events("before", 10)).await["accepted"], 10);
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    assert_eq!(ready(&http, &a.base_url).await, 200);

    proxy.cut().await;
    let red = until_ready_is(&http, &a.base_url, 503, Duration::from_secs(5)).await;
    let asked = Instant::now();
    let (status, body) = a.gql(Some(key), RECORD, json!({ "e": events("during", 10) })).await;
    let failed_in = asked.elapsed();
    eprintln!("database cut: readiness red after {red:?}; a write failed in {failed_in:?} with {body}");
    assert_eq!((status, crate::helpers::error_code(&body).as_str()), (503, "UNAVAILABLE"), "{body}");
    assert!(failed_in < Duration::from_secs(5), "requests fail fast: {failed_in:?}");

    proxy.restore();
    let green = until_ready_is(&http, &a.base_url, 200, Duration::from_secs(30)).await;
    eprintln!("database back: ready again after {green:?}, no restart");
    let recovered = Instant::now();
    loop {
        let (status, body) = a.gql(Some(key), RECORD, json!({ "e": events("after", 10) })).await;
        if status == 200 {
            assert_eq!(body["data"]["recordInteractions"]["accepted"], 10, "{body}");
            break;
        }
        assert!(recovered.elapsed() < Duration::from_secs(10), "writes did not recover: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let db = a.raw_db().await;
    let tid = tenant_row_id(&db, &t.slug).await;
    let stored: i64 =
        query_value(&db, "n", format!("SELECT COUNT(*) AS n FROM interactions WHERE tenant_id = {tid}")).await;
    assert_eq!(stored, 20, "what was accepted before and after is stored; the refused batch is not");
}
