mod access;
mod audience;
mod catalog;
mod settings;
mod stats;
mod viewer;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(viewer::ViewerQuery, access::AccessQuery, catalog::CatalogQuery, audience::AudienceQuery, stats::StatsQuery, settings::SettingsQuery);
