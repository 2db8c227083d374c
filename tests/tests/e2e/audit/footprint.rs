//! Bytes at rest per audit event, row and indexes, in the compact encoding (v2) against
//! the same events as the first schema stored them (v1: hex hashes and pseudonyms and
//! an index on every event's target). Each backend gets a database of its own, so the
//! table holds only these events. Run with `--nocapture` to see the figures
//! (docs/audit.md, "Storage encodings").

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

use super::tenant_row_id;
use crate::helpers::{Backend, TestServer, dedicated_server, query_value};

const EVENTS: usize = 3_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compact_events_take_fewer_bytes_sqlite() {
    compare(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compact_events_take_fewer_bytes_postgres() {
    compare(Backend::Postgres).await;
}

async fn compare(backend: Backend) {
    let Some(server) = dedicated_server(backend, Box::new(|_| {})) else { return };
    let t = server.new_tenant().await;
    record_reads(server, &t.slug).await;
    let db = server.raw_db().await;
    let tid = tenant_row_id(&db, &t.slug).await;
    let rows: i64 = query_value(&db, "n", "SELECT COUNT(*) AS n FROM audit_events".into()).await;
    assert!(rows > EVENTS as i64, "{rows}");
    let v2 = bytes_of(&db, "audit_events").await as f64 / rows as f64;

    // The same events as the first schema (m0003) stored them.
    let pg = db.get_database_backend() == DbBackend::Postgres;
    let hex = |column: &str| {
        if pg { format!("encode({column}, 'hex')") } else { format!("lower(hex({column}))") }
    };
    let (id, time) =
        if pg { ("bigserial PRIMARY KEY", "timestamptz") } else { ("integer PRIMARY KEY AUTOINCREMENT", "text") };
    db.execute_unprepared(&format!(
        "CREATE TABLE v1_events (id {id}, tenant_id bigint NOT NULL, seq bigint NOT NULL, occurred_at {time} NOT NULL,
            principal varchar NOT NULL, action varchar NOT NULL, target_kind varchar NOT NULL, target varchar NOT NULL,
            request_id varchar NOT NULL, outcome varchar NOT NULL, details text NOT NULL,
            prev_hash varchar(64) NOT NULL, hash varchar(64) NOT NULL);
         CREATE UNIQUE INDEX v1_events_tenant_seq ON v1_events (tenant_id, seq);
         CREATE INDEX v1_events_tenant_target ON v1_events (tenant_id, target);"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO v1_events (tenant_id, seq, occurred_at, principal, action, target_kind, target, request_id,
            outcome, details, prev_hash, hash)
         SELECT tenant_id, seq, occurred_at, principal, action, target_kind,
            CASE WHEN target_bin IS NULL THEN target ELSE {} END,
            request_id, outcome, details, {}, {}
         FROM audit_events ORDER BY tenant_id, seq",
        hex("target_bin"),
        hex("prev_hash_bin"),
        hex("hash_bin")
    ))
    .await
    .unwrap();
    let v1 = bytes_of(&db, "v1_events").await as f64 / rows as f64;

    // Archived, they leave the table for a file.
    let slug = t.slug.clone();
    let archives = server
        .operator(move |s| async move { api::audit_cmd::archive(&s, &slug, None).await.map_err(|e| e.to_string()) })
        .await
        .unwrap();
    let dir = server.settings.data_dir.join("audit-archive");
    let (mut file_bytes, mut archived) = (0u64, 0i64);
    for a in &archives {
        file_bytes += std::fs::metadata(dir.join(&a.location)).unwrap().len();
        archived += a.to_seq - a.from_seq + 1;
    }
    let file = file_bytes as f64 / archived as f64;
    let hot: i64 = query_value(&db, "n", "SELECT COUNT(*) AS n FROM audit_events".into()).await;
    eprintln!(
        "audit bytes per event, row and indexes ({backend:?}, {rows} events of tenant {tid}): v1 {v1:.0}, v2 {v2:.0}; \
         archived {archived} into {file:.0} bytes per event of file, {hot} left in the table"
    );
    assert!(v2 < v1 * 0.85, "v1 {v1:.0}, v2 {v2:.0}");
    assert!(hot < 10, "{hot} events left");
}

/// Personal reads as an API key's requests record them: one event per person read.
async fn record_reads(server: &TestServer, slug: &str) {
    let slug = slug.to_owned();
    server
        .operator(move |s| async move {
            use domain::audit::{AuditEvent, Target, action};
            use domain::tenants::ids::TenantSlug;
            use domain::tenants::{RequestId, TenantCtx};
            let slug = TenantSlug::parse(&slug).unwrap();
            let tenant = domain::access::find_tenant_by_slug(&s, &slug).await.unwrap().unwrap();
            let ctx = TenantCtx::operator(tenant.id, RequestId::new());
            let principal = format!("api_key:{}", uuid::Uuid::new_v4());
            for batch in 0..EVENTS / 100 {
                let tx = s.db.begin_write(&ctx).await.unwrap();
                for i in 0..100 {
                    let event = AuditEvent::new(action::RECOMMENDATIONS_READ)
                        .by(principal.clone())
                        .target(Target::end_user(&format!("user-{}", (batch * 100 + i) % 500)))
                        .details(serde_json::json!({ "first": 10 }));
                    s.audit.record_system(&tx, &RequestId::new(), event).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
        })
        .await;
}

/// The bytes a table and its indexes take.
async fn bytes_of(db: &DatabaseConnection, table: &str) -> i64 {
    let sql = if db.get_database_backend() == DbBackend::Postgres {
        format!("SELECT pg_total_relation_size('{table}')::bigint AS n")
    } else {
        format!(
            "SELECT SUM(pgsize) AS n FROM dbstat WHERE name = '{table}'
                OR name IN (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}')"
        )
    };
    query_value(db, "n", sql).await
}
