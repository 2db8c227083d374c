mod api_keys;
mod audience;
mod audit;
mod catalog;
mod fairness;
mod interactions;
mod members;
mod models;
mod privacy;
mod sessions;
mod settings;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Mutation(
    sessions::SessionMutation,
    api_keys::ApiKeyMutation,
    members::MemberMutation,
    audit::AuditMutation,
    models::ModelMutation,
    catalog::CatalogMutation,
    audience::AudienceMutation,
    interactions::InteractionMutation,
    settings::SettingsMutation,
    privacy::PrivacyMutation,
    fairness::FairnessMutation,
);
