//! Relay connections from domain pages.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge, EmptyFields};
use domain::tenants::page::{CursorKey, Page};

pub type Conn<T> = Connection<String, T, EmptyFields, EmptyFields>;

pub fn from_page<T, K: CursorKey, G: OutputType>(page: Page<T, K>, to_gql: impl Fn(T) -> G) -> Conn<G> {
    let mut connection = Connection::new(page.has_previous_page, page.has_next_page);
    connection.edges.extend(page.items.into_iter().map(|(key, item)| Edge::new(key.encode(), to_gql(item))));
    connection
}
