use async_graphql::{Context, Object};

use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::AuditCheckpointGql;

#[derive(Default)]
pub struct AuditMutation;

#[Object]
impl AuditMutation {
    /// Signs the audit chain as it stands now (checkpoints are also made every
    /// `audit.checkpoint_every` events). Keep the answer outside Marquee to prove later
    /// that the log was not rewritten.
    async fn checkpoint_audit_log(&self, ctx: &Context<'_>) -> ApiResult<AuditCheckpointGql> {
        let tenant_ctx = tenant(ctx)?;
        Ok(domain::audit_log::checkpoint(tenant_ctx, services(ctx)?).await?.into())
    }
}
