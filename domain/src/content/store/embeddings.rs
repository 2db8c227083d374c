//! Stored embeddings (`content_embeddings`): one row per item, with the model version
//! it was computed by and a hash of the text, so an unchanged text under the same model
//! is not embedded twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tenants::TenantTx;

use super::{IDS_PER_STATEMENT, execute, placeholders, query};
use crate::error::Result;

/// One item's vector, ready to store.
pub(crate) struct NewEmbedding {
    pub item_row: i64,
    pub vector: Vec<u8>,
    pub source_hash: String,
}

/// (model_key, source_hash) of the items that have an embedding.
pub(crate) async fn sources(tx: &TenantTx, items: &[i64]) -> Result<HashMap<i64, (String, String)>> {
    let mut found = HashMap::with_capacity(items.len());
    for chunk in items.chunks(IDS_PER_STATEMENT) {
        let sql = format!(
            "SELECT item_id, model_key, source_hash FROM content_embeddings WHERE tenant_id = $1 AND item_id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut values = vec![tx.tenant_id().get().into()];
        values.extend(chunk.iter().map(|&i| i.into()));
        for row in query(tx.conn(), &sql, values).await? {
            found.insert(row.try_get_by_index::<i64>(0)?, (row.try_get_by_index(1)?, row.try_get_by_index(2)?));
        }
    }
    Ok(found)
}

/// Writes (or replaces) embeddings by `model_key` of `dims` dimensions.
pub(crate) async fn write(
    tx: &TenantTx,
    model_key: &str,
    dims: usize,
    rows: &[NewEmbedding],
    now: DateTime<Utc>,
) -> Result<()> {
    // Seven values a row; a vector of 384 floats is 1.5 KiB, so a few hundred rows at once.
    for chunk in rows.chunks(200) {
        let tuples: Vec<String> =
            (0..chunk.len()).map(|i| format!("({})", placeholders(1 + i * 7, 7))).collect::<Vec<_>>();
        let sql = format!(
            "INSERT INTO content_embeddings (item_id, tenant_id, model_key, dims, vector, source_hash, embedded_at) \
             VALUES {} ON CONFLICT (item_id) DO UPDATE SET model_key = excluded.model_key, dims = excluded.dims, \
             vector = excluded.vector, source_hash = excluded.source_hash, embedded_at = excluded.embedded_at",
            tuples.join(", ")
        );
        let mut values = Vec::with_capacity(chunk.len() * 7);
        for row in chunk {
            values.push(row.item_row.into());
            values.push(tx.tenant_id().get().into());
            values.push(model_key.into());
            values.push((dims as i32).into());
            values.push(row.vector.clone().into());
            values.push(row.source_hash.clone().into());
            values.push(now.into());
        }
        execute(tx.conn(), &sql, values).await?;
    }
    Ok(())
}

/// A stored vector and when it was written.
pub(crate) struct StoredVector {
    pub item_row: i64,
    pub bytes: Vec<u8>,
    pub embedded_at: DateTime<Utc>,
}

/// The tenant's vectors by `model_key`: all of them, or those written at or after
/// `since`. Deleted items have none: their rows go in the transaction that deletes them.
pub(crate) async fn load(tx: &TenantTx, model_key: &str, since: Option<DateTime<Utc>>) -> Result<Vec<StoredVector>> {
    let mut sql = "SELECT item_id, vector, embedded_at FROM content_embeddings WHERE tenant_id = $1 AND model_key = $2"
        .to_owned();
    let mut values = vec![tx.tenant_id().get().into(), model_key.into()];
    if let Some(since) = since {
        sql.push_str(" AND embedded_at >= $3");
        values.push(since.into());
    }
    query(tx.conn(), &sql, values)
        .await?
        .iter()
        .map(|r| {
            Ok(StoredVector {
                item_row: r.try_get_by_index(0)?,
                bytes: r.try_get_by_index(1)?,
                embedded_at: r.try_get_by_index(2)?,
            })
        })
        .collect()
}

/// Items of the tenant embedded by `model_key`.
pub(crate) async fn count(tx: &TenantTx, model_key: &str) -> Result<i64> {
    let rows = query(
        tx.conn(),
        "SELECT COUNT(*) FROM content_embeddings WHERE tenant_id = $1 AND model_key = $2",
        vec![tx.tenant_id().get().into(), model_key.into()],
    )
    .await?;
    match rows.first() {
        Some(row) => Ok(row.try_get_by_index::<i64>(0)?),
        None => Ok(0),
    }
}
