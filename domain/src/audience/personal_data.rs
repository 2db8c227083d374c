//! The hook through which end users' personal data leaves the domain: profiles and
//! lists of users here, a user's events in `interactions::list_user_interactions`.
//! Every such read passes through [`note_access`] inside its transaction, with the
//! subjects it returns, so the audit log can record each read in the same commit.
//! Nothing else in the crate returns an [`EndUser`] or a user's events to a caller.

use tenants::page::{Page, PageRequest};
use tenants::{Scope, TenantCtx, TenantTx};

use super::store;
use super::types::{EndUser, EndUserFilter, UserId};
use crate::Services;
use crate::error::{DomainError, Result};

/// What was read about whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalDataRead {
    /// One user's profile and consent.
    Profile,
    /// A page of users' profiles.
    ProfileList,
    /// One user's interactions.
    Interactions,
}

impl PersonalDataRead {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonalDataRead::Profile => "end_user.read",
            PersonalDataRead::ProfileList => "end_user.list",
            PersonalDataRead::Interactions => "end_user.interactions.read",
        }
    }
}

/// The hook every personal-data read passes, in the reading transaction, with the
/// users whose data is returned: one audit event per person (by pseudonym), or one
/// without a target when the read found nobody. The transactions here are opened with
/// `begin_write`, because on SQLite a transaction that reads and then writes its audit
/// event must hold the write lock from the start.
pub(crate) async fn note_access(
    services: &Services,
    tx: &TenantTx,
    read: PersonalDataRead,
    subjects: &[&UserId],
) -> Result<()> {
    use crate::audit::{AuditEvent, Target};
    let events = if subjects.is_empty() {
        vec![AuditEvent::new(read.as_str())]
    } else {
        subjects.iter().map(|u| AuditEvent::new(read.as_str()).target(Target::end_user(u.as_str()))).collect()
    };
    services.audit.record_all(tx, events).await
}

/// One end user's profile and consent (needs `users:read`); `NOT_FOUND` for unknown and
/// erased users.
pub async fn get_end_user(ctx: &TenantCtx, services: &Services, id: &UserId) -> Result<EndUser> {
    ctx.require(Scope::UsersRead)?;
    let tx = services.db.begin_write(ctx).await?;
    let user = store::get(&tx, id).await?;
    let subjects: Vec<&UserId> = user.iter().map(|u| &u.id).collect();
    note_access(services, &tx, PersonalDataRead::Profile, &subjects).await?;
    tx.commit().await?;
    user.ok_or_else(|| DomainError::NotFound(format!("end user {:?}", id.as_str())))
}

/// How many end users match `filter` (needs `users:read`). A count names nobody, so
/// unlike a page it records no read of personal data.
pub async fn count_end_users(ctx: &TenantCtx, services: &Services, filter: EndUserFilter) -> Result<u64> {
    ctx.require(Scope::UsersRead)?;
    let tx = services.db.begin(ctx).await?;
    let n = store::count(&tx, &filter).await?;
    tx.commit().await?;
    Ok(n)
}

/// A page of end users (needs `users:read`), in the order they were first stored.
pub async fn list_end_users(
    ctx: &TenantCtx,
    services: &Services,
    filter: EndUserFilter,
    page: PageRequest,
) -> Result<Page<EndUser>> {
    ctx.require(Scope::UsersRead)?;
    let tx = services.db.begin_write(ctx).await?;
    let page = store::list(&tx, &filter, page).await?;
    let subjects: Vec<&UserId> = page.items.iter().map(|(_, u)| &u.id).collect();
    note_access(services, &tx, PersonalDataRead::ProfileList, &subjects).await?;
    tx.commit().await?;
    Ok(page)
}
