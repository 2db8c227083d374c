//! A person's events, as they leave the domain: through the audience's personal-data
//! hook, so the read is audited in the same transaction.

use tenants::page::{Page, PageRequest, SortCursor};
use tenants::{Scope, TenantCtx};

use super::store;
use super::types::Interaction;
use crate::Services;
use crate::audience::personal_data::{PersonalDataRead, note_access};
use crate::error::Result;
use crate::vocab::UserId;

/// How many interactions one end user has (needs `users:read`); none for an unknown or
/// erased user.
pub async fn count_user_interactions(ctx: &TenantCtx, services: &Services, user: &UserId) -> Result<u64> {
    ctx.require(Scope::UsersRead)?;
    let tx = services.db.begin(ctx).await?;
    let n = match crate::audience::store::internal_id(&tx, user).await? {
        Some(row) => store::count_for_user(&tx, row).await?,
        None => 0,
    };
    tx.commit().await?;
    Ok(n)
}

/// One end user's interactions, newest first (needs `users:read`). An unknown or
/// erased user has none.
pub async fn list_user_interactions(
    ctx: &TenantCtx,
    services: &Services,
    user: &UserId,
    page: PageRequest<SortCursor>,
) -> Result<Page<Interaction, SortCursor>> {
    ctx.require(Scope::UsersRead)?;
    let tx = services.db.begin_write(ctx).await?;
    let page = match crate::audience::store::internal_id(&tx, user).await? {
        Some(row) => store::list_for_user(&tx, row, &page).await?,
        None => Page { items: Vec::new(), has_next_page: false, has_previous_page: page.after.is_some() },
    };
    note_access(services, &tx, PersonalDataRead::Interactions, &[user]).await?;
    tx.commit().await?;
    Ok(page)
}
