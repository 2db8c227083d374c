//! Tampering with the stored log directly in the database, as its owner: verification
//! names the right event and the right problem every time, and a consistent rewrite of
//! the whole chain is caught by the signed checkpoints.
//!
//! Each test uses a tenant with 10 events (3 from its creation, 7 new keys); the
//! harness signs a checkpoint every 5 events, so checkpoints sit at 1 (the one that
//! opens the tenant's checkpoint interval), 5 and 10.

use domain::audit::chain::{ChainFields, GENESIS, chain_hash, to_hex};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::{Value, json};

use super::{VERIFY, tamper, tenant_row_id, tenant_with_events, verify};
use crate::helpers::{TestServer, TestTenant, error_code};
use crate::on_both_backends;

async fn sound_tenant(server: &TestServer) -> (TestTenant, i64) {
    let t = tenant_with_events(server, 7).await;
    let report = verify(server, &t.api_key).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["checked"], 10, "{report}");
    assert_eq!(report["headSeq"], 10, "{report}");
    assert_eq!(report["checkpointsChecked"], 3, "{report}");
    assert_eq!(report["missingCheckpoints"], json!([]), "{report}");
    assert_eq!(report["latestCheckpointSeq"], 10, "{report}");
    let db = server.raw_db().await;
    let id = tenant_row_id(&db, &t.slug).await;
    (t, id)
}

fn assert_broken(report: &Value, seq: i64, problem: &str) {
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["firstBrokenSeq"], seq, "{report}");
    assert_eq!(report["problem"], problem, "{report}");
    assert!(report["detail"].as_str().is_some_and(|d| !d.is_empty()), "{report}");
}

on_both_backends!(a_changed_field_is_named, |server: &'static TestServer| async move {
    let (t, tid) = sound_tenant(server).await;
    tamper(
        server,
        &[format!("UPDATE audit_events SET principal = 'member:someone-else' WHERE tenant_id = {tid} AND seq = 4")],
    )
    .await;
    let report = verify(server, &t.api_key).await;
    assert_broken(&report, 4, "CHANGED");
    assert_eq!(report["checked"], 3, "events before the change are sound: {report}");

    // The operator's `marquee audit verify` sees the same.
    let slug = t.slug.clone();
    let operator = server
        .operator(move |s| async move { api::audit_cmd::verify(&s, &slug).await.map_err(|e| e.to_string()) })
        .await
        .unwrap();
    assert!(!operator.ok);
    assert_eq!(operator.first_broken_seq, Some(4));
    assert!(api::audit_cmd::report_text(&t.slug, &operator).contains("BROKEN at event 4 (CHANGED)"));
});

on_both_backends!(an_altered_event_with_a_recomputed_hash_is_named, |server: &'static TestServer| async move {
    let (t, tid) = sound_tenant(server).await;
    let db = server.raw_db().await;
    let mut rows = read_chain(&db, tid).await;
    rows[6].outcome = "denied".into();
    let prev = rows[5].hash.clone();
    rows[6].hash = rows[6].rehash(&prev);
    tamper(server, &[rows[6].update_sql(tid)]).await;
    // Event 7 matches its new hash; event 8 still links to the original.
    assert_broken(&verify(server, &t.api_key).await, 7, "CHANGED");
});

on_both_backends!(a_deleted_event_is_named, |server: &'static TestServer| async move {
    let (t, tid) = sound_tenant(server).await;
    tamper(server, &[format!("DELETE FROM audit_events WHERE tenant_id = {tid} AND seq = 6")]).await;
    assert_broken(&verify(server, &t.api_key).await, 6, "MISSING");
});

on_both_backends!(a_deletion_hidden_by_renumbering_is_named, |server: &'static TestServer| async move {
    let (t, tid) = sound_tenant(server).await;
    let mut statements = vec![format!("DELETE FROM audit_events WHERE tenant_id = {tid} AND seq = 6")];
    statements.extend(
        (7..=10).map(|s| format!("UPDATE audit_events SET seq = {} WHERE tenant_id = {tid} AND seq = {s}", s - 1)),
    );
    statements.push(format!("UPDATE audit_heads SET last_seq = 9 WHERE tenant_id = {tid}"));
    tamper(server, &statements).await;
    assert_broken(&verify(server, &t.api_key).await, 6, "MISSING");
});

