//! Finding the person a privacy request is about.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tenants::{TenantCtx, TenantTx};

use crate::audience::UserId;
use crate::entity::end_user;
use crate::error::{DomainError, Result};

/// The end user's row, erased or not; `NOT_FOUND` when the tenant never had them.
pub(super) async fn find(ctx: &TenantCtx, tx: &TenantTx, id: &UserId) -> Result<end_user::Model> {
    end_user::Entity::find()
        .filter(end_user::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(end_user::Column::ExternalId.eq(id.as_str()))
        .one(tx.conn())
        .await?
        .ok_or_else(|| not_found(id))
}

/// The same, refusing erased users the way every other read does: they are gone.
pub(super) async fn find_live(ctx: &TenantCtx, tx: &TenantTx, id: &UserId) -> Result<end_user::Model> {
    let row = find(ctx, tx, id).await?;
    if row.erased_at.is_some() {
        return Err(not_found(id));
    }
    Ok(row)
}

fn not_found(id: &UserId) -> DomainError {
    DomainError::NotFound(format!("end user {:?}", id.as_str()))
}
