//! How the public error codes of [`ErrorCode`] travel: the string a client reads in
//! `extensions.code` (and in a batch row's `code`) and the HTTP status of a request
//! that fails as a whole. `domain` keeps the table of codes; the wire format is ours.
//! docs/errors.md documents both columns, and an e2e test holds it to this file.

use actix_web::http::StatusCode;
use domain::ErrorCode;

/// The transport side of an [`ErrorCode`].
pub trait ErrorCodeExt: Copy {
    /// The code string clients see in `extensions.code`.
    fn graphql_code(self) -> &'static str;
    /// The HTTP status used when the whole request fails with this code.
    fn status_code(self) -> StatusCode;
}

impl ErrorCodeExt for ErrorCode {
    fn graphql_code(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::NotAcceptable => "NOT_ACCEPTABLE",
            ErrorCode::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            ErrorCode::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::CsrfRejected => "CSRF_REJECTED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::InvalidInput => "INVALID_INPUT",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::QuotaExceeded => "QUOTA_EXCEEDED",
            ErrorCode::ModelNotReady => "MODEL_NOT_READY",
            ErrorCode::ModelFailed => "MODEL_FAILED",
            ErrorCode::ModelCorrupt => "MODEL_CORRUPT",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    fn status_code(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::GraphqlParseFailed
            | ErrorCode::GraphqlValidationFailed
            | ErrorCode::QueryTooComplex
            | ErrorCode::PersistedQueryNotFound
            | ErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden | ErrorCode::CsrfRejected => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            // The tenant's own model is at fault, not the request and not the service:
            // retrying the same request will not help.
            ErrorCode::ModelFailed => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ErrorCode::RateLimited | ErrorCode::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::ModelNotReady | ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            // Our stored copy is damaged: retrying will not help until another model is
            // deployed, and it is not the client's fault.
            ErrorCode::ModelCorrupt | ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The code a client-visible string names, if it is one of ours.
pub fn parse(code: &str) -> Option<ErrorCode> {
    ErrorCode::ALL.into_iter().find(|c| c.graphql_code() == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.graphql_code()), "duplicate code {}", code.graphql_code());
            assert_eq!(parse(code.graphql_code()), Some(code));
        }
    }
}
