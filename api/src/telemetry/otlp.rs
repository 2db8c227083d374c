//! The OTLP/HTTP protobuf span exporter and its tracer provider, built only when an
//! endpoint is configured.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};

use crate::config::TelemetrySettings;

/// How long one export may take: a collector that hangs must not hold a graceful stop.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) fn start(settings: &TelemetrySettings) -> anyhow::Result<(SdkTracerProvider, SdkTracer)> {
    let ratio = settings.sample_ratio;
    ensure!((0.0..=1.0).contains(&ratio), "telemetry.sample_ratio is {ratio}, not between 0 and 1");
    let runtime = tokio::runtime::Handle::try_current().context("traces are exported from a Tokio runtime")?;
    let http = reqwest::Client::builder().timeout(EXPORT_TIMEOUT).build()?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(RuntimeClient { http, runtime })
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url(&settings.otlp_endpoint)?)
        .with_timeout(EXPORT_TIMEOUT)
        .build()?;
    let resource = Resource::builder()
        .with_service_name(settings.service_name.clone())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio))))
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("marquee");
    Ok((provider, tracer))
}

/// The collector's base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it, with the
/// traces path added (a URL that already ends with it is kept).
fn traces_url(endpoint: &str) -> anyhow::Result<String> {
    // Messages leave the value out: a URL may carry credentials.
    let url = reqwest::Url::parse(endpoint).context("telemetry.otlp_endpoint is not a URL")?;
    ensure!(
        matches!(url.scheme(), "http" | "https") && url.has_host(),
        "telemetry.otlp_endpoint is not an http:// or https:// URL"
    );
    let base = endpoint.trim_end_matches('/');
    Ok(if base.ends_with("/v1/traces") { base.to_owned() } else { format!("{base}/v1/traces") })
}

/// The SDK exports from a thread of its own, blocking on each request without a
/// runtime; the workspace's reqwest needs one, so requests run on the server's.
#[derive(Debug)]
struct RuntimeClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let http = self.http.clone();
        let sent = self.runtime.spawn(async move {
            let answer = http.execute(request).await?;
            let (status, headers) = (answer.status(), answer.headers().clone());
            Ok::<_, reqwest::Error>((status, headers, answer.bytes().await?))
        });
        let (status, headers, body) = sent.await??;
        let mut response = Response::builder().status(status).body(body)?;
        *response.headers_mut() = headers;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::{start, traces_url};
    use crate::config::TelemetrySettings;

    fn settings(endpoint: &str, sample_ratio: f64) -> TelemetrySettings {
        TelemetrySettings { otlp_endpoint: endpoint.into(), service_name: "marquee".into(), sample_ratio }
    }

    /// Refused settings are reported (as a warning, by `init`), not a panic.
    #[tokio::test]
    async fn bad_settings_are_errors_and_good_ones_start_without_a_collector() {
        assert!(start(&settings("not a url", 1.0)).is_err());
        assert!(start(&settings("http://127.0.0.1:4318", 1.5)).is_err());
        assert!(start(&settings("http://127.0.0.1:4318", f64::NAN)).is_err());
        let started = start(&settings("http://127.0.0.1:9", 0.5));
        assert!(started.is_ok(), "{:?}", started.err());
        if let Ok((provider, _)) = started {
            // Nothing to send, nobody listening: shutting down does not hang.
            let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        }
    }

    #[test]
    fn the_traces_path_is_added_to_a_base_url_once() {
        assert_eq!(traces_url("http://127.0.0.1:4318").ok().as_deref(), Some("http://127.0.0.1:4318/v1/traces"));
        assert_eq!(traces_url("https://otel.example/").ok().as_deref(), Some("https://otel.example/v1/traces"));
        assert_eq!(traces_url("http://c:4318/v1/traces").ok().as_deref(), Some("http://c:4318/v1/traces"));
        assert!(traces_url("127.0.0.1:4318").is_err());
        assert!(traces_url("grpc://c:4317").is_err());
        assert!(traces_url("not a url").is_err());
    }
}
