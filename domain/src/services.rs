use tenants::auth::{AuthConfig, Authenticator};
use tenants::db::{Db, DbConfig};
use tenants::throttle::{Throttle, ThrottleConfig};

use crate::audit::{AuditConfig, Auditor, ReadAuditQueue};
use crate::error::Result;
use crate::models::{ModelServices, ModelsConfig};

/// What the domain needs from configuration; the binary builds it from its settings.
#[derive(Debug, Clone)]
pub struct ServicesConfig {
    pub database: DbConfig,
    pub auth: AuthConfig,
    pub models: ModelsConfig,
    pub audit: AuditConfig,
    /// Throttling of the credential endpoints, kept in this process.
    pub throttle: ThrottleConfig,
}

/// Long-lived handles shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub auth: Authenticator,
    pub models: ModelServices,
    pub audit: Auditor,
    /// Audit events of reads, appended in batches off the request path.
    pub read_audit: ReadAuditQueue,
    /// Rate limits and back-off of `login`, `refreshSession` and `acceptInvite`.
    pub throttle: Throttle,
    /// Per tenant, the settings the serving path needs on every request (event
    /// weights). Changes made through this process replace the entry at once; a change
    /// made by another process is seen within the cache's time to live.
    pub(crate) settings: crate::fresh_cache::FreshCache<i64, crate::settings::TenantSettings>,
}

impl Services {
    pub async fn connect(config: &ServicesConfig) -> Result<Self> {
        let db = Db::connect(&config.database).await?;
        Self::with_db(db, config)
    }

    pub fn with_db(db: Db, config: &ServicesConfig) -> Result<Self> {
        let auth = Authenticator::new(db.clone(), &config.auth)?;
        let audit = Auditor::new(config.audit.clone())?;
        let read_audit = ReadAuditQueue::start(db.clone(), audit.clone());
        let settings = crate::fresh_cache::FreshCache::new(10_000, crate::settings::CACHE_TTL);
        let throttle = Throttle::in_process(config.throttle);
        Ok(Self { db, auth, models: ModelServices::new(config.models.clone()), audit, read_audit, throttle, settings })
    }
}
