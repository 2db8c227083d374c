use async_graphql::{Context, Object};
use domain::catalog::ContentId;

use crate::graphql::context::{content, personal_reads, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::content::ContentInsightsGql;

#[derive(Default)]
pub struct ContentInsightsQuery;

#[Object]
impl ContentInsightsQuery {
    /// Who engages with an item, how and when, and its nearest items by content and by
    /// behaviour (needs `reports:read`; audited). Consenting people only; small groups
    /// suppressed.
    #[graphql(complexity = "crate::graphql::complexity::personal(child_complexity)")]
    async fn content_insights(&self, ctx: &Context<'_>, content_id: String) -> ApiResult<ContentInsightsGql> {
        let id = ContentId::parse_as("contentId", content_id)?;
        personal_reads(ctx, 1)?;
        Ok(domain::content::content_insights(tenant(ctx)?, content(ctx)?, &id).await?.into())
    }
}
