//! `eraseUser`: afterwards nothing about the person comes back from any query, their
//! vectors are gone from the served model, models that learnt from them are marked for
//! retraining, later data for the id is refused, and the audit log still verifies.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use super::{als, seed};
use crate::helpers::{TestServer, Training, assert_error, error_code, query_value};
use crate::on_both_backends;

const ERASE: &str = "mutation($u: String!) { eraseUser(userId: $u) { id subject interactionsDeleted modelsScrubbed modelsToRetrain requestedBy status completedAt erasedAt leftEveryModelAt } }";

async fn count(server: &TestServer, sql: String) -> i64 {
    query_value(&server.raw_db().await, "n", sql).await
}

on_both_backends!(after_erasure_nothing_about_the_person_comes_back, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    seed(server, key).await;
    let model = server.train(key, als()).await.model;
    server.deploy(key, &model, false).await;
    assert_eq!(
        server.recommend(key, "a0", Value::Null).await["strategy"],
        "PERSONALIZED",
        "a trained vector serves a0 before"
    );
    let before = server.ok(key, "{ statistics { counts { users interactions } } }", json!({})).await;

    let receipt = server.ok(key, ERASE, json!({ "u": "a0" })).await["eraseUser"].clone();
    assert_eq!(receipt["interactionsDeleted"], 8);
    assert_eq!(receipt["modelsScrubbed"], json!([model]));
    assert_eq!(receipt["modelsToRetrain"], json!([model]));
    assert_eq!(receipt["subject"].as_str().unwrap().len(), 64, "a pseudonym, not the id");
    assert!(receipt["requestedBy"].as_str().unwrap().starts_with("api_key:"));

    // Every way of asking about a0 now finds nothing.
    for query in ["{ endUser(id: \"a0\") { id } }", "{ exportUserData(userId: \"a0\") }"] {
        let (_, body) = server.gql(Some(key), query, json!({})).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body}");
    }
    let users = server.ok(key, "{ endUsers(first: 100) { edges { node { id } } } }", json!({})).await;
    let ids: Vec<&Value> = users["endUsers"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]["id"]).collect();
    assert!(!ids.contains(&&json!("a0")) && ids.contains(&&json!("r0")), "{users}");
    let recs = server.recommend(key, "a0", Value::Null).await;
    assert_eq!(recs["strategy"], "POPULAR_FALLBACK", "{recs}");
    assert!(recs["fallbackReason"].is_string());
    let explained = server.ok(
        key,
        "{ explainRecommendation(userId: \"a0\", contentId: \"c1\") { contributions { contentId } fallbackReason } }",
        json!({}),
    )
    .await;
    assert_eq!(explained["explainRecommendation"]["contributions"], json!([]), "no history left to explain with");
    let after = server.ok(key, "{ statistics { counts { users interactions } } }", json!({})).await;
    assert_eq!(
        after["statistics"]["counts"]["interactions"],
        before["statistics"]["counts"]["interactions"].as_i64().unwrap() - 8
    );
    assert_eq!(after["statistics"]["counts"]["users"], before["statistics"]["counts"]["users"].as_i64().unwrap() - 1);
    // Others are untouched: r0 still gets their personal list.
    assert_eq!(server.recommend(key, "r0", Value::Null).await["strategy"], "PERSONALIZED");

    // The model that learnt from a0 is marked; the database holds nothing of theirs.
    let m = server.ok(key, "query($id: ID!) { model(id: $id) { needsRetraining } }", json!({ "id": model })).await;
    assert_eq!(m["model"]["needsRetraining"], true);
    let db = server.raw_db().await;
    let tid = crate::audit::tenant_row_id(&db, &t.slug).await;
    let user_rows = format!("SELECT id FROM end_users WHERE tenant_id = {tid} AND external_id = 'a0'");
    assert_eq!(
        count(server, format!("SELECT COUNT(*) AS n FROM interactions WHERE user_id IN ({user_rows})")).await,
        0
    );
    let leftovers = format!(
        "SELECT COUNT(*) AS n FROM end_users WHERE tenant_id = {tid} AND external_id = 'a0' AND (country IS NOT NULL OR plan IS NOT NULL OR age_band IS NOT NULL OR attributes <> '{{}}')"
    );
    assert_eq!(count(server, leftovers).await, 0, "the profile is empty");

    // Later data under the same id is refused, not silently rebuilding the person.
    let e = json!([{ "eventId": "late-1", "userId": "a0", "contentId": "c1", "type": "PLAY" }]);
    let data = server
        .ok(
            key,
            "mutation($e: [InteractionInput!]!) { recordInteractions(events: $e) { accepted errors { code } } }",
            json!({ "e": e }),
        )
        .await;
    assert_eq!(data["recordInteractions"]["errors"][0]["code"], "CONFLICT", "{data}");
    let data = server
        .ok(key, "mutation { upsertEndUsers(users: [{id: \"a0\"}]) { accepted errors { code } } }", json!({}))
        .await;
    assert_eq!(data["upsertEndUsers"]["errors"][0]["code"], "CONFLICT", "{data}");

    // Erasing again is harmless and answers with the same receipt; the receipt is kept.
    let again = server.ok(key, ERASE, json!({ "u": "a0" })).await["eraseUser"].clone();
    assert_eq!(again["id"], receipt["id"]);
    let receipts = server.ok(key, "{ erasureReceipts { edges { node { id subject } } } }", json!({})).await;
    assert_eq!(receipts["erasureReceipts"]["edges"][0]["node"]["id"], receipt["id"]);

    // The audit log records the erasure under the pseudonym, keeps the older events, and verifies.
    let events = crate::audit::all_events(server, key).await;
    let erased: Vec<_> = events.iter().filter(|e| e["action"] == "end_user.erased").collect();
    assert_eq!(erased.len(), 1);
    assert_eq!(erased[0]["target"], receipt["subject"]);
    assert_eq!(erased[0]["details"]["receipt"], receipt["id"]);
    assert!(events.iter().any(|e| e["action"] == "end_user.upserted" && e["target"] == receipt["subject"]));
    assert!(!serde_json::to_string(&events).unwrap().contains("\"a0\""), "the raw id never enters the log");
    let report = crate::audit::verify(server, key).await;
    assert_eq!(report["ok"], true, "{report}");
});

