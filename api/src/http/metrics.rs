//! `/metrics`: the process's series in the Prometheus text format, for the operator's
//! scraper only. Like the other operator powers it takes a secret of the deployment,
//! here a bearer token from `metrics.token`; without one configured the endpoint does
//! not exist. The gauges that describe shared state (the training queue, the database
//! pool) are read at scrape time, so they are as fresh as the scrape.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Digest as _;

use super::graphql::GraphqlState;

pub struct MetricsAccess {
    pub token: SecretString,
}

pub async fn metrics(
    req: HttpRequest,
    access: web::Data<MetricsAccess>,
    state: web::Data<GraphqlState>,
) -> HttpResponse {
    let expected = access.token.expose_secret();
    if expected.is_empty() {
        return HttpResponse::NotFound().finish();
    }
    let offered = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .unwrap_or("");
    if !same_secret(offered, expected) {
        return HttpResponse::Unauthorized().insert_header(("www-authenticate", "Bearer")).finish();
    }
    let app = &state.app;
    let metrics = &app.services.metrics;
    match domain::models::job_queue_depth(&app.models).await {
        Ok(counts) => {
            let count = |status: &str| counts.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
            metrics.set_jobs(&[("queued", count("queued")), ("running", count("running"))]);
        }
        Err(e) => tracing::warn!(error = ?e, "could not count training jobs for /metrics"),
    }
    let (in_use, idle, max) = app.services.db.pool_usage();
    metrics.set_pool(i64::from(in_use), i64::from(idle), i64::from(max));
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(metrics.encode())
}

/// Compares digests, so the time taken says nothing about how much of the token matched.
fn same_secret(offered: &str, expected: &str) -> bool {
    let (a, b) = (sha2::Sha256::digest(offered.as_bytes()), sha2::Sha256::digest(expected.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
