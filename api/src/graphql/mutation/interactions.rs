use async_graphql::{Context, Object};
use domain::batch::Batch;
use domain::interactions::{MAX_RECORD_BATCH, NewInteraction};

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
        let tenant_ctx = tenant(ctx)?;
        let now = chrono::Utc::now();
        let batch = Batch::parse(
            events,
            MAX_RECORD_BATCH,
            "events",
            |e| Some(e.event_id.clone()),
            |e| NewInteraction::parse(e.into(), now),
        )?;
        Ok(domain::interactions::record_interactions(tenant_ctx, services(ctx)?, batch).await?.into())
    }
}
