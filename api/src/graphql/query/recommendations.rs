use async_graphql::{Context, Object};
use domain::models::RecommendationRequest;

use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::recommendations::{RecommendationFilterInput, RecommendationList};

#[derive(Default)]
pub struct RecommendationQuery;

#[Object]
impl RecommendationQuery {
    /// Recommendations for one of the tenant's end users, by the active model (or a
    /// non-personalized fallback, which `strategy` names).
    async fn recommendations(
        &self,
        ctx: &Context<'_>,
        user_id: String,
        #[graphql(default = 10)] first: i32,
        filter: Option<RecommendationFilterInput>,
    ) -> ApiResult<RecommendationList> {
        let request = RecommendationRequest::parse(&user_id, Some(first.into()), filter.unwrap_or_default().into())?;
        Ok(domain::models::recommendations(tenant(ctx)?, services(ctx)?, &request).await?.into())
    }

    /// Items similar to one content item.
    async fn similar_content(&self, ctx: &Context<'_>, content_id: String, #[graphql(default = 10)] first: i32) -> ApiResult<RecommendationList> {
        let first = usize::try_from(first).unwrap_or(0);
        if !(1..=domain::models::recommend::MAX_RECOMMENDATIONS).contains(&first) {
            return Err(domain::DomainError::invalid("first", "must be between 1 and 100").into());
        }
        Ok(domain::models::similar_content(tenant(ctx)?, services(ctx)?, content_id.trim(), first).await?.into())
    }
}
