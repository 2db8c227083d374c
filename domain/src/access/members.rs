use tenants::TenantCtx;
use tenants::ids::Email;
use tenants::page::{Page, PageRequest};
use tenants::role::Role;
use tenants::store::members::{self, Member};

use crate::Services;
use crate::audit::{AuditEvent, Target, action};
use crate::error::Result;

pub async fn list_members(ctx: &TenantCtx, services: &Services, page: PageRequest) -> Result<Page<Member>> {
    let tx = services.db.begin(ctx).await?;
    let page = members::list(ctx, &tx, page).await?;
    tx.commit().await?;
    Ok(page)
}

/// Returns the member and the invitation token, shown once.
pub async fn invite_member(ctx: &TenantCtx, services: &Services, email: &Email, role: Role) -> Result<(Member, String)> {
    let tx = services.db.begin_write(ctx).await?;
    let invited = members::invite(ctx, &tx, email, role).await?;
    let event = AuditEvent::new(action::MEMBER_INVITED)
        .target(Target::member(&invited.0.id))
        .details(serde_json::json!({ "role": role.as_str() }));
    services.audit.record(ctx, &tx, event).await?;
    tx.commit().await?;
    Ok(invited)
}
