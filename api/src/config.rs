//! Settings, loaded once at start-up and passed down: defaults < config file <
//! `MARQUEE_*` environment (nested with `__`, e.g. `MARQUEE_SERVER__PORT`) <
//! `DATABASE_URL` < command-line flags.
//!
//! Secrets (the database URL, which may hold a password, and the signing keys) are
//! [`SecretString`]s: their `Debug` prints `[REDACTED]`, so printing or logging the
//! settings never shows them, and reading one takes a visible `expose_secret()`.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
// Re-exported so that code setting or reading secret settings (the e2e tests) uses the
// same types without a dependency of its own.
pub use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where embedded data lives: the SQLite file, model files, generated secrets.
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub audit: AuditSettings,
    pub privacy: PrivacySettings,
    pub graphql: GraphqlSettings,
    pub onnxruntime: OnnxRuntimeSettings,
    pub models: ModelSettings,
    pub content: ContentSettings,
    pub log: LogSettings,
    pub telemetry: TelemetrySettings,
    pub metrics: MetricsSettings,
    /// Every tenant's plan unless the operator sets its own (`marquee tenant limits`).
    pub limits: LimitsSettings,
    pub redis: RedisSettings,
}

/// A tenant's plan by default; 0 turns a limit off.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSettings {
    pub tenant_requests_per_sec: f64,
    pub tenant_burst: u32,
    pub key_requests_per_sec: f64,
    pub key_burst: u32,
    pub training_jobs_per_day: u32,
    pub max_interactions: u64,
    pub max_catalog_items: u64,
}

