//! Persistence of content items: bulk upserts, soft deletes, keyset-paginated lists, and
//! the reads other features make of the catalog. Only this store queries the catalog's
//! tables; other features call the `pub(crate)` functions here and get domain types.

mod list;
pub(crate) mod stats;
mod write;

pub(crate) use list::{count, list};
pub(crate) use write::{soft_delete, upsert};

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use tenants::TenantTx;

use super::entity::content_item;
use super::types::*;
use crate::error::{DomainError, Result};
use crate::sql::{from_ms, rows_per_statement};

fn parse_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn to_domain(m: content_item::Model) -> Result<Content> {
    let release_date = match &m.release_date {
        None => None,
        Some(s) => Some(
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| DomainError::internal(format!("corrupt release date {s:?}")))?,
        ),
    };
    Ok(Content {
        kind: ContentKind::from_db(&m.kind)?,
        id: ContentId::from_db(m.external_id),
        title: m.title,
        description: m.description,
        genres: parse_list(&m.genres),
        tags: parse_list(&m.tags),
        provider: m.provider,
        creators: parse_list(&m.creators),
        release_date,
        duration_secs: m.duration_secs,
        language: m.language,
        maturity_rating: m.maturity_rating,
        available_from: m.available_from.map(from_ms),
        available_until: m.available_until.map(from_ms),
        attributes: serde_json::from_str(&m.attributes).unwrap_or_default(),
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The tenant's live (not deleted) items, to narrow further.
fn live(tx: &TenantTx) -> Select<content_item::Entity> {
    content_item::Entity::find()
        .filter(content_item::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(content_item::Column::DeletedAt.is_null())
}

/// Internal ids of live (not deleted) items, by external id.
pub(crate) async fn resolve_live_ids(tx: &TenantTx, ids: &[&str]) -> Result<HashMap<String, i64>> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        let rows: Vec<(i64, String)> = live(tx)
            .select_only()
            .column(content_item::Column::Id)
            .column(content_item::Column::ExternalId)
            .filter(content_item::Column::ExternalId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(tx.conn())
            .await?;
        found.extend(rows.into_iter().map(|(id, ext)| (ext, id)));
    }
    Ok(found)
}

/// Live items by internal id (for hydrating statistics and similar lists).
pub(crate) async fn find_by_internal_ids(tx: &TenantTx, ids: &[i64]) -> Result<HashMap<i64, Content>> {
    live_rows_where(tx, content_item::Column::Id, ids).await?.into_iter().map(|m| Ok((m.id, to_domain(m)?))).collect()
}

pub(crate) async fn get(tx: &TenantTx, id: &ContentId) -> Result<Option<Content>> {
    live(tx).filter(content_item::Column::ExternalId.eq(id.as_str())).one(tx.conn()).await?.map(to_domain).transpose()
}

/// External ids by internal id, deleted items included (a person's history still names
/// items deleted since). For a page of ids: one statement, no chunking.
pub(crate) async fn external_ids(tx: &TenantTx, ids: &[i64]) -> Result<HashMap<i64, String>> {
    Ok(content_item::Entity::find()
        .select_only()
        .columns([content_item::Column::Id, content_item::Column::ExternalId])
        .filter(content_item::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(content_item::Column::Id.is_in(ids.iter().copied()))
        .into_tuple::<(i64, String)>()
        .all(tx.conn())
        .await?
        .into_iter()
        .collect())
}

/// Every live item with its row id, in row order, as the training snapshot keeps it.
pub(crate) async fn live_items(tx: &TenantTx) -> Result<Vec<(i64, SnapshotItem)>> {
    snapshot_items(tx, live(tx)).await
}

/// The live items among the rows `ids`, in row order, as [`live_items`] gives them.
pub(crate) async fn live_items_in(tx: &TenantTx, ids: &[i64]) -> Result<Vec<(i64, SnapshotItem)>> {
    let mut items = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        items.extend(snapshot_items(tx, live(tx).filter(content_item::Column::Id.is_in(chunk.iter().copied()))).await?);
    }
    items.sort_unstable_by_key(|(row, _)| *row);
    Ok(items)
}

async fn snapshot_items(tx: &TenantTx, select: Select<content_item::Entity>) -> Result<Vec<(i64, SnapshotItem)>> {
    type ItemRow = (i64, String, String, String, Option<String>, Option<i64>, Option<i64>, Option<String>);
    let rows: Vec<ItemRow> = select
        .select_only()
        .columns([
            content_item::Column::Id,
            content_item::Column::ExternalId,
            content_item::Column::Kind,
            content_item::Column::Genres,
            content_item::Column::Provider,
            content_item::Column::AvailableFrom,
            content_item::Column::AvailableUntil,
            content_item::Column::MaturityRating,
        ])
        .order_by_asc(content_item::Column::Id)
        .into_tuple()
        .all(tx.conn())
        .await?;
    rows.into_iter()
        .map(|(row, ext, kind, genres, provider, from, until, maturity)| {
            let item = SnapshotItem {
                id: ContentId::from_db(ext),
                kind: ContentKind::from_db(&kind)?,
                genres: parse_list(&genres),
                provider,
                available_from: from.map(from_ms),
                available_until: until.map(from_ms),
                maturity_rating: maturity,
            };
            Ok((row, item))
        })
        .collect()
}

/// Every live item, in no particular order, for serving's cached view of the catalog.
pub(crate) async fn live_contents(tx: &TenantTx) -> Result<Vec<Content>> {
    live(tx).all(tx.conn()).await?.into_iter().map(to_domain).collect()
}

/// What changes whenever the tenant's catalog does: how many items are live, the latest
/// change of any item (an upsert stamps every row it writes, a deletion the row it
/// deletes) and the newest row. A reader that kept a copy of the catalog asks this
/// first and reads everything again only when it differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CatalogMark {
    live: i64,
    last_change: Option<chrono::DateTime<chrono::Utc>>,
    last_row: Option<i64>,
}

pub(crate) async fn mark(tx: &TenantTx) -> Result<CatalogMark> {
    use sea_orm::sea_query::Expr;
    let row: Option<(i64, Option<chrono::DateTime<chrono::Utc>>, Option<i64>)> = content_item::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(CASE WHEN \"deleted_at\" IS NULL THEN 1 END)"), "live")
        .column_as(content_item::Column::UpdatedAt.max(), "last_change")
        .column_as(content_item::Column::Id.max(), "last_row")
        .filter(content_item::Column::TenantId.eq(tx.tenant_id().get()))
        .into_tuple()
        .one(tx.conn())
        .await?;
    Ok(row.map(|(live, last_change, last_row)| CatalogMark { live, last_change, last_row }).unwrap_or_default())
}

