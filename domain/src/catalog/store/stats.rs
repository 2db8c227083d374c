//! The catalog's figures for `stats`, each one grouped query on indexed columns.

use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use tenants::{TenantCtx, TenantTx};

use crate::catalog::entity::{content_genre, content_item};
use crate::catalog::types::ContentKind;
use crate::error::Result;

/// The row ids of the tenant's deleted items, as a subquery: statistics over other
/// tables leave deleted items out within their single grouped query, not by a second
/// round trip.
pub(crate) fn deleted_item_rows(ctx: &TenantCtx) -> SelectStatement {
    Query::select()
        .column(content_item::Column::Id)
        .from(content_item::Entity)
        .and_where(content_item::Column::TenantId.eq(ctx.tenant_id().get()))
        .and_where(content_item::Column::DeletedAt.is_not_null())
        .to_owned()
}

/// Live items.
pub(crate) async fn count_live_items(tx: &TenantTx) -> Result<u64> {
    Ok(content_item::Entity::find()
        .filter(content_item::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(content_item::Column::DeletedAt.is_null())
        .count(tx.conn())
        .await?)
}

/// Live items per genre, in no particular order.
pub(crate) async fn genre_counts(tx: &TenantTx) -> Result<Vec<(String, u64)>> {
    let rows: Vec<(String, i64)> = content_genre::Entity::find()
        .select_only()
        .column(content_genre::Column::Genre)
        .column_as(content_genre::Column::ItemId.count(), "n")
        .filter(content_genre::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(content_genre::Column::ItemId.not_in_subquery(deleted_item_rows(tx.ctx())))
        .group_by(content_genre::Column::Genre)
        .into_tuple()
        .all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(|(genre, n)| (genre, u64::try_from(n).unwrap_or(0))).collect())
}

/// Live items per kind, in no particular order.
pub(crate) async fn kind_counts(tx: &TenantTx) -> Result<Vec<(ContentKind, u64)>> {
    let rows: Vec<(String, i64)> = content_item::Entity::find()
        .select_only()
        .column(content_item::Column::Kind)
        .column_as(content_item::Column::Id.count(), "n")
        .filter(content_item::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(content_item::Column::DeletedAt.is_null())
        .group_by(content_item::Column::Kind)
        .into_tuple()
        .all(tx.conn())
        .await?;
    rows.into_iter().map(|(kind, n)| Ok((ContentKind::from_db(&kind)?, u64::try_from(n).unwrap_or(0)))).collect()
}
