//! `/graphql`: POST for queries and mutations (single or batched), GET for queries,
//! GraphiQL for browsers.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use domain::tenants::RequestId;
use domain::{ErrorCode, Services, TenantCtx};
use futures::{FutureExt, StreamExt};
use sha2::Digest;
use tracing::Instrument;

use super::client_addr::TrustedProxies;
use super::media::MediaType;
use super::query_guard::count_aliases;
use super::response::{WireResponse, annotate, error_response_as, retry_after, status_as};
use crate::config::GraphqlSettings;
use crate::error_codes::ErrorCodeExt as _;
use crate::graphql::MarqueeSchema;
use crate::graphql::context::{RequestBudget, RequestData};

pub struct GraphqlState {
    pub schema: MarqueeSchema,
    /// Measures a batch's operations before any runs ([`crate::graphql::measure`]).
    pub measuring: MarqueeSchema,
    pub app: domain::App,
    pub limits: GraphqlSettings,
    pub documents: DocumentCache,
    pub trusted_proxies: TrustedProxies,
}

/// Parsed query documents by query text, and query texts by their SHA-256 for automatic
/// persisted queries. Clients send the same few queries over and over; parsing each
/// again cost more than the rest of a small query's execution. Only documents that
/// passed the pre-checks are kept; each map is bounded by total query length.
///
/// Persisted queries are handled here rather than by async-graphql's extension: with
/// any extension installed, async-graphql sends every field through the extension
/// chain, which cost a tenth of a small query's time.
#[derive(Clone)]
pub struct DocumentCache {
    parsed: moka::sync::Cache<String, Arc<ExecutableDocument>>,
    persisted: moka::sync::Cache<String, String>,
}

impl DocumentCache {
    pub fn new(max_total_query_bytes: u64) -> Self {
        Self {
            parsed: moka::sync::Cache::builder()
                .weigher(|query: &String, _| u32::try_from(query.len()).unwrap_or(u32::MAX))
                .max_capacity(max_total_query_bytes)
                .build(),
            persisted: moka::sync::Cache::builder()
                .weigher(|_, query: &String| u32::try_from(query.len()).unwrap_or(u32::MAX))
                .max_capacity(max_total_query_bytes)
                .build(),
        }
    }

    /// Automatic persisted queries (Apollo's protocol): a hash alone names a query sent
    /// before; a query with its hash is checked and remembered.
    fn resolve_persisted(&self, request: &mut async_graphql::Request) -> Result<(), Refusal> {
        use async_graphql::Value;
        let Some(persisted) = request.extensions.get("persistedQuery") else { return Ok(()) };
        let hash = match persisted {
            Value::Object(fields) => match fields.get("sha256Hash") {
                Some(Value::String(hash)) => hash.to_ascii_lowercase(),
                _ => return Err(Refusal(ErrorCode::BadRequest, "persistedQuery needs a sha256Hash".into())),
            },
            _ => return Err(Refusal(ErrorCode::BadRequest, "persistedQuery must be an object".into())),
        };
        if request.query.is_empty() {
            request.query = self
                .persisted
                .get(&hash)
                .ok_or_else(|| Refusal(ErrorCode::PersistedQueryNotFound, "PersistedQueryNotFound".into()))?;
            return Ok(());
        }
        let actual = domain::tenants::store::hex(&sha2::Sha256::digest(request.query.as_bytes()));
        if actual != hash {
            return Err(Refusal(ErrorCode::BadRequest, "persistedQuery.sha256Hash does not match the query".into()));
        }
        self.persisted.insert(hash, request.query.clone());
        Ok(())
    }
}

/// Why a request was refused before any GraphQL ran.
pub(crate) struct Refusal(pub(crate) ErrorCode, pub(crate) String);

pub(crate) fn request_id(req: &HttpRequest) -> RequestId {
    RequestId::from_header(req.headers().get("x-request-id").and_then(|v| v.to_str().ok()))
}

const NOT_ACCEPTABLE: &str = "accept application/graphql-response+json or application/json";

