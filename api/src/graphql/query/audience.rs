use async_graphql::{Context, Object};
use domain::audience::UserId;
use domain::tenants::page::PageRequest;

use crate::graphql::connection::{Conn, TotalCount, from_page};
use crate::graphql::context::{personal_reads, services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::audience::{EndUserFilterInput, EndUserGql};

#[derive(Default)]
pub struct AudienceQuery;

#[Object]
impl AudienceQuery {
    /// One end user by the tenant's id (needs `users:read`; the read is recorded);
    /// `NOT_FOUND` for unknown and erased users.
    #[graphql(complexity = "crate::graphql::complexity::personal(child_complexity)")]
    async fn end_user(&self, ctx: &Context<'_>, id: String) -> ApiResult<EndUserGql> {
        let id = UserId::parse(id)?;
        personal_reads(ctx, 1)?;
        Ok(domain::audience::get_end_user(tenant(ctx)?, services(ctx)?, &id).await?.into())
    }

    /// End users in the order first stored (needs `users:read`; the read is recorded).
    #[graphql(complexity = "crate::graphql::complexity::personal_page(first, child_complexity)")]
    async fn end_users(
        &self,
        ctx: &Context<'_>,
        filter: Option<EndUserFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<EndUserGql>> {
        let page = PageRequest::parse(first.map(i64::from), after.as_deref())?;
        let filter = filter.unwrap_or_default().parse()?;
        personal_reads(ctx, 1)?;
        let (tenant, services) = (tenant(ctx)?, services(ctx)?);
        let users = domain::audience::list_end_users(tenant, services, filter.clone(), page).await?;
        let (tenant, services) = (tenant.clone(), services.clone());
        let total = TotalCount::of(move || {
            let (tenant, services, filter) = (tenant.clone(), services.clone(), filter.clone());
            async move { domain::audience::count_end_users(&tenant, &services, filter).await }
        });
        Ok(from_page(users, EndUserGql::from, total))
    }
}
