use async_graphql::{Context, Object};
use domain::content::{SearchMode, SearchRequest};

use crate::graphql::context::{content, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::content::{SearchFilterInput, SearchModeGql, SearchResult};

#[derive(Default)]
pub struct SearchContentQuery;

#[Object]
impl SearchContentQuery {
    /// Searches the catalog (needs `catalog:read`) by its words (KEYWORD: full-text
    /// index, exact titles first), by meaning (SEMANTIC: embeddings of the text model;
    /// `MODEL_NOT_READY` without one) or both (HYBRID: reciprocal rank fusion). Every
    /// result says why it matched.
    #[graphql(complexity = "crate::graphql::complexity::list(first, child_complexity)")]
    async fn search_content(
        &self,
        ctx: &Context<'_>,
        query: String,
        mode: SearchModeGql,
        filter: Option<SearchFilterInput>,
        #[graphql(default = 10)] first: i32,
    ) -> ApiResult<Vec<SearchResult>> {
        let mode: SearchMode = mode.into();
        let request = SearchRequest::parse(query, mode, filter.unwrap_or_default().into(), Some(first.into()))?;
        let hits = domain::content::search_content(tenant(ctx)?, content(ctx)?, &request).await?;
        Ok(hits.into_iter().map(Into::into).collect())
    }
}
