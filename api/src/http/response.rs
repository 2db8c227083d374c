//! Turns errors that arise outside resolvers into the same shape resolvers use:
//! `{"errors":[{"message", "extensions": {"code", "requestId"}}]}`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use async_graphql::Response;
use domain::ErrorCode;
use serde_json::{Value, json};

use super::media::MediaType;
use crate::error_codes::{self, ErrorCodeExt};

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";

pub fn error_body(code: ErrorCode, message: &str, request_id: &str) -> Value {
    json!({
        "errors": [{
            "message": message,
            "extensions": { "code": code.graphql_code(), "requestId": request_id }
        }]
    })
}

pub fn error_response(code: ErrorCode, message: &str, request_id: &str) -> HttpResponse {
    error_response_as(MediaType::GraphqlResponseJson, code, message, request_id)
}

/// A request error (no `data`) in the media type the client accepts.
pub fn error_response_as(media: MediaType, code: ErrorCode, message: &str, request_id: &str) -> HttpResponse {
    let mut builder = HttpResponse::build(media.status_for_failure(code));
    builder.content_type(media.content_type()).insert_header(("x-request-id", request_id));
    if code == ErrorCode::MethodNotAllowed {
        builder.insert_header((actix_web::http::header::ALLOW, "POST"));
    }
    if code == ErrorCode::Unauthenticated {
        builder.insert_header(("www-authenticate", "Bearer"));
    }
    builder.json(error_body(code, message, request_id))
}

/// Gives every error a code and the request id. Errors that carry no code came from
/// async-graphql itself: before execution they are validation failures; during
/// execution, argument coercion failures (bad input).
pub fn annotate(response: &mut Response, request_id: &str) {
    let request_failed = response.data == async_graphql::Value::Null;
    for error in &mut response.errors {
        let ext = error.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            let code = if error.message == "PersistedQueryNotFound" {
                ErrorCode::PersistedQueryNotFound
            } else if request_failed && error.path.is_empty() {
                if error.message.contains("too complex") || error.message.contains("nested too deep") {
                    ErrorCode::QueryTooComplex
                } else {
                    ErrorCode::GraphqlValidationFailed
                }
            } else {
                ErrorCode::InvalidInput
            };
            ext.set("code", code.graphql_code());
        }
        ext.set("requestId", request_id);
    }
}

/// The HTTP status for a response: when nothing could be answered at all, the first
/// error decides; otherwise 200 with errors beside the data (GraphQL over HTTP).
pub fn status_for(response: &Response) -> StatusCode {
    status_as(MediaType::GraphqlResponseJson, response)
}

/// As [`status_for`], by the rules of the response's media type ([`MediaType`]).
pub fn status_as(media: MediaType, response: &Response) -> StatusCode {
    match failure_code(response) {
        Some(code) => media.status_for_failure(code),
        None => StatusCode::OK,
    }
}

/// The first error's code of a response that answered nothing at all.
pub fn failure_code(response: &Response) -> Option<ErrorCode> {
    if response.data != async_graphql::Value::Null || response.errors.is_empty() {
        return None;
    }
    let code = response.errors[0]
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .and_then(|v| match v {
            async_graphql::Value::String(s) => error_codes::parse(s),
            _ => None,
        })
        .unwrap_or(ErrorCode::Internal);
    Some(code)
}

/// Whether the response is a request error: refused before execution began (the
/// document does not validate, a mutation over GET), so it carries no `data` entry at
/// all; a `data` of null means execution began and a non-null field failed.
pub fn is_request_error(response: &Response) -> bool {
    matches!(
        failure_code(response),
        Some(
            ErrorCode::GraphqlValidationFailed
                | ErrorCode::QueryTooComplex
                | ErrorCode::PersistedQueryNotFound
                | ErrorCode::MethodNotAllowed
        )
    ) && response.errors.iter().all(|e| e.path.is_empty())
}

/// A response as GraphQL over HTTP writes it: without `data` for a request error.
#[derive(serde::Serialize)]
pub struct WireResponse<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

impl<'a> WireResponse<'a> {
    pub fn of(response: &'a Response) -> Self {
        Self {
            data: (!is_request_error(response)).then_some(&response.data),
            errors: &response.errors,
            extensions: &response.extensions,
        }
    }
}

/// The longest `extensions.retryAfter` (seconds) among the errors, for a `Retry-After`
/// header: a throttled call says when to come back, in a batch too.
pub fn retry_after(responses: &[Response]) -> Option<u64> {
    responses
        .iter()
        .flat_map(|r| r.errors.iter())
        .filter_map(|e| match e.extensions.as_ref()?.get("retryAfter")? {
            async_graphql::Value::Number(n) => n.as_u64(),
            _ => None,
        })
        .max()
}
