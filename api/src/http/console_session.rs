//! The web console's sessions in cookies, so no token is ever readable by the page's
//! scripts (an injected script cannot steal what it cannot read):
//!
//! - `POST /auth/login` (`{"tenant", "email", "password"}`) signs a member in and sets
//!   three cookies: `mq_access` (the access token, `Path=/`), `mq_refresh` (the refresh
//!   token, `Path=/auth/session`, so it travels only to refresh and logout), both
//!   `HttpOnly; SameSite=Strict; Secure`, and `mq_csrf` (a random value the page can
//!   read, not `HttpOnly`).
//! - `POST /auth/session/refresh` spends the refresh cookie for a new pair.
//! - `POST /auth/session/logout` revokes the refresh token's family on the server and
//!   clears the cookies.
//!
//! Cross-site request forgery: `SameSite=Strict` already keeps the cookies off requests
//! other sites start; on top of it, every request the cookies authenticate (GraphQL,
//! uploads, refresh, logout) must echo the `mq_csrf` cookie in an `X-CSRF-Token` header
//! (double submit: another site can neither read the cookie nor set the header), compared
//! in constant time, else `CSRF_REJECTED`. Requests with `Authorization: Bearer` (API
//! keys, access tokens of other clients) never look at cookies.
//!
//! `Secure` is left off only for plain HTTP to a loopback host (`localhost`,
//! `127.0.0.1`, `[::1]`), so the demo and the tests work without TLS; anywhere else the
//! cookies are `Secure` and a browser keeps them only over HTTPS.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::ErrorCode;
use domain::tenants::RequestId;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq as _;

use super::graphql::{GraphqlState, Refusal, request_id};
use super::response::error_response;

pub const ACCESS_COOKIE: &str = "mq_access";
pub const REFRESH_COOKIE: &str = "mq_refresh";
pub const CSRF_COOKIE: &str = "mq_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The refresh cookie travels only to the endpoints under this path.
pub const SESSION_PATH: &str = "/auth/session";

/// How long the refresh cookie (and the CSRF cookie beside it) lives: the refresh
/// token's own lifetime (`auth.refresh_token_ttl_secs`).
#[derive(Clone)]
pub struct SessionCookies {
    pub refresh_ttl_secs: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    tenant: String,
    email: String,
    password: String,
}

/// The access token a request's cookies carry, once its CSRF header matched; `None`
/// when it carries none. Called only for requests without an `Authorization` header.
pub(crate) fn cookie_access_token(req: &HttpRequest) -> Result<Option<String>, Refusal> {
    let Some(access) = req.cookie(ACCESS_COOKIE) else { return Ok(None) };
    check_csrf(req)?;
    let token = access.value().to_owned();
    // Only member access tokens travel in the cookie; an API key is a server's credential.
    if token.starts_with("mq_") {
        return Err(Refusal(ErrorCode::Unauthenticated, "the credential is invalid, expired or revoked".into()));
    }
    Ok(Some(token))
}

/// Double submit: the `X-CSRF-Token` header must equal the `mq_csrf` cookie.
fn check_csrf(req: &HttpRequest) -> Result<(), Refusal> {
    let cookie = req.cookie(CSRF_COOKIE);
    let header = req.headers().get(CSRF_HEADER).map(|v| v.as_bytes());
    match (cookie, header) {
        (Some(cookie), Some(header))
            if !cookie.value().is_empty() && bool::from(cookie.value().as_bytes().ct_eq(header)) =>
        {
            Ok(())
        }
        _ => Err(Refusal(
            ErrorCode::CsrfRejected,
            format!(
                "a request signed in by the session cookie must send the {CSRF_COOKIE} cookie's value in {CSRF_HEADER}"
            ),
        )),
    }
}