/// What `/metrics` learns of one request: its operation, status, time and error codes.
struct Observed {
    metrics: domain::metrics::Metrics,
    started: std::time::Instant,
}

impl Observed {
    fn start(state: &GraphqlState) -> Self {
        Self { metrics: state.app.services.metrics.clone(), started: std::time::Instant::now() }
    }

    fn refused(&self, media: MediaType, code: ErrorCode, message: &str, request_id: &str) -> HttpResponse {
        self.metrics.count_error(code.graphql_code());
        let response = error_response_as(media, code, message, request_id);
        self.metrics.observe_request(None, response.status().as_u16(), self.started.elapsed().as_secs_f64());
        response
    }

    fn answered(&self, operation: Option<&str>, responses: &[async_graphql::Response], answer: &HttpResponse) {
        let mut rate_limited = false;
        for error in responses.iter().flat_map(|r| r.errors.iter()) {
            if let Some(async_graphql::Value::String(code)) = error.extensions.as_ref().and_then(|e| e.get("code")) {
                self.metrics.count_error(code);
                rate_limited |= code == ErrorCode::RateLimited.graphql_code();
            }
        }
        let status = answer.status().as_u16();
        self.metrics.observe_request(operation, status, self.started.elapsed().as_secs_f64());
        // A throttled operation whose status did not say so (in a batch, beside data).
        if rate_limited && status != 429 {
            self.metrics.count_rate_limited();
        }
    }
}

/// The operation's name as the client gave it, or as its document names its only one.
fn operation_name(request: &mut async_graphql::Request) -> Option<String> {
    if let Some(name) = &request.operation_name {
        return Some(name.clone());
    }
    match &request.parsed_query().ok()?.operations {
        async_graphql::parser::types::DocumentOperations::Multiple(ops) if ops.len() == 1 => {
            ops.keys().next().map(|name| name.to_string())
        }
        _ => None,
    }
}

pub async fn post(req: HttpRequest, payload: web::Payload, state: web::Data<GraphqlState>) -> HttpResponse {
    let request_id = request_id(&req);
    let observed = &Observed::start(&state);
    let Some(media) = MediaType::of(&req) else {
        return observed.refused(MediaType::Json, ErrorCode::NotAcceptable, NOT_ACCEPTABLE, request_id.as_str());
    };
    let error_response = |code, message: &str, request_id: &str| observed.refused(media, code, message, request_id);
    let span = tracing::info_span!("graphql", request_id = %request_id, tenant_id = tracing::field::Empty);
    async move {
        let mut requests = match read_requests(&req, payload, &state.limits, &state.documents).await {
            Ok(r) => r,
            Err(Refusal(code, message)) => return error_response(code, &message, request_id.as_str()),
        };
        if let Err(Refusal(code, message)) = check_batch_complexity(&state, &mut requests).await {
            return error_response(code, &message, request_id.as_str());
        }
        let tenant = match authenticate(&req, &state.app.services, &request_id).await {
            Ok(t) => t,
            Err(Refusal(code, message)) => return error_response(code, &message, request_id.as_str()),
        };
        if let Some(ctx) = &tenant
            && let Err(refused) = admit(ctx, &state.app.services, &request_id, error_response).await
        {
            return refused;
        }
        if let Some(ctx) = &tenant {
            tracing::Span::current().record("tenant_id", ctx.tenant_id().get());
        }
        let batched = requests.len() > 1 || req_is_batch(&requests);
        let operation = match requests.first_mut() {
            _ if batched => Some("batch".to_owned()),
            Some(first) => operation_name(&mut first.request),
            None => None,
        };
        let client = state.trusted_proxies.client_of(&req);
        let budget = Arc::new(RequestBudget::new(state.limits.max_personal_reads));
        let mut responses = Vec::with_capacity(requests.len());
        for request in requests.into_iter().map(|r| r.request) {
            responses.push(execute(&state, request, &request_id, client, tenant.clone(), false, budget.clone()).await);
        }
        let answer = respond(media, &responses, batched, &request_id);
        observed.answered(operation.as_deref(), &responses, &answer);
        answer
    }
    .instrument(span)
    .await
}

