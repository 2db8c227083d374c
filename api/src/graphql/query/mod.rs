mod access;
mod audience;
mod audit;
mod privacy;
mod catalog;
mod fairness;
mod settings;
mod stats;
mod viewer;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(viewer::ViewerQuery, access::AccessQuery, audit::AuditQuery, catalog::CatalogQuery, audience::AudienceQuery, stats::StatsQuery, settings::SettingsQuery, privacy::PrivacyQuery, fairness::FairnessQuery);
