//! Relay connections from domain pages, with a `totalCount` computed only when asked.

use std::future::Future;
use std::pin::Pin;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Object, OutputType};
use domain::tenants::page::{CursorKey, Page};

use crate::graphql::error::ApiResult;

pub type Conn<T> = Connection<String, T, TotalCount, EmptyFields>;

type CountFuture = Pin<Box<dyn Future<Output = Result<u64, domain::DomainError>> + Send>>;

/// The size of a whole list (with its filter, without its cursor). The count runs only
/// if the query selects `totalCount`: a count scans every matching row, which paging
/// alone never does, so clients that do not show it do not pay for it.
pub struct TotalCount(Box<dyn Fn() -> CountFuture + Send + Sync>);

impl TotalCount {
    /// `count` runs when `totalCount` is resolved (a query that selects it under two
    /// aliases counts twice).
    pub fn of<F, Fut>(count: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<u64, domain::DomainError>> + Send + 'static,
    {
        Self(Box::new(move || Box::pin(count())))
    }
}

#[Object]
impl TotalCount {
    /// How many items the whole list holds, with the same filter and rights as its
    /// pages; computed only when asked for.
    async fn total_count(&self) -> ApiResult<i64> {
        let n = (self.0)().await?;
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

pub fn from_page<T, K: CursorKey, G: OutputType>(
    page: Page<T, K>,
    to_gql: impl Fn(T) -> G,
    total: TotalCount,
) -> Conn<G> {
    let mut connection = Connection::with_additional_fields(page.has_previous_page, page.has_next_page, total);
    connection.edges.extend(page.items.into_iter().map(|(key, item)| Edge::new(key.encode(), to_gql(item))));
    connection
}
