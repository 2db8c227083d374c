use async_graphql::{Context, Object};

use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::settings::TenantSettingsGql;

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// The tenant's ingestion settings: event weights and default consent.
    async fn tenant_settings(&self, ctx: &Context<'_>) -> ApiResult<TenantSettingsGql> {
        Ok(domain::settings::tenant_settings(tenant(ctx)?, services(ctx)?).await?.into())
    }
}
