use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::LogSettings;

/// Installs the global subscriber once, in the binary only (tests install none, or
/// their own). `RUST_LOG` overrides the configured filter.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_span_events(FmtSpan::NONE);
    let result =
        if settings.format == "json" { builder.json().with_current_span(true).try_init() } else { builder.try_init() };
    if let Err(e) = result {
        eprintln!("logging was already set up: {e}");
    }
}
