//! HTTP surface: the GraphQL endpoint, GraphiQL, model uploads, health probes, metrics,
//! the web console and its cookie sessions.

pub mod client_addr;
pub mod console;
pub mod console_session;
pub mod graphql;
pub mod health;
mod media;
pub mod metrics;
mod query_guard;
mod response;
pub mod upload;
