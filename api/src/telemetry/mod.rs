//! Logs, always, and OpenTelemetry traces when `telemetry.otlp_endpoint` is set: one
//! global subscriber, installed by the binary (tests install none, or their own).

mod otlp;

use tracing_subscriber::filter::{FilterExt as _, Targets, filter_fn};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogSettings, TelemetrySettings};

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// What outlives the subscriber's installation: the span exporter, if any, which holds
/// the last spans until [`Telemetry::shutdown`].
#[must_use = "the spans still buffered are lost unless this is shut down"]
pub struct Telemetry {
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

/// Installs the global subscriber once. `RUST_LOG` overrides the configured log filter.
/// Traces need a Tokio runtime (their requests run on it); a bad endpoint or sample
/// ratio leaves them off with a warning rather than stopping the service.
pub fn init(log: &LogSettings, telemetry: &TelemetrySettings) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_span_events(FmtSpan::NONE);
    let fmt: BoxedLayer = match log.format.as_str() {
        "json" => fmt.json().with_current_span(true).with_filter(filter).boxed(),
        _ => fmt.with_filter(filter).boxed(),
    };
    let mut layers = vec![fmt];
    // Nothing of OpenTelemetry is built without an endpoint.
    let traces = (!telemetry.otlp_endpoint.is_empty()).then(|| otlp::start(telemetry));
    let mut provider = None;
    if let Some(Ok((started, tracer))) = traces.as_ref().map(|t| t.as_ref()) {
        layers.push(tracing_opentelemetry::layer().with_tracer(tracer.clone()).with_filter(exported()).boxed());
        provider = Some(started.clone());
    }
    if let Err(e) = tracing_subscriber::registry().with(layers).try_init() {
        eprintln!("logging was already set up: {e}");
    }
    match traces {
        // Not the endpoint itself: a URL may carry credentials.
        Some(Ok(_)) => tracing::info!("traces are exported over OTLP"),
        Some(Err(e)) => tracing::warn!(error = %format!("{e:#}"), "traces are off: telemetry settings are invalid"),
        None => {}
    }
    Telemetry { traces: provider }
}

/// Spans of the workspace's own crates, whose fields are known (request and tenant
/// ids, job numbers): never events, whose fields may carry anything a log line does,
/// and never a library's spans. Independent of the log filter, so quiet logs still trace.
fn exported() -> impl tracing_subscriber::layer::Filter<Registry> + Send + Sync {
    let ours = Targets::new()
        .with_target("api", tracing::Level::INFO)
        .with_target("domain", tracing::Level::INFO)
        .with_target("tenants", tracing::Level::INFO)
        .with_target("inference", tracing::Level::INFO);
    ours.and(filter_fn(|metadata: &tracing::Metadata<'_>| metadata.is_span()))
}

impl Telemetry {
    /// Sends the spans still buffered (a graceful stop's last requests), waiting at most
    /// a few seconds for the collector.
    pub async fn shutdown(self) {
        let Some(provider) = self.traces else { return };
        // The exporter's requests run on this runtime while the SDK blocks its caller.
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the last spans could not be exported"),
            Err(e) => tracing::warn!(error = %e, "the last spans could not be exported"),
        }
    }
}
