//! Per-request data the resolvers read: who is asking (if anyone) and the request id.

use async_graphql::Context;
use domain::{Services, TenantCtx};
use domain::tenants::RequestId;

use crate::graphql::error::{ApiError, ApiResult};

pub struct RequestData {
    pub request_id: RequestId,
    /// The caller's address as the throttle counts it (`http::client_addr`).
    pub client: Option<std::net::IpAddr>,
    pub tenant: Option<TenantCtx>,
}

pub fn services<'a>(ctx: &Context<'a>) -> ApiResult<&'a Services> {
    ctx.data::<Services>()
        .map_err(|_| ApiError::new(domain::ErrorCode::Internal, "service not configured"))
}

/// The caller's tenant context, or UNAUTHENTICATED.
pub fn tenant<'a>(ctx: &Context<'a>) -> ApiResult<&'a TenantCtx> {
    ctx.data::<RequestData>()
        .ok()
        .and_then(|r| r.tenant.as_ref())
        .ok_or_else(ApiError::unauthenticated)
}

/// This request's id, for operations that run before anyone is signed in (their audit
/// events carry it too).
pub fn request_id(ctx: &Context<'_>) -> RequestId {
    ctx.data::<RequestData>().map(|r| r.request_id.clone()).unwrap_or_default()
}

/// The caller's address, for the throttle of the credential endpoints.
pub fn client_addr(ctx: &Context<'_>) -> Option<std::net::IpAddr> {
    ctx.data::<RequestData>().ok().and_then(|r| r.client)
}
