//! Per-request data the resolvers read: who is asking (if anyone), the request id, and
//! what the request may still spend.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::Context;
use domain::content::ContentServices;
use domain::tenants::RequestId;
use domain::{ErrorCode, ModelServices, Services, TenantCtx};

use crate::graphql::error::{ApiError, ApiResult};

pub struct RequestData {
    pub request_id: RequestId,
    /// The caller's address as the throttle counts it (`http::client_addr`).
    pub client: Option<std::net::IpAddr>,
    pub tenant: Option<TenantCtx>,
    /// Shared by every operation of one HTTP request (a batch spends one budget).
    pub budget: Arc<RequestBudget>,
}

/// Audited reads of personal data one HTTP request may make. Each is a transaction and
/// an audit event; the complexity limit refuses queries that plainly fan out into many,
/// this counter bounds the ones that run (a batch, or lists shorter than their `first`).
pub struct RequestBudget {
    max_personal_reads: usize,
    personal_reads: AtomicUsize,
}

impl RequestBudget {
    pub fn new(max_personal_reads: usize) -> Self {
        Self { max_personal_reads, personal_reads: AtomicUsize::new(0) }
    }

    fn charge_personal_reads(&self, n: usize) -> ApiResult<()> {
        let before = self.personal_reads.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > self.max_personal_reads {
            return Err(ApiError::new(
                ErrorCode::QueryTooComplex,
                format!(
                    "a request may read personal data (end users, their interactions, recommendations, \
                     explanations, exports) at most {} times; split it",
                    self.max_personal_reads
                ),
            ));
        }
        Ok(())
    }
}

/// Counts `n` audited reads of personal data against the request's budget, before they
/// run; QUERY_TOO_COMPLEX once it is spent.
pub fn personal_reads(ctx: &Context<'_>, n: usize) -> ApiResult<()> {
    match ctx.data::<RequestData>() {
        Ok(data) => data.budget.charge_personal_reads(n),
        Err(_) => Ok(()),
    }
}

pub fn services<'a>(ctx: &Context<'a>) -> ApiResult<&'a Services> {
    ctx.data::<Services>().map_err(|_| ApiError::new(domain::ErrorCode::Internal, "service not configured"))
}

pub fn content<'a>(ctx: &Context<'a>) -> ApiResult<&'a ContentServices> {
    ctx.data::<ContentServices>().map_err(|_| ApiError::new(domain::ErrorCode::Internal, "service not configured"))
}

pub fn models<'a>(ctx: &Context<'a>) -> ApiResult<&'a ModelServices> {
    ctx.data::<ModelServices>().map_err(|_| ApiError::new(domain::ErrorCode::Internal, "service not configured"))
}

/// The caller's tenant context, or UNAUTHENTICATED.
pub fn tenant<'a>(ctx: &Context<'a>) -> ApiResult<&'a TenantCtx> {
    ctx.data::<RequestData>().ok().and_then(|r| r.tenant.as_ref()).ok_or_else(ApiError::unauthenticated)
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
