use async_graphql::{Context, ID, Object};
use domain::tenants::ids::PublicId;
use domain::tenants::page::PageRequest;

use crate::graphql::connection::{Conn, from_page};
use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::fairness::FairnessReportGql;

#[derive(Default)]
pub struct FairnessQuery;

#[Object]
impl FairnessQuery {
    /// The tenant's fairness reports, newest first (needs `reports:read`).
    #[graphql(complexity = "crate::graphql::complexity::page(first, child_complexity)")]
    async fn fairness_reports(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<FairnessReportGql>> {
        let page = PageRequest::parse(first.map(i64::from), after.as_deref())?;
        let reports = domain::fairness_reports::list_reports(tenant(ctx)?, services(ctx)?, page).await?;
        Ok(from_page(reports, FairnessReportGql::from))
    }

    /// One report; `json` and `csv` export it.
    async fn fairness_report(&self, ctx: &Context<'_>, id: ID) -> ApiResult<FairnessReportGql> {
        let id = PublicId::parse(&id)?;
        Ok(domain::fairness_reports::get_report(tenant(ctx)?, services(ctx)?, &id).await?.into())
    }
}
