use async_graphql::{Context, InputObject, Object};
use chrono::{DateTime, Utc};
use domain::audit::AuditFilter;
use domain::tenants::page::PageRequest;

use crate::graphql::connection::{Conn, TotalCount, from_page};
use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::{AuditCheckpointGql, AuditEventGql, AuditVerificationGql};

#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    pub action: Option<String>,
    /// A principal as events show it, e.g. `member:<id>`.
    pub principal: Option<String>,
    /// Occurred at or after.
    pub from: Option<DateTime<Utc>>,
    /// Occurred before.
    pub to: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The tenant's audit log, oldest first (owners, admins, keys with `audit:read`).
    #[graphql(complexity = "crate::graphql::complexity::page(first, child_complexity)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditEventFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<AuditEventGql>> {
        let tenant_ctx = tenant(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = AuditFilter::parse(f.action.as_deref(), f.principal.as_deref(), f.from, f.to)?;
        let page = PageRequest::parse(first.map(i64::from), after.as_deref())?;
        let services = services(ctx)?;
        let events = domain::audit_log::list_events(tenant_ctx, services, &filter, page).await?;
        let (tenant, services) = (tenant_ctx.clone(), services.clone());
        let total = TotalCount::of(move || {
            let (tenant, services, filter) = (tenant.clone(), services.clone(), filter.clone());
            async move { domain::audit_log::count_events(&tenant, &services, &filter).await }
        });
        Ok(from_page(events, AuditEventGql::from, total))
    }

    /// The signed checkpoints of the tenant's log, newest first (owners, admins, keys
    /// with `audit:read`). Each signs the chain's hash at its `seq` with the server's
    /// key; keep them outside Marquee to prove later that the log was not rewritten.
    #[graphql(complexity = "crate::graphql::complexity::page(first, child_complexity)")]
    async fn audit_checkpoints(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<AuditCheckpointGql>> {
        let (tenant, services) = (tenant(ctx)?, services(ctx)?);
        let page = PageRequest::parse(first.map(i64::from), after.as_deref())?;
        let checkpoints = domain::audit_log::list_checkpoints(tenant, services, page).await?;
        let (tenant, services) = (tenant.clone(), services.clone());
        let total = TotalCount::of(move || {
            let (tenant, services) = (tenant.clone(), services.clone());
            async move { domain::audit_log::count_checkpoints(&tenant, &services).await }
        });
        Ok(from_page(checkpoints, AuditCheckpointGql::from, total))
    }

    /// Recomputes the tenant's audit chain and checks its signed checkpoints: OK, or
    /// the first broken event and what is wrong with it.
    async fn verify_audit_log(&self, ctx: &Context<'_>) -> ApiResult<AuditVerificationGql> {
        let tenant_ctx = tenant(ctx)?;
        Ok(domain::audit_log::verify(tenant_ctx, services(ctx)?).await?.into())
    }
}