on_both_backends!(two_swapped_events_are_named, |server: &'static TestServer| async move {
    let (t, tid) = sound_tenant(server).await;
    tamper(
        server,
        &[
            format!("UPDATE audit_events SET seq = -1 WHERE tenant_id = {tid} AND seq = 3"),
            format!("UPDATE audit_events SET seq = 3 WHERE tenant_id = {tid} AND seq = 6"),
            format!("UPDATE audit_events SET seq = 6 WHERE tenant_id = {tid} AND seq = -1"),
        ],
    )
    .await;
    let report = verify(server, &t.api_key).await;
    assert_broken(&report, 3, "REORDERED");
    assert!(report["detail"].as_str().unwrap().contains("recorded as event 6"), "{report}");
});

on_both_backends!(a_truncated_tail_is_named, |server: &'static TestServer| async move {
    let (t, tid) = sound_tenant(server).await;
    tamper(server, &[format!("DELETE FROM audit_events WHERE tenant_id = {tid} AND seq >= 9")]).await;
    assert_broken(&verify(server, &t.api_key).await, 9, "MISSING");

    // Moving the head back as well does not help: checkpoint 10 is signed.
    let db = server.raw_db().await;
    let hash8 = read_chain(&db, tid).await[7].hash.clone();
    tamper(server, &[format!("UPDATE audit_heads SET last_seq = 8, last_hash = '{hash8}' WHERE tenant_id = {tid}")])
        .await;
    let report = verify(server, &t.api_key).await;
    assert_broken(&report, 9, "MISSING");
    assert!(report["detail"].as_str().unwrap().contains("signed checkpoint"), "{report}");
});

on_both_backends!(
    a_consistent_rewrite_of_the_whole_chain_is_caught_by_the_checkpoints,
    |server: &'static TestServer| async move {
        let (t, tid) = sound_tenant(server).await;
        let db = server.raw_db().await;
        let mut rows = read_chain(&db, tid).await;
        // Rewrite event 7 and recompute every hash from there with the public algorithm.
        rows[6].outcome = "denied".into();
        let mut prev = rows[5].hash.clone();
        for row in rows.iter_mut().skip(6) {
            row.prev_hash = prev.clone();
            row.hash = row.rehash(&prev);
            prev = row.hash.clone();
        }
        let mut statements: Vec<String> = rows.iter().skip(6).map(|r| r.update_sql(tid)).collect();
        statements.push(format!("UPDATE audit_heads SET last_hash = '{prev}' WHERE tenant_id = {tid}"));
        tamper(server, &statements).await;
        // Internally consistent, so only the signed checkpoint at 10 can tell.
        let report = verify(server, &t.api_key).await;
        assert_broken(&report, 10, "REWRITTEN_AFTER_CHECKPOINT");
        assert!(
            report["detail"].as_str().unwrap().contains("6..=10"),
            "the rewrite is bounded by checkpoint 5: {report}"
        );

        // Changing the checkpoint's hash too breaks its signature, which needs the server's key.
        tamper(server, &[format!("UPDATE audit_checkpoints SET hash = '{prev}' WHERE tenant_id = {tid} AND seq = 10")])
            .await;
        assert_broken(&verify(server, &t.api_key).await, 10, "CHECKPOINT_INVALID");
    }
);

on_both_backends!(a_rewrite_from_the_first_event_is_caught, |server: &'static TestServer| async move {
    let (t, tid) = sound_tenant(server).await;
    let db = server.raw_db().await;
    let mut rows = read_chain(&db, tid).await;
    rows[0].details = "{\"name\":\"Someone Else\"}".into();
    let mut prev = to_hex(&GENESIS);
    for row in rows.iter_mut() {
        row.prev_hash = prev.clone();
        row.hash = row.rehash(&prev);
        prev = row.hash.clone();
    }
    let mut statements: Vec<String> = rows.iter().map(|r| r.update_sql(tid)).collect();
    statements.push(format!("UPDATE audit_heads SET last_hash = '{prev}' WHERE tenant_id = {tid}"));
    tamper(server, &statements).await;
    // The checkpoint that opened the tenant's interval signed event 1.
    assert_broken(&verify(server, &t.api_key).await, 1, "REWRITTEN_AFTER_CHECKPOINT");
});

