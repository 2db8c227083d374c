use async_graphql::{Context, Object};
use domain::batch::Batch;
use domain::catalog::{ContentId, MAX_UPSERT_BATCH, NewContent};

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
        let tenant_ctx = tenant(ctx)?;
        let batch = Batch::parse(
            contents,
            MAX_UPSERT_BATCH,
            "contents",
            |c| Some(c.id.clone()),
            |c| NewContent::parse(c.into()),
        )?;
        Ok(domain::catalog::upsert_contents(tenant_ctx, services(ctx)?, batch).await?.into())
    }

    /// Deletes up to 1,000 items by id (needs `catalog:write`). Deleted items leave every
    /// read and recommendation; their interactions are kept, and upserting the id again
    /// restores the item. Unknown ids are listed in `notFound`.
    async fn delete_contents(&self, ctx: &Context<'_>, ids: Vec<String>) -> ApiResult<DeleteContentsPayload> {
        let tenant_ctx = tenant(ctx)?;
        if ids.len() > domain::catalog::MAX_DELETE_BATCH {
            return Err(domain::DomainError::invalid(
                "ids",
                format!("a batch holds at most {} ids", domain::catalog::MAX_DELETE_BATCH),
            )
            .into());
        }
        let ids = ids.into_iter().map(|id| ContentId::parse_as("ids", id)).collect::<Result<Vec<_>, _>>()?;
        Ok(domain::catalog::delete_contents(tenant_ctx, services(ctx)?, ids).await?.into())
    }
}
