//! HTTP surface: the GraphQL endpoint, GraphiQL, model uploads, health probes, the
//! web console.

pub mod client_addr;
pub mod console;
pub mod graphql;
pub mod health;
mod query_guard;
mod response;
pub mod upload;
