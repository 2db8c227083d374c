//! OpenTelemetry traces (issue 15), from a server process that sets up its telemetry as
//! the binary does, against an OTLP/HTTP collector in this test that decodes what it
//! receives. With `telemetry.otlp_endpoint` set, an authenticated GraphQL request's span
//! arrives with the request's id and the tenant's; the batch is held far longer than
//! the test (`OTEL_BSP_SCHEDULE_DELAY`), so only the flush at the graceful stop can have
//! sent it. Without an endpoint nothing is sent, even with the standard `OTEL_*`
//! variables pointing at the collector; an invalid one does not keep the server from
//! serving.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use api::config::Settings;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message as _;
use serde_json::{Value, json};

use crate::audit::tenant_row_id;
use crate::helpers::process::{free_port, spawn_server_with_env, terminate};
use crate::helpers::{Backend, TestServer, TestTenant, dedicated_server, replica_settings, stop_when_done};

/// One request the collector received: its path, content type and body.
struct Received {
    path: String,
    content_type: String,
    body: Vec<u8>,
}

type Inbox = Arc<Mutex<Vec<Received>>>;

/// A minimal OTLP/HTTP collector: it keeps every request and accepts everything.
struct Collector {
    url: String,
    inbox: Inbox,
    handle: actix_web::dev::ServerHandle,
}

impl Collector {
    fn start() -> Collector {
        let inbox = Inbox::default();
        let data = web::Data::new(inbox.clone());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(receive)))
            .workers(1)
            .bind(("127.0.0.1", 0))
            .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Collector { url: format!("http://127.0.0.1:{port}"), inbox, handle }
    }

    fn count(&self) -> usize {
        self.inbox.lock().unwrap().len()
    }

    /// Every exported span with its resource's attributes, decoded.
    fn spans(&self) -> Vec<(Vec<KeyValue>, opentelemetry_proto::tonic::trace::v1::Span)> {
        let inbox = self.inbox.lock().unwrap();
        let mut spans = Vec::new();
        for request in inbox.iter() {
            assert_eq!(request.path, "/v1/traces");
            assert_eq!(request.content_type, "application/x-protobuf");
            let export = ExportTraceServiceRequest::decode(request.body.as_slice()).unwrap();
            for resource_spans in export.resource_spans {
                let resource = resource_spans.resource.map(|r| r.attributes).unwrap_or_default();
                for scope_spans in resource_spans.scope_spans {
                    spans.extend(scope_spans.spans.into_iter().map(|span| (resource.clone(), span)));
                }
            }
        }
        spans
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, inbox: web::Data<Inbox>) -> HttpResponse {
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    inbox.lock().unwrap().push(Received { path: req.path().to_owned(), content_type, body: body.to_vec() });
    // An empty ExportTraceServiceResponse: everything was accepted.
    HttpResponse::Ok().content_type("application/x-protobuf").finish()
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?.value.as_ref()
}

fn text(value: Option<&AnyValue>) -> Option<&str> {
    match value {
        Some(AnyValue::StringValue(s)) => Some(s),
        _ => None,
    }
}

