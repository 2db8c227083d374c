use async_graphql::{Context, Object};

use crate::graphql::context::{content, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::content::ContentEmbeddingStatus;

#[derive(Default)]
pub struct ContentEmbeddingStatusQuery;

#[Object]
impl ContentEmbeddingStatusQuery {
    /// How far the background embedding of the catalog is (needs `catalog:read`).
    async fn content_embedding_status(&self, ctx: &Context<'_>) -> ApiResult<ContentEmbeddingStatus> {
        Ok(domain::content::embedding_status(tenant(ctx)?, content(ctx)?).await?.into())
    }
}
