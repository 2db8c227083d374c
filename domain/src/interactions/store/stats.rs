//! The figures `stats` asks of the interactions, each one grouped query on indexed
//! columns. Events of people who withheld analytics consent (and of erased people) are
//! never counted, and top items leave deleted items out. Both rules are subqueries that
//! the audience and the catalog build over their own tables: the filter stays inside the
//! single grouped statement instead of loading every counted person or deleted item
//! first.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use tenants::TenantTx;

use crate::audience::store::stats::counted_user_rows;
use crate::catalog::store::stats::deleted_item_rows;
use crate::error::Result;
use crate::interactions::entity as interaction;
use crate::sql::DAY_MS;
use crate::vocab::EventType;

/// Every stored event of the tenant (what its plan's `maxInteractions` limits).
pub(crate) async fn count_stored(tx: &TenantTx) -> Result<u64> {
    Ok(interaction::Entity::find()
        .filter(interaction::Column::TenantId.eq(tx.tenant_id().get()))
        .count(tx.conn())
        .await?)
}

/// The counted people's events.
pub(crate) async fn count_counted_events(tx: &TenantTx) -> Result<u64> {
    Ok(interaction::Entity::find()
        .filter(interaction::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(interaction::Column::UserId.in_subquery(counted_user_rows(tx.ctx())))
        .count(tx.conn())
        .await?)
}

/// When the latest event occurred (ms), whoever made it.
pub(crate) async fn latest_occurred_at(tx: &TenantTx) -> Result<Option<i64>> {
    let latest: Option<Option<i64>> = interaction::Entity::find()
        .select_only()
        .column_as(interaction::Column::OccurredAt.max(), "latest")
        .filter(interaction::Column::TenantId.eq(tx.tenant_id().get()))
        .into_tuple()
        .one(tx.conn())
        .await?;
    Ok(latest.flatten())
}

/// The counted people's events that occurred in `[start, end)` (ms), by UTC day
/// (`occurred_at / DAY_MS`); days without events are missing.
pub(crate) async fn per_day(tx: &TenantTx, start: i64, end: i64) -> Result<HashMap<i64, u64>> {
    // A literal divisor, so the select and the GROUP BY are the same expression on
    // PostgreSQL (two bound parameters would not be).
    let day = Expr::cust(format!("\"occurred_at\" / {DAY_MS}"));
    let rows: Vec<(i64, i64)> = interaction::Entity::find()
        .select_only()
        .column_as(day.clone(), "day")
        .column_as(interaction::Column::Id.count(), "n")
        .filter(interaction::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(interaction::Column::UserId.in_subquery(counted_user_rows(tx.ctx())))
        .filter(interaction::Column::OccurredAt.gte(start))
        .filter(interaction::Column::OccurredAt.lt(end))
        .group_by(day)
        .into_tuple()
        .all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(|(day, n)| (day, u64::try_from(n).unwrap_or(0))).collect())
}

/// How much the counted people did with one item.
pub(crate) struct ItemActivity {
    /// The item's row id.
    pub row: i64,
    pub events: u64,
    /// Distinct people.
    pub users: u64,
}

/// The live items with the most counted events (optionally of one type, within
/// `[start, end)` ms), most first; ties by the order items were stored.
pub(crate) async fn top_items(
    tx: &TenantTx,
    first: u64,
    event_type: Option<EventType>,
    bounds: Option<(i64, i64)>,
) -> Result<Vec<ItemActivity>> {
    let mut query = interaction::Entity::find()
        .select_only()
        .column(interaction::Column::ItemId)
        .column_as(interaction::Column::Id.count(), "n")
        .column_as(Expr::expr(Func::count_distinct(Expr::col(interaction::Column::UserId))), "u")
        .filter(interaction::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(interaction::Column::UserId.in_subquery(counted_user_rows(tx.ctx())))
        .filter(interaction::Column::ItemId.not_in_subquery(deleted_item_rows(tx.ctx())));
    if let Some(et) = event_type {
        query = query.filter(interaction::Column::EventType.eq(et.as_str()));
    }
    if let Some((start, end)) = bounds {
        query =
            query.filter(interaction::Column::OccurredAt.gte(start)).filter(interaction::Column::OccurredAt.lt(end));
    }
    let rows: Vec<(i64, i64, i64)> = query
        .group_by(interaction::Column::ItemId)
        .order_by(Expr::col("n"), Order::Desc)
        .order_by(interaction::Column::ItemId, Order::Asc)
        .limit(first)
        .into_tuple()
        .all(tx.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(row, n, u)| ItemActivity {
            row,
            events: u64::try_from(n).unwrap_or(0),
            users: u64::try_from(u).unwrap_or(0),
        })
        .collect())
}

/// The counted people's events per type, in no particular order.
pub(crate) async fn type_counts(tx: &TenantTx) -> Result<Vec<(EventType, u64)>> {
    let rows: Vec<(String, i64)> = interaction::Entity::find()
        .select_only()
        .column(interaction::Column::EventType)
        .column_as(interaction::Column::Id.count(), "n")
        .filter(interaction::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(interaction::Column::UserId.in_subquery(counted_user_rows(tx.ctx())))
        .group_by(interaction::Column::EventType)
        .into_tuple()
        .all(tx.conn())
        .await?;
    rows.into_iter().map(|(t, n)| Ok((EventType::from_db(&t)?, u64::try_from(n).unwrap_or(0)))).collect()
}
