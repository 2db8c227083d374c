//! The test harness. Each backend's server runs on its own thread and runtime for the
//! whole run; tests talk to it over HTTP and reach its services through its runtime
//! handle when they need the operator's powers (creating tenants).

use std::sync::OnceLock;

use api::config::Settings;
use api::startup::Application;
use domain::Services;
use domain::access::{self, NewTenant};
use domain::tenants::ids::{Email, TenantSlug};

mod client;
pub mod db_proxy;
mod fixtures;
pub mod process;
pub mod services;

pub use client::{Answer, assert_error, assert_refused, error_code};
pub use fixtures::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestServer {
    pub base_url: String,
    pub database_url: String,
    /// What the server was started with, to start other processes beside it.
    pub settings: Settings,
    handle: tokio::runtime::Handle,
    app: domain::App,
    http: reqwest::Client,
    stop: actix_web::dev::ServerHandle,
}

/// Stops a dedicated server (and closes its database pool) when the test that started
/// it ends, even by a panic: a whole run starts dozens, and idle ones would hold
/// PostgreSQL's connections until later tests found none left.
#[must_use = "the server stops when this is dropped"]
pub struct StopOnDrop(&'static TestServer);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // Sends the command now; the server's own thread finishes the stop.
        drop(self.0.stop.stop(true));
    }
}

/// See [`StopOnDrop`].
pub fn stop_when_done(server: &'static TestServer) -> StopOnDrop {
    StopOnDrop(server)
}

pub struct TestTenant {
    pub slug: String,
    pub api_key: String,
    pub owner_email: String,
    pub owner_password: String,
}

/// The operator's token for `/metrics` on every test server.
pub const METRICS_TOKEN: &str = "metrics-token-for-tests-only-0123456789abcdef";

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The shared server for a backend; `None` when PostgreSQL is unreachable outside CI.
pub fn server(backend: Backend) -> Option<&'static TestServer> {
    static SQLITE: OnceLock<TestServer> = OnceLock::new();
    static POSTGRES: OnceLock<Option<TestServer>> = OnceLock::new();
    match backend {
        Backend::Sqlite => Some(
            SQLITE
                .get_or_init(|| start(Backend::Sqlite, Box::new(|_: &mut Settings| {})).expect("start SQLite server")),
        ),
        Backend::Postgres => {
            POSTGRES.get_or_init(|| skip_or_fail(start(Backend::Postgres, Box::new(|_: &mut Settings| {})))).as_ref()
        }
    }
}

fn skip_or_fail(started: anyhow::Result<TestServer>) -> Option<TestServer> {
    match started {
        Ok(server) => Some(server),
        Err(e) if !in_ci() => {
            eprintln!("SKIPPED PostgreSQL tests: {e:#} (under CI=true this fails)");
            None
        }
        Err(e) => panic!("PostgreSQL is required under CI: {e:#}"),
    }
}

/// Changes to the shared servers' settings, or to a dedicated server's.
pub type Configure = Box<dyn FnOnce(&mut Settings) + Send>;

/// A server of its own for a test that needs other settings than the shared one (it
/// runs until the test process ends); `None` when PostgreSQL is unreachable outside CI.
pub fn dedicated_server(backend: Backend, configure: Configure) -> Option<&'static TestServer> {
    let started = start(backend, configure);
    let server = match backend {
        Backend::Sqlite => Some(started.expect("start SQLite server")),
        Backend::Postgres => skip_or_fail(started),
    };
    server.map(|s| &*Box::leak(Box::new(s)))
}

/// Another replica of `server`: a second server on the same database, with a data
/// directory (so a node id) of its own, the same secrets and the same model directory,
/// as replicas are deployed, then `configure`d. It runs until the test process ends.
pub fn replica_of(server: &TestServer, configure: Configure) -> &'static TestServer {
    let base = server.settings.clone();
    let backend = if server.database_url.starts_with("postgres") { Backend::Postgres } else { Backend::Sqlite };
    let replicate: Configure = Box::new(move |settings: &mut Settings| {
        *settings = replica_settings(&base, settings.data_dir.clone());
        configure(settings);
    });
    let started = start_on(backend, replicate, Some(server.database_url.clone())).expect("start a replica");
    Box::leak(Box::new(started))
}

/// `base`'s settings for a replica whose data directory is `data_dir`: its generated
/// secrets are copied there, and model files stay in `base`'s directory.
pub fn replica_settings(base: &Settings, data_dir: std::path::PathBuf) -> Settings {
    std::fs::create_dir_all(&data_dir).expect("replica data directory");
    for file in ["audit_pseudonym_secret", "audit_checkpoint_key"] {
        if base.data_dir.join(file).exists() {
            std::fs::copy(base.data_dir.join(file), data_dir.join(file)).expect("copy a secret");
        }
    }
    let store_dir = match base.models.store_dir.as_str() {
        "" => base.data_dir.join("models").display().to_string(),
        dir => dir.to_owned(),
    };
    let mut settings = Settings { data_dir, ..base.clone() };
    settings.models.store_dir = store_dir;
    settings
}

