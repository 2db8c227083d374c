mod api_keys;
mod audience;
mod audit;
mod catalog;
mod fairness;
mod interactions;
mod members;
mod privacy;
mod sessions;
mod settings;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Mutation(sessions::SessionMutation, api_keys::ApiKeyMutation, members::MemberMutation, audit::AuditMutation, catalog::CatalogMutation, audience::AudienceMutation, interactions::InteractionMutation, settings::SettingsMutation, privacy::PrivacyMutation, fairness::FairnessMutation);
