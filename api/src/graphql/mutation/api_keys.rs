use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::access::NewApiKey;
use domain::tenants::ids::PublicId;

use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::{ApiKeyGql, KeyEnvironmentGql};

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub name: String,
    /// Scopes such as `catalog:read`, `events:write`; at most those the caller holds.
    pub scopes: Vec<String>,
    #[graphql(default_with = "KeyEnvironmentGql::Live")]
    pub environment: KeyEnvironmentGql,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    pub api_key: ApiKeyGql,
    /// The key itself. Shown this once; only a hash is stored.
    pub secret: String,
}

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    async fn create_api_key(&self, ctx: &Context<'_>, input: CreateApiKeyInput) -> ApiResult<CreateApiKeyPayload> {
        let tenant_ctx = tenant(ctx)?;
        let new = NewApiKey::parse(&input.name, input.environment.into(), &input.scopes, input.expires_at)?;
        let (key, secret) = domain::access::create_api_key(tenant_ctx, services(ctx)?, new).await?;
        Ok(CreateApiKeyPayload { api_key: key.into(), secret })
    }

    /// Revokes a key at once. Revoking twice is harmless.
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ApiKeyGql> {
        let tenant_ctx = tenant(ctx)?;
        let id = PublicId::parse(&id)?;
        Ok(domain::access::revoke_api_key(tenant_ctx, services(ctx)?, id).await?.into())
    }
}