fn req_is_batch(requests: &[ParsedRequest]) -> bool {
    requests.first().is_some_and(|r| r.from_array)
}

/// The complexity limit holds for a batch as a whole: its operations run one after the
/// other, each within the limit, so without this a batch could do the work of as many
/// limits as it has operations. Refused before any of them runs.
async fn check_batch_complexity(state: &GraphqlState, requests: &mut [ParsedRequest]) -> Result<(), Refusal> {
    if requests.len() < 2 {
        return Ok(());
    }
    let mut total = 0usize;
    for parsed in requests.iter_mut() {
        total = total.saturating_add(crate::graphql::measure::complexity(&state.measuring, &mut parsed.request).await);
    }
    if total > state.limits.max_complexity {
        return Err(Refusal(
            ErrorCode::QueryTooComplex,
            format!(
                "the operations of this batch are together too complex ({total}; at most {} per request)",
                state.limits.max_complexity
            ),
        ));
    }
    Ok(())
}

/// GET runs queries only (GraphQL over HTTP forbids mutations over GET); without a
/// query it serves GraphiQL.
pub async fn get(req: HttpRequest, state: web::Data<GraphqlState>) -> HttpResponse {
    let request_id = request_id(&req);
    let query = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let Some(source) = query.get("query").cloned() else {
        if state.limits.graphiql {
            return HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(GraphiQLSource::build().endpoint("/graphql").finish());
        }
        let media = MediaType::of(&req).unwrap_or(MediaType::Json);
        return error_response_as(media, ErrorCode::BadRequest, "send a query", request_id.as_str());
    };
    let observed = &Observed::start(&state);
    let Some(media) = MediaType::of(&req) else {
        return observed.refused(MediaType::Json, ErrorCode::NotAcceptable, NOT_ACCEPTABLE, request_id.as_str());
    };
    let error_response = |code, message: &str, request_id: &str| observed.refused(media, code, message, request_id);
    let span = tracing::info_span!("graphql", request_id = %request_id, tenant_id = tracing::field::Empty);
    async move {
        let mut request = async_graphql::Request::new(source);
        if let Some(name) = query.get("operationName") {
            request = request.operation_name(name.clone());
        }
        if let Some(vars) = query.get("variables") {
            match serde_json::from_str::<serde_json::Value>(vars) {
                Ok(v) => request.variables = async_graphql::Variables::from_json(v),
                Err(e) => {
                    return error_response(
                        ErrorCode::BadRequest,
                        &format!("variables are not valid JSON: {e}"),
                        request_id.as_str(),
                    );
                }
            }
        }
        if let Err(Refusal(code, message)) = pre_check(&mut request, &state.limits, &state.documents) {
            return error_response(code, &message, request_id.as_str());
        }
        let tenant = match authenticate(&req, &state.app.services, &request_id).await {
            Ok(t) => t,
            Err(Refusal(code, message)) => return error_response(code, &message, request_id.as_str()),
        };
        if let Some(ctx) = &tenant {
            tracing::Span::current().record("tenant_id", ctx.tenant_id().get());
            if let Err(refused) = admit(ctx, &state.app.services, &request_id, error_response).await {
                return refused;
            }
        }
        let client = state.trusted_proxies.client_of(&req);
        let budget = Arc::new(RequestBudget::new(state.limits.max_personal_reads));
        let operation = operation_name(&mut request);
        let responses = [execute(&state, request, &request_id, client, tenant, true, budget).await];
        let answer = respond(media, &responses, false, &request_id);
        observed.answered(operation.as_deref(), &responses, &answer);
        answer
    }
    .instrument(span)
    .await
}

struct ParsedRequest {
    request: async_graphql::Request,
    from_array: bool,
}

