use async_graphql::{Context, InputObject, Object, SimpleObject};
use domain::tenants::ids::Email;

use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::{MemberGql, RoleGql};

#[derive(InputObject)]
pub struct InviteMemberInput {
    pub email: String,
    pub role: RoleGql,
}

#[derive(SimpleObject)]
pub struct InviteMemberPayload {
    pub member: MemberGql,
    /// Hand this to the person; `acceptInvite` redeems it within 7 days. Shown once.
    pub invite_token: String,
}

#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    /// Invites a console member, at most at the caller's own role.
    async fn invite_member(&self, ctx: &Context<'_>, input: InviteMemberInput) -> ApiResult<InviteMemberPayload> {
        let tenant_ctx = tenant(ctx)?;
        let email = Email::parse(&input.email)?;
        let (member, token) =
            domain::access::invite_member(tenant_ctx, services(ctx)?, &email, input.role.into()).await?;
        Ok(InviteMemberPayload { member: member.into(), invite_token: token })
    }
}
