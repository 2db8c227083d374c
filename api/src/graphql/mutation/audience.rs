use async_graphql::{Context, Object};

use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::audience::EndUserInput;
use crate::graphql::types::catalog::UpsertPayload;

#[derive(Default)]
pub struct AudienceMutation;

#[Object]
impl AudienceMutation {
    /// Creates or updates up to 1,000 end users (needs `users:write`), in one
    /// transaction. Idempotent; invalid rows come back in `errors`, the valid ones are stored.
    async fn upsert_end_users(&self, ctx: &Context<'_>, users: Vec<EndUserInput>) -> ApiResult<UpsertPayload> {
        let drafts = users.into_iter().map(Into::into).collect();
        Ok(domain::audience::upsert_end_users(tenant(ctx)?, services(ctx)?, drafts).await?.into())
    }
}
