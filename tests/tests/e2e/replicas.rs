//! Replicas on one PostgreSQL database (issue 14): a write through one replica changes
//! the other's next answers within a second, with the production cache lifetimes and
//! the other's caches warm, and still does after the other's listening connection was
//! cut from the database side. (SQLite runs one server process: nothing to relay.)

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Backend, TestServer, dedicated_server, error_code, query_value, replica_of, stop_when_done};
use crate::privacy::{als, seed};

/// How soon another replica's write must show.
const WITHIN: Duration = Duration::from_secs(1);

/// Polls `answer` on `server` until `done` holds of it; returns how long that took.
async fn seen_within<F, Fut>(what: &str, answer: F, done: impl Fn(&Value) -> bool) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let started = Instant::now();
    loop {
        let now = answer().await;
        if done(&now) {
            let took = started.elapsed();
            assert!(took <= WITHIN, "{what} took {took:?} to reach the other replica");
            eprintln!("{what}: seen by the other replica after {took:?}");
            return took;
        }
        assert!(started.elapsed() <= WITHIN, "{what} did not reach the other replica within {WITHIN:?}: {now}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn listener_pid(server: &TestServer, of: &TestServer) -> Option<i32> {
    let name = domain::change_relay::listener_name(&of.change_origin());
    let db = server.raw_db().await;
    let sql = format!(
        "SELECT COALESCE(MAX(pid), 0) AS pid FROM pg_stat_activity WHERE application_name = '{name}' AND query LIKE 'LISTEN%'"
    );
    let pid: i32 = query_value(&db, "pid", sql).await;
    (pid != 0).then_some(pid)
}

async fn wait_for_listener(server: &TestServer, of: &TestServer, not: Option<i32>) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(pid) = listener_pid(server, of).await
            && Some(pid) != not
        {
            return pid;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the replica does not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// B's caches are warm with `user`'s list from `model` and with `key`; then A deploys
/// `next`, erases `user` and revokes `key`, and B sees each within a second. `cut` runs
/// between warming and the writes.
#[allow(clippy::too_many_arguments)]
async fn round<C, CF>(a: &TestServer, b: &TestServer, key: &str, model: &str, next: &str, user: &str, cut: C)
where
    C: FnOnce() -> CF,
    CF: std::future::Future<Output = ()>,
{
    let (revocable_id, revocable) = a.create_key(key, &["recommendations:read", "catalog:read"]).await;
    let before = b.recommend(key, user, Value::Null).await;
    assert_eq!((before["modelId"].as_str(), before["strategy"].as_str()), (Some(model), Some("PERSONALIZED")));
    assert_eq!(b.recommend(&revocable, "r0", Value::Null).await["modelId"], model);
    cut().await;

    a.deploy(key, next, true).await;
    seen_within("a deployment", || b.recommend(key, "r0", Value::Null), |r| r["modelId"] == next).await;

    a.ok(key, "mutation($u: String!) { eraseUser(userId: $u) { status } }", json!({ "u": user })).await;
    seen_within("an erasure", || b.recommend(key, user, Value::Null), |r| r["strategy"] == "POPULAR_FALLBACK").await;

    let revoked =
        a.ok(key, "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }", json!({ "id": revocable_id })).await;
    assert!(revoked["revokeApiKey"]["revokedAt"].is_string());
    let query = "{ recommendations(userId: \"r0\", first: 1) { strategy } }";
    seen_within(
        "a key revocation",
        || async { b.gql(Some(&revocable), query, json!({})).await.1 },
        |body| error_code(body) == "UNAUTHENTICATED",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_on_one_replica_reach_the_other_within_a_second() {
    let Some(a) = dedicated_server(Backend::Postgres, Box::new(|_| {})) else { return };
    let _stop_a = stop_when_done(a);
    let b = replica_of(a, Box::new(|_| {}));
    let _stop_b = stop_when_done(b);
    let t = a.new_tenant().await;
    let key = t.api_key.as_str();
    seed(a, key).await;
    let first = a.train(key, als()).await.model;
    let second = a.train(key, als()).await.model;
    a.deploy(key, &first, false).await;
    wait_for_listener(a, b, None).await;

    round(a, b, key, &first, &second, "a0", || async {}).await;

    // B's listening connection is killed by the database after B warmed up; the writes
    // follow at once, while B may still be connecting again.
    let killed = listener_pid(a, b).await.expect("B listens");
    round(a, b, key, &second, &first, "a1", || async {
        let db = a.raw_db().await;
        let ended: bool = query_value(&db, "ended", format!("SELECT pg_terminate_backend({killed}) AS ended")).await;
        assert!(ended);
    })
    .await;
    assert_ne!(wait_for_listener(a, b, Some(killed)).await, killed, "B listens again on a new connection");
}
