//! `POST /models/upload`: a tenant's own ONNX model at the size `models.max_upload_bytes`
//! allows. `uploadModel` carries the file as base64 inside a GraphQL body, so it can
//! never exceed about three quarters of `graphql.max_body_bytes`; this endpoint takes
//! the file's bytes as they are, in a multipart form a client can send with curl:
//!
//! ```text
//! curl -H "Authorization: Bearer $KEY" \
//!   -F 'metadata={"name": "my model", "itemIds": ["c1", "c2"]};type=application/json' \
//!   -F 'model=@model.onnx;type=application/octet-stream' \
//!   https://marquee.example/models/upload
//! ```
//!
//! Same credentials as `/graphql` (`models:manage`, checked before the body is read),
//! same checks and audit event (both call `domain::models::upload_model`), same answer:
//! `{"data": {"uploadModel": <Model>}}`, or errors with the codes of docs/errors.md. The
//! body is read as it arrives and refused with 413 at the first byte past the limit.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::tenants::{RequestId, Scope};
use domain::{DomainError, ErrorCode, TenantCtx};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tracing::Instrument;

use super::graphql::{GraphqlState, Refusal, authenticate, request_id};
use super::response::{GRAPHQL_RESPONSE_JSON, error_response};
use crate::error_codes::ErrorCodeExt as _;
use crate::graphql::context::{RequestBudget, RequestData};

/// The `metadata` part: an id list for a catalog of a million items fits.
const MAX_METADATA_BYTES: usize = 32 * 1024 * 1024;
/// Room for the form's boundaries and part headers.
const FORM_OVERHEAD_BYTES: usize = 64 * 1024;

/// The `metadata` part.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Metadata {
    name: String,
    item_ids: Vec<String>,
}

/// What the form carried.
struct Upload {
    metadata: Metadata,
    model: Vec<u8>,
}

/// Why an upload was refused: a code from the one table, a message, the part at fault.
struct Refused {
    code: ErrorCode,
    message: String,
    field: Option<String>,
}

impl Refused {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None }
    }
    fn field(field: &'static str, message: impl Into<String>) -> Self {
        Self { code: ErrorCode::InvalidInput, message: message.into(), field: Some(field.to_owned()) }
    }
}

impl From<Refusal> for Refused {
    fn from(Refusal(code, message): Refusal) -> Self {
        Self::new(code, message)
    }
}

impl From<DomainError> for Refused {
    fn from(e: DomainError) -> Self {
        let api = crate::graphql::error::ApiError::from(e);
        Self { code: api.code, message: api.message, field: api.field }
    }
}

pub async fn upload_model(req: HttpRequest, payload: web::Payload, state: web::Data<GraphqlState>) -> HttpResponse {
    let request_id = request_id(&req);
    let span = tracing::info_span!("model_upload", request_id = %request_id, tenant_id = tracing::field::Empty);
    match run(&req, payload, &state, &request_id).instrument(span).await {
        Ok(response) => response,
        Err(refused) => refusal_response(refused, &request_id),
    }
}

async fn run(
    req: &HttpRequest,
    payload: web::Payload,
    state: &GraphqlState,
    request_id: &RequestId,
) -> Result<HttpResponse, Refused> {
    let ctx = authenticate(req, &state.app.services, request_id).await?.ok_or_else(|| {
        Refused::new(ErrorCode::Unauthenticated, "send an API key or access token: Authorization: Bearer <token>")
    })?;
    tracing::Span::current().record("tenant_id", ctx.tenant_id().get());
    // Before reading the body: a caller who may not upload cannot make the server read
    // (or hold) a large one.
    ctx.require(Scope::ModelsManage).map_err(DomainError::from)?;
    let max_model = state.app.models.max_upload_bytes();
    let upload = read_form(req, payload, max_model).await?;
    let Upload { metadata, model } = upload;
    let uploaded =
        domain::models::upload_model(&ctx, &state.app.models, &metadata.name, model, metadata.item_ids).await?;
    Ok(answer(state, ctx, request_id, uploaded.id.as_string()).await)
}

