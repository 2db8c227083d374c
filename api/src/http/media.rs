//! GraphQL over HTTP's response media types. The client's `Accept` chooses one, and
//! with it what the status code tells:
//!
//! - `application/graphql-response+json` (asked for by name): the status follows the
//!   outcome; a request that fails as a whole gets its first error's status (a document
//!   that does not parse or validate is 400).
//! - `application/json` (asked for, `*/*`, or no `Accept`: what clients written before
//!   the new type expect): a GraphQL response is 200 whatever errors it carries, so an
//!   error status can only mean that HTTP itself refused the request (a malformed
//!   request, a missing credential, throttling, a fault of ours) and never that a proxy
//!   in between made the answer up.

use actix_web::HttpRequest;
use actix_web::http::{StatusCode, header};
use domain::ErrorCode;

use crate::error_codes::ErrorCodeExt as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Json,
    GraphqlResponseJson,
}

impl MediaType {
    pub fn content_type(self) -> &'static str {
        match self {
            MediaType::Json => "application/json; charset=utf-8",
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
        }
    }

    /// The type the request's `Accept` prefers, or `None` when it accepts neither.
    pub fn of(req: &HttpRequest) -> Option<Self> {
        let accept = req.headers().get_all(header::ACCEPT).filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
        if accept.iter().all(|v| v.trim().is_empty()) {
            return Some(MediaType::Json);
        }
        Self::negotiate(&accept.join(","))
    }

    /// The highest `q` wins; on a tie the named type beats a wildcard, and the new type
    /// beats `application/json` (the specification's preference).
    pub fn negotiate(accept: &str) -> Option<Self> {
        let mut best: Option<(f32, u8, MediaType)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let name = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q = 1.0f32;
            let mut charset_ok = true;
            for param in parts {
                let Some((key, value)) = param.split_once('=') else { continue };
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "q" => q = value.parse().unwrap_or(0.0),
                    "charset" => charset_ok = value.eq_ignore_ascii_case("utf-8"),
                    _ => {}
                }
            }
            let (rank, media) = match name.as_str() {
                "application/graphql-response+json" => (2, MediaType::GraphqlResponseJson),
                "application/json" => (1, MediaType::Json),
                "application/*" | "*/*" => (0, MediaType::Json),
                _ => continue,
            };
            if q <= 0.0 || !charset_ok {
                continue;
            }
            if best.is_none_or(|(bq, brank, _)| q > bq || (q == bq && rank > brank)) {
                best = Some((q, rank, media));
            }
        }
        best.map(|(_, _, media)| media)
    }

    /// The status of a response whose first error has `code` and that failed as a
    /// whole (no data).
    pub fn status_for_failure(self, code: ErrorCode) -> StatusCode {
        match self {
            MediaType::GraphqlResponseJson => code.status_code(),
            MediaType::Json if http_level(code) => code.status_code(),
            MediaType::Json => StatusCode::OK,
        }
    }
}

/// Codes that HTTP itself answers for: the request could not be taken as a GraphQL
/// request at all, or a credential, throttling or a fault stopped it. Their statuses
/// hold whatever the media type.
fn http_level(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::BadRequest
            | ErrorCode::PayloadTooLarge
            | ErrorCode::MethodNotAllowed
            | ErrorCode::NotAcceptable
            | ErrorCode::Unauthenticated
            | ErrorCode::CsrfRejected
            | ErrorCode::RateLimited
            | ErrorCode::QuotaExceeded
            | ErrorCode::Internal
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_chooses_the_media_type() {
        use MediaType::{GraphqlResponseJson as Grj, Json};
        for (accept, want) in [
            ("application/json", Some(Json)),
            ("*/*", Some(Json)),
            ("application/*", Some(Json)),
            ("application/graphql-response+json", Some(Grj)),
            ("application/graphql-response+json, application/json;q=0.9", Some(Grj)),
            ("application/json, application/graphql-response+json", Some(Grj)),
            ("application/json, application/graphql-response+json;q=0.5", Some(Json)),
            ("application/graphql-response+json;q=0, */*", Some(Json)),
            ("application/json; charset=utf-8", Some(Json)),
            ("application/json; charset=iso-8859-1", None),
            ("text/html", None),
            ("application/xml, text/plain;q=0.5", None),
        ] {
            assert_eq!(MediaType::negotiate(accept), want, "{accept}");
        }
    }
}
