//! Building the application from settings, in a form tests can call: bind (port 0 for a
//! free one), report the port, run.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context as _;
use domain::ServicesConfig;
use domain::audit::AuditConfig;
use domain::content::ContentConfig;
use domain::models::artifacts::{S3Settings, StoreChoice};
use domain::models::{JobRunner, ModelsConfig, SandboxSettings};
use domain::tenants::auth::AuthConfig;
use domain::tenants::db::DbConfig;
use migrations::{Migrator, MigratorTrait};

use crate::config::{ExposeSecret as _, ModelStoreKind, Settings};
use crate::error_codes::ErrorCodeExt as _;
use crate::graphql::build_schema;
use crate::http::client_addr::TrustedProxies;
use crate::http::console::ConsoleDir;
use crate::http::graphql::GraphqlState;
use crate::http::{graphql, health};
use crate::node::Process;
use crate::secrets::ServerSecrets;

/// Room for the parsed forms of the queries clients send, by total query length.
const DOCUMENT_CACHE_BYTES: u64 = 4 * 1024 * 1024;

pub struct Application {
    port: u16,
    server: Server,
    app: domain::App,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let trusted_proxies = TrustedProxies::parse(&settings.server.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("server.trusted_proxies: {e}"))?;
        let app = connect_server(settings).await?;
        if settings.server.heap_trim_secs > 0 {
            inference::native_memory::trim_periodically(std::time::Duration::from_secs(settings.server.heap_trim_secs))
                .context("cannot start the heap-trimming thread")?;
        }
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .with_context(|| format!("cannot bind {}:{}", settings.server.host, settings.server.port))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(GraphqlState {
            schema: build_schema(Some(app.clone()), &settings.graphql),
            measuring: crate::graphql::build_measuring_schema(&settings.graphql),
            app: app.clone(),
            limits: settings.graphql.clone(),
            documents: graphql::DocumentCache::new(DOCUMENT_CACHE_BYTES),
            trusted_proxies,
        });
        let metrics_access =
            web::Data::new(crate::http::metrics::MetricsAccess { token: settings.metrics.token.clone() });
        let workers = if settings.server.workers == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
        } else {
            settings.server.workers
        };
        let console = web::Data::new(ConsoleDir(settings.console_dir()));
        let session_cookies = web::Data::new(crate::http::console_session::SessionCookies {
            refresh_ttl_secs: settings.auth.refresh_token_ttl_secs,
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(metrics_access.clone())
                .app_data(console.clone())
                .app_data(session_cookies.clone())
                .route("/auth/login", web::post().to(crate::http::console_session::login))
                .route("/auth/session/refresh", web::post().to(crate::http::console_session::refresh))
                .route("/auth/session/logout", web::post().to(crate::http::console_session::logout))
                .route("/console", web::get().to(crate::http::console::redirect))
                .route("/console/{tail:.*}", web::get().to(crate::http::console::serve))
                .route("/graphql", web::post().to(graphql::post))
                .route("/graphql", web::get().to(graphql::get))
                .route("/models/upload", web::post().to(crate::http::upload::upload_model))
                .route("/healthz", web::get().to(health::healthz))
                .route("/readyz", web::get().to(health::readyz))
                .route("/metrics", web::get().to(crate::http::metrics::metrics))
                .default_service(web::to(not_found))
        })
        .workers(workers)
        .listen(listener)?
        .run();
        tracing::info!(address = %format!("http://{}:{}", settings.server.host, port), "marquee listening");
        if settings.server.role.runs_jobs() {
            domain::models::queue::spawn_worker(app.models.clone());
        }
        crate::jobs::spawn_retention(app.clone(), settings.privacy.retention_interval_secs);
        crate::jobs::spawn_erasure_retraining(app.clone(), settings.privacy.retrain_check_interval_secs);
        crate::jobs::spawn_audit_archival(
            app.clone(),
            settings.audit.archive_every_secs,
            settings.audit.archive_keep_hot_events,
        );
        Ok(Self { port, server, app })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn app(&self) -> &domain::App {
        &self.app
    }

    /// Stops the server from outside its task (tests that start and retire many).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // On SIGTERM or Ctrl-C, actix stops accepting and lets the requests in flight finish.
        let outcome = self.server.await;
        // Jobs this process holds go back to the queue for another worker at once,
        // rather than after their lease.
        match domain::models::queue::release_held(&self.app.models).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "training jobs handed back to the queue"),
            Err(e) => tracing::error!(error = ?e, "could not hand back the jobs this process holds"),
        }
        // A graceful stop commits the reads audited in its last moments.
        if let Err(e) = self.app.services.read_audit.flush().await {
            tracing::error!(error = ?e, "could not write the last read audit events");
        }
        outcome
    }
}

