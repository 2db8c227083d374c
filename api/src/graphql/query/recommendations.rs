use async_graphql::{Context, Object};
use domain::audience::UserId;
use domain::catalog::ContentId;
use domain::models::{RecommendationRequest, SimilarRequest};

use crate::graphql::context::{models, personal_reads, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::explanations::ExplanationGql;
use crate::graphql::types::recommendations::{RecommendationFilterInput, RecommendationList};

#[derive(Default)]
pub struct RecommendationQuery;

#[Object]
impl RecommendationQuery {
    /// Recommendations for one of the tenant's end users, by the active model (or a
    /// non-personalized fallback, which `strategy` names).
    #[graphql(complexity = "crate::graphql::complexity::recommendations(first, explain, child_complexity)")]
    async fn recommendations(
        &self,
        ctx: &Context<'_>,
        user_id: String,
        #[graphql(default = 10)] first: i32,
        filter: Option<RecommendationFilterInput>,
        #[graphql(default = false, desc = "Attach an explanation to every item.")] explain: bool,
    ) -> ApiResult<RecommendationList> {
        let request =
            RecommendationRequest::parse(user_id, Some(first.into()), filter.unwrap_or_default().try_into()?)?;
        personal_reads(ctx, if explain { 2 } else { 1 })?;
        let (tenant_ctx, models) = (tenant(ctx)?, models(ctx)?);
        let list = domain::models::recommendations(tenant_ctx, models, &request).await?;
        let explanations = if explain {
            let ids: Vec<String> = list.items.iter().map(|i| i.item_id.clone()).collect();
            Some(domain::models::explain_list(tenant_ctx, models, &request.user_id, &ids).await?)
        } else {
            None
        };
        let mut out = RecommendationList::from(list);
        if let Some(explanations) = explanations {
            for (item, explanation) in out.items.iter_mut().zip(explanations) {
                item.explanation = Some(explanation.into());
            }
        }
        Ok(out)
    }

    /// Why an item is, or would be, recommended to a person; works for items outside the
    /// list too, and says their rank.
    #[graphql(complexity = "crate::graphql::complexity::personal(child_complexity)")]
    async fn explain_recommendation(
        &self,
        ctx: &Context<'_>,
        user_id: String,
        content_id: String,
    ) -> ApiResult<ExplanationGql> {
        let user = UserId::parse_as("userId", user_id)?;
        let content = ContentId::parse_as("contentId", content_id)?;
        personal_reads(ctx, 1)?;
        let explanation = domain::models::explain_recommendation(tenant(ctx)?, models(ctx)?, &user, &content).await?;
        Ok(explanation.into())
    }

    /// Items similar to one content item.
    #[graphql(complexity = "crate::graphql::complexity::list(first, child_complexity)")]
    async fn similar_content(
        &self,
        ctx: &Context<'_>,
        content_id: String,
        #[graphql(default = 10)] first: i32,
    ) -> ApiResult<RecommendationList> {
        let request = SimilarRequest::parse(content_id, Some(first.into()))?;
        Ok(domain::models::similar_content(tenant(ctx)?, models(ctx)?, &request).await?.into())
    }
}
