use async_graphql::{Context, Object};

use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::catalog::{ContentInput, DeleteContentsPayload, UpsertPayload};

#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Creates or replaces up to 500 content items (needs `catalog:write`), in one
    /// transaction. Idempotent: items equal to what is stored are left untouched
    /// (`unchanged`). Invalid rows come back in `errors`; the valid ones are stored.
    async fn upsert_contents(&self, ctx: &Context<'_>, contents: Vec<ContentInput>) -> ApiResult<UpsertPayload> {
        let drafts = contents.into_iter().map(Into::into).collect();
        Ok(domain::catalog::upsert_contents(tenant(ctx)?, services(ctx)?, drafts).await?.into())
    }

    /// Deletes up to 1,000 items by id (needs `catalog:write`). Deleted items leave every
    /// read and recommendation; their interactions are kept, and upserting the id again
    /// restores the item. Unknown ids are listed in `notFound`.
    async fn delete_contents(&self, ctx: &Context<'_>, ids: Vec<String>) -> ApiResult<DeleteContentsPayload> {
        Ok(domain::catalog::delete_contents(tenant(ctx)?, services(ctx)?, ids).await?.into())
    }
}
