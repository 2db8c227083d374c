use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::ctx::TenantCtx;
use crate::db::{SystemTx, TenantTx};
use crate::entity::member;
use crate::error::{Result, TenantsError};
use crate::ids::{Email, MemberId, PublicId, TenantId};
use crate::page::{Page, PageRequest};
use crate::password::{self, Password};
use crate::role::Role;
use crate::scope::Scope;
use crate::store::{hex, now};

const INVITE_VALID_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    Invited,
    Active,
    Disabled,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub row: MemberId,
    pub tenant_id: TenantId,
    pub id: PublicId,
    pub email: Email,
    pub role: Role,
    pub status: MemberStatus,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn to_domain(m: &member::Model) -> Result<Member> {
    let status = if m.disabled_at.is_some() {
        MemberStatus::Disabled
    } else if m.password_hash.is_some() {
        MemberStatus::Active
    } else {
        MemberStatus::Invited
    };
    Ok(Member {
        row: MemberId::from_db(m.id),
        tenant_id: TenantId::from_db(m.tenant_id),
        id: PublicId::from_db(&m.public_id)?,
        email: Email::parse(&m.email).map_err(|_| TenantsError::Internal("corrupt email".into()))?,
        role: Role::parse(&m.role).map_err(|_| TenantsError::Internal("corrupt role".into()))?,
        status,
        created_at: m.created_at,
    })
}

/// Whether the context may hand out `role` (by invitation or by changing a member's
/// role): the same rule API keys follow, a principal only grants what it holds. It
/// needs `members:manage` and every scope the role carries; a member also never grants
/// above their own role, and only an owner (or the operator) makes an owner, so a key
/// can never make one whatever its scopes.
pub(crate) fn check_can_grant(ctx: &TenantCtx, role: Role) -> Result<()> {
    ctx.require(Scope::MembersManage)?;
    if !role.scopes().is_subset(&ctx.principal().scopes()) {
        return Err(TenantsError::Forbidden(format!("you cannot grant the {role} role: it has scopes you do not hold")));
    }
    match ctx.member_role() {
        Some(own) if role <= own => Ok(()),
        Some(_) if role == Role::Owner => Err(TenantsError::Forbidden("only an owner can make an owner".into())),
        Some(_) => Err(TenantsError::Forbidden("you cannot grant a role above your own".into())),
        None if role < Role::Owner => Ok(()),
        None => Err(TenantsError::Forbidden("only an owner can make an owner".into())),
    }
}

