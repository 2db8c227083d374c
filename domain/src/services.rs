use tenants::auth::{AuthConfig, Authenticator};
use tenants::db::{Db, DbConfig};

use crate::error::Result;

/// What the domain needs from configuration; the binary builds it from its settings.
#[derive(Debug, Clone)]
pub struct ServicesConfig {
    pub database: DbConfig,
    pub auth: AuthConfig,
}

/// Long-lived handles shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub auth: Authenticator,
}

impl Services {
    pub async fn connect(config: &ServicesConfig) -> Result<Self> {
        let db = Db::connect(&config.database).await?;
        Self::with_db(db, config)
    }

    pub fn with_db(db: Db, config: &ServicesConfig) -> Result<Self> {
        let auth = Authenticator::new(db.clone(), &config.auth)?;
        Ok(Self { db, auth })
    }
}
