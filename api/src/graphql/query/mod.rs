mod access;
mod audience;
mod audit;
mod catalog;
mod fairness;
mod models;
mod privacy;
mod recommendations;
mod settings;
mod stats;
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
);