async fn not_found() -> HttpResponse {
    let code = domain::ErrorCode::NotFound.graphql_code();
    HttpResponse::NotFound().json(serde_json::json!({
        "errors": [{ "message": "no such endpoint; GraphQL is at /graphql", "extensions": { "code": code } }]
    }))
}

/// Connects to the database (running migrations first when asked) and builds the
/// shared services, for a CLI command: it touches no job but its own.
pub async fn connect(settings: &Settings, migrate: bool) -> anyhow::Result<domain::App> {
    connect_as(settings, migrate, Process::Cli).await
}

/// Connects as a starting server: the only caller that declares jobs dead, and only
/// those an earlier instance of this node left unfinished.
pub async fn connect_server(settings: &Settings) -> anyhow::Result<domain::App> {
    let app = connect_as(settings, settings.database.migrate_on_start, Process::Server).await?;
    // Replicas on one PostgreSQL database hear each other's changes at once.
    if app.services.relay_changes() {
        tracing::info!(channel = domain::change_relay::CHANNEL, "changes are relayed between replicas");
    }
    let interrupted = domain::models::fail_interrupted_jobs(&app.models).await?;
    if interrupted > 0 {
        tracing::warn!(jobs = interrupted, "training jobs of this node's previous run were marked failed");
    }
    Ok(app)
}

/// As [`connect`], owning the jobs it queues as a `process` of this node.
pub async fn connect_as(settings: &Settings, migrate: bool, process: Process) -> anyhow::Result<domain::App> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create data directory {}", settings.data_dir.display()))?;
    // Secrets first: a weak one stops the start before anything touches the database.
    let secrets = ServerSecrets::load(settings)?;
    let url = settings.database_url();
    if migrate {
        run_migrations(url.expose_secret()).await?;
    }
    let config = ServicesConfig {
        database: DbConfig {
            url,
            app_role: Some(settings.database.app_role.clone()).filter(|r| !r.is_empty()),
            max_connections: settings.database.max_connections,
            acquire_timeout: std::time::Duration::from_millis(settings.database.acquire_timeout_ms.max(100)),
        },
        auth: AuthConfig {
            jwt_secret: secrets.jwt,
            access_token_ttl_secs: settings.auth.access_token_ttl_secs,
            refresh_token_ttl_secs: settings.auth.refresh_token_ttl_secs,
            key_cache_ttl_secs: settings.auth.key_cache_ttl_secs,
            password_workers: match settings.auth.password_workers {
                0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
                n => n,
            },
        },
        audit: AuditConfig {
            pseudonym_secret: secrets.audit_pseudonym.expose_secret().to_vec(),
            checkpoint_signing_key: secrets.audit_checkpoint.expose_secret().to_vec(),
            checkpoint_every: settings.audit.checkpoint_every,
            failed_login_threshold: settings.audit.failed_login_threshold,
            failed_login_window: std::time::Duration::from_secs(settings.audit.failed_login_window_secs),
            read_coalesce_window: std::time::Duration::from_secs(settings.audit.read_coalesce_window_secs),
            archive_dir: match settings.audit.archive_dir.as_str() {
                "" => settings.data_dir.join("audit-archive"),
                dir => dir.into(),
            },
        },
        throttle: settings.auth.rate_limit.to_config(),
        limits: settings.limits.to_limits(),
        redis_url: Some(settings.redis.url.clone()).filter(|u| !u.expose_secret().trim().is_empty()),
        redis_key_prefix: settings.redis.key_prefix.clone(),
    };
    let node_id = crate::node::node_id(&settings.data_dir, process)?;
    let models = ModelsConfig {
        store: model_store(settings)?,
        onnxruntime_path: settings.onnxruntime_path(),
        training_threads: settings.models.training_threads,
        tuning_budget: match settings.models.tuning_budget_secs {
            0 => None,
            secs => Some(std::time::Duration::from_secs(secs)),
        },
        ease_memory_budget: usize::try_from(settings.models.ease_memory_mib << 20).unwrap_or(usize::MAX),
        sessions_per_model: settings.models.sessions_per_model,
        max_upload_bytes: settings.models.max_upload_bytes,
        person_cache_events: settings.models.person_cache_events,
        person_cache_ttl: std::time::Duration::from_secs(settings.models.person_cache_ttl_secs),
        answer_cache: settings.models.answer_cache,
        catalog_ttl: std::time::Duration::from_secs(settings.models.catalog_ttl_secs),
        pause_before_store: std::time::Duration::from_millis(settings.models.test_pause_before_store_ms),
        sandbox: SandboxSettings {
            program: settings.sandbox_program()?,
            args: vec![crate::cli::ONNX_WORKER_COMMAND.to_owned()],
            memory_limit_bytes: settings.models.sandbox_memory_mib << 20,
            timeout: std::time::Duration::from_millis(settings.models.sandbox_timeout_ms),
            probe_timeout: std::time::Duration::from_millis(settings.models.sandbox_probe_timeout_ms),
            workers: settings.models.sandbox_workers,
        },
        node_id: node_id.clone(),
        job_runner: match process {
            Process::Cli => JobRunner::Local,
            Process::Server if settings.server.role.runs_jobs() => JobRunner::Worker,
            Process::Server => JobRunner::None,
        },
        job_lease: std::time::Duration::from_secs(settings.models.job_lease_secs.max(1)),
    };
    let content = ContentConfig {
        model_dir: settings.text_model_dir(),
        onnxruntime_path: settings.onnxruntime_path(),
        // Only servers embed: a CLI command would leave a batch half done when it exits.
        run_worker: process == Process::Server,
        batch_size: settings.content.batch_size.max(1),
        worker_threads: settings.content.worker_threads.max(1),
        worker_lowest_priority: settings.content.worker_lowest_priority,
        query_threads: settings.content.query_threads.max(1),
        lease: std::time::Duration::from_secs(settings.content.lease_secs.max(1)),
        max_attempts: settings.content.max_attempts.max(1),
        blend_weight: settings.content.blend_weight,
        min_group_size: settings.content.min_group_size.max(1),
        ..ContentConfig::default()
    };
    Ok(domain::App::connect(&config, models, content).await?)
}

