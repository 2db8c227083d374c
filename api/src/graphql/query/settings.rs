use async_graphql::{Context, Object};

use crate::graphql::context::{models, services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::settings::{TenantSettingsGql, UsageGql};

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// The tenant's ingestion settings: event weights and default consent.
    async fn tenant_settings(&self, ctx: &Context<'_>) -> ApiResult<TenantSettingsGql> {
        Ok(domain::settings::tenant_settings(tenant(ctx)?, services(ctx)?).await?.into())
    }

    /// What the tenant uses of its plan, beside the plan's limits (0: no limit).
    async fn usage(&self, ctx: &Context<'_>) -> ApiResult<UsageGql> {
        Ok(domain::usage::usage(tenant(ctx)?, models(ctx)?).await?.into())
    }
}
