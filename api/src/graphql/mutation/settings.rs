use async_graphql::{Context, Object};

use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::settings::{TenantSettingsGql, UpdateTenantSettingsInput};

#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
    /// Changes event weights and default consent (needs `settings:manage`). New weights
    /// apply from the next training.
    async fn update_tenant_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateTenantSettingsInput,
    ) -> ApiResult<TenantSettingsGql> {
        Ok(domain::settings::update_tenant_settings(tenant(ctx)?, services(ctx)?, input.into()).await?.into())
    }
}
