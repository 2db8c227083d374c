//! Archival of sealed segments (issue #15): events up to a signed checkpoint leave the
//! database for a file, the log still verifies and exports through them, a changed or
//! missing file is reported, and only the archiver role can remove events, and only
//! archived ones.
//!
//! The shared servers sign a checkpoint every 5 events.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, TransactionTrait};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{all_events, blob_literal, tamper, tenant_row_id, tenant_with_events, verify};
use crate::helpers::{TestServer, query_value};
use crate::on_both_backends;

const EXPORT: &str = "query($u: String!) { exportUserData(userId: $u) }";
const VERIFY_ARCHIVED: &str = "{ verifyAuditLog { ok checked headSeq firstBrokenSeq problem detail archivedThrough } }";

/// `marquee audit archive --tenant <slug> [--through <seq>]`, as the operator runs it.
async fn archive(server: &TestServer, slug: &str, through: Option<i64>) -> Vec<domain::audit::Archive> {
    let slug = slug.to_owned();
    server
        .operator(
            move |s| async move { api::audit_cmd::archive(&s, &slug, through).await.map_err(|e| format!("{e:#}")) },
        )
        .await
        .unwrap()
}

fn archive_dir(server: &TestServer) -> std::path::PathBuf {
    match server.settings.audit.archive_dir.as_str() {
        "" => server.settings.data_dir.join("audit-archive"),
        dir => dir.into(),
    }
}

async fn verified(server: &TestServer, key: &str) -> Value {
    server.ok(key, VERIFY_ARCHIVED, json!({})).await["verifyAuditLog"].clone()
}

fn assert_broken(report: &Value, seq: i64, problem: &str) {
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!((report["firstBrokenSeq"].as_i64(), report["problem"].as_str()), (Some(seq), Some(problem)), "{report}");
    assert!(report["detail"].as_str().is_some_and(|d| !d.is_empty()), "{report}");
}

async fn stored_events(db: &DatabaseConnection, tid: i64, through: i64) -> i64 {
    query_value(db, "n", format!("SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = {tid} AND seq <= {through}"))
        .await
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

on_both_backends!(
    archived_segments_leave_the_database_and_still_verify_and_export,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        server.upsert_users(key, json!([{ "id": "p1" }])).await;
        server.ok(key, "{ endUser(id: \"p1\") { id } }", json!({})).await;
        for _ in 0..5 {
            server.create_key(key, &["catalog:read"]).await;
        }
        // 10 events: the tenant's 3, the upsert, the read and 5 keys; checkpoints at 1, 5, 10.
        assert_eq!(verify(server, key).await["latestCheckpointSeq"], 10);

        let archives = archive(server, &t.slug, None).await;
        assert_eq!(archives.len(), 1, "{archives:?}");
        let first = &archives[0];
        assert_eq!((first.from_seq, first.to_seq, first.checkpoint_seq), (1, 10, 10));
        assert_eq!(first.prev_hash, "0".repeat(64));
        let bytes = std::fs::read(archive_dir(server).join(&first.location)).unwrap();
        assert_eq!(sha256_hex(&bytes), first.sha256, "the recorded checksum is the file's");
        let header: Value = serde_json::from_slice(bytes.split(|b| *b == b'\n').next().unwrap()).unwrap();
        assert_eq!(header["format"], "marquee.audit.archive.v1");
        assert_eq!(header["checkpoint"]["seq"], 10);
        assert_eq!(header["lastHash"], first.last_hash);

        // Gone from the database; the log verifies through the archive into the hot part.
        let db = server.raw_db().await;
        let tid = tenant_row_id(&db, &t.slug).await;
        assert_eq!(stored_events(&db, tid, 10).await, 0);
        let report = verified(server, key).await;
        assert_eq!(report["ok"], true, "{report}");
        assert_eq!(report["archivedThrough"], 10, "{report}");
        assert_eq!(report["checked"], report["headSeq"], "archived events are recomputed too: {report}");
        let hot = all_events(server, key).await;
        assert_eq!(hot[0]["seq"], 11, "auditEvents lists what follows the archive");
        assert_eq!(hot[0]["action"], "audit.archived");
        assert_eq!(hot[0]["details"]["toSeq"], 10);
        assert_eq!(hot[0]["prevHash"], first.last_hash, "the hot part chains from the archive");

        // A person's export still holds their archived events.
        let doc = server.ok(key, EXPORT, json!({ "u": "p1" })).await["exportUserData"].clone();
        let actions: Vec<&str> =
            doc["auditEvents"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["end_user.upserted", "end_user.read", "end_user.exported"], "{doc}");

        // Nothing new is sealed yet (the export was event 12); after the checkpoint at 15,
        // the next segment chains on.
        assert!(archive(server, &t.slug, None).await.is_empty());
        for _ in 0..3 {
            server.create_key(key, &["catalog:read"]).await;
        }
        let next = archive(server, &t.slug, None).await;
        assert_eq!(next.iter().map(|a| (a.from_seq, a.to_seq)).collect::<Vec<_>>(), [(11, 15)]);
        assert_eq!(next[0].prev_hash, first.last_hash);
        let report = verified(server, key).await;
        assert_eq!((report["ok"].as_bool(), report["archivedThrough"].as_i64()), (Some(true), Some(15)), "{report}");
        let slug = t.slug.clone();
        let operator = server
            .operator(move |s| async move { api::audit_cmd::verify(&s, &slug).await.map_err(|e| e.to_string()) })
            .await
            .unwrap();
        assert!(api::audit_cmd::report_text(&t.slug, &operator).contains("events up to 15 from archives"));
    }
);