impl LimitsSettings {
    pub fn to_limits(self) -> domain::tenants::quota::Limits {
        domain::tenants::quota::Limits {
            tenant_requests_per_sec: self.tenant_requests_per_sec,
            tenant_burst: self.tenant_burst,
            key_requests_per_sec: self.key_requests_per_sec,
            key_burst: self.key_burst,
            training_jobs_per_day: self.training_jobs_per_day,
            max_interactions: self.max_interactions,
            max_catalog_items: self.max_catalog_items,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://host:6379/0`: rate limits and sign-in throttling shared by every
    /// replica. Empty: counted in each process. Secret: it may carry a password.
    #[serde(serialize_with = "expose")]
    pub url: SecretString,
    /// What every key this deployment writes starts with, so deployments can share one Redis.
    pub key_prefix: String,
}

/// `/metrics`: what operators see of a running server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// The bearer token `/metrics` asks for. Empty: `/metrics` is off (404). The series
    /// name no tenant, but they show the service's load to whoever holds the token.
    #[serde(serialize_with = "expose")]
    pub token: SecretString,
}

/// The text model and what is built on it: embeddings, semantic search, the content
/// blend of recommendations, insights (docs/content.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentSettings {
    /// Load the text model (semantic search, tags, the blend); keyword search and
    /// insights work without it.
    pub text_model: bool,
    /// Folder with `model.onnx` and `tokenizer.json`; empty means `MARQUEE_TEXT_MODEL_DIR`
    /// or `.tools/text-model` (what `make setup` builds). A multilingual model built the
    /// same way can replace the default English one here; stored embeddings are redone.
    pub model_dir: String,
    /// Items embedded per batch by the background worker.
    pub batch_size: usize,
    /// ONNX Runtime threads of the background worker (the other cores keep serving).
    pub worker_threads: usize,
    /// Run the background worker, and the upkeep of the index its batches cause, at the
    /// lowest CPU priority, so both use what serving leaves of the cores.
    pub worker_lowest_priority: bool,
    /// ONNX Runtime threads that embed search queries.
    pub query_threads: usize,
    /// Seconds a claimed batch stays leased before another worker may take it over.
    pub lease_secs: u64,
    /// Failed attempts after which an item counts as failed.
    pub max_attempts: i32,
    /// Weight of the content score blended into recommendations; 0 turns the blend off.
    pub blend_weight: f32,
    /// Insights suppress groups of fewer people than this.
    pub min_group_size: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSettings {
    /// Threads of one training job (one job runs at a time per process).
    pub training_threads: usize,
    /// Seconds one training job's tuning search may take (AUTO, tuned ALS and EASE); 0
    /// for no limit.
    pub tuning_budget_secs: u64,
    /// Memory an EASE fit may hold, in MiB: it caps the catalogs EASE accepts.
    pub ease_memory_mib: u64,
    /// ONNX Runtime sessions per loaded model: concurrent scorings of one model.
    pub sessions_per_model: usize,
    pub max_upload_bytes: usize,
    /// Events of people's recent history serving keeps in memory, in all tenants.
    pub person_cache_events: u64,
    /// Seconds before a change made by another process (a second replica, the CLI on
    /// the same SQLite file) reaches this process's serving; 0 reads the database on
    /// every request.
    pub person_cache_ttl_secs: u64,
    /// Keep each person's last answers with their cached history: a repeated request
    /// is answered without scoring again until something it depends on changes.
    pub answer_cache: bool,
    /// Seconds a catalog change (other than a deletion through this process) may take
    /// to reach recommendations' filters and hydration.
    pub catalog_ttl_secs: u64,
    /// For tests only; leave 0. Milliseconds a training job waits between fitting and
    /// storing its model.
    pub test_pause_before_store_ms: u64,
    /// The program tenant-uploaded models run in, started with the single argument
    /// `onnx-worker`; empty: this executable (`marquee onnx-worker`).
    pub sandbox_program: String,
    /// Memory one worker of an uploaded model may map, in MiB.
    pub sandbox_memory_mib: u64,
    /// The longest one scoring by an uploaded model may take, in milliseconds.
    pub sandbox_timeout_ms: u64,
    /// The longest the upload probe (start, load, one run) may take, in milliseconds.
    pub sandbox_probe_timeout_ms: u64,
    /// Worker processes per uploaded model: its concurrent scorings.
    pub sandbox_workers: usize,
    /// Where model files live: `disk`, `database` or `s3`; unset: `disk` on SQLite,
    /// `database` on PostgreSQL (every replica reads them there).
    pub store: Option<ModelStoreKind>,
    /// The `disk` store's directory; empty: `models` in the data directory.
    pub store_dir: String,
    /// The `s3` store's bucket and credentials.
    pub s3: ModelS3Settings,
    /// Seconds a training job's holder may go without renewing its lease before another
    /// worker takes the job over (renewed every third of it).
    pub job_lease_secs: u64,
}

/// `models.store`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelStoreKind {
    Disk,
    Database,
    S3,
}

/// `models.s3`: an S3-compatible bucket for model files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelS3Settings {
    pub bucket: String,
    /// Empty: AWS; otherwise the URL of an S3-compatible service (path-style requests).
    pub endpoint: String,
    pub region: String,
    /// What every object name starts with, so deployments can share a bucket.
    pub prefix: String,
    /// Empty: the usual AWS sources (`AWS_ACCESS_KEY_ID`, instance roles). Secret.
    #[serde(serialize_with = "expose")]
    pub access_key_id: SecretString,
    #[serde(serialize_with = "expose")]
    pub secret_access_key: SecretString,
    /// Allows an `http://` endpoint.
    pub allow_http: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    /// 0 binds a free port; the bound address is logged.
    pub port: u16,
    pub workers: usize,
    /// Reverse proxies (addresses or CIDR blocks) whose `X-Forwarded-For` is believed.
    /// Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<String>,
    /// The built console (`frontend/dist`), served at `/console`. Empty: a `console`
    /// folder beside the binary, else `frontend/dist` under the working directory.
    pub console_dir: String,
    /// What this server runs: `api` answers requests and queues jobs, `worker` also
    /// claims and runs the queued jobs, `all` (the default) does both.
    pub role: Role,
    /// Every this many seconds the C heap's free pages are handed back to the system
    /// (`inference::native_memory`; 0: never). Without it, memory ONNX Runtime and SQLite
    /// freed stays resident.
    pub heap_trim_secs: u64,
}