/// Whether the cookies may go without `Secure`: plain HTTP to this machine only.
fn insecure_allowed(req: &HttpRequest) -> bool {
    let info = req.connection_info();
    if info.scheme() != "http" {
        return false;
    }
    let host = info.host();
    let name = match host.rsplit_once(':') {
        // `[::1]:8080`, `127.0.0.1:8080`, `localhost:8080`; a bare `[::1]` has no port.
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !host.ends_with(']') => name,
        _ => host,
    };
    matches!(name.to_ascii_lowercase().as_str(), "localhost" | "127.0.0.1" | "[::1]")
}

fn cookie<'c>(req: &HttpRequest, name: &'c str, value: String, path: &'c str, max_age_secs: i64) -> Cookie<'c> {
    let mut builder = Cookie::build(name, value)
        .path(path)
        .http_only(name != CSRF_COOKIE)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(max_age_secs.max(0)));
    if !insecure_allowed(req) {
        builder = builder.secure(true);
    }
    builder.finish()
}

fn new_csrf_value() -> String {
    use base64::Engine as _;
    use rand::Rng as _;
    let bytes: [u8; 32] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn refused(code: ErrorCode, message: &str, request_id: &RequestId) -> HttpResponse {
    error_response(code, message, request_id.as_str())
}

/// A domain error as a refusal, with `Retry-After` when throttled; causes are logged.
fn domain_refusal(e: domain::DomainError, request_id: &RequestId) -> HttpResponse {
    let code = e.code();
    if code == ErrorCode::Internal {
        tracing::error!(error = ?e, request_id = %request_id, "console session request failed");
    }
    let mut response = refused(code, &e.public_message(), request_id);
    if let domain::DomainError::RateLimited { retry_after_secs } = e
        && let Ok(value) = header::HeaderValue::from_str(&retry_after_secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The answer to a sign-in or refresh: the cookies, and what the page may know.
fn signed_in(
    req: &HttpRequest,
    session: domain::access::Session,
    csrf: String,
    ttl: &SessionCookies,
    request_id: &RequestId,
) -> HttpResponse {
    let member = &session.member;
    let body = json!({
        "expiresIn": session.access_expires_in_secs,
        "member": {
            "id": member.id.as_string(),
            "email": member.email.as_str(),
            "role": member.role.as_str().to_ascii_uppercase(),
        },
    });
    let mut response = HttpResponse::Ok();
    response
        .insert_header(("x-request-id", request_id.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie(req, ACCESS_COOKIE, session.access_token, "/", session.access_expires_in_secs))
        .cookie(cookie(req, REFRESH_COOKIE, session.refresh_token, SESSION_PATH, ttl.refresh_ttl_secs))
        .cookie(cookie(req, CSRF_COOKIE, csrf, "/", ttl.refresh_ttl_secs));
    response.json(body)
}

/// Clears the three cookies (same names and paths, expired).
fn clear_cookies(req: &HttpRequest, response: &mut HttpResponse) {
    for (name, path) in [(ACCESS_COOKIE, "/"), (REFRESH_COOKIE, SESSION_PATH), (CSRF_COOKIE, "/")] {
        // `add_cookie` fails only for a value that is not a valid header; ours are.
        let _ = response.add_cookie(&cookie(req, name, String::new(), path, 0));
    }
}

/// `POST /auth/login`.
pub async fn login(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<GraphqlState>,
    ttl: web::Data<SessionCookies>,
) -> HttpResponse {
    let request_id = request_id(&req);
    // A JSON content type cannot be sent across sites without a CORS preflight, which
    // this server never grants: no other site can sign a browser in behind its back.
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.starts_with("application/json") {
        return refused(ErrorCode::BadRequest, "send Content-Type: application/json", &request_id);
    }
    let Ok(input) = serde_json::from_slice::<LoginBody>(&body) else {
        return refused(ErrorCode::BadRequest, "send {\"tenant\", \"email\", \"password\"}", &request_id);
    };
    let client = state.trusted_proxies.client_of(&req);
    match domain::access::login(&state.app.services, &request_id, client, &input.tenant, &input.email, &input.password)
        .await
    {
        Ok(session) => signed_in(&req, session, new_csrf_value(), &ttl, &request_id),
        Err(e) => domain_refusal(e, &request_id),
    }
}

/// `POST /auth/session/refresh`: the refresh cookie for a new pair.
pub async fn refresh(req: HttpRequest, state: web::Data<GraphqlState>, ttl: web::Data<SessionCookies>) -> HttpResponse {
    let request_id = request_id(&req);
    let Some(token) = req.cookie(REFRESH_COOKIE).map(|c| c.value().to_owned()).filter(|v| !v.is_empty()) else {
        return refused(ErrorCode::Unauthenticated, "no session: sign in", &request_id);
    };
    if let Err(Refusal(code, message)) = check_csrf(&req) {
        return refused(code, &message, &request_id);
    }
    let client = state.trusted_proxies.client_of(&req);
    // The CSRF value stays for the session's life; the page reads it at every request.
    let csrf = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_else(new_csrf_value);
    match domain::access::refresh_session(&state.app.services, &request_id, client, &token).await {
        Ok(session) => signed_in(&req, session, csrf, &ttl, &request_id),
        Err(e) => {
            let unauthenticated = e.code() == ErrorCode::Unauthenticated;
            let mut response = domain_refusal(e, &request_id);
            // A refused token will not work later either: forget it.
            if unauthenticated {
                clear_cookies(&req, &mut response);
            }
            response
        }
    }
}

/// `POST /auth/session/logout`: revokes the refresh token, clears the cookies.
pub async fn logout(req: HttpRequest, state: web::Data<GraphqlState>) -> HttpResponse {
    let request_id = request_id(&req);
    if let Some(token) = req.cookie(REFRESH_COOKIE).map(|c| c.value().to_owned()).filter(|v| !v.is_empty()) {
        if let Err(Refusal(code, message)) = check_csrf(&req) {
            return refused(code, &message, &request_id);
        }
        let client = state.trusted_proxies.client_of(&req);
        if let Err(e) = domain::access::logout(&state.app.services, &request_id, client, &token).await {
            return domain_refusal(e, &request_id);
        }
    }
    let mut response = HttpResponse::Ok()
        .insert_header(("x-request-id", request_id.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "signedOut": true }));
    clear_cookies(&req, &mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn only_plain_http_to_this_machine_goes_without_secure() {
        let plain = |host: &str| TestRequest::default().insert_header((header::HOST, host)).to_http_request();
        assert!(insecure_allowed(&plain("127.0.0.1:8080")));
        assert!(insecure_allowed(&plain("localhost")));
        assert!(insecure_allowed(&plain("[::1]:8080")));
        assert!(insecure_allowed(&plain("[::1]")));
        assert!(!insecure_allowed(&plain("marquee.example")));
        assert!(!insecure_allowed(&plain("localhost.example.com:8080")));
        let behind_tls = TestRequest::default()
            .insert_header((header::HOST, "127.0.0.1:8080"))
            .insert_header(("x-forwarded-proto", "https"))
            .to_http_request();
        assert!(!insecure_allowed(&behind_tls));
    }

    #[test]
    fn the_csrf_header_must_equal_the_cookie() {
        let with = |cookie: Option<&str>, header: Option<&str>| {
            let mut req = TestRequest::default();
            if let Some(value) = cookie {
                req = req.cookie(Cookie::new(CSRF_COOKIE, value.to_owned()));
            }
            if let Some(value) = header {
                req = req.insert_header((CSRF_HEADER, value));
            }
            check_csrf(&req.to_http_request()).is_ok()
        };
        assert!(with(Some("abc"), Some("abc")));
        assert!(!with(Some("abc"), Some("abd")));
        assert!(!with(Some("abc"), None));
        assert!(!with(None, Some("abc")));
        assert!(!with(Some(""), Some("")));
    }
}