/// Rewrites the events from `from` (1-based) on with the public algorithm, as one
/// consistent chain, and moves the head along; returns the statements.
fn rewrite_from(rows: &mut [Row], tid: i64, from: usize) -> Vec<String> {
    rows[from - 1].outcome = "denied".into();
    let mut prev = if from == 1 { to_hex(&GENESIS) } else { rows[from - 2].hash.clone() };
    for row in rows.iter_mut().skip(from - 1) {
        row.prev_hash = prev.clone();
        row.hash = row.rehash(&prev);
        prev = row.hash.clone();
    }
    let mut statements: Vec<String> = rows.iter().skip(from - 1).map(|r| r.update_sql(tid)).collect();
    statements.push(format!("UPDATE audit_heads SET last_hash = '{prev}' WHERE tenant_id = {tid}"));
    statements
}

on_both_backends!(
    deleting_the_newest_checkpoint_to_rewrite_after_it_is_caught,
    |server: &'static TestServer| async move {
        let (t, tid) = sound_tenant(server).await;
        let db = server.raw_db().await;
        let mut rows = read_chain(&db, tid).await;
        // Checkpoint 10 is all that pins events 6..=10: delete it, then rewrite them.
        let mut statements = vec![format!("DELETE FROM audit_checkpoints WHERE tenant_id = {tid} AND seq = 10")];
        statements.extend(rewrite_from(&mut rows, tid, 7));
        tamper(server, &statements).await;
        let report = verify(server, &t.api_key).await;
        assert_broken(&report, 10, "CHECKPOINT_MISSING");
        assert_eq!(report["missingCheckpoints"], json!([10]), "{report}");
        assert_eq!(report["checked"], 10, "the rewritten chain itself is consistent: {report}");

        // The operator's `marquee audit verify` sees the same, and exits 2.
        let slug = t.slug.clone();
        let operator = server
            .operator(move |s| async move { api::audit_cmd::verify(&s, &slug).await.map_err(|e| e.to_string()) })
            .await
            .unwrap();
        assert!(!operator.ok, "main exits with BROKEN_EXIT_CODE when the report is not ok");
        assert_eq!(api::audit_cmd::BROKEN_EXIT_CODE, 2);
        assert_eq!(operator.missing_checkpoints, vec![10]);
        assert!(api::audit_cmd::report_text(&t.slug, &operator).contains("BROKEN at event 10 (CHECKPOINT_MISSING)"));
    }
);

on_both_backends!(
    deleting_every_checkpoint_to_rewrite_the_whole_chain_is_caught,
    |server: &'static TestServer| async move {
        let (t, tid) = sound_tenant(server).await;
        let db = server.raw_db().await;
        let mut rows = read_chain(&db, tid).await;
        let mut statements = vec![format!("DELETE FROM audit_checkpoints WHERE tenant_id = {tid}")];
        statements.extend(rewrite_from(&mut rows, tid, 1));
        tamper(server, &statements).await;
        // Nothing signed is left, but the configured interval says 5 and 10 were due.
        let report = verify(server, &t.api_key).await;
        assert_broken(&report, 5, "CHECKPOINT_MISSING");
        assert_eq!(report["missingCheckpoints"], json!([5, 10]), "{report}");
    }
);

on_both_backends!(
    forging_the_heads_interval_after_deleting_checkpoints_is_caught,
    |server: &'static TestServer| async move {
        let (t, tid) = sound_tenant(server).await;
        let db = server.raw_db().await;
        let mut rows = read_chain(&db, tid).await;
        // Delete the checkpoints from 5 on and make the head say checkpoints were off since
        // event 2, hoping the server opens a new interval that excuses the gap.
        let mut statements = vec![format!("DELETE FROM audit_checkpoints WHERE tenant_id = {tid} AND seq >= 5")];
        statements.extend(rewrite_from(&mut rows, tid, 3));
        statements
            .push(format!("UPDATE audit_heads SET interval_every = 0, interval_since = 2 WHERE tenant_id = {tid}"));
        tamper(server, &statements).await;
        let more = tenant_with_more_events(server, &t, 1).await;
        assert_eq!(more, 11);
        let report = verify(server, &t.api_key).await;
        // The new interval's opening checkpoint (signed at 11) names the forged start, which
        // no surviving checkpoint opened.
        assert_broken(&report, 2, "CHECKPOINT_MISSING");
        assert_eq!(report["missingCheckpoints"], json!([2]), "{report}");
    }
);

