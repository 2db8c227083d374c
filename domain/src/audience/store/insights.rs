//! The audience's side of content insights (issue #13): who the counted people
//! (analytics consent, not erased) among a set are, by attribute, and the subquery of a
//! segment. Sets of people come in as subqueries built by the interactions store, so a
//! figure is one grouped statement.

use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use tenants::{TenantCtx, TenantTx};

use crate::audience::entity as end_user;
use crate::error::Result;

/// An attribute people are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attribute {
    AgeBand,
    Country,
    Plan,
    Gender,
}

impl Attribute {
    fn column(self) -> end_user::Column {
        match self {
            Attribute::AgeBand => end_user::Column::AgeBand,
            Attribute::Country => end_user::Column::Country,
            Attribute::Plan => end_user::Column::Plan,
            Attribute::Gender => end_user::Column::Gender,
        }
    }
}

/// Counted people among `people` (a subquery of user rows) by the value of `attribute`
/// (`None`: not given), in no particular order.
pub(crate) async fn composition(
    tx: &TenantTx,
    people: SelectStatement,
    attribute: Attribute,
) -> Result<Vec<(Option<String>, u64)>> {
    let column = attribute.column();
    let rows: Vec<(Option<String>, i64)> = end_user::Entity::find()
        .select_only()
        .column(column)
        .column_as(end_user::Column::Id.count(), "n")
        .filter(end_user::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(end_user::Column::ConsentAnalytics.eq(true))
        .filter(end_user::Column::ErasedAt.is_null())
        .filter(end_user::Column::Id.in_subquery(people))
        .group_by(column)
        .into_tuple()
        .all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(|(v, n)| (v, u64::try_from(n).unwrap_or(0))).collect())
}

/// The counted people whose attributes match every non-empty list (any value of a
/// list), as a subquery of user rows.
pub(crate) fn segment_rows(ctx: &TenantCtx, segment: &[(Attribute, Vec<String>)]) -> SelectStatement {
    let mut query = Query::select()
        .column(end_user::Column::Id)
        .from(end_user::Entity)
        .and_where(end_user::Column::TenantId.eq(ctx.tenant_id().get()))
        .and_where(end_user::Column::ConsentAnalytics.eq(true))
        .and_where(end_user::Column::ErasedAt.is_null())
        .to_owned();
    for (attribute, values) in segment.iter().filter(|(_, v)| !v.is_empty()) {
        query.and_where(Expr::col(attribute.column()).is_in(values.iter().cloned()));
    }
    query
}

/// Counted people in a subquery of user rows.
pub(crate) async fn count_in(tx: &TenantTx, people: SelectStatement) -> Result<u64> {
    let n: Option<i64> = end_user::Entity::find()
        .select_only()
        .column_as(end_user::Column::Id.count(), "n")
        .filter(end_user::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(end_user::Column::ConsentAnalytics.eq(true))
        .filter(end_user::Column::ErasedAt.is_null())
        .filter(end_user::Column::Id.in_subquery(people))
        .into_tuple()
        .one(tx.conn())
        .await?;
    Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}