async fn read_form(req: &HttpRequest, payload: web::Payload, max_model: usize) -> Result<Upload, Refused> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        Refused::new(ErrorCode::BadRequest, "send Content-Type: multipart/form-data with the parts metadata and model")
    })?;
    let max_body = max_model.saturating_add(MAX_METADATA_BYTES).saturating_add(FORM_OVERHEAD_BYTES);
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max_body) {
        return Err(model_too_large(max_model));
    }
    let mut form = multer::Multipart::with_constraints(
        send_stream(payload),
        boundary,
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(max_body as u64)),
    );
    let (mut metadata, mut model) = (None, None);
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(multer::Error::StreamSizeExceeded { .. }) => {
                return Err(model_too_large(max_model));
            }
            Err(_) => return Err(malformed()),
        };
        match field.name() {
            Some("metadata") if metadata.is_none() => {
                let bytes = read_part(field, MAX_METADATA_BYTES).await?.ok_or_else(|| {
                    Refused::new(ErrorCode::PayloadTooLarge, format!("metadata exceeds {MAX_METADATA_BYTES} bytes"))
                })?;
                let parsed: Metadata = serde_json::from_slice(&bytes).map_err(|e| {
                    Refused::field(
                        "metadata",
                        format!("metadata must be JSON {{\"name\": ..., \"itemIds\": [...]}}: {e}"),
                    )
                })?;
                metadata = Some(parsed);
            }
            Some("model") if model.is_none() => {
                model = Some(read_part(field, max_model).await?.ok_or_else(|| model_too_large(max_model))?);
            }
            Some(name @ ("metadata" | "model")) => {
                return Err(Refused::new(ErrorCode::BadRequest, format!("the part {name} was sent twice")));
            }
            other => {
                return Err(Refused::new(
                    ErrorCode::BadRequest,
                    format!("unknown part {:?}: send metadata and model", other.unwrap_or("")),
                ));
            }
        }
    }
    let metadata = metadata.ok_or_else(|| Refused::field("metadata", "the metadata part is missing"))?;
    let model = model.ok_or_else(|| Refused::field("model", "the model part is missing"))?;
    Ok(Upload { metadata, model })
}

/// A part's bytes, or `None` as soon as they exceed `max` (nothing more is read).
async fn read_part(mut field: multer::Field<'_>, max: usize) -> Result<Option<Vec<u8>>, Refused> {
    let mut bytes = Vec::new();
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > max {
                    return Ok(None);
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Some(bytes)),
            Err(multer::Error::StreamSizeExceeded { .. }) => return Ok(None),
            Err(_) => return Err(malformed()),
        }
    }
}

/// actix's payload lives on its worker thread; the multipart parser wants a stream it
/// could move. A small channel hands chunks over, one or two ahead of the parser, so
/// reading stops when parsing stops.
fn send_stream(mut payload: web::Payload) -> impl futures::Stream<Item = Result<web::Bytes, std::io::Error>> + Send {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(2);
    actix_web::rt::spawn(async move {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| std::io::Error::other(e.to_string()));
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                break;
            }
        }
    });
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
}

fn model_too_large(max_model: usize) -> Refused {
    Refused::new(ErrorCode::PayloadTooLarge, format!("the model exceeds models.max_upload_bytes ({max_model} bytes)"))
}

fn malformed() -> Refused {
    Refused::new(ErrorCode::BadRequest, "the multipart body is malformed or ended early")
}

/// The stored model as `uploadModel` would answer it: the same GraphQL type, read back
/// through the schema so the two answers cannot drift apart.
async fn answer(state: &GraphqlState, ctx: TenantCtx, request_id: &RequestId, model_id: String) -> HttpResponse {
    const QUERY: &str = "query($id: ID!) { uploadModel: model(id: $id) { id version algorithm status progress parameters tuning \
        dataSnapshot { users items interactions firstInteractionAt lastInteractionAt takenAt } \
        metrics { k ndcg recall precision hitRate coverage evaluatedUsers } \
        error needsRetraining active createdBy createdAt finishedAt } }";
    let request = async_graphql::Request::new(QUERY)
        .variables(async_graphql::Variables::from_json(json!({ "id": model_id })))
        .data(RequestData {
            request_id: request_id.clone(),
            // Reading the stored model back signs nobody in: the throttle never sees it.
            client: None,
            tenant: Some(ctx),
            budget: Arc::new(RequestBudget::new(0)),
        });
    let mut response = state.schema.execute(request).await;
    super::response::annotate(&mut response, request_id.as_str());
    let status = super::response::status_for(&response);
    match serde_json::to_vec(&response) {
        Ok(body) => HttpResponse::build(status)
            .content_type(GRAPHQL_RESPONSE_JSON)
            .insert_header(("x-request-id", request_id.as_str()))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "could not serialise an upload's answer");
            error_response(ErrorCode::Internal, "internal error; quote the request id to support", request_id.as_str())
        }
    }
}

fn refusal_response(refused: Refused, request_id: &RequestId) -> HttpResponse {
    let Some(field) = refused.field else {
        return error_response(refused.code, &refused.message, request_id.as_str());
    };
    HttpResponse::build(refused.code.status_code())
        .content_type(GRAPHQL_RESPONSE_JSON)
        .insert_header(("x-request-id", request_id.as_str()))
        .json(json!({
            "errors": [{
                "message": refused.message,
                "extensions": { "code": refused.code.graphql_code(), "field": field, "requestId": request_id.as_str() }
            }]
        }))
}
