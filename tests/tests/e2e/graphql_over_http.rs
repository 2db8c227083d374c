//! GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/), one test per
//! rule: the media type follows `Accept`, and the status code follows the media type.

use serde_json::{Value, json};

use crate::helpers::{TestServer, error_code};
use crate::on_both_backends;

const JSON: &str = "application/json";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// POSTs `query` accepting `accept`; returns the status, the content type's essence and
/// the body.
async fn post_accepting(server: &TestServer, key: &str, accept: &str, query: &str) -> (u16, String, Value) {
    let body = serde_json::to_vec(&json!({ "query": query })).unwrap();
    let answer = server.post("/graphql", Some(key), &[("accept", accept.to_owned())], JSON, body).await;
    (answer.status, essence(&answer.headers), answer.body)
}

fn essence(headers: &reqwest::header::HeaderMap) -> String {
    let value = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    value.split(';').next().unwrap_or("").trim().to_owned()
}

/// A request without any `Accept` header (HTTP clients add one of their own, so this
/// one is written by hand).
async fn post_without_accept(server: &TestServer, key: &str, query: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let body = serde_json::to_string(&json!({ "query": query })).unwrap();
    let address = server.base_url.trim_start_matches("http://").to_owned();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let text = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        String::from_utf8_lossy(&raw).into_owned()
    })
    .await
    .unwrap();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let content_type = text
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    (status, content_type.split(';').next().unwrap_or("").trim().to_owned())
}

const OK_QUERY: &str = "{ tenant { slug } }";

on_both_backends!(
    application_json_is_answered_when_asked_for_by_a_wildcard_or_by_no_accept,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        for accept in [JSON, "*/*", "application/*", "application/json; charset=utf-8"] {
            let (status, media, body) = post_accepting(server, &t.api_key, accept, OK_QUERY).await;
            assert_eq!((status, media.as_str()), (200, JSON), "{accept}: {body}");
            assert_eq!(body["data"]["tenant"]["slug"], t.slug.as_str());
        }
        assert_eq!(post_without_accept(server, &t.api_key, OK_QUERY).await, (200, JSON.to_owned()));
    }
);

on_both_backends!(graphql_response_json_is_answered_when_asked_for, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    for accept in [
        GRAPHQL_RESPONSE,
        "application/graphql-response+json, application/json;q=0.9",
        "application/json;q=0.5, application/graphql-response+json",
    ] {
        let (status, media, body) = post_accepting(server, &t.api_key, accept, OK_QUERY).await;
        assert_eq!((status, media.as_str()), (200, GRAPHQL_RESPONSE), "{accept}: {body}");
        assert_eq!(body["data"]["tenant"]["slug"], t.slug.as_str());
    }
    // A preference for application/json is respected.
    let (_, media, _) =
        post_accepting(server, &t.api_key, "application/graphql-response+json;q=0.5, application/json", OK_QUERY).await;
    assert_eq!(media, JSON);
});

on_both_backends!(an_accept_that_allows_neither_type_is_406, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    for accept in ["text/html", "application/xml, text/plain;q=0.5", "application/json;q=0"] {
        let (status, _, body) = post_accepting(server, &t.api_key, accept, OK_QUERY).await;
        assert_eq!((status, error_code(&body).as_str()), (406, "NOT_ACCEPTABLE"), "{accept}: {body}");
        assert!(body.get("data").is_none(), "{body}");
    }
});

on_both_backends!(
    with_application_json_a_document_that_fails_to_parse_or_validate_is_200_with_errors,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        for (query, code) in
            [("{ tenant { slug }", "GRAPHQL_PARSE_FAILED"), ("{ tenant { nosuchfield } }", "GRAPHQL_VALIDATION_FAILED")]
        {
            let (status, media, body) = post_accepting(server, &t.api_key, JSON, query).await;
            assert_eq!((status, media.as_str(), error_code(&body).as_str()), (200, JSON, code), "{body}");
            assert!(body.get("data").is_none(), "a request error carries no data entry: {body}");
        }
    }
);

