//! The test harness. Each backend's server runs on its own thread and runtime for the
//! whole run; tests talk to it over HTTP and reach its services through its runtime
//! handle when they need the operator's powers (creating tenants).

use std::sync::OnceLock;

use api::config::Settings;
use api::startup::Application;
use domain::Services;
use domain::access::{self, NewTenant};
use domain::tenants::ids::{Email, TenantSlug};
use serde_json::{Value, json};

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
    services: Services,
    http: reqwest::Client,
}

pub struct TestTenant {
    pub slug: String,
    pub api_key: String,
    pub owner_email: String,
    pub owner_password: String,
}

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

fn start(backend: Backend, configure: Configure) -> anyhow::Result<TestServer> {
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
            match boot(backend, configure).await {
                Ok((app, server)) => {
                    let _ = tx.send(Ok(server));
                    let _ = app.run_until_stopped().await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
    })?;
    rx.recv()?
}

async fn boot(backend: Backend, configure: Configure) -> anyhow::Result<(Application, TestServer)> {
    let data_dir = std::env::temp_dir().join(format!(
        "marquee-e2e-{}-{:?}-{}",
        std::process::id(),
        backend,
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&data_dir)?;
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", data_dir.join("e2e.db").display()),
        Backend::Postgres => fresh_pg_database().await?,
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
    configure(&mut settings);
    if std::env::var_os("TEST_LOG").is_some() {
        api::telemetry::init(&settings.log);
    }
    let app = Application::build(&settings).await?;
    let server = TestServer {
        base_url: format!("http://127.0.0.1:{}", app.port()),
        database_url,
        settings: settings.clone(),
        handle: tokio::runtime::Handle::current(),
        services: app.services().clone(),
        // Tests run on runtimes of their own: pooled connections would die with them.
        http: reqwest::Client::builder().pool_max_idle_per_host(0).build()?,
    };
    Ok((app, server))
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
        let services = self.services.clone();
        self.handle.spawn(f(services)).await.expect("operator task")
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

    /// POSTs a GraphQL request; returns the HTTP status and the JSON body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.base_url))
            .header("content-type", "application/json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("http request");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// POSTs a GraphQL request with extra headers; returns the status, the headers and the body.
    pub async fn gql_with_headers(
        &self,
        query: &str,
        variables: Value,
        headers: &[(&str, String)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.base_url))
            .header("content-type", "application/json")
            .json(&json!({ "query": query, "variables": variables }));
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let response = request.send().await.expect("http request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    /// POSTs raw bytes with a content type, for malformed-input tests.
    pub async fn post_raw(&self, token: Option<&str>, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let mut request =
            self.http.post(format!("{}/graphql", self.base_url)).header("content-type", content_type).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("http request");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// A direct connection as the database owner, to inspect what is stored at rest.
    pub async fn raw_db(&self) -> sea_orm::DatabaseConnection {
        sea_orm::Database::connect(self.database_url.clone()).await.expect("raw db connection")
    }

    pub async fn login(&self, tenant: &TestTenant) -> Value {
        let (status, body) = self
            .gql(
                None,
                "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken expiresIn member { id email role } } }",
                json!({ "i": { "tenant": tenant.slug, "email": tenant.owner_email, "password": tenant.owner_password } }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"]["login"].clone()
    }
}

/// The first error's `extensions.code`, or "" when there is none.
pub fn error_code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("").to_owned()
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

/// This crate's folder as cargo names it when it runs the tests; the folder baked in at
/// compile time only when run by hand (a shared build cache may hold a binary built in
/// another checkout).
pub fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from)
}