on_both_backends!(erasure_needs_privacy_manage, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    seed(server, key).await;
    let writer = server.key_with(key, &["users:write", "users:read"]).await;
    let (status, body) = server.gql(Some(&writer), ERASE, json!({ "u": "a0" })).await;
    assert_error(status, &body, 403, "FORBIDDEN");
    let (_, body) = server.gql(Some(key), ERASE, json!({ "u": "nobody" })).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    server.ok(key, "{ endUser(id: \"a0\") { id } }", json!({})).await;
});

// ---- Erasure gaps (issue 10): models training during an erasure, concurrent
// erasures, a second call that re-checks, and retraining that removes the person from
// the item factors.

const RECEIPTS: &str = "{ erasureReceipts(first: 100) { edges { node { id modelsToRetrain status completedAt leftEveryModelAt erasedAt } } } }";

/// A model's stored files, decoded: meta.json, the user factors (ALS) and the
/// evaluation detail. Panics on a file that does not decode.
struct ModelFiles {
    dir: String,
    meta: Value,
    factors: Option<Vec<f32>>,
    evaluation: Value,
}

/// Where a model's files are: under the data directory (the disk store, SQLite's
/// default) or in `model_artifacts` (the database store, PostgreSQL's default).
struct Stored<'a> {
    server: &'a TestServer,
    key: String,
}

impl<'a> Stored<'a> {
    async fn of(server: &'a TestServer, model: &str) -> Self {
        let db = server.raw_db().await;
        let sql = format!("SELECT artifact_key FROM models WHERE public_id = '{model}'");
        Self { server, key: query_value(&db, "artifact_key", sql).await }
    }

    fn in_database(&self) -> bool {
        self.server.database_url.starts_with("postgres")
    }

    fn dir(&self) -> std::path::PathBuf {
        self.server.settings.data_dir.join("models").join(&self.key)
    }

    async fn exists(&self) -> bool {
        if !self.in_database() {
            return self.dir().exists();
        }
        let sql = format!("SELECT COUNT(*) AS n FROM model_artifacts WHERE artifact_key = '{}'", self.key);
        count(self.server, sql).await > 0
    }

