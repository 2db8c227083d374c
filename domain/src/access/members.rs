use tenants::TenantCtx;
use tenants::ids::{Email, PublicId};
use tenants::page::{Page, PageRequest};
use tenants::role::Role;
use tenants::store::api_keys::ApiKey;
use tenants::store::member_admin;
use tenants::store::members::{self, Member};

use crate::Services;
use crate::audit::{AuditEvent, Target, action};
use crate::error::Result;
use crate::serving_cache::Change;

pub async fn count_members(ctx: &TenantCtx, services: &Services) -> Result<u64> {
    let tx = services.db.begin(ctx).await?;
    let n = members::count(&tx).await?;
    tx.commit().await?;
    Ok(n)
}

pub async fn list_members(ctx: &TenantCtx, services: &Services, page: PageRequest) -> Result<Page<Member>> {
    let tx = services.db.begin(ctx).await?;
    let page = members::list(&tx, page).await?;
    tx.commit().await?;
    Ok(page)
}

/// Returns the member and the invitation token, shown once.
pub async fn invite_member(
    ctx: &TenantCtx,
    services: &Services,
    email: &Email,
    role: Role,
) -> Result<(Member, String)> {
    let tx = services.db.begin_write(ctx).await?;
    let invited = members::invite(&tx, email, role).await?;
    let event = AuditEvent::new(action::MEMBER_INVITED)
        .target(Target::member(&invited.0.id))
        .details(serde_json::json!({ "role": role.as_str() }));
    services.audit.record(&tx, event).await?;
    tx.commit().await?;
    Ok(invited)
}

/// A role change, with the keys it revoked (those whose scopes exceed the new role).
#[derive(Debug)]
pub struct MemberRoleChanged {
    pub member: Member,
    pub revoked_keys: Vec<ApiKey>,
}

#[derive(Debug)]
pub struct MemberRemoved {
    pub member: Member,
    pub revoked_keys: Vec<ApiKey>,
}

/// Changes a member's role. The change, the revocation of keys beyond the new role and
/// their audit events commit together; the keys leave this process's cache after.
pub async fn update_member_role(
    ctx: &TenantCtx,
    services: &Services,
    id: &PublicId,
    role: Role,
) -> Result<MemberRoleChanged> {
    let tx = services.db.begin_write(ctx).await?;
    let change = member_admin::update_role(&tx, id, role).await?;
    let mut events =
        vec![AuditEvent::new(action::MEMBER_ROLE_CHANGED).target(Target::member(&change.member.id)).details(
            serde_json::json!({
                "from": change.previous.as_str(),
                "to": role.as_str(),
                "revokedApiKeys": change.revoked_keys.len(),
            }),
        )];
    events.extend(change.revoked_keys.iter().map(|(key, _)| key_revoked_with_creator(key, "creator demoted")));
    services.audit.record_all(&tx, events).await?;
    tx.commit().await?;
    let revoked_keys = forget_keys(ctx, services, change.revoked_keys);
    tracing::info!(member_id = %change.member.id, role = role.as_str(), "member role changed");
    Ok(MemberRoleChanged { member: change.member, revoked_keys })
}

/// Removes a member: no further sign-in, refresh or request with an access token
/// already issued, and every key they made (directly or through a key) is revoked.
pub async fn remove_member(ctx: &TenantCtx, services: &Services, id: &PublicId) -> Result<MemberRemoved> {
    let tx = services.db.begin_write(ctx).await?;
    let removal = member_admin::remove(&tx, id).await?;
    let mut events = vec![AuditEvent::new(action::MEMBER_REMOVED).target(Target::member(&removal.member.id)).details(
        serde_json::json!({
            "role": removal.member.role.as_str(),
            "revokedSessions": removal.revoked_sessions,
            "revokedApiKeys": removal.revoked_keys.len(),
        }),
    )];
    events.extend(removal.revoked_keys.iter().map(|(key, _)| key_revoked_with_creator(key, "creator removed")));
    services.audit.record_all(&tx, events).await?;
    tx.commit().await?;
    let revoked_keys = forget_keys(ctx, services, removal.revoked_keys);
    tracing::info!(member_id = %removal.member.id, "member removed");
    Ok(MemberRemoved { member: removal.member, revoked_keys })
}

fn key_revoked_with_creator(key: &ApiKey, reason: &str) -> AuditEvent {
    AuditEvent::new(action::API_KEY_REVOKED)
        .target(Target::api_key(&key.id))
        .details(serde_json::json!({ "reason": reason, "createdBy": key.created_by }))
}

/// Announces committed revocations: every replica's verification cache drops them.
fn forget_keys(ctx: &TenantCtx, services: &Services, keys: Vec<(ApiKey, String)>) -> Vec<ApiKey> {
    let (keys, hashes): (Vec<ApiKey>, Vec<String>) = keys.into_iter().unzip();
    if !hashes.is_empty() {
        services.serving_cache.announce(ctx, Change::KeysRevoked(hashes));
    }
    keys
}
