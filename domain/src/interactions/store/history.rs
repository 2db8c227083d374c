//! A person's recent events for serving, in one round trip.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tenants::TenantTx;
use tenants::db::DbBackendKind;

use crate::error::{DomainError, Result};
use crate::vocab::EventType;

/// The person's newest `limit` events as (item's catalog id, type, occurred_at ms),
/// newest first, fetched as one row holding a JSON array: the driver hands rows one at a
/// time from its worker thread, and a hundred hand-overs cost more than the query.
///
/// The query joins `content_items`, which the catalog owns, because serving needs the
/// items' external ids and a second query per request (or per event) would cost more
/// than the join on the item's primary key.
pub(crate) async fn recent_for_user(
    tx: &TenantTx,
    backend: DbBackendKind,
    user_row: i64,
    limit: u64,
) -> Result<Vec<(Arc<str>, EventType, i64)>> {
    let (backend, aggregate, tenant, user) = match backend {
        DbBackendKind::Sqlite => {
            (DbBackend::Sqlite, "json_group_array(json_array(external_id, event_type, occurred_at))", "?", "?")
        }
        DbBackendKind::Postgres => {
            (DbBackend::Postgres, "json_agg(json_build_array(external_id, event_type, occurred_at))::text", "$1", "$2")
        }
    };
    let sql = format!(
        "SELECT {aggregate} FROM (SELECT c.external_id AS external_id, i.event_type AS event_type, i.occurred_at AS occurred_at \
         FROM interactions i JOIN content_items c ON c.id = i.item_id AND c.tenant_id = i.tenant_id \
         WHERE i.tenant_id = {tenant} AND i.user_id = {user} ORDER BY i.occurred_at DESC LIMIT {limit}) recent"
    );
    let statement = Statement::from_sql_and_values(backend, sql, [tx.tenant_id().get().into(), user_row.into()]);
    let json: Option<String> = match tx.conn().query_one_raw(statement).await? {
        Some(row) => row.try_get_by_index(0)?,
        None => None,
    };
    let rows: Vec<(String, String, i64)> = match json {
        Some(text) => serde_json::from_str(&text).map_err(|e| DomainError::internal_from("history row", e))?,
        None => Vec::new(),
    };
    let mut events = rows
        .into_iter()
        .map(|(item_id, event_type, at)| Ok((Arc::from(item_id), EventType::from_db(&event_type)?, at)))
        .collect::<Result<Vec<_>>>()?;
    // An aggregate's input order is not promised; the newest-first order is restored here.
    events.sort_by_key(|e| std::cmp::Reverse(e.2));
    Ok(events)
}