/// `marquee serve --role`: serving and training scale separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Answers requests; training jobs are run by workers elsewhere.
    Api,
    /// Runs training jobs (and still answers health checks and requests).
    Worker,
    /// Both.
    All,
}

impl Role {
    pub fn runs_jobs(self) -> bool {
        matches!(self, Role::Worker | Role::All)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://...` or `sqlite://...`; empty means SQLite in the data directory.
    /// Secret: it may carry the database password.
    #[serde(serialize_with = "expose")]
    pub url: SecretString,
    pub migrate_on_start: bool,
    pub max_connections: u32,
    /// PostgreSQL role the service runs as, so row-level security applies to it.
    /// Empty keeps the connecting user (not recommended: superusers bypass RLS).
    pub app_role: String,
    /// How long a request waits for a database connection before failing with
    /// `UNAVAILABLE`.
    pub acquire_timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC secret for access tokens. Empty: generated once and kept in the data dir.
    #[serde(serialize_with = "expose")]
    pub jwt_secret: SecretString,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub key_cache_ttl_secs: u64,
    /// Argon2 hashes and verifications at once, off the request threads; 0 = cores.
    pub password_workers: usize,
    pub rate_limit: RateLimitSettings,
}

/// Throttling of `login`, `refreshSession` and `acceptInvite` (docs/access.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Calls per client address: a burst of this many...
    pub client_burst: u32,
    /// ...then this many per second.
    pub client_per_sec: f64,
    /// Failed calls per client address before back-off starts.
    pub client_free_failures: u32,
    /// Failed sign-ins per account (tenant and e-mail) before back-off starts.
    pub account_free_failures: u32,
    /// The first lock; each further failure doubles it...
    pub backoff_base_secs: u64,
    /// ...up to this.
    pub backoff_max_secs: u64,
    /// Failures are forgotten after this long without a new one.
    pub forget_after_secs: u64,
    /// Addresses and accounts tracked at once (the least active are forgotten first).
    pub max_tracked_keys: u64,
}