on_both_backends!(a_changed_or_missing_archive_is_reported, |server: &'static TestServer| async move {
    let t = tenant_with_events(server, 7).await;
    let key = t.api_key.as_str();
    let archived = archive(server, &t.slug, None).await.remove(0);
    assert_eq!((archived.from_seq, archived.to_seq), (1, 10));
    let db = server.raw_db().await;
    let tid = tenant_row_id(&db, &t.slug).await;
    let path = archive_dir(server).join(&archived.location);
    let original = std::fs::read_to_string(&path).unwrap();

    // One event changed in the file.
    let changed = original.replacen("\"outcome\":\"success\"", "\"outcome\":\"denied\"", 1);
    assert_ne!(changed, original);
    std::fs::write(&path, &changed).unwrap();
    assert_broken(&verified(server, key).await, 1, "ARCHIVE_CHANGED");
    // With the recorded checksum changed too, the chain itself names the event.
    let set_sha = |sha: &str| format!("UPDATE audit_archives SET sha256 = '{sha}' WHERE tenant_id = {tid}");
    tamper(server, &[set_sha(&sha256_hex(changed.as_bytes()))]).await;
    assert_broken(&verified(server, key).await, 1, "CHANGED");
    tamper(server, &[set_sha(&archived.sha256)]).await;

    // The file gone.
    std::fs::remove_file(&path).unwrap();
    assert_broken(&verified(server, key).await, 1, "ARCHIVE_MISSING");
    // An export cannot leave archived events out silently.
    server.upsert_users(key, json!([{ "id": "p1" }])).await;
    let (_, body) = server.gql(Some(key), EXPORT, json!({ "u": "p1" })).await;
    assert_eq!(crate::helpers::error_code(&body), "CONFLICT", "{body}");
    std::fs::write(&path, &original).unwrap();
    let report = verified(server, key).await;
    assert_eq!(report["ok"], true, "restored: {report}");

    // The first hot event no longer chains from the archive's last hash.
    let zeros = blob_literal(db.get_database_backend(), &"0".repeat(64));
    tamper(server, &[format!("UPDATE audit_events SET prev_hash_bin = {zeros} WHERE tenant_id = {tid} AND seq = 11")])
        .await;
    assert_broken(&verified(server, key).await, 11, "ARCHIVE_UNLINKED");
});

