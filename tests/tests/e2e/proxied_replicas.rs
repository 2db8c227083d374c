//! The two-replica topology, natively (issue 14): two servers on one PostgreSQL
//! database behind HAProxy (Debian's package) with the configuration
//! docs/operations.md describes. Requests through the proxy reach both replicas; a
//! write through the proxy is seen by the next read through it; one replica, a
//! process of its own, is stopped with SIGTERM under a steady stream of requests
//! through the proxy, and not one request fails.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use api::config::Settings;
use serde_json::{Value, json};

use crate::helpers::process::{free_port, spawn_server, terminate};
use crate::helpers::services::Haproxy;
use crate::helpers::{Backend, UPSERT_CONTENTS, dedicated_server, movie, replica_settings, stop_when_done};

/// A server process killed on drop unless it was waited for.
struct Process(Option<std::process::Child>);

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One GraphQL request through the proxy: the replica that answered (HAProxy's
/// `x-replica`), and the status and body; `None` when the request failed at the
/// transport.
async fn through(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    query: &str,
    variables: Value,
) -> Option<(String, u16, Value)> {
    let sent = http
        .post(format!("{base}/graphql"))
        .bearer_auth(key)
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .ok()?;
    let replica = sent.headers().get("x-replica").and_then(|v| v.to_str().ok()).unwrap_or("?").to_owned();
    let status = sent.status().as_u16();
    let body: Value = sent.json().await.ok()?;
    Some((replica, status, body))
}

fn answered(outcome: &Option<(String, u16, Value)>) -> bool {
    matches!(outcome, Some((_, 200, body)) if body.get("errors").is_none())
}

const TITLE: &str = "query($id: String!) { content(id: $id) { title } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_behind_haproxy_share_requests_and_survive_a_graceful_stop() {
    let Some(a) = dedicated_server(Backend::Postgres, Box::new(|_| {})) else { return };
    let _stop_a = stop_when_done(a);
    let dir = std::env::temp_dir().join(format!("marquee-e2e-proxied-{}", uuid::Uuid::new_v4().simple()));
    let mut settings: Settings = replica_settings(&a.settings, dir);
    settings.server.port = free_port();
    let b_port = settings.server.port;
    let mut b = Process(Some(spawn_server(&settings)));
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let started = Instant::now();
    while !http.get(format!("http://127.0.0.1:{b_port}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(started.elapsed() < Duration::from_secs(60), "the server process did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let a_port: u16 = a.base_url.rsplit(':').next().unwrap().parse().unwrap();
    let Some(proxy) = Haproxy::start(&[("a", a_port), ("b", b_port)]).await else { return };
    let base = proxy.base_url.clone();
    let t = a.new_tenant().await;
    let key = t.api_key.clone();
    a.upsert_contents(&key, json!([movie("m1", "One")])).await;

    // Round robin: both replicas answer.
    let mut by_replica: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..10 {
        let outcome = through(&http, &base, &key, TITLE, json!({ "id": "m1" })).await;
        assert!(answered(&outcome), "{outcome:?}");
        *by_replica.entry(outcome.unwrap().0).or_default() += 1;
    }
    eprintln!("10 requests through haproxy: {by_replica:?}");
    assert!(by_replica.get("a").is_some_and(|&n| n >= 4) && by_replica.get("b").is_some_and(|&n| n >= 4));

    // Read-your-writes through the proxy: the next read (on the other replica, round
    // robin) shows the write, within a second.
    for round in 0..6 {
        let id = format!("w{round}");
        let title = format!("Written {round}");
        let written = through(&http, &base, &key, UPSERT_CONTENTS, json!({ "c": [movie(&id, &title)] })).await;
        assert!(answered(&written), "{written:?}");
        let wrote_on = written.unwrap().0;
        let since = Instant::now();
        loop {
            let read = through(&http, &base, &key, TITLE, json!({ "id": id })).await;
            assert!(answered(&read), "{read:?}");
            let (read_on, _, body) = read.unwrap();
            if body["data"]["content"]["title"] == title.as_str() {
                eprintln!("write on {wrote_on}, read on {read_on}: seen after {:?}", since.elapsed());
                break;
            }
            assert!(since.elapsed() < Duration::from_secs(1), "a write through the proxy was not read back: {body}");
        }
    }

    // A steady stream through the proxy from 4 clients; B gets SIGTERM in the middle.
    let running = Arc::new(AtomicBool::new(true));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (http, base, key, running) = (http.clone(), base.clone(), key.clone(), running.clone());
        clients.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            while running.load(Ordering::Relaxed) {
                let outcome = through(&http, &base, &key, TITLE, json!({ "id": "m1" })).await;
                outcomes.push((Instant::now(), answered(&outcome), outcome.map(|o| o.0)));
            }
            outcomes
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut child = b.0.take().unwrap();
    terminate(&child);
    let stopping = Instant::now();
    let exit = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    running.store(false, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.extend(client.await.unwrap());
    }
    let failed = outcomes.iter().filter(|(_, ok, _)| !ok).count();
    let on_b = outcomes.iter().filter(|(_, _, r)| r.as_deref() == Some("b")).count();
    let after_stop = outcomes.iter().filter(|(at, _, _)| *at > stopped).count();
    eprintln!(
        "{} requests through haproxy, {failed} failed; {on_b} answered by b, which stopped {:?} after SIGTERM \
         ({exit}); {after_stop} answered after its stop",
        outcomes.len(),
        stopped - stopping
    );
    for (_, _, outcome) in outcomes.iter().filter(|(_, ok, _)| !ok) {
        eprintln!("failed through the proxy: {outcome:?}");
    }
    assert!(exit.success(), "a graceful stop: {exit}");
    assert_eq!(failed, 0, "no request through the proxy fails while a replica stops");
    assert!(on_b > 0 && after_stop > 0, "the stream ran on both replicas, and on after the stop");
}
