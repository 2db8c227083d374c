//! The GraphQL schema: resolvers parse input into domain types, call one domain
//! function and map the result. No business rules live here.

pub mod complexity;
pub mod connection;
pub mod context;
pub mod error;
pub mod measure;
pub mod mutation;
pub mod query;
pub mod types;

use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

use crate::config::GraphqlSettings;

pub type MarqueeSchema = Schema<query::Query, mutation::Mutation, EmptySubscription>;

pub fn build_schema(app: Option<domain::App>, limits: &GraphqlSettings) -> MarqueeSchema {
    let mut builder = builder(limits);
    if let Some(app) = app {
        builder = builder.data(app.services).data(app.models);
    }
    builder.finish()
}

/// The same schema for [`measure::complexity`] only: it never runs a resolver, so it
/// holds no services, and it reports complexity past the limit instead of refusing it.
pub fn build_measuring_schema(limits: &GraphqlSettings) -> MarqueeSchema {
    measure::install(builder(limits).limit_complexity(usize::MAX))
}

fn builder(limits: &GraphqlSettings) -> SchemaBuilder<query::Query, mutation::Mutation, EmptySubscription> {
    let mut builder = Schema::build(query::Query::default(), mutation::Mutation::default(), EmptySubscription)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_aliases(limits.max_aliases)
        .limit_recursive_depth(32)
        .limit_directives(20);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder
}

/// The schema as SDL, the contract checked in as `schema.graphql`.
pub fn export_sdl() -> String {
    build_schema(None, &crate::config::Settings::default().graphql).sdl()
}
