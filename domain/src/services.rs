use tenants::auth::{AuthConfig, Authenticator};
use tenants::db::{Db, DbConfig};
use tenants::throttle::{Throttle, ThrottleConfig};

use crate::audit::{AuditConfig, Auditor, ReadAuditQueue};
use crate::error::Result;
use crate::metrics::Metrics;
use crate::serving_cache::ServingCache;

/// What the domain needs from configuration; the binary builds it from its settings.
#[derive(Debug, Clone)]
pub struct ServicesConfig {
    pub database: DbConfig,
    pub auth: AuthConfig,
    pub audit: AuditConfig,
    /// Throttling of the credential endpoints, kept in this process.
    pub throttle: ThrottleConfig,
}

/// Long-lived handles every feature shares. Cheap to clone. The model subsystem builds
/// its own handles on top of these (`models::ModelServices`).
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub auth: Authenticator,
    pub audit: Auditor,
    /// Audit events of reads, appended in batches off the request path.
    pub read_audit: ReadAuditQueue,
    /// Rate limits and back-off of `login`, `refreshSession` and `acceptInvite`.
    pub throttle: Throttle,
    /// Where writes announce what they changed, for the caches that listen.
    pub serving_cache: ServingCache,
    /// The process's metrics (`/metrics`), recorded into by whoever holds a clone.
    pub metrics: Metrics,
}

impl Services {
    pub async fn connect(config: &ServicesConfig) -> Result<Self> {
        let db = Db::connect(&config.database).await?;
        Self::with_db(db, config)
    }

    pub fn with_db(db: Db, config: &ServicesConfig) -> Result<Self> {
        let auth = Authenticator::new(db.clone(), &config.auth)?;
        let audit = Auditor::new(config.audit.clone())?;
        let read_audit = ReadAuditQueue::start(db.clone(), audit.clone(), config.audit.read_coalesce_window);
        let throttle = Throttle::in_process(config.throttle);
        Ok(Self {
            db,
            auth,
            audit,
            read_audit,
            throttle,
            serving_cache: ServingCache::default(),
            metrics: Metrics::new(),
        })
    }
}