    async fn file(&self, name: &str) -> Option<Vec<u8>> {
        if !self.in_database() {
            return std::fs::read(self.dir().join(name)).ok();
        }
        let sql = format!(
            "SELECT COUNT(*) AS n FROM model_artifacts WHERE artifact_key = '{}' AND file_name = '{name}'",
            self.key
        );
        if count(self.server, sql).await == 0 {
            return None;
        }
        let db = self.server.raw_db().await;
        let sql = format!(
            "SELECT c.bytes FROM model_artifact_chunks c JOIN model_artifacts f ON f.id = c.artifact_id \
             WHERE f.artifact_key = '{}' AND f.file_name = '{name}' ORDER BY c.chunk_index",
            self.key
        );
        let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
        Some(rows.iter().flat_map(|r| r.try_get::<Vec<u8>>("", "bytes").unwrap()).collect())
    }

    /// Every stored file with its bytes (on disk, with its checksum file).
    async fn backup(&self) -> Vec<(String, Vec<u8>)> {
        if !self.in_database() {
            return std::fs::read_dir(self.dir())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .map(|name| (name.clone(), std::fs::read(self.dir().join(name)).unwrap()))
                .collect();
        }
        let db = self.server.raw_db().await;
        let sql = format!("SELECT file_name FROM model_artifacts WHERE artifact_key = '{}'", self.key);
        let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
        let mut files = Vec::new();
        for name in rows.iter().map(|r| r.try_get::<String>("", "file_name").unwrap()) {
            let bytes = self.file(&name).await.unwrap();
            files.push((name, bytes));
        }
        files
    }

    /// Puts a backup back, as an operator restoring one would (checksums included).
    async fn restore(&self, files: &[(String, Vec<u8>)]) {
        if !self.in_database() {
            for (name, bytes) in files {
                std::fs::write(self.dir().join(name), bytes).unwrap();
            }
            return;
        }
        let db = self.server.raw_db().await;
        for (name, bytes) in files {
            use sha2::Digest;
            let sha: String = sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let file = format!(
                "(SELECT id FROM model_artifacts WHERE artifact_key = '{}' AND file_name = '{name}')",
                self.key
            );
            db.execute_unprepared(&format!(
                "DELETE FROM model_artifact_chunks WHERE artifact_id = {file};
                 INSERT INTO model_artifact_chunks (artifact_id, tenant_id, chunk_index, bytes)
                    SELECT id, tenant_id, 0, decode('{hex}', 'hex') FROM model_artifacts WHERE id = {file};
                 UPDATE model_artifacts SET sha256 = '{sha}', size = {} WHERE id = {file};",
                bytes.len()
            ))
            .await
            .unwrap();
        }
    }
}

async fn read_files(server: &TestServer, model: &str) -> ModelFiles {
    let stored = Stored::of(server, model).await;
    let meta: Value = serde_json::from_slice(&stored.file("meta.json").await.unwrap()).unwrap();
    let factors = stored.file("user_factors.f32").await.map(|bytes| {
        assert_eq!(bytes.len() % 4, 0, "a whole number of floats");
        bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    });
    let evaluation: Value = serde_json::from_slice(&stored.file("evaluation.json").await.unwrap()).unwrap();
    ModelFiles { dir: stored.key.clone(), meta, factors, evaluation }
}

/// The files decode, agree with each other, and hold nothing of these people: not
/// their ids, not a vector, not an evaluation entry.
fn assert_clean(files: &ModelFiles, erased: &[&str]) {
    let ids = |name: &str| -> Vec<String> {
        files.meta[name].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    };
    let (users, evaluated) = (ids("user_ids"), ids("eval_user_ids"));
    for person in erased {
        assert!(
            !users.iter().chain(&evaluated).any(|u| u == person),
            "{person} is still in {}: {}",
            files.dir,
            files.meta
        );
    }
    if let Some(factors) = &files.factors {
        let width = files.meta["factors"].as_u64().unwrap() as usize;
        assert_eq!(factors.len(), users.len() * width, "the factor file matches the user list");
        for (row, user) in users.iter().enumerate() {
            if user.is_empty() {
                assert!(
                    factors[row * width..(row + 1) * width].iter().all(|v| *v == 0.0),
                    "a blanked user keeps no vector"
                );
            }
        }
    }
    for entry in files.evaluation["users"].as_array().unwrap() {
        let index = entry["user"].as_u64().unwrap() as usize;
        assert!(!evaluated[index].is_empty(), "an evaluation entry of a blanked user survived");
    }
}

