//! Quotas and rate limits per tenant and per API key (docs/operations.md, "Quotas and
//! rate limits").
//!
//! Request rates are token buckets in the rate limiter the sign-in throttle uses
//! (Redis when `redis.url` is set, so every replica counts against one bucket; this
//! process otherwise): one bucket per API key, one per tenant. Plan limits are counted
//! in the database when a request would add to them: training jobs queued in the last
//! 24 hours, stored interactions and catalog items. Every tenant has the configured
//! defaults unless the operator set its own (`marquee tenant limits`), kept in the
//! tenant's settings document.

use tenants::quota::{Limits, LimitsUpdate, SETTINGS_KEY};
use tenants::store::tenants as tenant_store;
use tenants::throttle::{Decision, ThrottleKey, TokenBucket};
use tenants::{Principal, TenantCtx};

use crate::Services;
use crate::audit::{AuditEvent, action};
use crate::error::{DomainError, Result};
use crate::serving_cache::Change;

/// The tenant's limits, cached (an operator's change is announced as a settings change).
pub async fn tenant_limits(ctx: &TenantCtx, services: &Services) -> Result<Limits> {
    let defaults = services.default_limits;
    services
        .limits
        .get_or_load(ctx.tenant_id().get(), || async move {
            let tx = services.db.begin(ctx).await?;
            let tenant = tenant_store::current(&tx).await?;
            tx.commit().await?;
            Ok(Limits::from_settings(&tenant.settings, defaults))
        })
        .await
}

/// Before a request runs: a token from its API key's bucket, then from its tenant's.
/// Refused with `RATE_LIMITED` and when to try again. The operator is not limited.
pub async fn admit_request(ctx: &TenantCtx, services: &Services) -> Result<()> {
    if matches!(ctx.principal(), Principal::Operator) {
        return Ok(());
    }
    let limits = tenant_limits(ctx, services).await?;
    let limiter = services.throttle.limiter();
    let mut decision = Decision::Allowed;
    if let Principal::ApiKey { key_row, .. } = ctx.principal()
        && limits.key_requests_per_sec > 0.0
    {
        let bucket = TokenBucket { capacity: limits.key_burst.max(1), refill_per_sec: limits.key_requests_per_sec };
        decision = limiter.take(&ThrottleKey::api_key(*key_row), bucket).await;
    }
    if decision == Decision::Allowed && limits.tenant_requests_per_sec > 0.0 {
        let bucket =
            TokenBucket { capacity: limits.tenant_burst.max(1), refill_per_sec: limits.tenant_requests_per_sec };
        decision = limiter.take(&ThrottleKey::tenant(ctx.tenant_id().get()), bucket).await;
    }
    match decision {
        Decision::Allowed => Ok(()),
        Decision::Limited { retry_after } => {
            Err(DomainError::RateLimited { retry_after_secs: retry_after.as_secs_f64().ceil().max(1.0) as u64 })
        }
    }
}

/// What a plan limits the amount of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Interactions,
    CatalogItems,
}

impl Stored {
    /// The plan's limit (0: none).
    pub fn limit(self, limits: &Limits) -> u64 {
        match self {
            Stored::Interactions => limits.max_interactions,
            Stored::CatalogItems => limits.max_catalog_items,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Stored::Interactions => "stored interactions",
            Stored::CatalogItems => "catalog items",
        }
    }
}

/// Before a batch that adds to `what`, with what the tenant `held` (counted by the
/// feature that owns it): refused with `QUOTA_EXCEEDED` once the tenant holds its
/// plan's amount. Checked per batch: a batch that starts under the limit is stored
/// whole, so the limit may be passed by one batch.
pub(crate) fn check_stored(what: Stored, limit: u64, held: u64) -> Result<()> {
    if limit > 0 && held >= limit {
        return Err(DomainError::QuotaExceeded(format!("the plan allows {limit} {}; {held} are stored", what.name())));
    }
    Ok(())
}

/// Before a training job is queued, with the jobs queued in the last 24 hours.
pub(crate) fn check_training(limits: &Limits, queued_last_24h: u64) -> Result<()> {
    let limit = limits.training_jobs_per_day;
    if limit > 0 && queued_last_24h >= u64::from(limit) {
        return Err(DomainError::QuotaExceeded(format!(
            "the plan allows {limit} training jobs in 24 hours; {queued_last_24h} were queued"
        )));
    }
    Ok(())
}

/// What the tenant uses of its plan, and the plan (`usage::usage`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub limits: Limits,
    pub training_jobs_last_24h: u64,
    pub interactions: u64,
    pub catalog_items: u64,
}

/// The operator sets a tenant's own limits; what the update leaves out keeps its
/// current value. Takes effect at once on every replica.
pub async fn set_tenant_limits(ctx: &TenantCtx, services: &Services, update: LimitsUpdate) -> Result<Limits> {
    if !matches!(ctx.principal(), Principal::Operator) {
        return Err(DomainError::Forbidden("only the operator sets a tenant's limits".into()));
    }
    let tx = services.db.begin_write(ctx).await?;
    let tenant = tenant_store::current_for_update(&tx).await?;
    let limits = Limits::from_settings(&tenant.settings, services.default_limits).apply(&update)?;
    let mut doc = tenant.settings.clone();
    if !doc.is_object() {
        doc = serde_json::json!({});
    }
    let own = serde_json::to_value(limits).map_err(|e| DomainError::internal_from("limits", e))?;
    if let Some(map) = doc.as_object_mut() {
        map.insert(SETTINGS_KEY.to_owned(), own.clone());
    }
    tenant_store::save_settings(&tx, &doc).await?;
    let event = AuditEvent::new(action::SETTINGS_UPDATED).details(serde_json::json!({ SETTINGS_KEY: own }));
    services.audit.record(&tx, event).await?;
    tx.commit().await?;
    services.serving_cache.announce(ctx, Change::Settings);
    Ok(limits)
}
