use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use domain::tenants::ids::{Email, PublicId};

use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;
use crate::graphql::types::{ApiKeyGql, MemberGql, RoleGql};

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

#[derive(SimpleObject)]
pub struct UpdateMemberRolePayload {
    pub member: MemberGql,
    /// Keys the member made (directly or through another key) whose scopes exceed the
    /// new role; revoked in the same change.
    pub revoked_api_keys: Vec<ApiKeyGql>,
}

#[derive(SimpleObject)]
pub struct RemoveMemberPayload {
    /// The member, now `DISABLED`.
    pub member: MemberGql,
    /// Every key the member made, directly or through another key; revoked with them.
    pub revoked_api_keys: Vec<ApiKeyGql>,
}

#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    /// Invites a console member. A caller grants only what it holds: every scope of the
    /// role and, for a member, no role above their own; only an owner makes an owner.
    async fn invite_member(&self, ctx: &Context<'_>, input: InviteMemberInput) -> ApiResult<InviteMemberPayload> {
        let tenant_ctx = tenant(ctx)?;
        let email = Email::parse(&input.email)?;
        let (member, token) =
            domain::access::invite_member(tenant_ctx, services(ctx)?, &email, input.role.into()).await?;
        Ok(InviteMemberPayload { member: member.into(), invite_token: token })
    }

    /// Gives a member another role. Needs `members:manage` and the right to grant both
    /// the member's current role and the new one: an admin can neither touch an owner nor
    /// make one. The last active owner cannot be demoted. Takes effect on the member's
    /// next request.
    async fn update_member_role(&self, ctx: &Context<'_>, id: ID, role: RoleGql) -> ApiResult<UpdateMemberRolePayload> {
        let tenant_ctx = tenant(ctx)?;
        let id = PublicId::parse(&id)?;
        let changed = domain::access::update_member_role(tenant_ctx, services(ctx)?, &id, role.into()).await?;
        Ok(UpdateMemberRolePayload {
            member: changed.member.into(),
            revoked_api_keys: changed.revoked_keys.into_iter().map(Into::into).collect(),
        })
    }

    /// Removes a member (or withdraws an invitation) at once: their sessions and access
    /// tokens stop working and the keys they made are revoked. The last active owner
    /// cannot leave. Removing twice is harmless.
    async fn remove_member(&self, ctx: &Context<'_>, id: ID) -> ApiResult<RemoveMemberPayload> {
        let tenant_ctx = tenant(ctx)?;
        let id = PublicId::parse(&id)?;
        let removed = domain::access::remove_member(tenant_ctx, services(ctx)?, &id).await?;
        Ok(RemoveMemberPayload {
            member: removed.member.into(),
            revoked_api_keys: removed.revoked_keys.into_iter().map(Into::into).collect(),
        })
    }
}