on_both_backends!(
    with_graphql_response_json_a_document_that_fails_to_parse_or_validate_is_400,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        for (query, code) in
            [("{ tenant { slug }", "GRAPHQL_PARSE_FAILED"), ("{ tenant { nosuchfield } }", "GRAPHQL_VALIDATION_FAILED")]
        {
            let (status, media, body) = post_accepting(server, &t.api_key, GRAPHQL_RESPONSE, query).await;
            assert_eq!((status, media.as_str(), error_code(&body).as_str()), (400, GRAPHQL_RESPONSE, code), "{body}");
            assert!(body.get("data").is_none(), "a request error carries no data entry: {body}");
        }
    }
);

on_both_backends!(
    a_failed_execution_is_200_with_application_json_and_its_code_s_status_with_graphql_response_json,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let query = "{ content(id: \"nothing-here\") { id } }";
        let (status, _, body) = post_accepting(server, &t.api_key, JSON, query).await;
        assert_eq!((status, error_code(&body).as_str()), (200, "NOT_FOUND"), "{body}");
        assert!(body.get("data").is_some_and(Value::is_null), "execution began: data is null, not absent: {body}");
        let (status, _, body) = post_accepting(server, &t.api_key, GRAPHQL_RESPONSE, query).await;
        assert_eq!((status, error_code(&body).as_str()), (404, "NOT_FOUND"), "{body}");
        assert!(body.get("data").is_some_and(Value::is_null), "{body}");
    }
);

on_both_backends!(
    a_request_that_is_not_graphql_over_http_is_refused_in_either_type,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        for accept in [JSON, GRAPHQL_RESPONSE] {
            let headers = [("accept", accept.to_owned())];
            let answer = server.post("/graphql", Some(&t.api_key), &headers, JSON, b"{\"query\": ".to_vec()).await;
            assert_eq!((answer.status, error_code(&answer.body).as_str()), (400, "BAD_REQUEST"), "{}", answer.body);
            assert_eq!(essence(&answer.headers), accept);
            let body = serde_json::to_vec(&json!({ "query": OK_QUERY })).unwrap();
            let answer = server.post("/graphql", Some(&t.api_key), &headers, "text/plain", body).await;
            assert_eq!((answer.status, error_code(&answer.body).as_str()), (400, "BAD_REQUEST"), "{}", answer.body);
            // A missing credential is HTTP's to answer, in either type.
            let answer = server
                .post(
                    "/graphql",
                    Some("mq_live_not-a-real-key"),
                    &headers,
                    JSON,
                    b"{\"query\":\"{ tenant { slug } }\"}".to_vec(),
                )
                .await;
            assert_eq!((answer.status, error_code(&answer.body).as_str()), (401, "UNAUTHENTICATED"), "{}", answer.body);
        }
    }
);

on_both_backends!(get_runs_queries_and_refuses_mutations_with_405, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    for accept in [JSON, GRAPHQL_RESPONSE] {
        let headers = [("accept", accept.to_owned())];
        let answer =
            server.get("/graphql?query=%7B%20tenant%20%7B%20slug%20%7D%20%7D", Some(&t.api_key), &headers).await;
        assert_eq!((answer.status, essence(&answer.headers).as_str()), (200, accept), "{}", answer.body);
        assert_eq!(answer.body["data"]["tenant"]["slug"], t.slug.as_str());
        let mutation = "/graphql?query=mutation%20%7B%20rollbackModel%20%7B%20id%20%7D%20%7D";
        let answer = server.get(mutation, Some(&t.api_key), &headers).await;
        assert_eq!((answer.status, error_code(&answer.body).as_str()), (405, "METHOD_NOT_ALLOWED"), "{}", answer.body);
        assert_eq!(answer.headers.get("allow").and_then(|v| v.to_str().ok()), Some("POST"));
        assert!(answer.body.get("data").is_none(), "{}", answer.body);
    }
    // Nothing was rolled back: the mutation never ran.
    let (_, body) = server.gql(Some(&t.api_key), "mutation { rollbackModel { id } }", json!({})).await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
});
