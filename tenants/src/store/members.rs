use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::ctx::TenantCtx;
use crate::db::{SystemTx, TenantTx};
use crate::entity::member;
use crate::error::{Result, TenantsError};
use crate::ids::{Email, MemberId, PublicId, TenantId};
use crate::page::{Page, PageRequest};
use crate::password::{HashedPassword, PasswordPool};
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
        return Err(TenantsError::Forbidden(format!(
            "you cannot grant the {role} role: it has scopes you do not hold"
        )));
    }
    match ctx.member_role() {
        Some(own) if role <= own => Ok(()),
        Some(_) if role == Role::Owner => Err(TenantsError::Forbidden("only an owner can make an owner".into())),
        Some(_) => Err(TenantsError::Forbidden("you cannot grant a role above your own".into())),
        None if role < Role::Owner => Ok(()),
        None => Err(TenantsError::Forbidden("only an owner can make an owner".into())),
    }
}

async fn ensure_email_free(tx: &TenantTx, email: &Email) -> Result<()> {
    let existing = member::Entity::find()
        .filter(member::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(member::Column::Email.eq(email.as_str()))
        .one(tx.conn())
        .await?;
    match existing {
        Some(_) => Err(TenantsError::Conflict(format!("{} is already a member", email.as_str()))),
        None => Ok(()),
    }
}

/// Adds a member who can sign in at once (used by the operator for a tenant's owner).
/// The password is hashed beforehand, outside the transaction.
pub async fn create_with_password(
    tx: &TenantTx,
    email: &Email,
    role: Role,
    password: HashedPassword,
) -> Result<Member> {
    check_can_grant(tx.ctx(), role)?;
    ensure_email_free(tx, email).await?;
    let model = member::ActiveModel {
        tenant_id: Set(tx.tenant_id().get()),
        public_id: Set(PublicId::new().as_string()),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(Some(password.into_phc())),
        role: Set(role.as_str().to_owned()),
        created_at: Set(now()),
        ..Default::default()
    }
    .insert(tx.conn())
    .await?;
    to_domain(&model)
}

/// Invites a member; the returned token (shown once) lets them choose a password.
pub async fn invite(tx: &TenantTx, email: &Email, role: Role) -> Result<(Member, String)> {
    check_can_grant(tx.ctx(), role)?;
    ensure_email_free(tx, email).await?;
    let token = crate::store::sessions::random_token("mqi_");
    let model = member::ActiveModel {
        tenant_id: Set(tx.tenant_id().get()),
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

/// An invitation that was live when it was read, by its token's hash.
pub struct PendingInvite {
    row: i64,
    token_hash: String,
}

/// Finds a live invitation by its token: the token is the only proof, so it is looked up
/// across tenants. Cheap, so a guessed token costs the server no argon2 work.
pub async fn find_invite(tx: &SystemTx, token: &str) -> Result<Option<PendingInvite>> {
    let token_hash = hex(&crate::api_key_secret::hash_secret(token.trim()));
    let row = member::Entity::find()
        .filter(member::Column::InviteHash.eq(token_hash.clone()))
        .one(tx.conn())
        .await?
        .filter(|m| m.invite_expires_at.is_some_and(|t| t > Utc::now()) && m.disabled_at.is_none());
    Ok(row.map(|m| PendingInvite { row: m.id, token_hash }))
}

/// Redeems an invitation found by [`find_invite`] with a password hashed since. The
/// update is conditional on the invitation still being live, so of two concurrent
/// redemptions exactly one wins, and one that expired meanwhile fails.
pub async fn redeem_invite(tx: &SystemTx, invite: PendingInvite, password: HashedPassword) -> Result<Member> {
    let redeemed = member::Entity::update_many()
        .col_expr(member::Column::PasswordHash, Expr::value(Some(password.into_phc())))
        .col_expr(member::Column::InviteHash, Expr::value(Option::<String>::None))
        .col_expr(member::Column::InviteExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(member::Column::Id.eq(invite.row))
        .filter(member::Column::InviteHash.eq(invite.token_hash))
        .filter(member::Column::InviteExpiresAt.gt(Utc::now()))
        .filter(member::Column::DisabledAt.is_null())
        .exec(tx.conn())
        .await?;
    if redeemed.rows_affected != 1 {
        return Err(TenantsError::Unauthenticated);
    }
    let row = member::Entity::find_by_id(invite.row).one(tx.conn()).await?.ok_or(TenantsError::Unauthenticated)?;
    to_domain(&row)
}

/// Every member may see who else works in the tenant; managing them needs more.
fn may_list(tx: &TenantTx) -> Result<()> {
    if tx.ctx().member_role().is_none() && !tx.ctx().has(Scope::MembersManage) {
        return Err(TenantsError::MissingScope(Scope::MembersManage));
    }
    Ok(())
}

/// How many members (of any status) [`list`] pages through.
pub async fn count(tx: &TenantTx) -> Result<u64> {
    may_list(tx)?;
    Ok(member::Entity::find().filter(member::Column::TenantId.eq(tx.tenant_id().get())).count(tx.conn()).await?)
}

pub async fn list(tx: &TenantTx, page: PageRequest) -> Result<Page<Member>> {
    may_list(tx)?;
    let mut query = member::Entity::find()
        .filter(member::Column::TenantId.eq(tx.tenant_id().get()))
        .order_by_asc(member::Column::Id)
        .limit(page.first + 1);
    if let Some(after) = page.after {
        query = query.filter(member::Column::Id.gt(after));
    }
    let rows = query.all(tx.conn()).await?;
    let rows = rows.iter().map(|m| Ok((m.id, to_domain(m)?))).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, page))
}

/// What sign-in needs of a member, read in a short transaction so that no database
/// connection is held while argon2 waits for its turn.
pub struct LoginRecord(member::Model);

pub async fn find_for_login(tx: &SystemTx, tenant: TenantId, email: &Email) -> Result<Option<LoginRecord>> {
    let row = member::Entity::find()
        .filter(member::Column::TenantId.eq(tenant.get()))
        .filter(member::Column::Email.eq(email.as_str()))
        .one(tx.conn())
        .await?;
    Ok(row.map(LoginRecord))
}

/// Checks a password for sign-in. Unknown e-mail and wrong password look the same to
/// the caller and take about as long (a dummy hash is verified).
pub async fn check_password(passwords: &PasswordPool, record: Option<LoginRecord>, candidate: &str) -> Result<Member> {
    let row = record.map(|r| r.0);
    let stored = row.as_ref().and_then(|m| m.password_hash.clone());
    let ok = match &stored {
        Some(hash) => passwords.verify(candidate, hash).await?,
        None => {
            passwords.verify_against_dummy(candidate).await?;
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
    row.as_ref().map(to_domain).transpose().map(|m| m.filter(|m| m.status == MemberStatus::Active))
}

pub async fn find_by_row(tx: &SystemTx, row: MemberId) -> Result<Option<Member>> {
    member::Entity::find_by_id(row.get()).one(tx.conn()).await?.as_ref().map(to_domain).transpose()
}