async fn ensure_email_free(ctx: &TenantCtx, tx: &TenantTx, email: &Email) -> Result<()> {
    let existing = member::Entity::find()
        .filter(member::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(member::Column::Email.eq(email.as_str()))
        .one(tx.conn())
        .await?;
    match existing {
        Some(_) => Err(TenantsError::Conflict(format!("{} is already a member", email.as_str()))),
        None => Ok(()),
    }
}

/// Adds a member who can sign in at once (used by the operator for a tenant's owner).
pub async fn create_with_password(
    ctx: &TenantCtx,
    tx: &TenantTx,
    email: &Email,
    role: Role,
    password: &Password,
) -> Result<Member> {
    check_can_grant(ctx, role)?;
    ensure_email_free(ctx, tx, email).await?;
    let model = member::ActiveModel {
        tenant_id: Set(ctx.tenant_id().get()),
        public_id: Set(PublicId::new().as_string()),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(Some(password::hash(password)?)),
        role: Set(role.as_str().to_owned()),
        created_at: Set(now()),
        ..Default::default()
    }
    .insert(tx.conn())
    .await?;
    to_domain(&model)
}

/// Invites a member; the returned token (shown once) lets them choose a password.
pub async fn invite(ctx: &TenantCtx, tx: &TenantTx, email: &Email, role: Role) -> Result<(Member, String)> {
    check_can_grant(ctx, role)?;
    ensure_email_free(ctx, tx, email).await?;
    let token = crate::store::sessions::random_token("mqi_");
    let model = member::ActiveModel {
        tenant_id: Set(ctx.tenant_id().get()),
        public_id: Set(PublicId::new().as_string()),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(None),
        role: Set(role.as_str().to_owned()),
        invite_hash: Set(Some(hex(&crate::api_key_secret::hash_secret(&token)))),
        invite_expires_at: Set(Some(now() + Duration::days(INVITE_VALID_DAYS))),
        created_at: Set(now()),
        ..Default::default()
    }
    .insert(tx.conn())
    .await?;
    Ok((to_domain(&model)?, token))
}

/// Redeems an invitation: the token is the only proof, so it is looked up across tenants.
pub async fn accept_invite(tx: &SystemTx, token: &str, password: &Password) -> Result<Member> {
    // Hashed before touching the database: argon2 is slow, and on SQLite the longer a
    // transaction sits between its read and its write, the likelier another writer
    // commits in between and the write is refused.
    let password_hash = password::hash(password)?;
    let hash = hex(&crate::api_key_secret::hash_secret(token.trim()));
    let row = member::Entity::find()
        .filter(member::Column::InviteHash.eq(hash))
        .one(tx.conn())
        .await?
        .filter(|m| m.invite_expires_at.is_some_and(|t| t > Utc::now()) && m.disabled_at.is_none())
        .ok_or(TenantsError::Unauthenticated)?;
    let mut active: member::ActiveModel = row.into();
    active.password_hash = Set(Some(password_hash));
    active.invite_hash = Set(None);
    active.invite_expires_at = Set(None);
    let row = active.update(tx.conn()).await?;
    to_domain(&row)
}

pub async fn list(ctx: &TenantCtx, tx: &TenantTx, page: PageRequest) -> Result<Page<Member>> {
    // Every member may see who else works in the tenant; managing them needs more.
    if ctx.member_role().is_none() && !ctx.has(Scope::MembersManage) {
        return Err(TenantsError::MissingScope(Scope::MembersManage));
    }
    let mut query = member::Entity::find()
        .filter(member::Column::TenantId.eq(ctx.tenant_id().get()))
        .order_by_asc(member::Column::Id)
        .limit(page.first + 1);
    if let Some(after) = page.after {
        query = query.filter(member::Column::Id.gt(after));
    }
    let rows = query.all(tx.conn()).await?;
    let rows = rows.iter().map(|m| Ok((m.id, to_domain(m)?))).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, page))
}

/// Checks a password for sign-in. Unknown e-mail and wrong password look the same to
/// the caller and take about as long (a dummy hash is verified).
pub async fn check_password(tx: &SystemTx, tenant: TenantId, email: &Email, candidate: &str) -> Result<Member> {
    let row = member::Entity::find()
        .filter(member::Column::TenantId.eq(tenant.get()))
        .filter(member::Column::Email.eq(email.as_str()))
        .one(tx.conn())
        .await?;
    let stored = row.as_ref().and_then(|m| m.password_hash.clone());
    let ok = match &stored {
        Some(hash) => password::verify(candidate, hash),
        None => {
            password::verify_against_dummy(candidate);
            false
        }
    };
    match row {
        Some(m) if ok && m.disabled_at.is_none() => to_domain(&m),
        _ => Err(TenantsError::Unauthenticated),
    }
}

/// Loads an active member for a token's claims; a disabled or deleted member's tokens
/// stop working at once.
pub async fn find_active(tx: &SystemTx, tenant: TenantId, id: &PublicId) -> Result<Option<Member>> {
    let row = member::Entity::find()
        .filter(member::Column::TenantId.eq(tenant.get()))
        .filter(member::Column::PublicId.eq(id.as_string()))
        .one(tx.conn())
        .await?;
    row.as_ref()
        .map(to_domain)
        .transpose()
        .map(|m| m.filter(|m| m.status == MemberStatus::Active))
}

pub async fn find_by_row(tx: &SystemTx, row: MemberId) -> Result<Option<Member>> {
    member::Entity::find_by_id(row.get()).one(tx.conn()).await?.as_ref().map(to_domain).transpose()
}

