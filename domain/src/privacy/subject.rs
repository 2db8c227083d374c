//! Finding the person a privacy request is about.

use tenants::TenantTx;

use crate::audience::UserId;
use crate::audience::store::Subject;
use crate::error::{DomainError, Result};

/// The end user, erased or not; `NOT_FOUND` when the tenant never had them.
pub(super) async fn find(tx: &TenantTx, id: &UserId) -> Result<Subject> {
    crate::audience::store::find_subject(tx, id).await?.ok_or_else(|| not_found(id))
}

/// The same, refusing erased users the way every other read does: they are gone.
pub(super) async fn find_live(tx: &TenantTx, id: &UserId) -> Result<Subject> {
    let subject = find(tx, id).await?;
    if subject.erased_at.is_some() {
        return Err(not_found(id));
    }
    Ok(subject)
}

fn not_found(id: &UserId) -> DomainError {
    DomainError::NotFound(format!("end user {:?}", id.as_str()))
}
