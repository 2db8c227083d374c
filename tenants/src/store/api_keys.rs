use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::api_key_secret::{self, KeyEnvironment};
use crate::db::{SystemTx, TenantTx};
use crate::entity::api_key;
use crate::error::{Result, TenantsError};
use crate::ids::{PublicId, TenantId};
use crate::page::{Page, PageRequest};
use crate::scope::{Scope, ScopeSet};
use crate::store::{hex, now};

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: PublicId,
    pub name: String,
    pub environment: KeyEnvironment,
    pub display_prefix: String,
    pub scopes: ScopeSet,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A validated request for a new key.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub environment: KeyEnvironment,
    pub scopes: ScopeSet,
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewApiKey {
    pub fn parse(
        name: &str,
        environment: KeyEnvironment,
        scopes: &[String],
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Self> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(TenantsError::invalid("name", "use 1 to 100 characters"));
        }
        let scopes: ScopeSet = scopes.iter().map(|s| Scope::parse(s)).collect::<Result<_>>()?;
        if scopes.is_empty() {
            return Err(TenantsError::invalid("scopes", "name at least one scope"));
        }
        if expires_at.is_some_and(|t| t <= Utc::now()) {
            return Err(TenantsError::invalid("expiresAt", "must be in the future"));
        }
        Ok(Self { name: name.to_owned(), environment, scopes, expires_at })
    }
}

/// What a verified key grants, as cached between requests.
#[derive(Debug, Clone)]
pub struct VerifiedKey {
    pub row_id: i64,
    pub key_id: PublicId,
    pub tenant_id: TenantId,
    pub scopes: ScopeSet,
    pub expires_at: Option<DateTime<Utc>>,
    pub secret_hash: String,
}

fn to_domain(m: api_key::Model) -> Result<ApiKey> {
    Ok(ApiKey {
        id: PublicId::from_db(&m.public_id)?,
        name: m.name,
        environment: KeyEnvironment::parse(&m.environment)
            .map_err(|_| TenantsError::Internal("corrupt key environment".into()))?,
        display_prefix: m.display_prefix,
        scopes: ScopeSet::from_storage(&m.scopes)?,
        created_by: m.created_by,
        created_at: m.created_at,
        expires_at: m.expires_at,
        last_used_at: m.last_used_at,
        revoked_at: m.revoked_at,
    })
}

/// Creates a key and returns it with its secret, which is never stored or shown again.
/// A principal can only hand out scopes it holds itself.
pub async fn create(tx: &TenantTx, new: NewApiKey) -> Result<(ApiKey, String)> {
    tx.ctx().require(Scope::ApiKeysManage)?;
    if !new.scopes.is_subset(&tx.ctx().principal().scopes()) {
        return Err(TenantsError::Forbidden("a key cannot have scopes its creator does not hold".into()));
    }
    let secret = api_key_secret::generate(new.environment);
    let model = api_key::ActiveModel {
        tenant_id: Set(tx.tenant_id().get()),
        public_id: Set(PublicId::new().as_string()),
        name: Set(new.name),
        environment: Set(new.environment.as_str().to_owned()),
        display_prefix: Set(secret.display_prefix.clone()),
        secret_hash: Set(hex(&secret.hash)),
        scopes: Set(new.scopes.to_storage()),
        created_by: Set(tx.ctx().principal().label()),
        created_at: Set(now()),
        expires_at: Set(new.expires_at),
        ..Default::default()
    }
    .insert(tx.conn())
    .await?;
    Ok((to_domain(model)?, secret.plain))
}

/// How many keys (revoked ones too) [`list`] pages through.
pub async fn count(tx: &TenantTx) -> Result<u64> {
    tx.ctx().require(Scope::ApiKeysManage)?;
    Ok(api_key::Entity::find().filter(api_key::Column::TenantId.eq(tx.tenant_id().get())).count(tx.conn()).await?)
}

