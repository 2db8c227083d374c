//! Database access with tenant isolation. On PostgreSQL every transaction sets
//! `marquee.tenant_id` (or, for an explicit system context, `marquee.system`) with
//! `set_config(..., true)`, the transaction-local form of `SET LOCAL`, and the
//! connection runs as a role that row-level security applies to, so a query that
//! forgot its `tenant_id` filter still sees only one tenant.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};

use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    IsolationLevel, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use crate::ctx::{SystemCtx, TenantCtx};
use crate::error::{Result, TenantsError};
use crate::ids::TenantId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbBackendKind {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    kind: DbBackendKind,
    /// SQLite has one writer at a time; write transactions of this process queue here
    /// (first come, first served) instead of polling SQLite's busy handler, which
    /// sleeps in growing steps and wastes most of the wait.
    sqlite_writer: Arc<tokio::sync::Mutex<()>>,
    /// On PostgreSQL, how to open connections of its own outside the pool (a listener
    /// holds one for as long as the process runs).
    pg_options: Option<sea_orm::sqlx::postgres::PgConnectOptions>,
}

/// SQLite page cache of the whole pool, in KiB.
const SQLITE_CACHE_KIB: u64 = 32 * 1024;
/// The least one connection gets, whatever the pool's size.
const SQLITE_MIN_CACHE_KIB: u64 = 2 * 1024;

/// How long a write transaction waits for its turn on SQLite before giving up.
const SQLITE_WRITER_WAIT: Duration = Duration::from_secs(30);

/// How the service connects. `app_role` is the PostgreSQL role that row-level
/// security applies to; the service switches to it at connection start.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// Secret: it may carry the password (`Debug` prints `[REDACTED]`).
    pub url: SecretString,
    pub app_role: Option<String>,
    pub max_connections: u32,
    /// How long a request waits for a connection before it fails (`UNAVAILABLE` when the
    /// database cannot be reached), rather than hanging.
    pub acquire_timeout: Duration,
}

