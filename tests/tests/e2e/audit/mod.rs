//! The audit log: what is recorded, that it cannot be changed unnoticed, and that every
//! mutation and personal-data read of the schema records its event.

mod archival;
mod coalescing;
mod coverage;
mod footprint;
mod recording;
mod tamper;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use serde_json::{Value, json};

use crate::helpers::{TestServer, query_value};

pub const VERIFY: &str = "{ verifyAuditLog { ok checked checkpointsChecked firstBrokenSeq problem detail headSeq latestCheckpointSeq missingCheckpoints } }";

pub fn new_request_id() -> String {
    format!("t-{}", uuid::Uuid::new_v4().simple())
}

pub async fn verify(server: &TestServer, token: &str) -> Value {
    server.ok(token, VERIFY, json!({})).await["verifyAuditLog"].clone()
}

/// Every event of the tenant, oldest first, through the API's pages.
pub async fn all_events(server: &TestServer, token: &str) -> Vec<Value> {
    let query = "query($after: String) { auditEvents(first: 100, after: $after) {
        edges { node { seq occurredAt principal action targetKind target requestId outcome details prevHash hash } }
        pageInfo { hasNextPage endCursor } } }";
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = server.ok(token, query, json!({ "after": after })).await;
        let conn = &data["auditEvents"];
        out.extend(conn["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()));
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return out;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
}

/// The events a request wrote.
pub async fn events_of_request(server: &TestServer, token: &str, request_id: &str) -> Vec<Value> {
    all_events(server, token).await.into_iter().filter(|e| e["requestId"] == request_id).collect()
}

pub async fn tenant_row_id(db: &DatabaseConnection, slug: &str) -> i64 {
    query_value(db, "id", format!("SELECT id FROM tenants WHERE slug = '{slug}'")).await
}

/// Runs statements as the database owner in one transaction, the way an attacker with
/// database access would: on PostgreSQL through the owner's maintenance switch, on
/// SQLite by dropping the append-only triggers and putting them back afterwards.
pub async fn tamper(server: &TestServer, statements: &[String]) {
    let db = server.raw_db().await;
    let backend = db.get_database_backend();
    // SQLite: take the write lock up front; a transaction that reads first cannot take
    // it once the server has committed meanwhile ("database is locked").
    let options = sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let txn = if backend == sea_orm::DbBackend::Postgres {
        db.begin().await.unwrap()
    } else {
        db.begin_with_options(options).await.unwrap()
    };
    let mut triggers = Vec::new();
    if backend == sea_orm::DbBackend::Postgres {
        txn.execute_unprepared("SELECT set_config('marquee.audit_maintenance', 'on', true)").await.unwrap();
    } else {
        let rows = txn
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'audit_%'",
            ))
            .await
            .unwrap();
        for row in rows {
            let name: String = row.try_get("", "name").unwrap();
            triggers.push(row.try_get::<String>("", "sql").unwrap());
            txn.execute_unprepared(&format!("DROP TRIGGER {name}")).await.unwrap();
        }
        assert!(!triggers.is_empty(), "the append-only triggers must exist");
    }
    for sql in statements {
        txn.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    for sql in triggers {
        txn.execute_unprepared(&sql).await.unwrap();
    }
    txn.commit().await.unwrap();
    db.close().await.ok();
}

/// A literal of raw bytes, given in hex, in the backend's SQL (v2 events keep hashes so).
pub fn blob_literal(backend: sea_orm::DbBackend, hex: &str) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => format!("decode('{hex}', 'hex')"),
        _ => format!("X'{hex}'"),
    }
}

/// Moves the tenant's audit head (the last sequence number) behind the database's back:
/// below the last event, the next append collides with a stored one and fails.
pub async fn set_audit_head(server: &TestServer, tenant_row: i64, last_seq: i64) {
    tamper(server, &[format!("UPDATE audit_heads SET last_seq = {last_seq} WHERE tenant_id = {tenant_row}")]).await;
}

/// A fresh tenant with `extra` API keys created after the 3 events of its creation.
pub async fn tenant_with_events(server: &TestServer, extra: usize) -> crate::helpers::TestTenant {
    let t = server.new_tenant().await;
    for _ in 0..extra {
        server.create_key(&t.api_key, &["catalog:read"]).await;
    }
    t
}
