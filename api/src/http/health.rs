use actix_web::{HttpResponse, web};
use serde_json::json;

use super::graphql::GraphqlState;

/// Alive: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready: the database answers.
pub async fn readyz(state: web::Data<GraphqlState>) -> HttpResponse {
    match state.app.services.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready", "database": "ok" })),
        Err(e) => {
            tracing::warn!(error = ?e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}