/// `models.store`, defaulting by database: disk beside SQLite, the database itself on
/// PostgreSQL, where replicas share nothing else.
fn model_store(settings: &Settings) -> anyhow::Result<StoreChoice> {
    let on_postgres = settings.database_url().expose_secret().starts_with("postgres");
    let kind =
        settings.models.store.unwrap_or(if on_postgres { ModelStoreKind::Database } else { ModelStoreKind::Disk });
    Ok(match kind {
        ModelStoreKind::Disk => StoreChoice::Disk(match settings.models.store_dir.as_str() {
            "" => settings.data_dir.join("models"),
            dir => std::path::PathBuf::from(dir),
        }),
        // SQLite has one writer: a model file written in a transaction of its own while
        // a deployment's transaction waits for it would never finish.
        ModelStoreKind::Database if !on_postgres => {
            anyhow::bail!("models.store = \"database\" needs PostgreSQL; beside SQLite, model files stay on disk")
        }
        ModelStoreKind::Database => StoreChoice::Database,
        ModelStoreKind::S3 => {
            let s3 = &settings.models.s3;
            StoreChoice::S3(S3Settings {
                bucket: s3.bucket.clone(),
                endpoint: s3.endpoint.clone(),
                region: s3.region.clone(),
                prefix: s3.prefix.clone(),
                access_key_id: s3.access_key_id.clone(),
                secret_access_key: s3.secret_access_key.clone(),
                allow_http: s3.allow_http,
            })
        }
    })
}

/// Migrations run as the connecting user (who owns the schema), not the app role.
pub async fn run_migrations(url: &str) -> anyhow::Result<()> {
    let mut options = sea_orm::ConnectOptions::new(url.to_owned());
    options.max_connections(1).sqlx_logging(false);
    let conn = sea_orm::Database::connect(options).await.context("cannot connect to the database")?;
    Migrator::up(&conn, None).await.context("migrations failed")?;
    conn.close().await.ok();
    Ok(())
}
