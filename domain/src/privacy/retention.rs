//! The retention job: for every tenant that set `interactionRetentionDays`, deletes the
//! interactions that occurred longer ago and records in the tenant's audit log what it
//! deleted. The server runs it every `privacy.retention_interval_secs`; `marquee
//! retention run` runs it once.

use chrono::{DateTime, Duration, Utc};
use tenants::store::tenants as tenant_store;
use tenants::{RequestId, SystemCtx, TenantCtx, TenantId};

use crate::Services;
use crate::audit::{AuditEvent, action};
use crate::error::Result;
use crate::serving_cache::Change;

/// The principal the job's audit events name.
const JOB: &str = "system:retention";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRun {
    pub tenant: TenantId,
    pub retention_days: u32,
    /// Interactions that occurred before this were deleted.
    pub cutoff: DateTime<Utc>,
    pub deleted: u64,
}

/// Applies every tenant's retention period, one tenant per transaction; a tenant that
/// fails is logged and the others still run.
pub async fn apply_retention(services: &Services) -> Result<Vec<RetentionRun>> {
    let tx = services.db.begin_system(&SystemCtx::new("list tenants for retention")).await?;
    let tenants = tenant_store::list_all(&tx).await?;
    tx.commit().await?;
    let mut runs = Vec::new();
    for tenant in tenants {
        let ctx = TenantCtx::operator(tenant.id, RequestId::new());
        match apply_retention_for(&ctx, services, Utc::now()).await {
            Ok(Some(run)) => runs.push(run),
            Ok(None) => {}
            Err(e) => tracing::error!(tenant_id = tenant.id.get(), error = ?e, "retention failed for a tenant"),
        }
    }
    Ok(runs)
}

/// Applies one tenant's retention period as of `now`; `None` when it keeps everything.
/// The deletion and its audit event commit together; nothing deleted, nothing recorded.
pub async fn apply_retention_for(
    ctx: &TenantCtx,
    services: &Services,
    now: DateTime<Utc>,
) -> Result<Option<RetentionRun>> {
    let tx = services.db.begin_write(ctx).await?;
    let Some(days) = crate::settings::load(&tx).await?.interaction_retention_days else {
        tx.commit().await?;
        return Ok(None);
    };
    let cutoff = now - Duration::days(i64::from(days));
    let deleted = crate::interactions::store::delete_occurred_before(&tx, cutoff).await?;
    if deleted > 0 {
        let event = AuditEvent::new(action::INTERACTIONS_PURGED).by(JOB).details(serde_json::json!({
            "retentionDays": days,
            "cutoff": cutoff.to_rfc3339(),
            "deleted": deleted,
        }));
        services.audit.record_system(&tx, ctx.request_id(), event).await?;
    }
    tx.commit().await?;
    if deleted > 0 {
        services.serving_cache.announce(ctx, Change::Everyone);
    }
    Ok(Some(RetentionRun { tenant: ctx.tenant_id(), retention_days: days, cutoff, deleted }))
}
