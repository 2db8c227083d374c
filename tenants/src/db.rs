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
}

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
}

impl Db {
    pub async fn connect(config: &DbConfig) -> Result<Self> {
        let config_url = config.url.expose_secret();
        let kind = if config_url.starts_with("postgres") { DbBackendKind::Postgres } else { DbBackendKind::Sqlite };
        let url = match (&config.app_role, kind) {
            (Some(role), DbBackendKind::Postgres) => with_pg_role(config_url, role),
            _ => config_url.to_owned(),
        };
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(config.max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30))
            .sqlx_logging(false);
        // Per connection (one hook: a second `map_sqlx_sqlite_opts` would replace it):
        // WAL with `synchronous=NORMAL`, the setting SQLite recommends with WAL (no
        // corruption on power loss, only the last commits may be rolled back; no fsync per
        // commit, which is what lets many small audited transactions through); a 64 MiB
        // page cache; statement journals in memory, not in temporary files (every
        // multi-row insert keeps one); the WAL folded back into the database every 10,000
        // pages rather than 1,000, so pages rewritten by many commits (the audit chain's
        // head, the newest leaves) are copied once per checkpoint, not once per few
        // commits; and a writer waits up to 10 s for the lock instead of failing. No
        // memory-mapped I/O: each commit that grew the file made every connection remap
        // it, which cost more than the copies it saved.
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("cache_size", "-65536")
                .pragma("temp_store", "memory")
                .pragma("wal_autocheckpoint", "10000")
        });
        let conn = Database::connect(options).await?;
        if kind == DbBackendKind::Sqlite {
            // WAL lets readers proceed during writes; it persists in the file.
            conn.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;").await?;
        }
        Ok(Self { conn, kind, sqlite_writer: Arc::new(tokio::sync::Mutex::new(())) })
    }

    pub fn kind(&self) -> DbBackendKind {
        self.kind
    }

    /// For health checks and migrations only; data access goes through transactions.
    pub fn raw(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub async fn ping(&self) -> Result<()> {
        self.conn.ping().await?;
        Ok(())
    }

    /// Opens a transaction bound to the context's tenant.
    pub async fn begin(&self, ctx: &TenantCtx) -> Result<TenantTx> {
        let txn = self.conn.begin().await?;
        if self.kind == DbBackendKind::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('marquee.tenant_id', $1, true)",
                [ctx.tenant_id().get().to_string().into()],
            ))
            .await?;
        }
        Ok(TenantTx { txn, tenant_id: ctx.tenant_id(), _writer: None })
    }

    /// Opens a transaction bound to the context's tenant that will write. On SQLite it
    /// takes the write lock at `BEGIN IMMEDIATE` (waiting for it under the busy timeout),
    /// so a transaction that reads before it writes cannot fail with `SQLITE_BUSY` when
    /// another writer committed meanwhile. On PostgreSQL it is [`Db::begin`].
    pub async fn begin_write(&self, ctx: &TenantCtx) -> Result<TenantTx> {
        if self.kind == DbBackendKind::Postgres {
            return self.begin(ctx).await;
        }
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let turn = tokio::time::timeout(SQLITE_WRITER_WAIT, self.sqlite_writer.clone().lock_owned())
            .await
            .map_err(|_| TenantsError::Internal("timed out waiting for the SQLite writer".into()))?;
        let txn = self.conn.begin_with_options(options).await?;
        Ok(TenantTx { txn, tenant_id: ctx.tenant_id(), _writer: Some(turn) })
    }

    /// Like [`Db::begin`], but read-only and with one snapshot for all its statements, for
    /// long reads that must be consistent across pages (verifying the audit log while
    /// others append to it). SQLite transactions read from one snapshot anyway.
    pub async fn begin_snapshot(&self, ctx: &TenantCtx) -> Result<TenantTx> {
        if self.kind == DbBackendKind::Sqlite {
            return self.begin(ctx).await;
        }
        let txn = self.conn.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?;
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('marquee.tenant_id', $1, true)",
            [ctx.tenant_id().get().to_string().into()],
        ))
        .await?;
        Ok(TenantTx { txn, tenant_id: ctx.tenant_id(), _writer: None })
    }

    /// Opens a transaction that may cross tenants. Callers name why.
    pub async fn begin_system(&self, sys: &SystemCtx) -> Result<SystemTx> {
        tracing::debug!(reason = sys.reason(), "system transaction");
        let txn = self.conn.begin().await?;
        if self.kind == DbBackendKind::Postgres {
            txn.execute_unprepared("SELECT set_config('marquee.system', 'on', true)").await?;
        }
        Ok(SystemTx { txn })
    }

    /// [`Db::begin_system`] for work that reads and then writes (signing in writes a
    /// session and its audit event): on SQLite it takes the write lock at `BEGIN
    /// IMMEDIATE`, as [`Db::begin_write`] does.
    pub async fn begin_system_write(&self, sys: &SystemCtx) -> Result<SystemTx> {
        if self.kind == DbBackendKind::Postgres {
            return self.begin_system(sys).await;
        }
        tracing::debug!(reason = sys.reason(), "system transaction");
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        Ok(SystemTx { txn: self.conn.begin_with_options(options).await? })
    }
}

/// Appends `options=-c role=<role>` so every pooled connection starts as that role.
fn with_pg_role(url: &str, role: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20role%3D{role}")
}

/// A transaction that sees one tenant's rows.
pub struct TenantTx {
    txn: DatabaseTransaction,
    tenant_id: TenantId,
    /// A SQLite write transaction's turn, released when the transaction ends.
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl TenantTx {
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }
    pub async fn commit(self) -> Result<()> {
        self.txn.commit().await?;
        Ok(())
    }
}

pub struct SystemTx {
    txn: DatabaseTransaction,
}

impl SystemTx {
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Narrows this transaction to one tenant, so work that had to begin across tenants
    /// (creating a tenant) can finish in the same commit under row-level security.
    pub async fn scope_to(self, ctx: &TenantCtx) -> Result<TenantTx> {
        self.scope_to_tenant(ctx.tenant_id()).await
    }

    /// The same for sign-in, which learns the tenant (from a slug or a token) before
    /// anyone is proven to act for it: a failed login is still recorded in that tenant.
    pub(crate) async fn scope_to_tenant(self, tenant_id: TenantId) -> Result<TenantTx> {
        if self.txn.get_database_backend() == DbBackend::Postgres {
            self.txn
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT set_config('marquee.tenant_id', $1, true), set_config('marquee.system', 'off', true)",
                    [tenant_id.get().to_string().into()],
                ))
                .await?;
        }
        Ok(TenantTx { txn: self.txn, tenant_id, _writer: None })
    }
    pub async fn commit(self) -> Result<()> {
        self.txn.commit().await?;
        Ok(())
    }
}
