//! What operators watch: one registry of Prometheus series per process, held by
//! [`crate::Services`] and handed to whatever records into it (no global recorder, so
//! two servers in one test process keep their own figures). `api` serves it at
//! `/metrics` in the Prometheus text format.
//!
//! Labels are bounded: operation names come from clients, so only the first
//! [`MAX_OPERATION_NAMES`] distinct well-formed names get a series of their own and the
//! rest share `other`. No label carries a tenant or a person.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Distinct operation names with a series of their own.
const MAX_OPERATION_NAMES: usize = 200;
/// Longest operation name kept as a label.
const MAX_OPERATION_NAME_CHARS: usize = 64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlgorithmLabels {
    algorithm: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TrainingLabels {
    algorithm: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Request latency: 0.25 ms to about 8 s.
fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.000_25, 2.0, 16))
}

/// Training durations: 0.1 s to about an hour.
fn training_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.1, 2.0, 16))
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: HistogramFamily<RequestLabels>,
    errors: Family<CodeLabels, Counter>,
    inference_seconds: HistogramFamily<AlgorithmLabels>,
    training_seconds: HistogramFamily<TrainingLabels>,
    cache: Family<CacheLabels, Counter>,
    rate_limited: Counter,
    jobs: Family<StateLabels, Gauge>,
    pool: Family<StateLabels, Gauge>,
    operations: Mutex<HashSet<String>>,
}

/// The process's metrics. Cheap to clone; clones record into the same series.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Hits and misses of one cache, counted where the cache is read.
#[derive(Clone, Debug, Default)]
pub struct CacheCounters {
    hits: Counter,
    misses: Counter,
}

