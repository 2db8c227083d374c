use async_graphql::{Context, Object};

use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::interactions::{InteractionInput, RecordInteractionsPayload};

#[derive(Default)]
pub struct InteractionMutation;

#[Object]
impl InteractionMutation {
    /// Records up to 1,000 events (needs `events:write`), in one transaction. The event
    /// id makes it idempotent: a stored id counts as a duplicate. Unknown users are
    /// created; events on unknown content, and invalid rows, come back in `errors`
    /// while the valid ones are stored.
    async fn record_interactions(
        &self,
        ctx: &Context<'_>,
        events: Vec<InteractionInput>,
    ) -> ApiResult<RecordInteractionsPayload> {
        let drafts = events.into_iter().map(Into::into).collect();
        Ok(domain::interactions::record_interactions(tenant(ctx)?, services(ctx)?, drafts).await?.into())
    }
}
