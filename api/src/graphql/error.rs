//! The one way errors leave a resolver: a public code from [`ErrorCode`], a message
//! safe to show, and the input field at fault. Internal causes are logged here and
//! dropped.

use async_graphql::ErrorExtensions;
use domain::tenants::TenantsError;
use domain::{DomainError, ErrorCode};

use crate::error_codes::ErrorCodeExt as _;

/// Deliberately not `Display`, so `?` cannot turn it into an untyped GraphQL error.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    /// Seconds to wait, for `RATE_LIMITED` (sent as `extensions.retryAfter` and the
    /// `Retry-After` header).
    pub retry_after_secs: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None, retry_after_secs: None }
    }
    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "sign in or send an API key: Authorization: Bearer <token>")
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let code = e.code();
        if code == ErrorCode::Internal {
            // Logged here, once, inside the request's span (which carries its request id
            // and tenant); the client sees only the request id.
            tracing::error!(error = %e, causes = %cause_chain(&e), "internal error");
        } else if code == ErrorCode::Unavailable {
            tracing::warn!(error = %e, causes = %cause_chain(&e), "the database is unreachable");
        }
        let retry_after_secs = match &e {
            DomainError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        Self { code, message: e.public_message(), field: e.field(), retry_after_secs }
    }
}

/// Every underlying error of `e`, outermost first.
fn cause_chain(e: &dyn std::error::Error) -> String {
    let mut causes = Vec::new();
    let mut next = e.source();
    while let Some(cause) = next {
        causes.push(cause.to_string());
        next = cause.source();
    }
    causes.join(": ")
}

impl From<TenantsError> for ApiError {
    fn from(e: TenantsError) -> Self {
        DomainError::from(e).into()
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        async_graphql::Error::new(e.message).extend_with(|_, ext| {
            ext.set("code", e.code.graphql_code());
            if let Some(field) = &e.field {
                ext.set("field", field.as_str());
            }
            if let Some(secs) = e.retry_after_secs {
                ext.set("retryAfter", secs);
            }
        })
    }
}
