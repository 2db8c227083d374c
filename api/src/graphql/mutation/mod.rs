mod api_keys;
mod members;
mod sessions;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Mutation(sessions::SessionMutation, api_keys::ApiKeyMutation, members::MemberMutation);
