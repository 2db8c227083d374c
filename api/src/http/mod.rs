//! HTTP surface: the GraphQL endpoint, GraphiQL, model uploads, health probes.

pub mod client_addr;
pub mod graphql;
pub mod health;
mod query_guard;
mod response;
pub mod upload;