impl Db {
    pub async fn connect(config: &DbConfig) -> Result<Self> {
        let config_url = config.url.expose_secret();
        let kind = if config_url.starts_with("postgres") { DbBackendKind::Postgres } else { DbBackendKind::Sqlite };
        let url = match (&config.app_role, kind) {
            (Some(role), DbBackendKind::Postgres) => with_pg_role(config_url, role),
            _ => config_url.to_owned(),
        };
        let pg_options = match kind {
            DbBackendKind::Postgres => Some(
                url.parse::<sea_orm::sqlx::postgres::PgConnectOptions>()
                    .map_err(|e| TenantsError::Internal(format!("database url: {e}")))?,
            ),
            DbBackendKind::Sqlite => None,
        };
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(config.max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(match kind {
                DbBackendKind::Postgres => config.acquire_timeout,
                // The file is always there: a wait means many requests, not an outage.
                DbBackendKind::Sqlite => config.acquire_timeout.max(Duration::from_secs(30)),
            })
            .sqlx_logging(false);
        // Per connection (one hook: a second `map_sqlx_sqlite_opts` would replace it):
        // WAL with `synchronous=NORMAL`, the setting SQLite recommends with WAL (no
        // corruption on power loss, only the last commits may be rolled back; no fsync per
        // commit, which is what lets many small audited transactions through); page
        // caches of [`SQLITE_CACHE_KIB`] in all, shared out over the pool (each
        // connection keeps its own, and under sustained load every one fills up: 64 MiB
        // each on 16 connections let the process grow past a gigabyte; serving reads
        // from its own caches, so what SQLite caches is mostly the audit log's newest
        // pages, and the operating system caches the file anyway); statement journals in memory, not in temporary files (every
        // multi-row insert keeps one); the WAL folded back into the database every 10,000
        // pages rather than 1,000, so pages rewritten by many commits (the audit chain's
        // head, the newest leaves) are copied once per checkpoint, not once per few
        // commits; and a writer waits up to 10 s for the lock instead of failing. No
        // memory-mapped I/O: each commit that grew the file made every connection remap
        // it, which cost more than the copies it saved.
        let cache_kib = (SQLITE_CACHE_KIB / u64::from(config.max_connections.max(1))).max(SQLITE_MIN_CACHE_KIB);
        let cache_size = format!("-{cache_kib}");
        options.map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("cache_size", cache_size.clone())
                .pragma("temp_store", "memory")
                .pragma("wal_autocheckpoint", "10000")
        });
        let conn = Database::connect(options).await?;
        if kind == DbBackendKind::Sqlite {
            // WAL lets readers proceed during writes; it persists in the file.
            conn.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;").await?;
        }
        Ok(Self { conn, kind, sqlite_writer: Arc::new(tokio::sync::Mutex::new(())), pg_options })
    }

    pub fn kind(&self) -> DbBackendKind {
        self.kind
    }

    /// For health checks and migrations only; data access goes through transactions.
    pub fn raw(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// The pool's connections now: (in use, idle, most allowed), for `/metrics`.
    pub fn pool_usage(&self) -> (u32, u32, u32) {
        let (size, idle, max) = match self.kind {
            DbBackendKind::Sqlite => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle(), pool.options().get_max_connections())
            }
            DbBackendKind::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle(), pool.options().get_max_connections())
            }
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        (size.saturating_sub(idle), idle, max)
    }

    /// On PostgreSQL, a `LISTEN` connection of its own (not one of the pool's), named
    /// `application_name` so an operator can find it in `pg_stat_activity`. It connects
    /// again, with the same options, when its connection is lost. `None` on SQLite.
    pub async fn pg_listener(&self, application_name: &str) -> Result<Option<sea_orm::sqlx::postgres::PgListener>> {
        let Some(options) = &self.pg_options else { return Ok(None) };
        let pool = sea_orm::sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options.clone().application_name(application_name));
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await.map_err(sqlx_error)?;
        listener.ignore_pool_close_event(true);
        Ok(Some(listener))
    }

    /// The same database through a pool of its own, for a task that runs for as long as
    /// the process: on PostgreSQL a connection belongs to the runtime that opened it, so
    /// the shared pool's connections opened by the HTTP workers fail once those workers
    /// stop, and at a graceful stop the read audit's last batch (every read still being
    /// coalesced) was lost with "the runtime is being shut down". This pool's
    /// connections are opened by whoever uses them, on that task's runtime, and closed
    /// after a minute idle. SQLite's connections run on threads of their own: the same
    /// pool.
    pub fn own_pool(&self, max_connections: u32, application_name: &str) -> Self {
        let Some(options) = &self.pg_options else { return self.clone() };
        let pool = sea_orm::sqlx::postgres::PgPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(0)
            .idle_timeout(Duration::from_secs(60))
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(options.clone().application_name(application_name));
        Self {
            conn: sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool),
            kind: self.kind,
            sqlite_writer: self.sqlite_writer.clone(),
            pg_options: self.pg_options.clone(),
        }
    }

    /// On PostgreSQL, the pool's own handle, for what sea-orm does not offer
    /// (`pg_notify`). `None` on SQLite.
    pub fn pg_pool(&self) -> Option<&sea_orm::sqlx::PgPool> {
        match self.kind {
            DbBackendKind::Postgres => Some(self.conn.get_postgres_connection_pool()),
            DbBackendKind::Sqlite => None,
        }
    }

    pub async fn ping(&self) -> Result<()> {
        self.conn.ping().await?;
        Ok(())
    }

    /// Opens a transaction bound to the context's tenant.
    pub async fn begin(&self, ctx: &TenantCtx) -> Result<TenantTx> {
        self.begin_tenant(ctx, Access::Read).await
    }

    /// Opens a transaction bound to the context's tenant that will write. On SQLite it
    /// waits for this process's writer turn and takes the write lock at `BEGIN
    /// IMMEDIATE`, so a transaction that reads before it writes cannot fail with
    /// `SQLITE_BUSY` when another writer committed meanwhile.
    pub async fn begin_write(&self, ctx: &TenantCtx) -> Result<TenantTx> {
        self.begin_tenant(ctx, Access::Write).await
    }

    /// Like [`Db::begin`], but read-only and with one snapshot for all its statements, for
    /// long reads that must be consistent across pages (verifying the audit log while
    /// others append to it). SQLite transactions read from one snapshot anyway.
    pub async fn begin_snapshot(&self, ctx: &TenantCtx) -> Result<TenantTx> {
        self.begin_tenant(ctx, Access::Snapshot).await
    }

    /// Opens a transaction that may cross tenants. Callers name why.
    pub async fn begin_system(&self, sys: &SystemCtx) -> Result<SystemTx> {
        tracing::debug!(reason = sys.reason(), "system transaction");
        let (txn, writer) = self.open(Bound::System, Access::Read).await?;
        Ok(SystemTx { txn, writer })
    }

    /// [`Db::begin_system`] for work that reads and then writes (signing in writes a
    /// session and its audit event), with the writer turn of [`Db::begin_write`].
    pub async fn begin_system_write(&self, sys: &SystemCtx) -> Result<SystemTx> {
        tracing::debug!(reason = sys.reason(), "system transaction");
        let (txn, writer) = self.open(Bound::System, Access::Write).await?;
        Ok(SystemTx { txn, writer })
    }

    async fn begin_tenant(&self, ctx: &TenantCtx, access: Access) -> Result<TenantTx> {
        let (txn, writer) = self.open(Bound::Tenant(ctx.tenant_id()), access).await?;
        Ok(TenantTx { txn, ctx: ctx.clone(), _writer: writer })
    }

    /// The one way a transaction starts: the writer turn and `BEGIN IMMEDIATE` for
    /// SQLite writers, the snapshot isolation of long reads on PostgreSQL, and the
    /// tenant (or the system flag) that row-level security reads.
    async fn open(&self, bound: Bound, access: Access) -> Result<(DatabaseTransaction, Option<WriterTurn>)> {
        let (txn, writer) = match (self.kind, access) {
            (DbBackendKind::Sqlite, Access::Write) => {
                let turn = tokio::time::timeout(SQLITE_WRITER_WAIT, self.sqlite_writer.clone().lock_owned())
                    .await
                    .map_err(|_| TenantsError::Internal("timed out waiting for the SQLite writer".into()))?;
                let options = TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                };
                (self.conn.begin_with_options(options).await?, Some(turn))
            }
            (DbBackendKind::Postgres, Access::Snapshot) => {
                let txn = self
                    .conn
                    .begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
                    .await?;
                (txn, None)
            }
            _ => (self.conn.begin().await?, None),
        };
        if self.kind == DbBackendKind::Postgres {
            bound.apply(&txn).await?;
        }
        Ok((txn, writer))
    }
}