fn start(backend: Backend, configure: Configure) -> anyhow::Result<TestServer> {
    start_on(backend, configure, None)
}

/// Starts a server on `database` (a fresh one when `None`).
fn start_on(backend: Backend, configure: Configure, database: Option<String>) -> anyhow::Result<TestServer> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new().name(format!("{backend:?}-server")).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                let _ = tx.send(Err(anyhow::anyhow!(e)));
                return;
            }
        };
        runtime.block_on(async move {
            match boot(backend, configure, database).await {
                Ok((app, server)) => {
                    let pool = app.app().services.db.raw().clone();
                    let _ = tx.send(Ok(server));
                    let _ = app.run_until_stopped().await;
                    // The test side keeps its handles (leaked): only closing the pool
                    // hands the connections back to the database.
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), pool.close_by_ref()).await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        // Background work (training, embedding) of a stopped server is abandoned.
        runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    })?;
    rx.recv()?
}

async fn boot(
    backend: Backend,
    configure: Configure,
    database: Option<String>,
) -> anyhow::Result<(Application, TestServer)> {
    let data_dir = std::env::temp_dir().join(format!(
        "marquee-e2e-{}-{:?}-{}",
        std::process::id(),
        backend,
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&data_dir)?;
    let database_url = match (backend, database) {
        (_, Some(url)) => url,
        (Backend::Sqlite, None) => format!("sqlite://{}?mode=rwc", data_dir.join("e2e.db").display()),
        (Backend::Postgres, None) => fresh_pg_database().await?,
    };
    let mut settings = Settings { data_dir: data_dir.clone(), ..Settings::default() };
    settings.server.port = 0;
    settings.server.workers = 2;
    settings.database.url = database_url.clone().into();
    // A configured secret, as replicas use; weak ones are refused at start-up.
    settings.auth.jwt_secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()).into();
    settings.graphql.max_body_bytes = 256 * 1024;
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        let local = manifest_dir().join("../.tools/onnxruntime/libonnxruntime.so.1.31.1");
        settings.onnxruntime.dylib_path = local.display().to_string();
    }
    // The test binary cannot be a model worker; its own worker binary is.
    settings.models.sandbox_program = env!("CARGO_BIN_EXE_marquee-test-onnx-worker").into();
    // No text model on shared servers (the content tests start servers with one): no
    // background embedding, and recommendations without the content blend.
    settings.content.text_model = false;
    // Small, so tests see periodic audit checkpoints after a handful of events.
    settings.audit.checkpoint_every = 5;
    // Every test calls from 127.0.0.1 and many sign in: only the per-account back-off
    // (fresh accounts per test) is left as in production, with locks long enough that a
    // test sees one before it ends.
    let limits = &mut settings.auth.rate_limit;
    limits.client_burst = 1_000_000;
    limits.client_per_sec = 1_000_000.0;
    limits.client_free_failures = 1_000_000;
    limits.backoff_base_secs = 2;
    limits.backoff_max_secs = 8;
    // Each read its own audit event, as most tests count them; coalescing has its own
    // tests on servers of their own.
    settings.audit.read_coalesce_window_secs = 0;
    settings.metrics.token = METRICS_TOKEN.to_owned().into();
    // The suite keeps both cores busy (argon2, training) and starts many pools: waiting
    // 2 s for a connection fails healthy servers. The outage test sets the production
    // bound it measures.
    settings.database.acquire_timeout_ms = 30_000;
    // Request rates off, as many tests send bursts; quota tests set a tenant's own.
    settings.limits.tenant_requests_per_sec = 0.0;
    settings.limits.key_requests_per_sec = 0.0;
    configure(&mut settings);
    show_logs(&settings);
    let app = Application::build(&settings).await?;
    let server = TestServer {
        base_url: format!("http://127.0.0.1:{}", app.port()),
        database_url,
        settings: settings.clone(),
        handle: tokio::runtime::Handle::current(),
        app: app.app().clone(),
        // Tests run on runtimes of their own: pooled connections would die with them.
        // They accept what current GraphQL clients accept: statuses then follow the outcome
        // (docs/errors.md); tests of the older media type ask for it.
        stop: app.handle(),
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .default_headers(reqwest::header::HeaderMap::from_iter([(
                reqwest::header::ACCEPT,
                reqwest::header::HeaderValue::from_static("application/graphql-response+json, application/json;q=0.9"),
            )]))
            .build()?,
    };
    Ok((app, server))
}

