//! For store-level tests: a fresh in-memory SQLite database with the real migrations and
//! one tenant, so the query code that end-to-end tests reach only indirectly can be
//! checked directly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use migrations::{Migrator, MigratorTrait};
use tenants::db::{Db, DbConfig, TenantTx};
use tenants::ids::TenantSlug;
use tenants::{RequestId, SystemCtx, TenantCtx};

pub(crate) struct TestDb {
    pub db: Db,
    /// The operator of the one tenant.
    pub ctx: TenantCtx,
}

impl TestDb {
    pub async fn new() -> Self {
        // One connection: every connection to `:memory:` is a database of its own.
        let config = DbConfig {
            url: "sqlite::memory:".into(),
            app_role: None,
            max_connections: 1,
            acquire_timeout: std::time::Duration::from_secs(30),
        };
        let db = Db::connect(&config).await.expect("in-memory database");
        Migrator::up(db.raw(), None).await.expect("migrations");
        let ctx = Self::add_tenant(&db, "store-test").await;
        Self { db, ctx }
    }

    /// Another tenant beside the first, for isolation checks.
    pub async fn add_tenant(db: &Db, slug: &str) -> TenantCtx {
        let sys = db.begin_system(&SystemCtx::new("store test")).await.expect("system transaction");
        let slug = TenantSlug::parse(slug).expect("slug");
        let tenant = tenants::store::tenants::create(&sys, &slug, "Store test").await.expect("tenant");
        sys.commit().await.expect("commit");
        TenantCtx::operator(tenant.id, RequestId::new())
    }

    pub async fn write(&self) -> TenantTx {
        self.db.begin_write(&self.ctx).await.expect("write transaction")
    }
}
