use async_graphql::{Context, Object};

use crate::graphql::context::tenant;
use crate::graphql::error::ApiResult;
use crate::graphql::types::stats::StatisticsGql;

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// Catalog and audience figures for the console (needs `reports:read`).
    async fn statistics(&self, ctx: &Context<'_>) -> ApiResult<StatisticsGql> {
        domain::stats::authorize(tenant(ctx)?)?;
        Ok(StatisticsGql)
    }
}
