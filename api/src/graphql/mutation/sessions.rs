use async_graphql::{Context, InputObject, Object};
use domain::tenants::password::Password;

use crate::graphql::context::{client_addr, request_id, services};
use crate::graphql::error::ApiResult;
use crate::graphql::types::SessionPayload;

#[derive(InputObject)]
pub struct LoginInput {
    /// The tenant's slug.
    pub tenant: String,
    pub email: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct RefreshSessionInput {
    pub refresh_token: String,
}

#[derive(InputObject)]
pub struct AcceptInviteInput {
    pub token: String,
    pub password: String,
}

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Signs a console member in. Wrong tenant, e-mail or password all fail alike.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<SessionPayload> {
        let session = domain::access::login(
            services(ctx)?,
            &request_id(ctx),
            client_addr(ctx),
            &input.tenant,
            &input.email,
            &input.password,
        )
        .await?;
        Ok(session.into())
    }

    /// Trades a refresh token for a new pair. A token works once; presenting a spent
    /// one signs out every session descended from the same login.
    async fn refresh_session(&self, ctx: &Context<'_>, input: RefreshSessionInput) -> ApiResult<SessionPayload> {
        Ok(domain::access::refresh_session(services(ctx)?, &request_id(ctx), client_addr(ctx), &input.refresh_token)
            .await?
            .into())
    }

    /// Redeems an invitation token from `inviteMember` and sets the member's password.
    async fn accept_invite(&self, ctx: &Context<'_>, input: AcceptInviteInput) -> ApiResult<SessionPayload> {
        let password = Password::parse(&input.password)?;
        Ok(domain::access::accept_invite(services(ctx)?, &request_id(ctx), client_addr(ctx), &input.token, &password)
            .await?
            .into())
    }
}
