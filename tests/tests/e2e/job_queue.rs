//! Training jobs claimed from the database (issue 14): any server that runs workers
//! claims queued jobs, each job runs once (one run record), and a job whose worker was
//! killed is finished by another worker once its lease runs out.

use std::time::{Duration, Instant};

use api::config::{Role, Settings};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::audit::tenant_row_id;
use crate::helpers::{
    Backend, TestServer, dedicated_server, query_value, replica_of, replica_settings, server, stop_when_done,
};
use crate::privacy::{als, seed};

async fn count(db: &DatabaseConnection, sql: String) -> i64 {
    query_value(db, "n", sql).await
}

async fn twenty_jobs_run_once_each(submit_to: [&'static TestServer; 2]) {
    let a = submit_to[0];
    let t = a.new_tenant().await;
    let key = t.api_key.as_str();
    seed(a, key).await;
    let mut jobs = Vec::new();
    for i in 0..20 {
        jobs.push(submit_to[i % 2].start_training(key, json!({ "algorithm": "MOST_POPULAR" })).await.job);
    }
    for job in &jobs {
        assert_eq!(a.job_outcome(key, job).await["status"], "SUCCEEDED");
    }
    let db = a.raw_db().await;
    let tid = tenant_row_id(&db, &t.slug).await;
    let runs = format!("FROM job_runs WHERE tenant_id = {tid}");
    assert_eq!(count(&db, format!("SELECT COUNT(*) AS n {runs}")).await, 20, "one run per job");
    assert_eq!(count(&db, format!("SELECT COUNT(DISTINCT job_id) AS n {runs}")).await, 20);
    assert_eq!(count(&db, format!("SELECT COUNT(*) AS n {runs} AND outcome = 'finished'")).await, 20);
    let attempts = format!("SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = {tid} AND attempts = 1");
    assert_eq!(count(&db, attempts).await, 20);
    let workers = count(&db, format!("SELECT COUNT(DISTINCT worker) AS n {runs}")).await;
    eprintln!("20 jobs ran on {workers} worker(s)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_jobs_submitted_to_two_replicas_each_run_once() {
    let Some(a) = dedicated_server(Backend::Postgres, Box::new(|_| {})) else { return };
    let _stop_a = stop_when_done(a);
    let b = replica_of(a, Box::new(|_| {}));
    let _stop_b = stop_when_done(b);
    twenty_jobs_run_once_each([a, b]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_jobs_on_one_sqlite_server_each_run_once() {
    let a = server(Backend::Sqlite).expect("sqlite");
    twenty_jobs_run_once_each([a, a]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_was_killed_is_finished_by_another_after_its_lease() {
    let configure = |settings: &mut Settings| {
        settings.server.role = Role::Api;
        settings.models.job_lease_secs = 2;
    };
    let Some(a) = dedicated_server(Backend::Postgres, Box::new(configure)) else { return };
    let _stop_a = stop_when_done(a);
    let t = a.new_tenant().await;
    let key = t.api_key.as_str();
    seed(a, key).await;

    // An API-only server queues; nothing runs the job until a worker exists.
    let job = a.start_training(key, als()).await.job;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(a.job(key, &job).await["status"], "QUEUED");

    // A worker process claims it and stalls before storing the model, then dies.
    let dir = std::env::temp_dir().join(format!("marquee-e2e-worker-{}", uuid::Uuid::new_v4().simple()));
    let mut settings = replica_settings(&a.settings, dir);
    settings.server.role = Role::Worker;
    settings.models.test_pause_before_store_ms = 120_000;
    let mut worker = crate::helpers::process::spawn_server(&settings);
    let db = a.raw_db().await;
    let tid = tenant_row_id(&db, &t.slug).await;
    let started = Instant::now();
    while a.job(key, &job).await["status"] != "RUNNING" {
        assert!(started.elapsed() < Duration::from_secs(60), "the worker process did not claim the job");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Killed mid-job: trained, not yet stored.
    tokio::time::sleep(Duration::from_secs(1)).await;
    worker.kill().unwrap();
    worker.wait().unwrap();
    let killed = Instant::now();

    let worker_b = replica_of(a, Box::new(|s: &mut Settings| s.server.role = Role::Worker));
    let _stop_b = stop_when_done(worker_b);
    assert_eq!(a.job_outcome(key, &job).await["status"], "SUCCEEDED");
    eprintln!("the job was finished {:?} after its first worker was killed", killed.elapsed());
    let runs = format!("FROM job_runs WHERE tenant_id = {tid}");
    assert_eq!(count(&db, format!("SELECT COUNT(*) AS n {runs}")).await, 2, "two runs");
    let lost = format!("SELECT COUNT(*) AS n {runs} AND outcome = 'lost'");
    assert_eq!(count(&db, lost).await, 1, "the killed worker's run");
    assert_eq!(count(&db, format!("SELECT COUNT(*) AS n {runs} AND outcome = 'finished'")).await, 1);
    assert_eq!(count(&db, format!("SELECT COUNT(DISTINCT worker) AS n {runs}")).await, 2);
    let one_model = format!("SELECT COUNT(*) AS n FROM models WHERE tenant_id = {tid} AND status = 'ready'");
    assert_eq!(count(&db, one_model).await, 1);
}
