//! HTTP surface: the GraphQL endpoint, GraphiQL, model uploads, health probes, metrics.

pub mod client_addr;
pub mod graphql;
pub mod health;
mod media;
pub mod metrics;
mod query_guard;
mod response;
pub mod upload;