async fn read_requests(
    req: &HttpRequest,
    mut payload: web::Payload,
    limits: &GraphqlSettings,
    documents: &DocumentCache,
) -> Result<Vec<ParsedRequest>, Refusal> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !(content_type.starts_with("application/json") || content_type.starts_with("application/graphql+json")) {
        return Err(Refusal(ErrorCode::BadRequest, "send Content-Type: application/json".into()));
    }
    let too_large =
        || Refusal(ErrorCode::PayloadTooLarge, format!("request body exceeds {} bytes", limits.max_body_bytes));
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| Refusal(ErrorCode::BadRequest, "could not read the request body".into()))?;
        if body.len() + chunk.len() > limits.max_body_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    // The common case in one pass; anything else goes the long way to a precise refusal.
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        && let Ok(mut request) = serde_json::from_slice::<async_graphql::Request>(&body)
    {
        pre_check(&mut request, limits, documents)?;
        return Ok(vec![ParsedRequest { request, from_array: false }]);
    }
    let json: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| Refusal(ErrorCode::BadRequest, format!("request body is not valid JSON: {e}")))?;
    let (items, from_array) = match json {
        serde_json::Value::Array(items) => (items, true),
        single @ serde_json::Value::Object(_) => (vec![single], false),
        _ => return Err(Refusal(ErrorCode::BadRequest, "request body must be a JSON object or array".into())),
    };
    if items.is_empty() {
        return Err(Refusal(ErrorCode::BadRequest, "empty batch".into()));
    }
    if items.len() > limits.max_batch_operations {
        return Err(Refusal(
            ErrorCode::BadRequest,
            format!("a batch may hold at most {} operations", limits.max_batch_operations),
        ));
    }
    items
        .into_iter()
        .map(|item| {
            let mut request: async_graphql::Request = serde_json::from_value(item)
                .map_err(|e| Refusal(ErrorCode::BadRequest, format!("not a GraphQL request: {e}")))?;
            pre_check(&mut request, limits, documents)?;
            Ok(ParsedRequest { request, from_array })
        })
        .collect()
}

/// Parses the query (or finds it parsed), refuses what the limits forbid, and hands the
/// document to the request so the executor does not parse it again.
fn pre_check(
    request: &mut async_graphql::Request,
    limits: &GraphqlSettings,
    documents: &DocumentCache,
) -> Result<(), Refusal> {
    documents.resolve_persisted(request)?;
    let doc = match documents.parsed.get(&request.query) {
        Some(doc) => doc,
        None => {
            let doc = async_graphql::parser::parse_query(&request.query)
                .map_err(|e| Refusal(ErrorCode::GraphqlParseFailed, e.to_string()))?;
            if count_aliases(&doc) > limits.max_aliases {
                return Err(Refusal(
                    ErrorCode::QueryTooComplex,
                    format!("a query may use at most {} aliases", limits.max_aliases),
                ));
            }
            let doc = Arc::new(doc);
            documents.parsed.insert(request.query.clone(), doc.clone());
            doc
        }
    };
    request.set_parsed_query((*doc).clone());
    Ok(())
}

/// The tenant's and the API key's request rates (`domain::limits`): over either, HTTP
/// 429 with `Retry-After` and `RATE_LIMITED`, before any work.
/// `refuse` builds the answer in the client's media type and counts it (`/metrics`).
pub(crate) async fn admit(
    ctx: &TenantCtx,
    services: &Services,
    request_id: &RequestId,
    refuse: impl Fn(ErrorCode, &str, &str) -> HttpResponse,
) -> Result<(), HttpResponse> {
    match domain::limits::admit_request(ctx, services).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let code = e.code();
            if code == ErrorCode::Internal {
                tracing::error!(error = ?e, "could not check the request rate");
            }
            let mut response = refuse(code, &e.public_message(), request_id.as_str());
            if let domain::DomainError::RateLimited { retry_after_secs } = e
                && let Ok(value) = header::HeaderValue::from_str(&retry_after_secs.to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Err(response)
        }
    }
}

