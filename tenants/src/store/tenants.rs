use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::db::{SystemTx, TenantTx};
use crate::entity::tenant;
use crate::error::{Result, TenantsError};
use crate::ids::{TenantId, TenantSlug};

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub name: String,
    pub settings: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

fn to_domain(m: tenant::Model) -> Result<Tenant> {
    Ok(Tenant {
        id: TenantId::from_db(m.id),
        slug: TenantSlug::parse(&m.slug).map_err(|_| TenantsError::Internal(format!("corrupt slug {:?}", m.slug)))?,
        name: m.name,
        settings: serde_json::from_str(&m.settings).unwrap_or(serde_json::Value::Null),
        created_at: m.created_at,
    })
}

pub fn parse_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(TenantsError::invalid("name", "use 1 to 200 characters"));
    }
    Ok(name.to_owned())
}

/// Creating a tenant is the operator's act; there is no tenant to scope it to yet.
pub async fn create(tx: &SystemTx, slug: &TenantSlug, name: &str) -> Result<Tenant> {
    if find_by_slug(tx, slug).await?.is_some() {
        return Err(TenantsError::Conflict(format!("tenant {slug} already exists")));
    }
    let model = tenant::ActiveModel {
        slug: Set(slug.as_str().to_owned()),
        name: Set(parse_name(name)?),
        settings: Set("{}".to_owned()),
        created_at: Set(crate::store::now()),
        ..Default::default()
    }
    .insert(tx.conn())
    .await?;
    to_domain(model)
}

pub async fn find_by_slug(tx: &SystemTx, slug: &TenantSlug) -> Result<Option<Tenant>> {
    tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug.as_str()))
        .one(tx.conn())
        .await?
        .map(to_domain)
        .transpose()
}

pub async fn list_all(tx: &SystemTx) -> Result<Vec<Tenant>> {
    tenant::Entity::find().all(tx.conn()).await?.into_iter().map(to_domain).collect()
}

/// The context's own tenant.
pub async fn current(tx: &TenantTx) -> Result<Tenant> {
    tenant::Entity::find_by_id(tx.tenant_id().get())
        .one(tx.conn())
        .await?
        .map(to_domain)
        .transpose()?
        .ok_or(TenantsError::NotFound("tenant"))
}

/// The tenant's row, locked until `tx` ends (`SELECT ... FOR NO KEY UPDATE` on
/// PostgreSQL; a SQLite write transaction holds the database's write lock already), for a
/// read-modify-write of its settings that must not lose a concurrent change.
///
/// Not `FOR UPDATE`: every insert of a tenant-owned row checks its foreign key with a
/// key-share lock on this row, which `FOR UPDATE` blocks. The read-audit writer inserts
/// events while it holds the audit chain's head, which a settings update then waits for
/// to record its own event: a deadlock. Two updates still exclude each other.
pub async fn current_for_update(tx: &TenantTx) -> Result<Tenant> {
    tenant::Entity::find_by_id(tx.tenant_id().get())
        .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
        .one(tx.conn())
        .await?
        .map(to_domain)
        .transpose()?
        .ok_or(TenantsError::NotFound("tenant"))
}

/// Replaces the tenant's settings document (validated by the caller that owns its shape).
pub async fn save_settings(tx: &TenantTx, settings: &serde_json::Value) -> Result<()> {
    let model = tenant::ActiveModel {
        id: Set(tx.tenant_id().get()),
        settings: Set(settings.to_string()),
        ..Default::default()
    };
    model.update(tx.conn()).await?;
    Ok(())
}