/// (a) A person erased after a training job read its snapshot and before it stored the
/// model: the stored model has no trace of them. The dedicated server holds every job
/// 5 seconds between fitting and storing.
async fn erased_while_training(server: &'static TestServer) {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    seed(server, key).await;
    let Training { model, job } = server.start_training(key, als()).await;
    for _ in 0..100 {
        if server.job(key, &job).await["status"] == "RUNNING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Fitting 20 people takes well under a second; the job then waits before storing.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(server.job(key, &job).await["status"], "RUNNING", "the job is still holding its model");
    let receipt = server.ok(key, ERASE, json!({ "u": "a0" })).await["eraseUser"].clone();
    assert!(receipt["modelsToRetrain"].as_array().unwrap().contains(&json!(model)), "{receipt}");
    server.job_outcome(key, &job).await;
    let m = server
        .ok(
            key,
            "query($id: ID!) { model(id: $id) { status needsRetraining dataSnapshot { users } } }",
            json!({ "id": model }),
        )
        .await;
    assert_eq!(m["model"]["status"], "READY", "{m}");
    assert_eq!(m["model"]["dataSnapshot"]["users"], 20, "the snapshot was read before the erasure, with a0 in it");
    assert_eq!(m["model"]["needsRetraining"], true, "it learnt from a0");
    assert_clean(&read_files(server, &model).await, &["a0"]);
}

mod erasure_during_training {
    use super::*;
    use crate::helpers::{Backend, dedicated_server, stop_when_done};

    fn slow_store(settings: &mut api::config::Settings) {
        settings.models.test_pause_before_store_ms = 5_000;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let server = dedicated_server(Backend::Sqlite, Box::new(slow_store)).unwrap();
        let _stop = stop_when_done(server);
        erased_while_training(server).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(server) = dedicated_server(Backend::Postgres, Box::new(slow_store)) {
            let _stop = stop_when_done(server);
            erased_while_training(server).await;
        }
    }
}

// (b) Many erasures at once in one tenant: every model's files stay whole and hold
// none of the erased people.
on_both_backends!(concurrent_erasures_leave_every_model_whole_and_clean, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    seed(server, key).await;
    let models =
        [server.train(key, als()).await.model, server.train(key, json!({ "algorithm": "ITEM_KNN" })).await.model];
    let people = ["a0", "a1", "a2", "a3", "a4", "a5", "r0", "r1", "r2", "r3"];
    let erasures = people.iter().map(|u| {
        let key = key.to_owned();
        async move { server.gql(Some(&key), ERASE, json!({ "u": u })).await }
    });
    for (status, body) in futures::future::join_all(erasures).await {
        assert!(status == 200 && body["errors"].is_null(), "{status} {body}");
        assert_eq!(body["data"]["eraseUser"]["status"], "COMPLETE", "{body}");
    }
    for model in &models {
        assert_clean(&read_files(server, model).await, &people);
    }
});

