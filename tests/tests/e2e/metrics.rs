//! `/metrics`: the operator's scraper sees requests, latency, errors, inference,
//! caches, training, throttling and the database pool after real traffic; nobody else
//! sees anything, and no series names a tenant or a person.

use serde_json::json;

use crate::helpers::{METRICS_TOKEN, TestServer, error_code, two_clusters};
use crate::on_both_backends;

async fn scrape(server: &TestServer, token: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(format!("{}/metrics", server.base_url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The value of the series whose line starts with `series` (name and labels), if any.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[track_caller]
fn at_least(text: &str, series: &str, want: f64) {
    let got = value(text, series);
    assert!(got.is_some_and(|v| v >= want), "{series}: {got:?}, wanted at least {want}\n{text}");
}

on_both_backends!(the_operator_scrapes_every_listed_series_after_traffic, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    server.seed(key, &two_clusters()).await;
    let model = server.train(key, json!({ "algorithm": "MOST_POPULAR" })).await;
    server.deploy(key, &model.model, true).await;
    for _ in 0..3 {
        server.recommend(key, "a1", serde_json::Value::Null).await;
    }
    server.ok(key, "query MetricsSlug { tenant { slug } }", json!({})).await;
    let (_, body) = server.gql(Some(key), "{ content(id: \"nothing-here\") { id } }", json!({})).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    // Sign-in failures past the free ones are throttled: a 429.
    let mut throttled = false;
    for _ in 0..8 {
        let (status, _) = server.login_as(&t, &t.owner_email, "a wrong password").await;
        throttled |= status == 429;
    }
    assert!(throttled);

    let (status, text) = scrape(server, Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    at_least(&text, "marquee_graphql_requests_total{operation=\"MetricsSlug\",status=\"200\"}", 1.0);
    at_least(&text, "marquee_graphql_request_duration_seconds_count{operation=\"MetricsSlug\",status=\"200\"}", 1.0);
    assert!(text.contains("marquee_graphql_request_duration_seconds_bucket{le="), "{text}");
    at_least(&text, "marquee_errors_total{code=\"NOT_FOUND\"}", 1.0);
    at_least(&text, "marquee_errors_total{code=\"RATE_LIMITED\"}", 1.0);
    at_least(&text, "marquee_rate_limited_total", 1.0);
    // The first read scores; the two after it are answered from the kept answer.
    at_least(&text, "marquee_inference_duration_seconds_count{algorithm=\"most_popular\"}", 1.0);
    at_least(&text, "marquee_cache_lookups_total{cache=\"answers\",outcome=\"hit\"}", 2.0);
    at_least(&text, "marquee_cache_lookups_total{cache=\"people\",outcome=\"hit\"}", 2.0);
    at_least(&text, "marquee_cache_lookups_total{cache=\"people\",outcome=\"miss\"}", 1.0);
    at_least(
        &text,
        "marquee_training_job_duration_seconds_count{algorithm=\"most_popular\",outcome=\"finished\"}",
        1.0,
    );
    at_least(&text, "marquee_training_jobs{state=\"queued\"}", 0.0);
    at_least(&text, "marquee_training_jobs{state=\"running\"}", 0.0);
    at_least(&text, "marquee_db_pool_connections{state=\"max\"}", 1.0);
    at_least(&text, "marquee_db_pool_connections{state=\"in_use\"}", 0.0);
    // Nothing in it names the tenant or its people.
    assert!(!text.contains(&t.slug) && !text.contains("\"a1\""), "{text}");
});

on_both_backends!(metrics_are_for_the_operator_token_only, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    assert_eq!(scrape(server, None).await.0, 401);
    assert_eq!(scrape(server, Some(&t.api_key)).await.0, 401, "a tenant's key is not the operator's");
    assert_eq!(scrape(server, Some("metrics-token-for-tests-only-0123456789abcdeX")).await.0, 401);
    let login = server.login(&t).await;
    assert_eq!(scrape(server, login["accessToken"].as_str()).await.0, 401, "nor is a member's session");
    assert_eq!(scrape(server, Some(METRICS_TOKEN)).await.0, 200);
});
