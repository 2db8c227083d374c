use async_graphql::{Context, Object};
use domain::catalog::{ContentId, ContentSort};
use domain::tenants::page::PageRequest;

use crate::graphql::connection::{Conn, TotalCount, from_page};
use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::catalog::{ContentFilterInput, ContentGql, ContentSortInput};

#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// One content item by the tenant's id (needs `catalog:read`); `NOT_FOUND` when none.
    async fn content(&self, ctx: &Context<'_>, id: String) -> ApiResult<ContentGql> {
        let id = ContentId::parse(id)?;
        Ok(domain::catalog::get_content(tenant(ctx)?, services(ctx)?, &id).await?.into())
    }

    /// The catalog (needs `catalog:read`), filtered and sorted; keyset-paginated, so no
    /// item is skipped or repeated across pages while items are added.
    #[graphql(complexity = "crate::graphql::complexity::page(first, child_complexity)")]
    async fn contents(
        &self,
        ctx: &Context<'_>,
        filter: Option<ContentFilterInput>,
        sort: Option<ContentSortInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<ContentGql>> {
        let page = PageRequest::parse(first.map(i64::from), after.as_deref())?;
        let sort: ContentSort = sort.map(Into::into).unwrap_or_default();
        let filter: domain::catalog::ContentFilter = filter.unwrap_or_default().into();
        let (tenant, services) = (tenant(ctx)?, services(ctx)?);
        let items = domain::catalog::list_contents(tenant, services, filter.clone(), sort, page).await?;
        let (tenant, services) = (tenant.clone(), services.clone());
        let total = TotalCount::of(move || {
            let (tenant, services, filter) = (tenant.clone(), services.clone(), filter.clone());
            async move { domain::catalog::count_contents(&tenant, &services, filter).await }
        });
        Ok(from_page(items, ContentGql::from, total))
    }
}
