use async_graphql::{Context, Object};

use crate::graphql::context::{content, personal_reads, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::content::{AudienceInsightsGql, AudienceSegmentInput};

#[derive(Default)]
pub struct AudienceInsightsQuery;

#[Object]
impl AudienceInsightsQuery {
    /// What a segment of the audience engages with more than everyone (lift, with
    /// counts; needs `reports:read`; audited). Consenting people only; small groups
    /// suppressed.
    #[graphql(complexity = "crate::graphql::complexity::personal(child_complexity)")]
    async fn audience_insights(
        &self,
        ctx: &Context<'_>,
        segment: AudienceSegmentInput,
        #[graphql(default = 10)] first: i32,
    ) -> ApiResult<AudienceInsightsGql> {
        personal_reads(ctx, 1)?;
        let insights =
            domain::content::audience_insights(tenant(ctx)?, content(ctx)?, segment.into(), Some(first.into())).await?;
        Ok(insights.into())
    }
}
