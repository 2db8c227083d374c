//! The operator's act of creating a tenant with its first owner and API key.

use tenants::api_key_secret::KeyEnvironment;
use tenants::ids::{Email, TenantSlug};
use tenants::password::Password;
use tenants::role::Role;
use tenants::scope::ScopeSet;
use tenants::store::api_keys::{self, ApiKey, NewApiKey};
use tenants::store::members::{self, Member};
use tenants::store::tenants::{self as tenant_store, Tenant};
use tenants::{RequestId, SystemCtx, TenantCtx};

use crate::Services;
use crate::audit::{AuditEvent, Target, action};
use crate::error::Result;

pub struct NewTenant {
    pub slug: TenantSlug,
    pub name: String,
    pub owner_email: Email,
    /// Chosen by the operator, or generated when absent.
    pub owner_password: Option<Password>,
}

/// Everything the operator must hand over, shown once.
pub struct CreatedTenant {
    pub tenant: Tenant,
    pub owner: Member,
    pub owner_password: String,
    pub api_key: ApiKey,
    pub api_key_secret: String,
}

pub async fn create_tenant(services: &Services, new: NewTenant) -> Result<CreatedTenant> {
    let password_text = match &new.owner_password {
        Some(p) => p.expose().to_owned(),
        None => generate_password(),
    };
    // Hashed before the write transaction opens, so argon2 never holds the write lock.
    let hashed = services.auth.passwords().hash(&Password::parse(&password_text)?).await?;
    let tx = services.db.begin_system_write(&SystemCtx::new("create tenant")).await?;
    let tenant = tenant_store::create(&tx, &new.slug, &new.name).await?;
    let ctx = TenantCtx::operator(tenant.id, RequestId::new());
    let tx = tx.scope_to(&ctx).await?;
    let owner = members::create_with_password(&tx, &new.owner_email, Role::Owner, hashed).await?;
    let key_request = NewApiKey {
        name: "default".to_owned(),
        environment: KeyEnvironment::Live,
        scopes: ScopeSet::all(),
        expires_at: None,
    };
    let (api_key, api_key_secret) = api_keys::create(&tx, key_request).await?;
    // The tenant's chain starts with its own creation.
    let created = AuditEvent::new(action::TENANT_CREATED)
        .target(Target::object("tenant", tenant.slug.as_str()))
        .details(serde_json::json!({ "name": tenant.name }));
    services.audit.record(&tx, created).await?;
    let owner_event = AuditEvent::new(action::MEMBER_CREATED)
        .target(Target::member(&owner.id))
        .details(serde_json::json!({ "role": owner.role.as_str() }));
    services.audit.record(&tx, owner_event).await?;
    services.audit.record(&tx, super::api_keys::key_created(&api_key)).await?;
    tx.commit().await?;
    Ok(CreatedTenant { tenant, owner, owner_password: password_text, api_key, api_key_secret })
}

pub async fn find_tenant_by_slug(services: &Services, slug: &TenantSlug) -> Result<Option<Tenant>> {
    let tx = services.db.begin_system(&SystemCtx::new("find tenant by slug")).await?;
    let tenant = tenant_store::find_by_slug(&tx, slug).await?;
    tx.commit().await?;
    Ok(tenant)
}

fn generate_password() -> String {
    // 128 bits from a UUIDv4's randomness, in a form people can copy.
    uuid::Uuid::new_v4().simple().to_string()
}
