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
        builder = builder.data(app.services).data(app.content).data(app.models);
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use async_graphql::parser::types::TypeSystemDefinition;

    /// Words that say how a type is implemented, not what it is: clients never see them.
    const IMPLEMENTATION_WORDS: &[&str] = &["Gql", "Dto", "Entity", "Model"];

    /// Names that end in one of those words because it is the domain's own word: `Model`
    /// is a tenant's trained recommendation model.
    const DOMAIN_NAMES: &[&str] = &["Model"];

    /// The type names of `sdl` that end in an implementation word (as `Gql` or `GQL`).
    fn implementation_named_types(sdl: &str) -> Vec<String> {
        let document = async_graphql::parser::parse_schema(sdl).unwrap();
        document
            .definitions
            .iter()
            .filter_map(|definition| match definition {
                TypeSystemDefinition::Type(t) => Some(t.node.name.node.to_string()),
                _ => None,
            })
            .filter(|name| {
                !DOMAIN_NAMES.contains(&name.as_str())
                    && IMPLEMENTATION_WORDS.iter().any(|w| name.ends_with(w) || name.ends_with(&w.to_uppercase()))
            })
            .collect()
    }

    #[test]
    fn no_schema_type_is_named_after_its_implementation() {
        let refused = implementation_named_types(&super::export_sdl());
        assert!(refused.is_empty(), "schema types named after their implementation: {refused:?}");
    }

    #[test]
    fn implementation_words_are_refused_and_domain_words_are_not() {
        let fixture = "type Query { a: ContributionGql }\n type ContributionGql { x: Int }\n type UserDto { x: Int }\n\
                       type ContentEntity { x: Int }\n type RankingModel { x: Int }\n enum ItemGQL { A }\n\
                       input UploadDTO { x: Int }\n type Model { x: Int }\n type ModelVersion { x: Int }\n\
                       type Identity { x: Int }\n type ModelMetrics { x: Int }";
        assert_eq!(
            implementation_named_types(fixture),
            ["ContributionGql", "UserDto", "ContentEntity", "RankingModel", "ItemGQL", "UploadDTO"]
        );
    }
}