impl RateLimitSettings {
    pub fn to_config(&self) -> domain::tenants::throttle::ThrottleConfig {
        use domain::tenants::throttle::{Backoff, ThrottleConfig, TokenBucket};
        use std::time::Duration;
        let backoff = |free_failures| Backoff {
            free_failures,
            base: Duration::from_secs(self.backoff_base_secs.max(1)),
            max: Duration::from_secs(self.backoff_max_secs.max(self.backoff_base_secs).max(1)),
            forget_after: Duration::from_secs(self.forget_after_secs),
        };
        ThrottleConfig {
            client_bucket: TokenBucket {
                capacity: self.client_burst.max(1),
                refill_per_sec: self.client_per_sec.max(0.0),
            },
            client_backoff: backoff(self.client_free_failures),
            account_backoff: backoff(self.account_free_failures),
            max_tracked_keys: self.max_tracked_keys.max(1),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// HMAC key for end users' pseudonyms in the audit log. Empty: generated once and
    /// kept in the data dir. Never change it: old and new pseudonyms would not match.
    #[serde(serialize_with = "expose")]
    pub pseudonym_secret: SecretString,
    /// HMAC key that signs audit checkpoints. Empty: generated into the data dir. Keep it
    /// away from whoever administers the database, or checkpoints prove nothing.
    #[serde(serialize_with = "expose")]
    pub checkpoint_signing_key: SecretString,
    /// A signed checkpoint every this many events per tenant (0: only on request).
    pub checkpoint_every: u64,
    /// Failed sign-ins of one account recorded one by one per window; past it, only
    /// summaries with counts.
    pub failed_login_threshold: u32,
    pub failed_login_window_secs: u64,
    /// Repeated reads of one person by one principal within this many seconds are one
    /// event with their count and time range (at most 60; 0 records every read singly).
    pub read_coalesce_window_secs: u64,
    /// Where archived segments of the log are written (empty: `<data_dir>/audit-archive`).
    /// Every replica that verifies or exports must read the same directory.
    pub archive_dir: String,
    /// How often the server archives sealed segments of every tenant's log (0: never,
    /// the default; `marquee audit archive` still works).
    pub archive_every_secs: u64,
    /// Events the periodic archival leaves in the database, counted back from each
    /// tenant's head.
    pub archive_keep_hot_events: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySettings {
    /// How often the retention job deletes interactions older than each tenant keeps
    /// (`interactionRetentionDays`); 0 turns the job off (`marquee retention run` still works).
    pub retention_interval_secs: u64,
    /// How often models that learnt from an erased person are checked against their
    /// retraining deadline (`erasureRetrainDays`) and retrained when due; 0 turns the
    /// check off (erasures that ask for immediate retraining still start it).
    pub retrain_check_interval_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphqlSettings {
    pub max_depth: usize,
    /// Per request (a batch's operations together); lists count once per element they
    /// may return, audited personal-data reads count extra (docs/access.md).
    pub max_complexity: usize,
    /// Audited reads of personal data one request may make (a batch's operations together).
    pub max_personal_reads: usize,
    pub max_aliases: usize,
    pub max_body_bytes: usize,
    pub max_batch_operations: usize,
    pub introspection: bool,
    pub graphiql: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnnxRuntimeSettings {
    /// Path of libonnxruntime; empty means `ORT_DYLIB_PATH` or `.tools/onnxruntime/`.
    pub dylib_path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` for terminals, `json` for log pipelines.
    pub format: String,
    /// An `EnvFilter` directive, e.g. `info,sqlx=warn`.
    pub filter: String,
}

/// OpenTelemetry traces (docs/operations.md#traces).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// The OTLP/HTTP collector's base URL, e.g. `http://127.0.0.1:4318`; spans go to its
    /// `/v1/traces`. Empty: no tracing beyond the logs, and nothing of OpenTelemetry runs.
    pub otlp_endpoint: String,
    /// `service.name` of every exported span.
    pub service_name: String,
    /// The share of requests traced, 0 to 1.
    pub sample_ratio: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            server: ServerSettings {
                host: "127.0.0.1".into(),
                port: 8080,
                workers: 0,
                trusted_proxies: Vec::new(),
                role: Role::All,
                console_dir: String::new(),
                heap_trim_secs: 30,
            },
            database: DatabaseSettings {
                url: SecretString::default(),
                migrate_on_start: true,
                max_connections: 16,
                app_role: migrations::APP_ROLE.into(),
                acquire_timeout_ms: 2000,
            },
            auth: AuthSettings {
                jwt_secret: SecretString::default(),
                access_token_ttl_secs: 15 * 60,
                refresh_token_ttl_secs: 30 * 24 * 3600,
                key_cache_ttl_secs: 60,
                password_workers: 0,
                rate_limit: RateLimitSettings {
                    client_burst: 60,
                    client_per_sec: 1.0,
                    client_free_failures: 30,
                    account_free_failures: 5,
                    backoff_base_secs: 1,
                    backoff_max_secs: 300,
                    forget_after_secs: 900,
                    max_tracked_keys: 100_000,
                },
            },
            audit: AuditSettings {
                pseudonym_secret: SecretString::default(),
                checkpoint_signing_key: SecretString::default(),
                checkpoint_every: 100,
                failed_login_threshold: 5,
                failed_login_window_secs: 3600,
                read_coalesce_window_secs: 60,
                archive_dir: String::new(),
                archive_every_secs: 0,
                archive_keep_hot_events: 100_000,
            },
            privacy: PrivacySettings { retention_interval_secs: 3600, retrain_check_interval_secs: 600 },
            graphql: GraphqlSettings {
                max_depth: 12,
                max_complexity: 10_000,
                max_personal_reads: 50,
                max_aliases: 30,
                max_body_bytes: 2 * 1024 * 1024,
                max_batch_operations: 10,
                introspection: true,
                graphiql: true,
            },
            onnxruntime: OnnxRuntimeSettings { dylib_path: String::new() },
            content: ContentSettings {
                text_model: true,
                model_dir: String::new(),
                batch_size: 32,
                worker_threads: 1,
                worker_lowest_priority: true,
                query_threads: 1,
                lease_secs: 300,
                max_attempts: 3,
                blend_weight: domain::content::DEFAULT_BLEND_WEIGHT,
                min_group_size: 10,
            },
            models: ModelSettings {
                training_threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
                tuning_budget_secs: 300,
                ease_memory_mib: 4096,
                // One per core: scoring is CPU-bound, and each session of an
                // item-to-item model (EASE, item-kNN) holds its own copy of the weights.
                sessions_per_model: std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8)),
                max_upload_bytes: 64 * 1024 * 1024,
                person_cache_events: 2_000_000,
                person_cache_ttl_secs: 30,
                answer_cache: true,
                catalog_ttl_secs: 10,
                test_pause_before_store_ms: 0,
                sandbox_program: String::new(),
                store: None,
                store_dir: String::new(),
                s3: ModelS3Settings {
                    bucket: String::new(),
                    endpoint: String::new(),
                    region: "us-east-1".into(),
                    prefix: "models".into(),
                    access_key_id: SecretString::default(),
                    secret_access_key: SecretString::default(),
                    allow_http: false,
                },
                job_lease_secs: 30,
                sandbox_memory_mib: 512,
                sandbox_timeout_ms: 2_000,
                sandbox_probe_timeout_ms: 4_000,
                sandbox_workers: 2,
            },
            log: LogSettings { format: "pretty".into(), filter: "info,sqlx=warn,sea_orm=warn".into() },
            telemetry: TelemetrySettings {
                otlp_endpoint: String::new(),
                service_name: "marquee".into(),
                sample_ratio: 1.0,
            },
            limits: {
                let d = domain::tenants::quota::Limits::default();
                LimitsSettings {
                    tenant_requests_per_sec: d.tenant_requests_per_sec,
                    tenant_burst: d.tenant_burst,
                    key_requests_per_sec: d.key_requests_per_sec,
                    key_burst: d.key_burst,
                    training_jobs_per_day: d.training_jobs_per_day,
                    max_interactions: d.max_interactions,
                    max_catalog_items: d.max_catalog_items,
                }
            },
            redis: RedisSettings { url: SecretString::default(), key_prefix: "marquee:".into() },
            metrics: MetricsSettings { token: SecretString::default() },
        }
    }
}

/// Flags that override everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub port: Option<u16>,
    pub host: Option<String>,
    pub database_url: Option<SecretString>,
    pub data_dir: Option<PathBuf>,
    pub no_migrate: bool,
    pub role: Option<Role>,
}