// (c) A second eraseUser re-checks: data planted back into a model's files (as a
// restored backup would) is found and scrubbed, and a receipt left pending by a failed
// second step is completed.
on_both_backends!(a_second_erasure_rechecks_and_completes, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    seed(server, key).await;
    let model = server.train(key, als()).await.model;
    let stored = Stored::of(server, &model).await;
    let backup = stored.backup().await;

    let receipt = server.ok(key, ERASE, json!({ "u": "a0" })).await["eraseUser"].clone();
    assert_eq!(receipt["status"], "COMPLETE", "{receipt}");
    assert!(receipt["completedAt"].is_string());
    assert_clean(&read_files(server, &model).await, &["a0"]);

    stored.restore(&backup).await;
    let db = server.raw_db().await;
    let sql = format!(
        "UPDATE erasure_receipts SET status = 'pending', completed_at = NULL WHERE public_id = '{}'",
        receipt["id"].as_str().unwrap()
    );
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();

    let again = server.ok(key, ERASE, json!({ "u": "a0" })).await["eraseUser"].clone();
    assert_eq!(again["id"], receipt["id"]);
    assert_eq!(again["status"], "COMPLETE", "{again}");
    assert!(again["completedAt"].is_string());
    assert_clean(&read_files(server, &model).await, &["a0"]);
    let events = crate::audit::all_events(server, key).await;
    let rechecked: Vec<_> = events.iter().filter(|e| e["action"] == "end_user.erasure_rechecked").collect();
    assert_eq!(rechecked.len(), 1, "{events:?}");
    assert_eq!(rechecked[0]["details"]["modelsScrubbed"], json!([model]));
    assert_eq!(rechecked[0]["details"]["wasPending"], true);
    assert_eq!(rechecked[0]["target"], receipt["subject"]);
    // Nothing survives a third time.
    server.ok(key, ERASE, json!({ "u": "a0" })).await;
    let events = crate::audit::all_events(server, key).await;
    let last = events.iter().rev().find(|e| e["action"] == "end_user.erasure_rechecked").unwrap();
    assert_eq!(last["details"]["modelsScrubbed"], json!([]));
    assert_eq!(crate::audit::verify(server, key).await["ok"], true);
});

// (d) A tenant that retrains its active model at once: after the erasure the model is
// retrained without the person and deployed, the old files are deleted, and the
// receipt says when the person left every model.
on_both_backends!(
    retraining_after_an_erasure_removes_the_person_from_every_model,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        seed(server, key).await;
        let settings = server.ok(key, "mutation { updateTenantSettings(input: { erasureRetrainActiveNow: true }) { erasureRetrainDays erasureRetrainActiveNow } }", json!({})).await;
        assert_eq!(
            settings["updateTenantSettings"],
            json!({ "erasureRetrainDays": 7, "erasureRetrainActiveNow": true })
        );
        let old = server.train(key, als()).await.model;
        server.deploy(key, &old, false).await;
        let old_files = Stored::of(server, &old).await;
        assert!(old_files.exists().await);

        let receipt = server.ok(key, ERASE, json!({ "u": "a0" })).await["eraseUser"].clone();
        assert_eq!(receipt["modelsToRetrain"], json!([old]));
        let mut left = Value::Null;
        for _ in 0..600 {
            let receipts = server.ok(key, RECEIPTS, json!({})).await;
            left = receipts["erasureReceipts"]["edges"][0]["node"]["leftEveryModelAt"].clone();
            if left.is_string() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let left_at =
            chrono::DateTime::parse_from_rfc3339(left.as_str().expect("the person left every model in time")).unwrap();
        assert!(left_at >= chrono::DateTime::parse_from_rfc3339(receipt["erasedAt"].as_str().unwrap()).unwrap());

        let m = server.ok(key, "query($id: ID!) { model(id: $id) { status active } }", json!({ "id": old })).await;
        assert_eq!(m["model"], json!({ "status": "RETIRED", "active": false }));
        assert!(!old_files.exists().await, "the old files are deleted");
        let list = server
            .ok(key, "{ models(first: 10) { edges { node { id active needsRetraining parameters } } } }", json!({}))
            .await;
        let active: Vec<&Value> = list["models"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"])
            .filter(|n| n["active"] == true)
            .collect();
        assert_eq!(active.len(), 1);
        let new = active[0]["id"].as_str().unwrap();
        assert_ne!(new, old);
        assert_eq!(active[0]["needsRetraining"], false);
        assert_eq!(active[0]["parameters"]["factors"], 8, "the same parameters");
        assert_clean(&read_files(server, new).await, &["a0"]);
        assert_eq!(
            server.recommend(key, "r0", Value::Null).await["strategy"],
            "PERSONALIZED",
            "the retrained model serves"
        );
        let (_, body) =
            server.gql(Some(key), "mutation($id: ID!) { deployModel(id: $id) { id } }", json!({ "id": old })).await;
        assert_eq!(error_code(&body), "CONFLICT", "a retired model cannot come back: {body}");
        let events = crate::audit::all_events(server, key).await;
        assert!(events.iter().any(|e| e["action"] == "model.retired" && e["target"] == json!(old)), "{events:?}");
        assert_eq!(crate::audit::verify(server, key).await["ok"], true);
    }
);