/// What a transaction will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
    /// Read-only, one snapshot for every statement.
    Snapshot,
}

/// Whose rows a transaction sees under row-level security.
#[derive(Debug, Clone, Copy)]
enum Bound {
    Tenant(TenantId),
    System,
}

impl Bound {
    /// Sets the transaction-local settings row-level security reads (PostgreSQL only).
    async fn apply(self, txn: &DatabaseTransaction) -> Result<()> {
        let statement = match self {
            Bound::Tenant(tenant) => Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('marquee.tenant_id', $1, true), set_config('marquee.system', 'off', true)",
                [tenant.get().to_string().into()],
            ),
            Bound::System => {
                Statement::from_string(DbBackend::Postgres, "SELECT set_config('marquee.system', 'on', true)")
            }
        };
        txn.execute_raw(statement).await?;
        Ok(())
    }
}

/// A SQLite write transaction's turn, released when the transaction ends.
type WriterTurn = tokio::sync::OwnedMutexGuard<()>;

/// Appends `options=-c role=<role>` so every pooled connection starts as that role.
fn sqlx_error(e: sea_orm::sqlx::Error) -> TenantsError {
    TenantsError::Database(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into())))
}

fn with_pg_role(url: &str, role: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20role%3D{role}")
}

/// A transaction that sees one tenant's rows, for the context that opened it.
pub struct TenantTx {
    txn: DatabaseTransaction,
    ctx: TenantCtx,
    _writer: Option<WriterTurn>,
}

impl TenantTx {
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }
    /// Who the transaction acts for.
    pub fn ctx(&self) -> &TenantCtx {
        &self.ctx
    }
    pub fn tenant_id(&self) -> TenantId {
        self.ctx.tenant_id()
    }
    pub async fn commit(self) -> Result<()> {
        self.txn.commit().await?;
        Ok(())
    }
}

pub struct SystemTx {
    txn: DatabaseTransaction,
    writer: Option<WriterTurn>,
}

impl SystemTx {
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Narrows this transaction to one tenant, so work that had to begin across tenants
    /// (creating a tenant, signing in) can finish in the same commit under row-level
    /// security. The writer turn, if any, stays with the transaction.
    pub async fn scope_to(self, ctx: &TenantCtx) -> Result<TenantTx> {
        if self.txn.get_database_backend() == DbBackend::Postgres {
            Bound::Tenant(ctx.tenant_id()).apply(&self.txn).await?;
        }
        Ok(TenantTx { txn: self.txn, ctx: ctx.clone(), _writer: self.writer })
    }

    pub async fn commit(self) -> Result<()> {
        self.txn.commit().await?;
        Ok(())
    }
}