on_both_backends!(only_the_archiver_deletes_and_only_archived_events, |server: &'static TestServer| async move {
    let t = tenant_with_events(server, 7).await;
    let db = server.raw_db().await;
    let tid = tenant_row_id(&db, &t.slug).await;
    // An archive of events 1..=5 on record, its events still stored.
    db.execute_unprepared(&format!(
        "INSERT INTO audit_archives (tenant_id, from_seq, to_seq, prev_hash, last_hash, checkpoint_seq, location, sha256, created_at)
         VALUES ({tid}, 1, 5, '{z}', '{z}', 5, 'test', '{z}', CURRENT_TIMESTAMP)",
        z = "0".repeat(64)
    ))
    .await
    .unwrap();
    let delete = |seq: i64| format!("DELETE FROM audit_events WHERE tenant_id = {tid} AND seq = {seq}");

    if db.get_database_backend() == DbBackend::Postgres {
        let app = migrations::APP_ROLE;
        let archiver = migrations::ARCHIVER_ROLE;
        // The service's role can neither delete, archived or not, nor record an archive.
        for sql in [delete(3), delete(7), "INSERT INTO audit_archives SELECT * FROM audit_archives".to_owned()] {
            let err = as_role(&db, app, tid, &sql).await.expect_err(&sql);
            assert!(err.contains("permission denied"), "{sql}: {err}");
        }
        // The owner is not the archiver either.
        let err = db.execute_unprepared(&delete(3)).await.expect_err("owner").to_string();
        assert!(err.contains("append-only"), "{err}");
        // The archiver cannot delete what no archive holds, and can delete what one does.
        let err = as_role(&db, archiver, tid, &delete(7)).await.expect_err("unarchived");
        assert!(err.contains("append-only"), "{err}");
        assert_eq!(as_role(&db, archiver, tid, &delete(3)).await, Ok(1));
        let err =
            as_role(&db, archiver, tid, &format!("UPDATE audit_events SET outcome = 'denied' WHERE tenant_id = {tid}"))
                .await
                .expect_err("update");
        assert!(err.contains("permission denied"), "{err}");
    } else {
        // SQLite has no roles: nobody deletes past the archived end.
        let err = db.execute_unprepared(&delete(7)).await.expect_err("unarchived").to_string();
        assert!(err.contains("append-only"), "{err}");
        assert_eq!(db.execute_unprepared(&delete(3)).await.unwrap().rows_affected(), 1);
        let err = db.execute_unprepared(&format!("DELETE FROM audit_archives WHERE tenant_id = {tid}")).await;
        assert!(err.expect_err("archives are append-only").to_string().contains("append-only"));
    }
    assert_eq!(stored_events(&db, tid, 10).await, 9, "only event 3 is gone");
});

/// Runs `sql` in a transaction as `role`, bound to the tenant as the service binds it.
async fn as_role(db: &DatabaseConnection, role: &str, tid: i64, sql: &str) -> Result<u64, String> {
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared(&format!("SET LOCAL ROLE {role}")).await.unwrap();
    txn.execute_unprepared(&format!("SELECT set_config('marquee.tenant_id', '{tid}', true)")).await.unwrap();
    match txn.execute_unprepared(sql).await {
        Ok(done) => {
            txn.commit().await.unwrap();
            Ok(done.rows_affected())
        }
        Err(e) => {
            txn.rollback().await.ok();
            Err(e.to_string())
        }
    }
}

