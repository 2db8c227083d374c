//! Changing a member's role and removing a member.
//!
//! The rules, the same for both: the caller needs `members:manage`; it may touch a member
//! only if it could have granted that member's current role, and may give only a role it
//! could grant (see [`check_can_grant`]), so an admin never touches an owner and a key
//! never touches or makes one. The tenant always keeps an active owner: the owners' rows
//! are locked (PostgreSQL) or the write lock is held (SQLite) while that is checked, so two
//! owners demoting each other at the same moment cannot both succeed.
//!
//! Removal is soft: the row stays (audit events and keys name the member by its public
//! id, and its e-mail stays reserved) with `disabled_at` set, its password and invitation
//! cleared and every refresh token revoked. Access tokens need nothing more: each request
//! reads the member's row (`auth`), so a removed member's token fails at once and a
//! demoted member's token carries the new role at once. Keys the member made, directly or
//! through other keys, are revoked when they exceed what the member keeps.

use sea_orm::sea_query::Condition;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::ctx::{Principal, TenantCtx};
use crate::db::TenantTx;
use crate::entity::member;
use crate::error::{Result, TenantsError};
use crate::ids::{MemberId, PublicId};
use crate::role::Role;
use crate::scope::{Scope, ScopeSet};
use crate::store::api_keys::{self, ApiKey};
use crate::store::members::{Member, MemberStatus, check_can_grant, to_domain};
use crate::store::{now, sessions};

/// A role change as stored, with the keys it revoked (and their secret hashes, so the
/// caller can drop them from the verification cache after the commit).
#[derive(Debug)]
pub struct RoleChange {
    pub member: Member,
    pub previous: Role,
    pub revoked_keys: Vec<(ApiKey, String)>,
}

#[derive(Debug)]
pub struct Removal {
    pub member: Member,
    pub revoked_keys: Vec<(ApiKey, String)>,
    pub revoked_sessions: u64,
}

/// Gives a member another role. Keys the member made whose scopes exceed the new role
/// are revoked; the rest are kept (the member could make them again).
pub async fn update_role(tx: &TenantTx, id: &PublicId, role: Role) -> Result<RoleChange> {
    let (target, other_active_owners) = lock_target(tx, id).await?;
    let current = to_domain(&target)?;
    if current.status == MemberStatus::Disabled {
        return Err(TenantsError::Conflict("this member was removed".into()));
    }
    check_can_manage(tx.ctx(), current.role)?;
    check_can_grant(tx.ctx(), role)?;
    if current.role == Role::Owner && role != Role::Owner && current.status == MemberStatus::Active {
        ensure_another_owner(other_active_owners)?;
    }
    let mut active: member::ActiveModel = target.into();
    active.role = Set(role.as_str().to_owned());
    let updated = to_domain(&active.update(tx.conn()).await?)?;
    let revoked_keys = api_keys::revoke_beyond(tx, creator_label(&updated), &role.scopes()).await?;
    Ok(RoleChange { member: updated, previous: current.role, revoked_keys })
}

/// Removes a member (or withdraws an invitation). Removing twice is harmless.
pub async fn remove(tx: &TenantTx, id: &PublicId) -> Result<Removal> {
    let (target, other_active_owners) = lock_target(tx, id).await?;
    let current = to_domain(&target)?;
    check_can_manage(tx.ctx(), current.role)?;
    if current.role == Role::Owner && current.status == MemberStatus::Active {
        ensure_another_owner(other_active_owners)?;
    }
    let row = MemberId::from_db(target.id);
    let mut active: member::ActiveModel = target.into();
    if current.status != MemberStatus::Disabled {
        active.disabled_at = Set(Some(now()));
    }
    active.password_hash = Set(None);
    active.invite_hash = Set(None);
    active.invite_expires_at = Set(None);
    let updated = to_domain(&active.update(tx.conn()).await?)?;
    let revoked_sessions = sessions::revoke_all_of_member(tx.ctx(), tx, row).await?;
    let revoked_keys = api_keys::revoke_beyond(tx, creator_label(&updated), &ScopeSet::default()).await?;
    Ok(Removal { member: updated, revoked_keys, revoked_sessions })
}

/// Whether the context may act on a member who holds `role`: exactly when it could
/// have granted that role.
fn check_can_manage(ctx: &TenantCtx, role: Role) -> Result<()> {
    check_can_grant(ctx, role).map_err(|e| match e {
        TenantsError::Forbidden(_) => {
            TenantsError::Forbidden(format!("you cannot manage a member with the {role} role"))
        }
        other => other,
    })
}

fn ensure_another_owner(other_active_owners: usize) -> Result<()> {
    if other_active_owners == 0 {
        return Err(TenantsError::Conflict("the last owner can be neither removed nor demoted".into()));
    }
    Ok(())
}

fn creator_label(member: &Member) -> String {
    Principal::member_label(&member.id)
}

/// Finds the member in the context's tenant and locks it together with every active
/// owner, in id order (one order for every caller, so two of these cannot deadlock).
/// Returns the member's row and how many other active owners there are. A member of
/// another tenant is not found.
async fn lock_target(tx: &TenantTx, id: &PublicId) -> Result<(member::Model, usize)> {
    tx.ctx().require(Scope::MembersManage)?;
    let owners = Condition::all()
        .add(member::Column::Role.eq(Role::Owner.as_str()))
        .add(member::Column::DisabledAt.is_null())
        .add(member::Column::PasswordHash.is_not_null());
    let rows = member::Entity::find()
        .filter(member::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(Condition::any().add(member::Column::PublicId.eq(id.as_string())).add(owners))
        .order_by_asc(member::Column::Id)
        .lock_exclusive()
        .all(tx.conn())
        .await?;
    let target_id = id.as_string();
    let (targets, owners): (Vec<_>, Vec<_>) = rows.into_iter().partition(|m| m.public_id == target_id);
    let target = targets.into_iter().next().ok_or(TenantsError::NotFound("member"))?;
    // A row locked as an owner is re-read after the lock is granted: one demoted or
    // removed meanwhile no longer matches and is not in `owners`.
    let other_active_owners = owners.len();
    Ok((target, other_active_owners))
}
