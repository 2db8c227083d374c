use std::sync::Arc;

use tenants::auth::{AuthConfig, Authenticator};
use tenants::db::{Db, DbConfig};
use tenants::quota::Limits;
use tenants::throttle::{RateLimiter, Throttle, ThrottleConfig};

use crate::audit::{AuditConfig, Auditor, ReadAuditQueue};
use crate::background::Background;
use crate::error::Result;
use crate::fresh_cache::FreshCache;
use crate::metrics::Metrics;
use crate::serving_cache::{Change, ChangeListener, ServingCache};

/// How long a change of a tenant's limits made by another process may take to apply
/// here when no replica told this one (changes here, and relayed ones, apply at once).
const LIMITS_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// What the domain needs from configuration; the binary builds it from its settings.
#[derive(Debug, Clone)]
pub struct ServicesConfig {
    pub database: DbConfig,
    pub auth: AuthConfig,
    pub audit: AuditConfig,
    /// Throttling of the credential endpoints.
    pub throttle: ThrottleConfig,
    /// Every tenant's limits unless the operator set its own.
    pub limits: Limits,
    /// Where request buckets and sign-in failures are counted: Redis at this URL, shared
    /// by every replica, or this process (`None`).
    pub redis_url: Option<secrecy::SecretString>,
    /// What every Redis key of this deployment starts with.
    pub redis_key_prefix: String,
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
    /// Every tenant's limits unless the operator set its own.
    pub default_limits: Limits,
    /// Per tenant, its limits, read on every request.
    pub(crate) limits: FreshCache<i64, Limits>,
    /// Where caches refresh and indexes are read again behind the requests.
    pub background: Background,
}

impl Services {
    pub async fn connect(config: &ServicesConfig) -> Result<Self> {
        let db = Db::connect(&config.database).await?;
        let shared = match &config.redis_url {
            Some(url) => {
                Some(Arc::new(tenants::redis_limiter::RedisLimiter::connect(url, &config.redis_key_prefix).await?)
                    as Arc<dyn RateLimiter>)
            }
            None => None,
        };
        Self::with_db(db, config, shared)
    }

    /// `shared`: where rate limits are counted when not in this process.
    pub fn with_db(db: Db, config: &ServicesConfig, shared: Option<Arc<dyn RateLimiter>>) -> Result<Self> {
        let auth = Authenticator::new(db.clone(), &config.auth)?;
        let audit = Auditor::new(config.audit.clone())?;
        // Its own connections: it writes the last reads after the HTTP workers have stopped.
        let read_audit = ReadAuditQueue::start(
            db.own_pool(2, "marquee-read-audit"),
            audit.clone(),
            config.audit.read_coalesce_window,
        );
        let throttle = match shared {
            Some(shared) => Throttle::new(shared, config.throttle),
            None => Throttle::in_process(config.throttle),
        };
        let serving_cache = ServingCache::default();
        serving_cache.subscribe(Arc::new(VerifiedKeys(auth.clone())));
        let limits = FreshCache::new(10_000, LIMITS_TTL);
        serving_cache.subscribe(Arc::new(CachedLimits(limits.clone())));
        Ok(Self {
            db,
            auth,
            audit,
            read_audit,
            throttle,
            serving_cache,
            metrics: Metrics::new(),
            default_limits: config.limits,
            limits,
            background: Background::current(),
        })
    }

    /// For a server on PostgreSQL: changes announced here reach the other replicas and
    /// theirs reach this one (`change_relay`). Nothing on SQLite.
    pub fn relay_changes(&self) -> bool {
        crate::change_relay::start(&self.db, &self.serving_cache)
    }
}

/// Tenants' limits, as a listener of the change bus (the operator's change of a
/// tenant's limits is a settings change).
struct CachedLimits(FreshCache<i64, Limits>);

impl ChangeListener for CachedLimits {
    fn changed(&self, tenant_id: i64, change: &Change) {
        if *change == Change::Settings {
            self.0.invalidate(&tenant_id);
        }
    }

    fn forget_everything(&self) {
        self.0.invalidate_all();
    }
}

/// The authenticator's cache of verified keys, as a listener of the change bus.
struct VerifiedKeys(Authenticator);

impl ChangeListener for VerifiedKeys {
    fn changed(&self, _tenant_id: i64, change: &Change) {
        if let Change::KeysRevoked(hashes) = change {
            for hash in hashes {
                self.0.forget_key(hash);
            }
        }
    }

    fn forget_everything(&self) {
        self.0.forget_all_keys();
    }
}