/// A server whose archival job runs every second and keeps the newest 4 events hot.
async fn the_job_archives_what_is_sealed_and_keeps_the_newest(backend: crate::helpers::Backend) {
    let configure: crate::helpers::Configure = Box::new(|s| {
        s.audit.archive_every_secs = 1;
        s.audit.archive_keep_hot_events = 4;
    });
    let Some(server) = crate::helpers::dedicated_server(backend, configure) else { return };
    let t = tenant_with_events(server, 7).await;
    let key = t.api_key.as_str();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let report = verified(server, key).await;
        assert_eq!(report["ok"], true, "{report}");
        let (through, head) = (report["archivedThrough"].as_i64().unwrap(), report["headSeq"].as_i64().unwrap());
        assert!(head - through >= 4, "the newest 4 stay in the database: {report}");
        // 10 events: the checkpoint at 5 is sealed and 5 or more behind the head.
        if through >= 5 {
            assert_eq!(all_events(server, key).await[0]["seq"], through + 1);
            return;
        }
        assert!(std::time::Instant::now() < deadline, "not archived in time: {report}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archival_job_runs_sqlite() {
    the_job_archives_what_is_sealed_and_keeps_the_newest(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archival_job_runs_postgres() {
    the_job_archives_what_is_sealed_and_keeps_the_newest(crate::helpers::Backend::Postgres).await;
}

on_both_backends!(
    events_stored_before_the_compact_encoding_still_verify_export_and_archive,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        server.upsert_users(key, json!([{ "id": "p1" }])).await;
        server.create_key(key, &["catalog:read"]).await;
        // Events 1..=5 as rows written before m0016 hold them: the same values, in hex text.
        let db = server.raw_db().await;
        let tid = tenant_row_id(&db, &t.slug).await;
        let hex = |column: &str| match db.get_database_backend() {
            DbBackend::Postgres => format!("encode({column}, 'hex')"),
            _ => format!("lower(hex({column}))"),
        };
        tamper(
            server,
            &[format!(
                "UPDATE audit_events SET encoding = 1, hash = {}, prev_hash = {},
                    target = CASE WHEN target_bin IS NULL THEN target ELSE {} END,
                    hash_bin = NULL, prev_hash_bin = NULL, target_bin = NULL
                 WHERE tenant_id = {tid} AND seq <= 5",
                hex("hash_bin"),
                hex("prev_hash_bin"),
                hex("target_bin")
            )],
        )
        .await;
        let v1: i64 = query_value(
            &db,
            "n",
            format!("SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = {tid} AND encoding = 1 AND hash <> ''"),
        )
        .await;
        assert_eq!(v1, 5);
        // And compact ones after them.
        server.ok(key, "{ endUser(id: \"p1\") { id } }", json!({})).await;
        for _ in 0..4 {
            server.create_key(key, &["catalog:read"]).await;
        }
        let report = verified(server, key).await;
        assert_eq!(report["ok"], true, "{report}");
        assert_eq!((report["checked"].as_i64(), report["headSeq"].as_i64()), (Some(10), Some(10)), "{report}");
        let events = all_events(server, key).await;
        assert_eq!(events[5]["prevHash"], events[4]["hash"], "a compact event links to an old one");

        let actions = |doc: &Value| -> Vec<String> {
            doc["auditEvents"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
        };
        let doc = server.ok(key, EXPORT, json!({ "u": "p1" })).await["exportUserData"].clone();
        assert_eq!(actions(&doc), ["end_user.upserted", "end_user.read", "end_user.exported"], "{doc}");

        // Archived, old and new rows alike verify and export from the file.
        let archives = archive(server, &t.slug, None).await;
        assert_eq!(archives.iter().map(|a| (a.from_seq, a.to_seq)).collect::<Vec<_>>(), [(1, 10)]);
        let report = verified(server, key).await;
        assert_eq!((report["ok"].as_bool(), report["archivedThrough"].as_i64()), (Some(true), Some(10)), "{report}");
        let doc = server.ok(key, EXPORT, json!({ "u": "p1" })).await["exportUserData"].clone();
        assert_eq!(
            actions(&doc),
            ["end_user.upserted", "end_user.read", "end_user.exported", "end_user.exported"],
            "{doc}"
        );
    }
);
