use tenants::TenantCtx;
use tenants::ids::PublicId;
use tenants::store::api_keys::{self, ApiKey, NewApiKey};

use crate::Services;
use crate::audit::{AuditEvent, Target, action};
use crate::error::Result;
use crate::serving_cache::Change;
use tenants::page::{Page, PageRequest};

/// Returns the key and its secret; the secret is never retrievable again.
pub async fn create_api_key(ctx: &TenantCtx, services: &Services, new: NewApiKey) -> Result<(ApiKey, String)> {
    let tx = services.db.begin_write(ctx).await?;
    let created = api_keys::create(&tx, new).await?;
    services.audit.record(&tx, key_created(&created.0)).await?;
    tx.commit().await?;
    tracing::info!(key_id = %created.0.id, "api key created");
    Ok(created)
}

/// The event for a new key: its name and powers, never its secret.
pub(crate) fn key_created(key: &ApiKey) -> AuditEvent {
    AuditEvent::new(action::API_KEY_CREATED).target(Target::api_key(&key.id)).details(serde_json::json!({
        "name": key.name,
        "environment": key.environment.as_str(),
        "scopes": key.scopes.to_storage(),
        "expiresAt": key.expires_at.map(|t| t.to_rfc3339()),
    }))
}

pub async fn count_api_keys(ctx: &TenantCtx, services: &Services) -> Result<u64> {
    let tx = services.db.begin(ctx).await?;
    let n = api_keys::count(&tx).await?;
    tx.commit().await?;
    Ok(n)
}

pub async fn list_api_keys(ctx: &TenantCtx, services: &Services, page: PageRequest) -> Result<Page<ApiKey>> {
    let tx = services.db.begin(ctx).await?;
    let page = api_keys::list(&tx, page).await?;
    tx.commit().await?;
    Ok(page)
}

/// Revocation takes effect at once: the key leaves the verification cache of every
/// replica after the commit.
pub async fn revoke_api_key(ctx: &TenantCtx, services: &Services, id: PublicId) -> Result<ApiKey> {
    let tx = services.db.begin_write(ctx).await?;
    let (key, hash) = api_keys::revoke(&tx, id).await?;
    services.audit.record(&tx, AuditEvent::new(action::API_KEY_REVOKED).target(Target::api_key(&key.id))).await?;
    tx.commit().await?;
    services.serving_cache.announce(ctx, Change::KeysRevoked(vec![hash]));
    tracing::info!(key_id = %key.id, "api key revoked");
    Ok(key)
}
