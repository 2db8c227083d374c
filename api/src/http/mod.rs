//! HTTP surface: the GraphQL endpoint, GraphiQL, health probes.

pub mod graphql;
pub mod health;
mod query_guard;
mod response;