/// A server process killed on drop unless it stopped.
struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Process {
    /// Stops it as an orchestrator does (SIGTERM) and waits for it to exit.
    async fn stop_gracefully(&mut self) {
        terminate(&self.0);
        let started = Instant::now();
        while self.0.try_wait().unwrap().is_none() {
            assert!(started.elapsed() < Duration::from_secs(30), "the server process did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Starts a server process on `a`'s database with `telemetry`'s settings and `env`, and
/// sends it one authenticated GraphQL request under `request_id`.
async fn serve_one_request(
    a: &TestServer,
    t: &TestTenant,
    request_id: &str,
    configure: impl FnOnce(&mut Settings),
    env: &[(&str, &str)],
) -> Process {
    let dir = std::env::temp_dir().join(format!("marquee-e2e-otel-{}", uuid::Uuid::new_v4().simple()));
    let mut settings = replica_settings(&a.settings, dir);
    settings.server.port = free_port();
    configure(&mut settings);
    let process = Process(spawn_server_with_env(&settings, env));
    let base = format!("http://127.0.0.1:{}", settings.server.port);
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let started = Instant::now();
    while !http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(started.elapsed() < Duration::from_secs(60), "the server process did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = http
        .post(format!("{base}/graphql"))
        .bearer_auth(&t.api_key)
        .header("x-request-id", request_id)
        .json(&json!({ "query": "query Traced { tenant { slug } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-request-id"], request_id);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["data"]["tenant"]["slug"], t.slug.as_str(), "{body}");
    process
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graphql_request_span_reaches_the_collector_with_the_request_and_tenant_ids() {
    let a = dedicated_server(Backend::Sqlite, Box::new(|_| {})).expect("sqlite");
    let _stop_a = stop_when_done(a);
    let t = a.new_tenant().await;
    let tenant_id = tenant_row_id(&a.raw_db().await, &t.slug).await;
    let collector = Collector::start();
    let request_id = format!("otel-{}", uuid::Uuid::new_v4().simple());
    let endpoint = collector.url.clone();
    let configure = move |settings: &mut Settings| {
        settings.telemetry.otlp_endpoint = endpoint;
        settings.telemetry.service_name = "marquee-e2e".into();
    };
    let held = [("OTEL_BSP_SCHEDULE_DELAY", "600000")];
    let mut process = serve_one_request(a, &t, &request_id, configure, &held).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(collector.count(), 0, "the batch is held until the stop");

    process.stop_gracefully().await;
    let spans = collector.spans();
    let names: Vec<&str> = spans.iter().map(|(_, span)| span.name.as_str()).collect();
    let (resource, span) = spans
        .iter()
        .find(|(_, span)| {
            span.name == "graphql" && text(attribute(&span.attributes, "request_id")) == Some(&request_id)
        })
        .unwrap_or_else(|| panic!("no graphql span of request {request_id} among {names:?}"));
    assert_eq!(attribute(&span.attributes, "tenant_id"), Some(&AnyValue::IntValue(tenant_id)), "{span:?}");
    assert_eq!(span.trace_id.len(), 16);
    assert!(span.end_time_unix_nano > span.start_time_unix_nano, "{span:?}");
    assert_eq!(text(attribute(resource, "service.name")), Some("marquee-e2e"));
    assert_eq!(text(attribute(resource, "service.version")), Some(env!("CARGO_PKG_VERSION")));
    // Only spans go out, never the log lines inside them.
    assert!(spans.iter().all(|(_, span)| span.events.is_empty()), "{spans:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_nothing_is_sent() {
    let a = dedicated_server(Backend::Sqlite, Box::new(|_| {})).expect("sqlite");
    let _stop_a = stop_when_done(a);
    let t = a.new_tenant().await;
    let collector = Collector::start();
    let traces = format!("{}/v1/traces", collector.url);
    // What an OpenTelemetry SDK set up regardless of the settings would send to.
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url.as_str()),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    let request_id = format!("otel-{}", uuid::Uuid::new_v4().simple());
    let mut process =
        serve_one_request(a, &t, &request_id, |s| assert!(s.telemetry.otlp_endpoint.is_empty()), &env).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    process.stop_gracefully().await;
    assert_eq!(collector.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_endpoint_leaves_traces_off_and_the_service_up() {
    let a = dedicated_server(Backend::Sqlite, Box::new(|_| {})).expect("sqlite");
    let _stop_a = stop_when_done(a);
    let t = a.new_tenant().await;
    let request_id = format!("otel-{}", uuid::Uuid::new_v4().simple());
    let configure = |s: &mut Settings| s.telemetry.otlp_endpoint = "collector:4318".into();
    // It answers (checked inside) and stops as usual.
    let mut process = serve_one_request(a, &t, &request_id, configure, &[]).await;
    process.stop_gracefully().await;
}
