use async_graphql::{Context, ID, Object};
use domain::tenants::ids::PublicId;
use domain::tenants::page::PageRequest;

use crate::graphql::connection::{Conn, TotalCount, from_page};
use crate::graphql::context::{models, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::models::{JobGql, ModelGql};

#[derive(Default)]
pub struct ModelQuery;

#[Object]
impl ModelQuery {
    /// The tenant's models, newest first.
    #[graphql(complexity = "crate::graphql::complexity::page(first, child_complexity)")]
    async fn models(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> ApiResult<Conn<ModelGql>> {
        let page = PageRequest::parse(first.map(i64::from), after.as_deref())?;
        let (tenant, models) = (tenant(ctx)?, models(ctx)?);
        let page = domain::models::list_models(tenant, models, page).await?;
        let (tenant, models) = (tenant.clone(), models.clone());
        let total = TotalCount::of(move || {
            let (tenant, models) = (tenant.clone(), models.clone());
            async move { domain::models::count_models(&tenant, &models).await }
        });
        Ok(from_page(page, ModelGql::from, total))
    }

    async fn model(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ModelGql> {
        let id = PublicId::parse(&id)?;
        Ok(domain::models::get_model(tenant(ctx)?, models(ctx)?, &id).await?.into())
    }

    /// Background jobs (training), newest first.
    #[graphql(complexity = "crate::graphql::complexity::page(first, child_complexity)")]
    async fn jobs(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> ApiResult<Conn<JobGql>> {
        let page = PageRequest::parse(first.map(i64::from), after.as_deref())?;
        let (tenant, models) = (tenant(ctx)?, models(ctx)?);
        let jobs = domain::models::list_jobs(tenant, models, page).await?;
        let (tenant, models) = (tenant.clone(), models.clone());
        let total = TotalCount::of(move || {
            let (tenant, models) = (tenant.clone(), models.clone());
            async move { domain::models::count_jobs(&tenant, &models).await }
        });
        Ok(from_page(jobs, JobGql::from, total))
    }

    async fn job(&self, ctx: &Context<'_>, id: ID) -> ApiResult<JobGql> {
        let id = PublicId::parse(&id)?;
        Ok(domain::models::get_job(tenant(ctx)?, models(ctx)?, &id).await?.into())
    }
}