/// Row ids and external ids of every live item, in the order first stored.
pub(crate) async fn live_ids(tx: &TenantTx) -> Result<Vec<(i64, ContentId)>> {
    let rows: Vec<(i64, String)> = live(tx)
        .select_only()
        .columns([content_item::Column::Id, content_item::Column::ExternalId])
        .order_by_asc(content_item::Column::Id)
        .into_tuple()
        .all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(|(row, ext)| (row, ContentId::from_db(ext))).collect())
}

/// Live items by external id; unknown and deleted ones are left out.
pub(crate) async fn live_by_external_ids(tx: &TenantTx, ids: &[String]) -> Result<Vec<Content>> {
    live_rows_where(tx, content_item::Column::ExternalId, ids).await?.into_iter().map(to_domain).collect()
}

/// The live rows whose `column` is one of `keys`, in statements of at most the bind limit.
async fn live_rows_where<K>(tx: &TenantTx, column: content_item::Column, keys: &[K]) -> Result<Vec<content_item::Model>>
where
    K: Clone + Into<sea_orm::Value>,
{
    let mut rows = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(rows_per_statement(1)) {
        let found = live(tx).filter(column.is_in(chunk.iter().cloned())).all(tx.conn()).await?;
        rows.extend(found);
    }
    Ok(rows)
}