on_both_backends!(changing_the_checkpoint_interval_is_not_tampering, |server: &'static TestServer| async move {
    let (t, _) = sound_tenant(server).await;
    // A process configured with another interval writes to the same log (a restart with
    // a new `checkpoint_every`, or the CLI beside the server).
    let mut settings = server.settings.clone();
    settings.audit.checkpoint_every = 3;
    let other = api::startup::connect(&settings, false).await.unwrap();
    api::audit_cmd::checkpoint(&other.services, &t.slug).await.unwrap();
    for _ in 0..4 {
        api::audit_cmd::checkpoint(&other.services, &t.slug).await.unwrap();
    }
    // And back to the server's interval of 5.
    assert_eq!(tenant_with_more_events(server, &t, 6).await, 21);
    let report = verify(server, &t.api_key).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["checked"], 21, "{report}");
    assert_eq!(report["missingCheckpoints"], json!([]), "{report}");

    // Deleting a checkpoint that fell due under the interval of 3 is caught.
    let db = server.raw_db().await;
    let tid = tenant_row_id(&db, &t.slug).await;
    tamper(server, &[format!("DELETE FROM audit_checkpoints WHERE tenant_id = {tid} AND seq = 12")]).await;
    let report = verify(server, &t.api_key).await;
    assert_eq!(report["missingCheckpoints"], json!([12]), "{report}");
    assert_eq!(report["problem"], "CHECKPOINT_MISSING", "{report}");
});

/// Appends `n` events to the tenant's log through the API; returns the head's position.
async fn tenant_with_more_events(server: &TestServer, t: &TestTenant, n: usize) -> i64 {
    for _ in 0..n {
        server.create_key(&t.api_key, &["catalog:read"]).await;
    }
    verify(server, &t.api_key).await["headSeq"].as_i64().unwrap()
}

on_both_backends!(the_database_refuses_to_change_the_log, |server: &'static TestServer| async move {
    let (t, tid) = sound_tenant(server).await;
    let db = server.raw_db().await;
    let backend = db.get_database_backend();
    for table in ["audit_events", "audit_checkpoints"] {
        for sql in [
            format!("UPDATE {table} SET seq = seq + 100 WHERE tenant_id = {tid}"),
            format!("DELETE FROM {table} WHERE tenant_id = {tid}"),
        ] {
            // Even the owner is refused without the maintenance switch (SQLite: always).
            let err = db.execute_unprepared(&sql).await.expect_err(&sql).to_string();
            assert!(err.contains("append-only"), "{sql}: {err}");
        }
    }
    if backend == sea_orm::DbBackend::Postgres {
        let err = db.execute_unprepared("TRUNCATE audit_events").await.expect_err("truncate").to_string();
        assert!(err.contains("append-only"), "{err}");
        // The service's role lacks the privilege outright, maintenance switch or not.
        for sql in [
            format!("UPDATE audit_events SET outcome = 'denied' WHERE tenant_id = {tid}"),
            format!("DELETE FROM audit_events WHERE tenant_id = {tid}"),
            "TRUNCATE audit_events".to_owned(),
            format!("DELETE FROM audit_checkpoints WHERE tenant_id = {tid}"),
        ] {
            let txn = db.begin().await.unwrap();
            txn.execute_unprepared(&format!("SET LOCAL ROLE {}", migrations::APP_ROLE)).await.unwrap();
            txn.execute_unprepared(
                "SELECT set_config('marquee.system', 'on', true), set_config('marquee.audit_maintenance', 'on', true)",
            )
            .await
            .unwrap();
            let err = txn.execute_unprepared(&sql).await.expect_err(&sql).to_string();
            txn.rollback().await.ok();
            assert!(err.contains("permission denied"), "{sql}: {err}");
        }
    }
    let report = verify(server, &t.api_key).await;
    assert_eq!(report["ok"], true, "nothing changed: {report}");
    assert_eq!(report["checked"], 10);
});

