//! The interactions' side of content insights (issue #13): one item's engagement over
//! time and by event type, the people who engaged with it (as a subquery for the
//! audience store), the items engaged with by the same people, and per-item reach
//! within a set of people. Only the counted people's events count (analytics consent,
//! not erased: the audience's subquery), and deleted items are left out.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect};
use tenants::{TenantCtx, TenantTx};

use crate::audience::store::stats::counted_user_rows;
use crate::catalog::store::stats::deleted_item_rows;
use crate::error::Result;
use crate::interactions::entity as interaction;
use crate::sql::DAY_MS;
use crate::vocab::EventType;

/// The people (user rows) with an event on the item, as a subquery.
pub(crate) fn people_of_item(ctx: &TenantCtx, item_row: i64) -> SelectStatement {
    Query::select()
        .column(interaction::Column::UserId)
        .from(interaction::Entity)
        .and_where(interaction::Column::TenantId.eq(ctx.tenant_id().get()))
        .and_where(interaction::Column::ItemId.eq(item_row))
        .to_owned()
}

/// (UTC day, events, distinct people) of the counted people on one item since `start` (ms).
pub(crate) async fn item_per_day(tx: &TenantTx, item_row: i64, start: i64) -> Result<Vec<(i64, u64, u64)>> {
    let day = Expr::cust(format!("\"occurred_at\" / {DAY_MS}"));
    let rows: Vec<(i64, i64, i64)> = interaction::Entity::find()
        .select_only()
        .column_as(day.clone(), "day")
        .column_as(interaction::Column::Id.count(), "n")
        .column_as(Expr::expr(Func::count_distinct(Expr::col(interaction::Column::UserId))), "u")
        .filter(interaction::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(interaction::Column::ItemId.eq(item_row))
        .filter(interaction::Column::UserId.in_subquery(counted_user_rows(tx.ctx())))
        .filter(interaction::Column::OccurredAt.gte(start))
        .group_by(day)
        .order_by(Expr::col("day"), Order::Asc)
        .into_tuple()
        .all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(|(d, n, u)| (d, u64::try_from(n).unwrap_or(0), u64::try_from(u).unwrap_or(0))).collect())
}

/// Distinct counted people per event type on one item.
pub(crate) async fn item_people_by_type(tx: &TenantTx, item_row: i64) -> Result<Vec<(EventType, u64)>> {
    let rows: Vec<(String, i64)> = interaction::Entity::find()
        .select_only()
        .column(interaction::Column::EventType)
        .column_as(Expr::expr(Func::count_distinct(Expr::col(interaction::Column::UserId))), "u")
        .filter(interaction::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(interaction::Column::ItemId.eq(item_row))
        .filter(interaction::Column::UserId.in_subquery(counted_user_rows(tx.ctx())))
        .group_by(interaction::Column::EventType)
        .into_tuple()
        .all(tx.conn())
        .await?;
    rows.into_iter().map(|(t, n)| Ok((EventType::from_db(&t)?, u64::try_from(n).unwrap_or(0)))).collect()
}

/// Distinct counted people per live item among `people` (a subquery of user rows), for
/// the items reached by at least `min_people`.
pub(crate) async fn reach_per_item(
    tx: &TenantTx,
    people: SelectStatement,
    min_people: u64,
) -> Result<HashMap<i64, u64>> {
    let users = Expr::expr(Func::count_distinct(Expr::col(interaction::Column::UserId)));
    let rows: Vec<(i64, i64)> = interaction::Entity::find()
        .select_only()
        .column(interaction::Column::ItemId)
        .column_as(users.clone(), "u")
        .filter(interaction::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(interaction::Column::UserId.in_subquery(counted_user_rows(tx.ctx())))
        .filter(interaction::Column::UserId.in_subquery(people))
        .filter(interaction::Column::ItemId.not_in_subquery(deleted_item_rows(tx.ctx())))
        .group_by(interaction::Column::ItemId)
        .having(users.gte(i64::try_from(min_people).unwrap_or(i64::MAX)))
        .into_tuple()
        .all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(|(i, u)| (i, u64::try_from(u).unwrap_or(0))).collect())
}

/// Items the item's counted people also engaged with, by how many of them, most first.
pub(crate) async fn co_engaged(tx: &TenantTx, item_row: i64, first: u64) -> Result<Vec<(i64, u64)>> {
    let users = Expr::expr(Func::count_distinct(Expr::col(interaction::Column::UserId)));
    let rows: Vec<(i64, i64)> = interaction::Entity::find()
        .select_only()
        .column(interaction::Column::ItemId)
        .column_as(users, "u")
        .filter(interaction::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(interaction::Column::ItemId.ne(item_row))
        .filter(interaction::Column::UserId.in_subquery(counted_user_rows(tx.ctx())))
        .filter(interaction::Column::UserId.in_subquery(people_of_item(tx.ctx(), item_row)))
        .filter(interaction::Column::ItemId.not_in_subquery(deleted_item_rows(tx.ctx())))
        .group_by(interaction::Column::ItemId)
        .order_by(Expr::col("u"), Order::Desc)
        .order_by(interaction::Column::ItemId, Order::Asc)
        .limit(first)
        .into_tuple()
        .all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(|(i, u)| (i, u64::try_from(u).unwrap_or(0))).collect())
}