impl CacheCounters {
    pub fn hit(&self) {
        self.hits.inc();
    }
    pub fn miss(&self) {
        self.misses.inc();
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("marquee");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds: HistogramFamily<RequestLabels> = Family::new_with_constructor(latency_histogram);
        let errors = Family::<CodeLabels, Counter>::default();
        let inference_seconds: HistogramFamily<AlgorithmLabels> = Family::new_with_constructor(latency_histogram);
        let training_seconds: HistogramFamily<TrainingLabels> = Family::new_with_constructor(training_histogram);
        let cache = Family::<CacheLabels, Counter>::default();
        let rate_limited = Counter::default();
        let jobs = Family::<StateLabels, Gauge>::default();
        let pool = Family::<StateLabels, Gauge>::default();
        registry.register("graphql_requests", "GraphQL requests by operation name and HTTP status", requests.clone());
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL request, by operation name and HTTP status",
            request_seconds.clone(),
        );
        registry.register("errors", "Errors sent to clients, by error code", errors.clone());
        registry.register(
            "inference_duration_seconds",
            "Time to score one request's items, by model family",
            inference_seconds.clone(),
        );
        registry.register(
            "training_job_duration_seconds",
            "Time a training job ran, by requested family and outcome",
            training_seconds.clone(),
        );
        registry.register("cache_lookups", "Serving cache lookups by cache and outcome (hit or miss)", cache.clone());
        registry.register("rate_limited", "Requests refused with RATE_LIMITED (HTTP 429)", rate_limited.clone());
        registry.register("training_jobs", "Training jobs by state, read when scraped", jobs.clone());
        registry.register(
            "db_pool_connections",
            "Database pool connections by state (in_use, idle, max), read when scraped",
            pool.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                request_seconds,
                errors,
                inference_seconds,
                training_seconds,
                cache,
                rate_limited,
                jobs,
                pool,
                operations: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// The label an operation name gets: itself while names are few and well formed.
    fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|n| !n.is_empty()) else { return "anonymous".to_owned() };
        let well_formed = name.len() <= MAX_OPERATION_NAME_CHARS
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name != "other"
            && name != "anonymous";
        if !well_formed {
            return "other".to_owned();
        }
        // The set only grows by whole names: a panic elsewhere leaves it usable.
        let mut known = self.inner.operations.lock().unwrap_or_else(PoisonError::into_inner);
        if known.contains(name) || (known.len() < MAX_OPERATION_NAMES && known.insert(name.to_owned())) {
            name.to_owned()
        } else {
            "other".to_owned()
        }
    }

    /// One answered GraphQL request (a batch counts once, under `batch`).
    pub fn observe_request(&self, operation: Option<&str>, status: u16, seconds: f64) {
        let labels = RequestLabels { operation: self.operation_label(operation), status };
        self.inner.requests.get_or_create(&labels).inc();
        self.inner.request_seconds.get_or_create(&labels).observe(seconds);
        if status == 429 {
            self.inner.rate_limited.inc();
        }
    }

    /// One error sent to a client, by its public code.
    pub fn count_error(&self, code: &str) {
        self.inner.errors.get_or_create(&CodeLabels { code: code.to_owned() }).inc();
    }

    /// A RATE_LIMITED answer the HTTP status did not show (one operation of a batch).
    pub fn count_rate_limited(&self) {
        self.inner.rate_limited.inc();
    }

    pub fn observe_inference(&self, algorithm: &str, seconds: f64) {
        self.inner
            .inference_seconds
            .get_or_create(&AlgorithmLabels { algorithm: algorithm.to_owned() })
            .observe(seconds);
    }

    pub fn observe_training(&self, algorithm: &str, outcome: &str, seconds: f64) {
        let labels = TrainingLabels { algorithm: algorithm.to_owned(), outcome: outcome.to_owned() };
        self.inner.training_seconds.get_or_create(&labels).observe(seconds);
    }

    /// The counters of the cache named `cache`.
    pub fn cache(&self, cache: &str) -> CacheCounters {
        let counter = |outcome: &str| {
            self.inner
                .cache
                .get_or_create(&CacheLabels { cache: cache.to_owned(), outcome: outcome.to_owned() })
                .clone()
        };
        CacheCounters { hits: counter("hit"), misses: counter("miss") }
    }

    /// Training jobs by state, as the database holds them when scraped.
    pub fn set_jobs(&self, by_state: &[(&str, i64)]) {
        for (state, count) in by_state {
            self.inner.jobs.get_or_create(&StateLabels { state: (*state).to_owned() }).set(*count);
        }
    }

    /// The database pool when scraped.
    pub fn set_pool(&self, in_use: i64, idle: i64, max: i64) {
        for (state, n) in [("in_use", in_use), ("idle", idle), ("max", max)] {
            self.inner.pool.get_or_create(&StateLabels { state: state.to_owned() }).set(n);
        }
    }

    /// Everything, in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry) {
            tracing::error!(error = %e, "could not encode the metrics");
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn series_appear_with_their_labels_and_client_names_stay_bounded() {
        let m = Metrics::new();
        m.observe_request(Some("Recommend"), 200, 0.001);
        m.observe_request(None, 429, 0.001);
        m.observe_request(Some("bad name!"), 200, 0.001);
        for i in 0..(MAX_OPERATION_NAMES + 10) {
            m.observe_request(Some(&format!("op{i}")), 200, 0.001);
        }
        m.count_error("NOT_FOUND");
        m.cache("people").hit();
        m.set_pool(1, 2, 3);
        let text = m.encode();
        assert!(text.contains("marquee_graphql_requests_total{operation=\"Recommend\",status=\"200\"} 1"), "{text}");
        assert!(text.contains("marquee_rate_limited_total 1"), "{text}");
        assert!(text.contains("marquee_errors_total{code=\"NOT_FOUND\"} 1"), "{text}");
        assert!(text.contains("marquee_cache_lookups_total{cache=\"people\",outcome=\"hit\"} 1"), "{text}");
        assert!(text.contains("marquee_db_pool_connections{state=\"max\"} 3"), "{text}");
        // One bad name and the eleven past the bound share "other".
        assert!(text.contains("marquee_graphql_requests_total{operation=\"other\",status=\"200\"} 12"), "{text}");
    }
}
