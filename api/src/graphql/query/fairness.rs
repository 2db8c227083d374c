use async_graphql::{Context, ID, Object};
use domain::tenants::ids::PublicId;
use domain::tenants::page::PageRequest;

use crate::graphql::connection::{Conn, TotalCount, from_page};
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
        let (tenant, services) = (tenant(ctx)?, services(ctx)?);
        let reports = domain::fairness_reports::list_reports(tenant, services, page).await?;
        let (tenant, services) = (tenant.clone(), services.clone());
        let total = TotalCount::of(move || {
            let (tenant, services) = (tenant.clone(), services.clone());
            async move { domain::fairness_reports::count_reports(&tenant, &services).await }
        });
        Ok(from_page(reports, FairnessReportGql::from, total))
    }

    /// One report; `json` and `csv` export it.
    async fn fairness_report(&self, ctx: &Context<'_>, id: ID) -> ApiResult<FairnessReportGql> {
        let id = PublicId::parse(&id)?;
        Ok(domain::fairness_reports::get_report(tenant(ctx)?, services(ctx)?, &id).await?.into())
    }
}
