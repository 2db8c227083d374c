use async_graphql::{Context, Object};
use domain::fairness::ReportInput;

use crate::graphql::context::{models, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::fairness::{CreateFairnessReportInput, FairnessReportGql};

#[derive(Default)]
pub struct FairnessMutation;

#[Object]
impl FairnessMutation {
    /// Computes a fairness report on a model's evaluation split and stores it (needs
    /// `models:manage`). With `rerank`, every figure also after the re-ranking.
    async fn create_fairness_report(
        &self,
        ctx: &Context<'_>,
        input: CreateFairnessReportInput,
    ) -> ApiResult<FairnessReportGql> {
        let tenant_ctx = tenant(ctx)?;
        let rerank = input.rerank.map(|r| r.parse()).transpose()?;
        let item_groups = input.item_groups.into_iter().map(Into::into).collect();
        let (model, parsed) =
            ReportInput::parse(&input.model_id, &input.user_groups, item_groups, input.k.map(i64::from), rerank)?;
        Ok(domain::fairness_reports::create_report(tenant_ctx, models(ctx)?, &model, parsed).await?.into())
    }
}