pub async fn list(tx: &TenantTx, page: PageRequest) -> Result<Page<ApiKey>> {
    tx.ctx().require(Scope::ApiKeysManage)?;
    let mut query = api_key::Entity::find()
        .filter(api_key::Column::TenantId.eq(tx.tenant_id().get()))
        .order_by_asc(api_key::Column::Id)
        .limit(page.first + 1);
    if let Some(after) = page.after {
        query = query.filter(api_key::Column::Id.gt(after));
    }
    let rows = query.all(tx.conn()).await?;
    let rows = rows.into_iter().map(|m| Ok((m.id, to_domain(m)?))).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, page))
}

/// Revokes a key of the context's tenant. Returns the key and its secret hash so the
/// caller can drop it from the verification cache at once.
pub async fn revoke(tx: &TenantTx, id: PublicId) -> Result<(ApiKey, String)> {
    tx.ctx().require(Scope::ApiKeysManage)?;
    let row = api_key::Entity::find()
        .filter(api_key::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(api_key::Column::PublicId.eq(id.as_string()))
        .one(tx.conn())
        .await?
        .ok_or(TenantsError::NotFound("API key"))?;
    let hash = row.secret_hash.clone();
    let row = if row.revoked_at.is_none() {
        let mut active: api_key::ActiveModel = row.into();
        active.revoked_at = Set(Some(now()));
        active.update(tx.conn()).await?
    } else {
        row
    };
    Ok((to_domain(row)?, hash))
}

/// Notes that a key was used. Its own transaction, writing first: on SQLite a write as
/// the first statement waits for the lock, where a read-then-write would fail at once.
pub async fn touch_last_used(tx: &SystemTx, row_id: i64) -> Result<()> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Expr::value(now()))
        .filter(api_key::Column::Id.eq(row_id))
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// Looks a presented key up by its hash, across tenants: the key is what tells us the
/// tenant. Revoked and expired keys are not found.
pub async fn verify(tx: &SystemTx, secret_hash: &str) -> Result<Option<VerifiedKey>> {
    let Some(row) = api_key::Entity::find().filter(api_key::Column::SecretHash.eq(secret_hash)).one(tx.conn()).await?
    else {
        return Ok(None);
    };
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|t| t <= Utc::now()) {
        return Ok(None);
    }
    Ok(Some(VerifiedKey {
        row_id: row.id,
        key_id: PublicId::from_db(&row.public_id)?,
        tenant_id: TenantId::from_db(row.tenant_id),
        scopes: ScopeSet::from_storage(&row.scopes)?,
        expires_at: row.expires_at,
        secret_hash: row.secret_hash,
    }))
}

/// Revokes, among the live keys `creator` (a principal label) made and the keys those
/// keys made in turn, every key whose scopes are not within `keep_within`. Used when a
/// member leaves (nothing is kept) or is demoted (keys beyond the new role go): a key
/// must not outlive the rights of whoever minted it, directly or through another key.
/// Returns the revoked keys with their secret hashes, for the verification cache.
pub async fn revoke_beyond(tx: &TenantTx, creator: String, keep_within: &ScopeSet) -> Result<Vec<(ApiKey, String)>> {
    let mut revoked = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut creators = vec![creator];
    while !creators.is_empty() {
        seen.extend(creators.iter().cloned());
        let rows = api_key::Entity::find()
            .filter(api_key::Column::TenantId.eq(tx.tenant_id().get()))
            .filter(api_key::Column::CreatedBy.is_in(creators))
            .filter(api_key::Column::RevokedAt.is_null())
            .order_by_asc(api_key::Column::Id)
            .all(tx.conn())
            .await?;
        creators = Vec::new();
        for row in rows {
            let label = crate::ctx::Principal::key_label(&PublicId::from_db(&row.public_id)?);
            if !seen.contains(&label) {
                creators.push(label);
            }
            if ScopeSet::from_storage(&row.scopes)?.is_subset(keep_within) {
                continue;
            }
            let hash = row.secret_hash.clone();
            let mut active: api_key::ActiveModel = row.into();
            active.revoked_at = Set(Some(now()));
            revoked.push((to_domain(active.update(tx.conn()).await?)?, hash));
        }
    }
    Ok(revoked)
}
