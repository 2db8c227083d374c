//! What a tenant uses of its plan (`limits`), counted by the features that own the
//! rows: catalog items, stored interactions, training jobs of the last 24 hours.

use tenants::TenantCtx;

use crate::error::Result;
use crate::limits::{Usage, tenant_limits};
use crate::models::ModelServices;

/// Any principal of the tenant may read it.
pub async fn usage(ctx: &TenantCtx, models: &ModelServices) -> Result<Usage> {
    let services = models.services();
    let limits = tenant_limits(ctx, services).await?;
    let tx = services.db.begin(ctx).await?;
    let since = chrono::Utc::now() - chrono::Duration::hours(24);
    let usage = Usage {
        limits,
        training_jobs_last_24h: crate::models::count_jobs_since(&tx, since).await?,
        interactions: crate::interactions::store::stats::count_stored(&tx).await?,
        catalog_items: crate::catalog::store::stats::count_live_items(&tx).await?,
    };
    tx.commit().await?;
    Ok(usage)
}
