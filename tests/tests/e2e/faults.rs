//! Faults survived (issue 14): a server stopped with SIGTERM under load answers every
//! request it accepted, and every answered write is stored.

use std::time::{Duration, Instant};

use api::config::Settings;
use serde_json::{Value, json};

use crate::audit::tenant_row_id;
use crate::helpers::process::{free_port, spawn_server, terminate};
use crate::helpers::{Backend, RECORD, dedicated_server, movie, query_value, replica_settings, stop_when_done};

const BATCH: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_accepted_request() {
    let Some(a) = dedicated_server(Backend::Postgres, Box::new(|_| {})) else { return };
    let _stop_a = stop_when_done(a);
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
        s.database.acquire_timeout_ms = api::config::Settings::default().database.acquire_timeout_ms;
    };
    let Some(a) = dedicated_server(Backend::Postgres, Box::new(configure)) else { return };
    let _stop_a = stop_when_done(a);
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

/// A tenant's events as comparable rows: event id, user, item, type, time.
async fn stored_events(db: &sea_orm::DatabaseConnection, tid: i64) -> Vec<String> {
    use sea_orm::ConnectionTrait as _;
    let sql = format!(
        "SELECT i.event_id, u.external_id AS u, c.external_id AS c, i.event_type, i.occurred_at \
         FROM interactions i JOIN end_users u ON u.id = i.user_id JOIN content_items c ON c.id = i.item_id \
         WHERE i.tenant_id = {tid} ORDER BY i.event_id"
    );
    let rows = db.query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    rows.iter()
        .map(|r| {
            let e: String = r.try_get("", "event_id").unwrap();
            let u: String = r.try_get("", "u").unwrap();
            let c: String = r.try_get("", "c").unwrap();
            let t: String = r.try_get("", "event_type").unwrap();
            let at: i64 = r.try_get("", "occurred_at").unwrap();
            format!("{e} {u} {c} {t} {at}")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_event_batches_then_the_same_batches_again_equals_a_clean_run() {
    let Some(a) = dedicated_server(Backend::Postgres, Box::new(|_| {})) else { return };
    let _stop_a = stop_when_done(a);
    let (killed, clean) = (a.new_tenant().await, a.new_tenant().await);
    let items = json!([movie("m1", "One"), movie("m2", "Two"), movie("m3", "Three")]);
    for t in [&killed, &clean] {
        a.upsert_contents(&t.api_key, items.clone()).await;
    }
    let batches: Vec<Value> = (0..12)
        .map(|b| {
            json!((0..1000)
                .map(|i| json!({ "eventId": format!("b{b}-{i}"), "userId": format!("u{}", i % 97), "contentId": format!("m{}", 1 + i % 3), "type": "PLAY", "occurredAt": "2026-01-01T00:00:00Z" }))
                .collect::<Vec<_>>())
        })
        .collect();

    // A server process takes the batches from 3 clients at once and is killed mid-way.
    let dir = std::env::temp_dir().join(format!("marquee-e2e-kill-{}", uuid::Uuid::new_v4().simple()));
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
    let mut senders = Vec::new();
    for lane in 0..3 {
        let (http, base, key) = (http.clone(), base.clone(), killed.api_key.clone());
        let mine: Vec<Value> = batches.iter().skip(lane).step_by(3).cloned().collect();
        senders.push(tokio::spawn(async move {
            for events in mine {
                let sent = http
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&key)
                    .json(&json!({ "query": RECORD, "variables": { "e": events } }))
                    .send()
                    .await;
                if sent.is_err() {
                    break;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    for sender in senders {
        sender.await.unwrap();
    }
    let db = a.raw_db().await;
    let killed_tid = crate::audit::tenant_row_id(&db, &killed.slug).await;
    let before_redo = stored_events(&db, killed_tid).await.len();
    assert_eq!(before_redo % 1000, 0, "a batch is stored whole or not at all: {before_redo}");

    // The same work again on a live server, and a clean run for another tenant.
    for events in &batches {
        a.record(&killed.api_key, events.clone()).await;
        a.record(&clean.api_key, events.clone()).await;
    }
    let clean_tid = crate::audit::tenant_row_id(&db, &clean.slug).await;
    let (after_redo, clean_run) = (stored_events(&db, killed_tid).await, stored_events(&db, clean_tid).await);
    eprintln!("{before_redo} events were stored before the kill; {} after the redo", after_redo.len());
    assert_eq!(clean_run.len(), 12_000);
    assert_eq!(after_redo, clean_run, "the redone tenant's events equal the clean run's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_an_import_then_the_same_import_again_equals_a_clean_run() {
    let Some(dir) = crate::ingestion::movielens::dataset() else { return };
    let Some(a) = dedicated_server(Backend::Postgres, Box::new(|_| {})) else { return };
    let _stop_a = stop_when_done(a);
    let (killed, clean) = (a.new_tenant().await, a.new_tenant().await);
    let db = a.raw_db().await;
    let killed_tid = crate::audit::tenant_row_id(&db, &killed.slug).await;
    let count = format!("SELECT COUNT(*) AS n FROM interactions WHERE tenant_id = {killed_tid}");

    // The import runs in a process of its own, killed once events are arriving.
    let dir_of_process = std::env::temp_dir().join(format!("marquee-e2e-import-{}", uuid::Uuid::new_v4().simple()));
    let settings = replica_settings(&a.settings, dir_of_process);
    let mut child = crate::helpers::process::spawn_import(&settings, &killed.slug, &dir);
    let started = Instant::now();
    while query_value::<i64>(&db, "n", count.clone()).await == 0 {
        assert!(started.elapsed() < Duration::from_secs(120), "the import process stored nothing");
        assert!(child.try_wait().unwrap().is_none(), "the import ended before it could be killed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = query_value::<i64>(&db, "n", count.clone()).await;

    let redo = crate::ingestion::movielens::import(a, &killed.slug, dir.clone()).await;
    let fresh = crate::ingestion::movielens::import(a, &clean.slug, dir).await;
    eprintln!("killed after {before} events; the redo added {}", redo.interactions.accepted);
    assert!(before < 100_000, "killed mid-way");
    assert_eq!(fresh.interactions.accepted, 100_000);
    let clean_tid = crate::audit::tenant_row_id(&db, &clean.slug).await;
    assert_eq!(stored_events(&db, killed_tid).await, stored_events(&db, clean_tid).await);
    let stats = "{ statistics { counts { items users interactions } } }";
    assert_eq!(
        a.ok(&killed.api_key, stats, json!({})).await,
        a.ok(&clean.api_key, stats, json!({})).await,
        "the catalog and the audience equal the clean run's too"
    );
}