pub(crate) async fn authenticate(
    req: &HttpRequest,
    services: &Services,
    request_id: &RequestId,
) -> Result<Option<TenantCtx>, Refusal> {
    // A bearer credential wins; the console's cookies count only without one.
    let from_cookie;
    let bearer = match req.headers().get(header::AUTHORIZATION) {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .ok_or_else(|| Refusal(ErrorCode::Unauthenticated, "use Authorization: Bearer <token>".into()))?,
        None => match super::console_session::cookie_access_token(req)? {
            Some(token) => {
                from_cookie = token;
                from_cookie.as_str()
            }
            None => return Ok(None),
        },
    };
    match services.auth.authenticate(bearer, request_id.clone()).await {
        Ok(ctx) => Ok(Some(ctx)),
        Err(domain::tenants::TenantsError::Unauthenticated) => {
            Err(Refusal(ErrorCode::Unauthenticated, "the credential is invalid, expired or revoked".into()))
        }
        Err(e) => {
            let e = domain::DomainError::from(e);
            if e.code() == ErrorCode::Unavailable {
                tracing::warn!(error = ?e, "authentication could not reach the database");
                return Err(Refusal(ErrorCode::Unavailable, e.public_message()));
            }
            tracing::error!(error = ?e, "authentication failed");
            Err(Refusal(ErrorCode::Internal, "internal error; quote the request id to support".into()))
        }
    }
}

async fn execute(
    state: &GraphqlState,
    mut request: async_graphql::Request,
    request_id: &RequestId,
    client: Option<std::net::IpAddr>,
    tenant: Option<TenantCtx>,
    queries_only: bool,
    budget: Arc<RequestBudget>,
) -> async_graphql::Response {
    if queries_only && let Ok(doc) = request.parsed_query() {
        let is_query = match &doc.operations {
            async_graphql::parser::types::DocumentOperations::Single(op) => op.node.ty == OperationType::Query,
            async_graphql::parser::types::DocumentOperations::Multiple(ops) => {
                ops.values().all(|op| op.node.ty == OperationType::Query)
            }
        };
        if !is_query {
            let mut response = async_graphql::Response::from_errors(vec![async_graphql::ServerError::new(
                "mutations must be sent with POST",
                None,
            )]);
            response.errors[0]
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", ErrorCode::MethodNotAllowed.graphql_code());
            annotate(&mut response, request_id.as_str());
            return response;
        }
    }
    request = request.data(RequestData { request_id: request_id.clone(), client, tenant, budget });
    let outcome = AssertUnwindSafe(state.schema.execute(request)).catch_unwind().await;
    let mut response = outcome.unwrap_or_else(|_| {
        tracing::error!("a resolver panicked");
        let mut response = async_graphql::Response::from_errors(vec![async_graphql::ServerError::new(
            "internal error; quote the request id to support",
            None,
        )]);
        response.errors[0]
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", ErrorCode::Internal.graphql_code());
        response
    });
    annotate(&mut response, request_id.as_str());
    response
}

fn respond(
    media: MediaType,
    responses: &[async_graphql::Response],
    batched: bool,
    request_id: &RequestId,
) -> HttpResponse {
    let status = if batched {
        actix_web::http::StatusCode::OK
    } else {
        responses.first().map(|r| status_as(media, r)).unwrap_or(actix_web::http::StatusCode::OK)
    };
    let body = if batched {
        serde_json::to_vec(&responses.iter().map(WireResponse::of).collect::<Vec<_>>())
    } else {
        responses.first().map(|r| serde_json::to_vec(&WireResponse::of(r))).unwrap_or_else(|| Ok(b"null".to_vec()))
    };
    match body {
        Ok(body) => {
            let mut builder = HttpResponse::build(status);
            builder.content_type(media.content_type()).insert_header(("x-request-id", request_id.as_str()));
            if status == actix_web::http::StatusCode::METHOD_NOT_ALLOWED {
                builder.insert_header((header::ALLOW, "POST"));
            }
            if let Some(secs) = retry_after(responses) {
                builder.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            builder.body(body)
        }
        Err(e) => {
            tracing::error!(error = %e, "could not serialise a response");
            error_response_as(media, ErrorCode::Internal, "internal error", request_id.as_str())
        }
    }
}
