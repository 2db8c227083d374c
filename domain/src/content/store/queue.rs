//! The embedding queue (`content_embedding_queue`): rows are written by triggers in the
//! catalog's own transactions (migration m0012); here they are claimed with a lease,
//! completed, failed and counted. Claiming takes `FOR UPDATE SKIP LOCKED` on PostgreSQL
//! so concurrent workers take disjoint rows; SQLite's single writer does the same by
//! running the claim in a write transaction.

use chrono::{DateTime, Utc};
use tenants::{SystemTx, TenantTx};

use super::{IDS_PER_STATEMENT, execute, is_postgres, placeholders, query};
use crate::error::Result;

/// Tenants with rows a worker may claim now (unleased or with an expired lease).
pub(crate) async fn tenants_with_work(tx: &SystemTx, now: DateTime<Utc>, max_attempts: i32) -> Result<Vec<i64>> {
    let rows = query(
        tx.conn(),
        "SELECT DISTINCT tenant_id FROM content_embedding_queue \
         WHERE attempts < $1 AND (lease_until IS NULL OR lease_until < $2) LIMIT 100",
        vec![max_attempts.into(), now.into()],
    )
    .await?;
    rows.iter().map(|r| Ok(r.try_get_by_index::<i64>(0)?)).collect()
}

/// Claims up to `limit` of the tenant's due rows for `owner` until `lease_until`,
/// oldest first; each claim counts as an attempt.
pub(crate) async fn claim(
    tx: &TenantTx,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    max_attempts: i32,
    limit: usize,
) -> Result<Vec<i64>> {
    let lock = if is_postgres(tx.conn()) { "FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE content_embedding_queue SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
         WHERE item_id IN (SELECT item_id FROM content_embedding_queue \
            WHERE tenant_id = $3 AND attempts < $4 AND (lease_until IS NULL OR lease_until < $5) \
            ORDER BY enqueued_at, item_id LIMIT {limit} {lock}) \
         RETURNING item_id"
    );
    let values = vec![owner.into(), lease_until.into(), tx.tenant_id().get().into(), max_attempts.into(), now.into()];
    let rows = query(tx.conn(), &sql, values).await?;
    rows.iter().map(|r| Ok(r.try_get_by_index::<i64>(0)?)).collect()
}

/// Removes the rows `owner` still holds among `items` and returns them: a row whose
/// item changed (or was deleted) since the claim is no longer held, and its new work
/// stays queued.
pub(crate) async fn complete(tx: &TenantTx, owner: &str, items: &[i64]) -> Result<Vec<i64>> {
    let mut done = Vec::with_capacity(items.len());
    for chunk in items.chunks(IDS_PER_STATEMENT) {
        let sql = format!(
            "DELETE FROM content_embedding_queue WHERE tenant_id = $1 AND lease_owner = $2 \
             AND item_id IN ({}) RETURNING item_id",
            placeholders(3, chunk.len())
        );
        let mut values = vec![tx.tenant_id().get().into(), owner.into()];
        values.extend(chunk.iter().map(|&i| i.into()));
        for row in query(tx.conn(), &sql, values).await? {
            done.push(row.try_get_by_index::<i64>(0)?);
        }
    }
    Ok(done)
}

/// Releases `owner`'s rows after a failed batch, keeping the reason; they are claimed
/// again until their attempts run out.
pub(crate) async fn fail(tx: &TenantTx, owner: &str, items: &[i64], reason: &str) -> Result<()> {
    for chunk in items.chunks(IDS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE content_embedding_queue SET lease_owner = NULL, lease_until = NULL, last_error = $1 \
             WHERE tenant_id = $2 AND lease_owner = $3 AND item_id IN ({})",
            placeholders(4, chunk.len())
        );
        let mut values = vec![reason.into(), tx.tenant_id().get().into(), owner.into()];
        values.extend(chunk.iter().map(|&i| i.into()));
        execute(tx.conn(), &sql, values).await?;
    }
    Ok(())
}

/// (pending, failed) rows of the tenant.
pub(crate) async fn counts(tx: &TenantTx, max_attempts: i32) -> Result<(i64, i64)> {
    let rows = query(
        tx.conn(),
        "SELECT COALESCE(SUM(CASE WHEN attempts < $1 THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN attempts >= $1 THEN 1 ELSE 0 END), 0) \
         FROM content_embedding_queue WHERE tenant_id = $2",
        vec![max_attempts.into(), tx.tenant_id().get().into()],
    )
    .await?;
    match rows.first() {
        Some(row) => Ok((row.try_get_by_index::<i64>(0)?, row.try_get_by_index::<i64>(1)?)),
        None => Ok((0, 0)),
    }
}

/// Queues every live item of every tenant that has no embedding by `model_key` (items
/// stored before the queue existed, and all of them when the model changed). Rows
/// already queued, failed ones included, are left as they are.
pub(crate) async fn enqueue_missing(tx: &SystemTx, model_key: &str, now: DateTime<Utc>) -> Result<u64> {
    execute(
        tx.conn(),
        "INSERT INTO content_embedding_queue (item_id, tenant_id, enqueued_at, attempts) \
         SELECT c.id, c.tenant_id, $2, 0 FROM content_items c \
         WHERE c.deleted_at IS NULL AND NOT EXISTS \
            (SELECT 1 FROM content_embeddings e WHERE e.item_id = c.id AND e.model_key = $1) \
         ON CONFLICT (item_id) DO NOTHING",
        vec![model_key.into(), now.into()],
    )
    .await
}
