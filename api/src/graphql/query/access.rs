use async_graphql::{Context, Object};
use domain::access::PageRequest;

use crate::graphql::connection::{Conn, TotalCount, from_page};
use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::{ApiKeyGql, MemberGql};

#[derive(Default)]
pub struct AccessQuery;

#[Object]
impl AccessQuery {
    /// The tenant's API keys (needs `apikeys:manage`). Secrets are never shown.
    #[graphql(complexity = "crate::graphql::complexity::page(first, child_complexity)")]
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<ApiKeyGql>> {
        let tenant_ctx = tenant(ctx)?;
        let page = PageRequest::parse(first.map(i64::from), after.as_deref())?;
        let services = services(ctx)?;
        let keys = domain::access::list_api_keys(tenant_ctx, services, page).await?;
        let (tenant, services) = (tenant_ctx.clone(), services.clone());
        let total = TotalCount::of(move || {
            let (tenant, services) = (tenant.clone(), services.clone());
            async move { domain::access::count_api_keys(&tenant, &services).await }
        });
        Ok(from_page(keys, ApiKeyGql::from, total))
    }

    /// The tenant's console members.
    #[graphql(complexity = "crate::graphql::complexity::page(first, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<MemberGql>> {
        let tenant_ctx = tenant(ctx)?;
        let page = PageRequest::parse(first.map(i64::from), after.as_deref())?;
        let services = services(ctx)?;
        let members = domain::access::list_members(tenant_ctx, services, page).await?;
        let (tenant, services) = (tenant_ctx.clone(), services.clone());
        let total = TotalCount::of(move || {
            let (tenant, services) = (tenant.clone(), services.clone());
            async move { domain::access::count_members(&tenant, &services).await }
        });
        Ok(from_page(members, MemberGql::from, total))
    }
}
