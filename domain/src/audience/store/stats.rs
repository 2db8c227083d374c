//! The audience's figures for `stats`. People who withheld analytics consent (and
//! erased people) are never counted.

use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use tenants::{TenantCtx, TenantTx};

use crate::audience::entity as end_user;
use crate::error::Result;

/// The row ids of the people statistics may count (analytics consent, not erased), as
/// a subquery: figures over their events filter within one grouped query instead of
/// loading the ids first.
pub(crate) fn counted_user_rows(ctx: &TenantCtx) -> SelectStatement {
    Query::select()
        .column(end_user::Column::Id)
        .from(end_user::Entity)
        .and_where(end_user::Column::TenantId.eq(ctx.tenant_id().get()))
        .and_where(end_user::Column::ConsentAnalytics.eq(true))
        .and_where(end_user::Column::ErasedAt.is_null())
        .to_owned()
}

/// The people statistics may count.
pub(crate) async fn count_counted_users(tx: &TenantTx) -> Result<u64> {
    Ok(end_user::Entity::find()
        .filter(end_user::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(end_user::Column::ErasedAt.is_null())
        .filter(end_user::Column::ConsentAnalytics.eq(true))
        .count(tx.conn())
        .await?)
}