/// With `TEST_LOG=1`, the servers' logs go to standard output, past the test harness's
/// capture (they show live, beside every test), at `RUST_LOG`'s level or the configured
/// one. Off by default: a whole run logs a great deal.
fn show_logs(settings: &Settings) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let wanted = std::env::var("TEST_LOG").is_ok_and(|v| !v.is_empty() && v != "0");
    if wanted {
        // The shared servers export no traces (telemetry.rs runs processes that do).
        ONCE.call_once(|| drop(api::telemetry::init(&settings.log, &settings.telemetry)));
    }
}

/// A database of its own for this run; databases of runs whose process is gone are
/// dropped first.
async fn fresh_pg_database() -> anyhow::Result<String> {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let admin = Database::connect(PG_ADMIN_URL).await?;
    let rows = admin
        .query_all_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT datname FROM pg_database WHERE datname LIKE 'marquee_e2e_%'",
        ))
        .await?;
    for row in rows {
        let name: String = row.try_get("", "datname")?;
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
    let name = format!("marquee_e2e_{}_{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
    admin.close().await?;
    Ok(format!("postgres://postgres@127.0.0.1:5432/{name}"))
}

impl TestServer {
    /// Runs operator work inside the server's runtime (its pools live there).
    pub async fn operator<F, Fut, T>(&self, f: F) -> T
    where
        F: FnOnce(Services) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.operator_app(|app| f(app.services)).await
    }

    /// As [`TestServer::operator`], with the model subsystem too.
    pub async fn operator_app<F, Fut, T>(&self, f: F) -> T
    where
        F: FnOnce(domain::App) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let app = self.app.clone();
        self.handle.spawn(f(app)).await.expect("operator task")
    }

    pub async fn new_tenant(&self) -> TestTenant {
        let slug = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let slug_for_task = slug.clone();
        let created = self
            .operator(move |services| async move {
                access::create_tenant(
                    &services,
                    NewTenant {
                        slug: TenantSlug::parse(&slug_for_task).expect("slug"),
                        name: format!("Tenant {slug_for_task}"),
                        owner_email: Email::parse(&format!("owner@{slug_for_task}.example")).expect("email"),
                        owner_password: None,
                    },
                )
                .await
                .map(|c| (c.api_key_secret, c.owner.email.as_str().to_owned(), c.owner_password))
                .map_err(|e| e.to_string())
            })
            .await
            .expect("create tenant");
        TestTenant { slug, api_key: created.0, owner_email: created.1, owner_password: created.2 }
    }

    /// This server's name as a sender of changes to other replicas.
    pub fn change_origin(&self) -> String {
        self.app.services.serving_cache.origin().to_owned()
    }

    /// A direct connection as the database owner, to inspect what is stored at rest.
    pub async fn raw_db(&self) -> sea_orm::DatabaseConnection {
        sea_orm::Database::connect(self.database_url.clone()).await.expect("raw db connection")
    }
}

/// One value of the one row a query answers (panics when there is no row).
pub async fn query_value<T: sea_orm::TryGetable>(db: &impl sea_orm::ConnectionTrait, column: &str, sql: String) -> T {
    let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql.clone());
    let row = db.query_one_raw(statement).await.unwrap().unwrap_or_else(|| panic!("no row: {sql}"));
    row.try_get("", column).unwrap_or_else(|e| panic!("{column} of {sql}: {e}"))
}

/// Runs the body once per backend, as two tests: `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = $crate::helpers::server($crate::helpers::Backend::Sqlite).expect("sqlite");
                ($body)(server).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(server) = $crate::helpers::server($crate::helpers::Backend::Postgres) {
                    ($body)(server).await;
                }
            }
        }
    };
}

/// Runs the body on a dedicated server per backend, configured by `$configure`, as two
/// tests: `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_dedicated_servers {
    ($name:ident, $configure:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server =
                    $crate::helpers::dedicated_server($crate::helpers::Backend::Sqlite, $configure).expect("sqlite");
                let _stop = $crate::helpers::stop_when_done(server);
                ($body)(server).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(server) = $crate::helpers::dedicated_server($crate::helpers::Backend::Postgres, $configure)
                {
                    let _stop = $crate::helpers::stop_when_done(server);
                    ($body)(server).await;
                }
            }
        }
    };
}

/// This crate's folder as cargo names it when it runs the tests; the folder baked in at
/// compile time only when run by hand (a shared build cache may hold a binary built in
/// another checkout).
pub fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from)
}