on_both_backends!(verification_needs_audit_read, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let weak = server.key_with(&t.api_key, &["catalog:read"]).await;
    for query in [VERIFY, "{ auditEvents { edges { node { seq } } } }", "mutation { checkpointAuditLog { seq } }"] {
        let (status, body) = server.gql(Some(&weak), query, json!({})).await;
        assert_eq!((status, error_code(&body).as_str()), (403, "FORBIDDEN"), "{query}: {body}");
    }
});

/// One stored event, as an attacker with the database reads and rewrites it.
struct Row {
    tenant_id: i64,
    seq: i64,
    occurred_at: chrono::DateTime<chrono::Utc>,
    principal: String,
    action: String,
    target_kind: String,
    target: String,
    request_id: String,
    outcome: String,
    details: String,
    prev_hash: String,
    hash: String,
    encoding: i16,
    backend: sea_orm::DbBackend,
}

impl Row {
    fn rehash(&self, prev_hex: &str) -> String {
        let prev: [u8; 32] = (0..32)
            .map(|i| u8::from_str_radix(&prev_hex[2 * i..2 * i + 2], 16).unwrap())
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        to_hex(&chain_hash(
            &prev,
            &ChainFields {
                tenant_id: self.tenant_id,
                seq: self.seq,
                occurred_at: self.occurred_at,
                principal: &self.principal,
                action: &self.action,
                target_kind: &self.target_kind,
                target: &self.target,
                request_id: &self.request_id,
                outcome: &self.outcome,
                details: &self.details,
            },
        ))
    }

    /// The statement that stores the row as it is now, in its own encoding (v2 rows keep
    /// their hashes as raw bytes).
    fn update_sql(&self, tid: i64) -> String {
        let hashes = if self.encoding == 2 {
            format!("prev_hash_bin = {}, hash_bin = {}", self.blob(&self.prev_hash), self.blob(&self.hash))
        } else {
            format!("prev_hash = '{}', hash = '{}'", self.prev_hash, self.hash)
        };
        format!(
            "UPDATE audit_events SET outcome = '{}', details = '{}', {hashes} WHERE tenant_id = {tid} AND seq = {}",
            self.outcome,
            self.details.replace('\'', "''"),
            self.seq
        )
    }

    fn blob(&self, hex: &str) -> String {
        super::blob_literal(self.backend, hex)
    }
}

async fn read_chain(db: &sea_orm::DatabaseConnection, tid: i64) -> Vec<Row> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT * FROM audit_events WHERE tenant_id = {tid} ORDER BY seq"),
        ))
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| Row {
            tenant_id: r.try_get("", "tenant_id").unwrap(),
            seq: r.try_get("", "seq").unwrap(),
            occurred_at: r.try_get("", "occurred_at").unwrap(),
            principal: r.try_get("", "principal").unwrap(),
            action: r.try_get("", "action").unwrap(),
            target_kind: r.try_get("", "target_kind").unwrap(),
            target: r.try_get("", "target").unwrap(),
            request_id: r.try_get("", "request_id").unwrap(),
            outcome: r.try_get("", "outcome").unwrap(),
            details: r.try_get("", "details").unwrap(),
            prev_hash: hex_of(&r, "prev_hash"),
            hash: hex_of(&r, "hash"),
            encoding: r.try_get("", "encoding").unwrap(),
            backend: db.get_database_backend(),
        })
        .collect()
}

/// A stored hash as hex, from whichever encoding the row uses.
fn hex_of(row: &sea_orm::QueryResult, column: &str) -> String {
    match row.try_get::<Option<Vec<u8>>>("", &format!("{column}_bin")).unwrap() {
        Some(bytes) => to_hex(&bytes),
        None => row.try_get("", column).unwrap(),
    }
}
