mod access;
mod audience;
mod audience_insights;
mod audit;
mod catalog;
mod content_embedding_status;
mod content_insights;
mod fairness;
mod models;
mod privacy;
mod recommendations;
mod search_content;
mod settings;
mod stats;
mod suggest_tags;
mod viewer;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(
    viewer::ViewerQuery,
    access::AccessQuery,
    audit::AuditQuery,
    models::ModelQuery,
    recommendations::RecommendationQuery,
    catalog::CatalogQuery,
    audience::AudienceQuery,
    stats::StatsQuery,
    settings::SettingsQuery,
    privacy::PrivacyQuery,
    fairness::FairnessQuery,
    search_content::SearchContentQuery,
    content_embedding_status::ContentEmbeddingStatusQuery,
    suggest_tags::SuggestTagsQuery,
    content_insights::ContentInsightsQuery,
    audience_insights::AudienceInsightsQuery,
);
