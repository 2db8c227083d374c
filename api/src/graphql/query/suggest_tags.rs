use async_graphql::{Context, Object};
use domain::catalog::ContentId;

use crate::graphql::context::{content, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::content::SuggestedTag;

#[derive(Default)]
pub struct SuggestTagsQuery;

#[Object]
impl SuggestTagsQuery {
    /// Genres and tags from the tenant's own vocabulary for an item, by the labels of
    /// its nearest items in embedding space (needs `catalog:read` and a text model).
    #[graphql(complexity = "crate::graphql::complexity::list(first, child_complexity)")]
    async fn suggest_tags(
        &self,
        ctx: &Context<'_>,
        content_id: String,
        #[graphql(default = 5)] first: i32,
    ) -> ApiResult<Vec<SuggestedTag>> {
        let id = ContentId::parse_as("contentId", content_id)?;
        let tags = domain::content::suggest_tags(tenant(ctx)?, content(ctx)?, &id, Some(first.into())).await?;
        Ok(tags.into_iter().map(Into::into).collect())
    }
}
