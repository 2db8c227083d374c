//! Persistence of the content features: the embedding queue, the embeddings, and the
//! keyword index's queries. Statements are written once for both backends (`$n`
//! placeholders work on SQLite too); the few differences are spelled out where they are.

pub(crate) mod embeddings;
pub(crate) mod keyword;
pub(crate) mod queue;

use sea_orm::{ConnectionTrait, QueryResult, Statement, Value};

use crate::error::Result;

/// `$from, $from+1, ..` for `n` bound values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Ids per `IN (..)` list: well below both backends' bind limits.
const IDS_PER_STATEMENT: usize = 1_000;

async fn query<C: ConnectionTrait>(conn: &C, sql: &str, values: Vec<Value>) -> Result<Vec<QueryResult>> {
    let statement = Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
    Ok(conn.query_all_raw(statement).await?)
}

async fn execute<C: ConnectionTrait>(conn: &C, sql: &str, values: Vec<Value>) -> Result<u64> {
    let statement = Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
    Ok(conn.execute_raw(statement).await?.rows_affected())
}

fn is_postgres<C: ConnectionTrait>(conn: &C) -> bool {
    conn.get_database_backend() == sea_orm::DbBackend::Postgres
}
