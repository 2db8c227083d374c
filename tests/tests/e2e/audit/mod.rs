//! The audit log: what is recorded, that it cannot be changed unnoticed, and that every
//! mutation and personal-data read of the schema records its event.

mod coverage;
mod recording;
mod tamper;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use serde_json::{Value, json};

use crate::helpers::TestServer;

pub const VERIFY: &str = "{ verifyAuditLog { ok checked checkpointsChecked firstBrokenSeq problem detail headSeq latestCheckpointSeq missingCheckpoints } }";

/// POSTs a GraphQL request with our own request id, so its audit event can be found.
pub async fn gql_with_id(
    server: &TestServer,
    token: Option<&str>,
    request_id: &str,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/graphql", server.base_url))
        .header("content-type", "application/json")
        .header("x-request-id", request_id)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("http request");
    let status = response.status().as_u16();
    (status, response.json::<Value>().await.unwrap_or(Value::Null))
}

pub fn new_request_id() -> String {
    format!("t-{}", uuid::Uuid::new_v4().simple())
}

pub async fn verify(server: &TestServer, token: &str) -> Value {
    let (status, body) = server.gql(Some(token), VERIFY, json!({})).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["verifyAuditLog"].clone()
}

/// Every event of the tenant, oldest first, through the API's pages.
pub async fn all_events(server: &TestServer, token: &str) -> Vec<Value> {
    let query = "query($after: String) { auditEvents(first: 100, after: $after) {
        edges { node { seq occurredAt principal action targetKind target requestId outcome details prevHash hash } }
        pageInfo { hasNextPage endCursor } } }";
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let (status, body) = server.gql(Some(token), query, json!({ "after": after })).await;
        assert_eq!(status, 200, "{body}");
        let conn = &body["data"]["auditEvents"];
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
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT id FROM tenants WHERE slug = '{slug}'"),
        ))
        .await
        .unwrap()
        .expect("tenant row");
    row.try_get::<i64>("", "id").unwrap()
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

/// A fresh tenant with `extra` API keys created after the 3 events of its creation.
pub async fn tenant_with_events(server: &TestServer, extra: usize) -> crate::helpers::TestTenant {
    let t = server.new_tenant().await;
    for i in 0..extra {
        let (_, body) = server
            .gql(
                Some(&t.api_key),
                "mutation($n: String!) { createApiKey(input: {name: $n, scopes: [\"catalog:read\"]}) { apiKey { id } } }",
                json!({ "n": format!("key {i}") }),
            )
            .await;
        assert!(body["data"]["createApiKey"]["apiKey"]["id"].is_string(), "{body}");
    }
    t
}
