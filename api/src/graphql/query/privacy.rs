use async_graphql::{Context, Object};
use domain::audience::UserId;
use domain::tenants::page::PageRequest;

use crate::graphql::connection::{Conn, TotalCount, from_page};
use crate::graphql::context::{models, personal_reads, services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::privacy::ErasureReceiptGql;

#[derive(Default)]
pub struct PrivacyQuery;

#[Object]
impl PrivacyQuery {
    /// Everything held about one end user as one JSON document: profile, consent,
    /// interactions, the models their data trained and the audit events about them
    /// (needs `privacy:manage`; the export is recorded). `NOT_FOUND` once erased.
    #[graphql(complexity = "crate::graphql::complexity::personal(child_complexity)")]
    async fn export_user_data(
        &self,
        ctx: &Context<'_>,
        user_id: String,
    ) -> ApiResult<async_graphql::Json<serde_json::Value>> {
        let user = UserId::parse_as("userId", user_id)?;
        personal_reads(ctx, 1)?;
        Ok(async_graphql::Json(domain::privacy::export_user_data(tenant(ctx)?, models(ctx)?, &user).await?))
    }

    /// Receipts of the tenant's erasures, oldest first (needs `privacy:manage`).
    #[graphql(complexity = "crate::graphql::complexity::page(first, child_complexity)")]
    async fn erasure_receipts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<ErasureReceiptGql>> {
        let page = PageRequest::parse(first.map(i64::from), after.as_deref())?;
        let (tenant, services) = (tenant(ctx)?, services(ctx)?);
        let receipts = domain::privacy::list_erasure_receipts(tenant, services, page).await?;
        let (tenant, services) = (tenant.clone(), services.clone());
        let total = TotalCount::of(move || {
            let (tenant, services) = (tenant.clone(), services.clone());
            async move { domain::privacy::count_erasure_receipts(&tenant, &services).await }
        });
        Ok(from_page(receipts, ErasureReceiptGql::from, total))
    }
}