/// Serializes a secret as its value. Serialization exists for [`Settings::load`], which
/// hands the defaults to figment; nothing serializes settings to show them.
fn expose<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

impl Settings {
    /// Figment's error is boxed: it is large (over 200 bytes) and returned once, at start.
    pub fn load(config_file: Option<&Path>, overrides: &Overrides) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match config_file {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("marquee.toml")),
        }
        // The project's scripts share the prefix for what is not a setting: the tools
        // folder, and the text model's folder (read by `text_model_dir`).
        figment = figment.merge(Env::prefixed("MARQUEE_").ignore(&["tools", "text_model_dir"]).split("__"));
        if let Ok(url) = std::env::var("DATABASE_URL") {
            figment = figment.merge(Serialized::default("database.url", url));
        }
        let mut settings: Settings = figment.extract().map_err(Box::new)?;
        settings.apply(overrides);
        Ok(settings)
    }

    pub fn apply(&mut self, overrides: &Overrides) {
        if let Some(port) = overrides.port {
            self.server.port = port;
        }
        if let Some(host) = &overrides.host {
            self.server.host = host.clone();
        }
        if let Some(url) = &overrides.database_url {
            self.database.url = url.clone();
        }
        if let Some(dir) = &overrides.data_dir {
            self.data_dir = dir.clone();
        }
        if overrides.no_migrate {
            self.database.migrate_on_start = false;
        }
        if let Some(role) = overrides.role {
            self.server.role = role;
        }
    }

    /// The database URL to use: the setting, or SQLite in the data directory.
    pub fn database_url(&self) -> SecretString {
        if self.database.url.expose_secret().trim().is_empty() {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("marquee.db").display()).into()
        } else {
            self.database.url.clone()
        }
    }

    /// The worker program for uploaded models: the setting, or this executable.
    pub fn sandbox_program(&self) -> anyhow::Result<PathBuf> {
        if !self.models.sandbox_program.is_empty() {
            return Ok(PathBuf::from(&self.models.sandbox_program));
        }
        std::env::current_exe().map_err(|e| anyhow::anyhow!("cannot find this executable to run model workers: {e}"))
    }

    /// Where the built console is; see [`ServerSettings::console_dir`].
    pub fn console_dir(&self) -> PathBuf {
        if !self.server.console_dir.is_empty() {
            return PathBuf::from(&self.server.console_dir);
        }
        let beside_binary = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|d| d.join("console")));
        match beside_binary {
            Some(dir) if dir.join("index.html").is_file() => dir,
            _ => PathBuf::from("frontend/dist"),
        }
    }

    /// The text model's folder, `None` when the text model is turned off.
    pub fn text_model_dir(&self) -> Option<PathBuf> {
        if !self.content.text_model {
            return None;
        }
        if !self.content.model_dir.is_empty() {
            return Some(PathBuf::from(&self.content.model_dir));
        }
        match std::env::var_os("MARQUEE_TEXT_MODEL_DIR") {
            Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
            _ => Some(PathBuf::from(".tools/text-model")),
        }
    }

    pub fn onnxruntime_path(&self) -> PathBuf {
        if !self.onnxruntime.dylib_path.is_empty() {
            return PathBuf::from(&self.onnxruntime.dylib_path);
        }
        if let Ok(path) = std::env::var("ORT_DYLIB_PATH") {
            return PathBuf::from(path);
        }
        PathBuf::from(".tools/onnxruntime/libonnxruntime.so.1.31.1")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn flags_beat_defaults_and_sqlite_is_the_default() {
        let mut settings = Settings::default();
        assert!(settings.database_url().expose_secret().starts_with("sqlite://"));
        settings.apply(&Overrides { port: Some(0), database_url: Some("postgres://x/y".into()), ..Default::default() });
        assert_eq!(settings.server.port, 0);
        assert_eq!(settings.database_url().expose_secret(), "postgres://x/y");
    }

    #[test]
    fn unknown_keys_in_a_config_file_are_refused() {
        let figment =
            Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string("[server]\nportt = 1"));
        assert!(figment.extract::<Settings>().is_err());
    }

    #[test]
    fn secrets_load_from_a_file_and_never_print() {
        let file = r#"
            [database]
            url = "postgres://marquee:db-password-5f1c@db.internal/marquee"
            [auth]
            jwt_secret = "jwt-secret-value-8d2e"
            [audit]
            pseudonym_secret = "pseudonym-secret-value-1b7a"
            checkpoint_signing_key = "checkpoint-key-value-9c3f"
            [models]
            store = "s3"
            [models.s3]
            bucket = "models"
            access_key_id = "s3-key-id-value-2a9b"
            secret_access_key = "s3-secret-value-7c1e"
        "#;
        let settings: Settings =
            Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(file)).extract().unwrap();
        assert_eq!(settings.auth.jwt_secret.expose_secret(), "jwt-secret-value-8d2e");
        assert_eq!(settings.audit.pseudonym_secret.expose_secret(), "pseudonym-secret-value-1b7a");
        assert_eq!(settings.audit.checkpoint_signing_key.expose_secret(), "checkpoint-key-value-9c3f");
        assert!(settings.database_url().expose_secret().contains("db-password-5f1c"));
        assert_eq!(settings.models.store, Some(ModelStoreKind::S3));
        assert_eq!(settings.models.s3.secret_access_key.expose_secret(), "s3-secret-value-7c1e");
        // A round trip through figment (how `load` layers the defaults) keeps them.
        let again: Settings = Figment::from(Serialized::defaults(settings.clone())).extract().unwrap();
        assert_eq!(again.auth.jwt_secret.expose_secret(), "jwt-secret-value-8d2e");
        assert_eq!(again.models.s3.access_key_id.expose_secret(), "s3-key-id-value-2a9b");

        let overrides =
            Overrides { database_url: Some("postgres://u:flag-password-4e0d@h/db".into()), ..Default::default() };
        let printed = format!("{settings:?}\n{settings:#?}\n{overrides:?}\n{:?}", settings.database_url());
        for secret in [
            "db-password",
            "jwt-secret-value",
            "pseudonym-secret-value",
            "checkpoint-key-value",
            "flag-password",
            "s3-key-id-value",
            "s3-secret-value",
        ] {
            assert!(!printed.contains(secret), "`{secret}` is printed: {printed}");
        }
        assert!(printed.contains("REDACTED"), "{printed}");
    }

    /// Every setting's dotted key (`auth.rate_limit.client_burst`), from the serialized
    /// defaults: a key the code adds is found without a list to keep up to date.
    fn setting_keys() -> BTreeSet<String> {
        fn walk(prefix: &str, value: &serde_json::Value, keys: &mut BTreeSet<String>) {
            match value {
                serde_json::Value::Object(map) if !map.is_empty() => {
                    for (name, value) in map {
                        let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                        walk(&key, value, keys);
                    }
                }
                _ => {
                    keys.insert(prefix.to_owned());
                }
            }
        }
        let mut keys = BTreeSet::new();
        walk("", &serde_json::to_value(Settings::default()).unwrap(), &mut keys);
        keys
    }

    /// The keys in the first column of the tables of docs/configuration.md. A cell may name
    /// several keys: `` `server.host` / `server.port` ``, or after a full key, keys of the
    /// same section by their last part (`` `auth.rate_limit.client_burst` / `client_per_sec` ``).
    fn documented_keys(doc: &str) -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        for line in doc.lines().filter(|l| l.starts_with('|')) {
            let first_cell = line.split('|').nth(1).unwrap_or_default();
            let names: Vec<&str> = first_cell.split('`').skip(1).step_by(2).collect();
            let section = names.first().and_then(|first| first.rsplit_once('.')).map(|(section, _)| section);
            for (i, name) in names.iter().enumerate() {
                match section {
                    Some(section) if i > 0 && !name.contains('.') => keys.insert(format!("{section}.{name}")),
                    _ => keys.insert((*name).to_owned()),
                };
            }
        }
        keys
    }

    #[test]
    fn the_configuration_doc_lists_exactly_the_settings_the_code_has() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
        let documented = documented_keys(&std::fs::read_to_string(path).unwrap());
        let code = setting_keys();
        let undocumented: Vec<_> = code.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&code).collect();
        assert!(
            undocumented.is_empty() && unknown.is_empty(),
            "docs/configuration.md lacks the settings {undocumented:?} and documents ones the code does not have: \
             {unknown:?}"
        );
    }

    #[test]
    fn the_doc_parser_reads_shared_cells_and_the_walk_finds_nested_keys() {
        let doc = "| key | default |\n|---|---|\n| `data_dir` | `data` |\n| `server.host` / `server.port` | x |\n\
                   | `auth.rate_limit.client_burst` / `client_per_sec` | 60 / `1.0` |\n";
        let keys: Vec<_> = documented_keys(doc).into_iter().collect();
        assert_eq!(
            keys,
            [
                "auth.rate_limit.client_burst",
                "auth.rate_limit.client_per_sec",
                "data_dir",
                "server.host",
                "server.port"
            ]
        );
        let code = setting_keys();
        assert!(code.contains("auth.rate_limit.max_tracked_keys") && code.contains("server.trusted_proxies"));
        assert!(!code.contains("auth") && !code.contains("auth.rate_limit"), "sections are not settings");
    }
}
