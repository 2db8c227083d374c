//! HTTP surface: the GraphQL endpoint, GraphiQL, model uploads, health probes, metrics,
//! the web console.

pub mod client_addr;
pub mod console;
pub mod graphql;
pub mod health;
mod media;
pub mod metrics;
mod query_guard;
mod response;
pub mod upload;
