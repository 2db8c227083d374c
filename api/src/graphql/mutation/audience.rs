use async_graphql::{Context, Object};
use domain::audience::{MAX_UPSERT_BATCH, NewEndUser};
use domain::batch::Batch;

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
        let tenant_ctx = tenant(ctx)?;
        let batch =
            Batch::parse(users, MAX_UPSERT_BATCH, "users", |u| Some(u.id.clone()), |u| NewEndUser::parse(u.into()))?;
        Ok(domain::audience::upsert_end_users(tenant_ctx, services(ctx)?, batch).await?.into())
    }
}
