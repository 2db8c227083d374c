use async_graphql::{Context, InputObject, Object};
use domain::audience::UserId;
use domain::privacy::ConsentUpdate;

use crate::graphql::context::{models, services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::audience::ConsentGql;
use crate::graphql::types::privacy::ErasureReceiptGql;

/// What a person agreed to; a flag left out stays as it is.
#[derive(InputObject)]
pub struct ConsentInput {
    /// Their data may shape their recommendations and train models.
    pub personalization: Option<bool>,
    /// Their data may appear in statistics and reports.
    pub analytics: Option<bool>,
}

#[derive(Default)]
pub struct PrivacyMutation;

#[Object]
impl PrivacyMutation {
    /// Records an end user's consent (needs `privacy:manage` or `users:write`). Without
    /// personalization they get non-personalized results and stay out of training;
    /// without analytics, out of statistics and reports.
    async fn set_consent(&self, ctx: &Context<'_>, user_id: String, consent: ConsentInput) -> ApiResult<ConsentGql> {
        let user = UserId::parse_as("userId", user_id)?;
        let update = ConsentUpdate { personalization: consent.personalization, analytics: consent.analytics };
        let stored = domain::privacy::set_consent(tenant(ctx)?, services(ctx)?, &user, update).await?;
        Ok(ConsentGql { personalization: stored.personalization, analytics: stored.analytics })
    }

    /// Erases an end user at once: profile, interactions, their vectors in served
    /// models; models trained on their data are marked for retraining and a receipt is
    /// kept (needs `privacy:manage`). Later data for the same id is refused.
    async fn erase_user(&self, ctx: &Context<'_>, user_id: String) -> ApiResult<ErasureReceiptGql> {
        let user = UserId::parse_as("userId", user_id)?;
        Ok(domain::privacy::erase_user(tenant(ctx)?, models(ctx)?, &user).await?.into())
    }
}
