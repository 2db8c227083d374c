//! The composition root: everything a process needs, built once from configuration.

use crate::error::Result;
use crate::models::{ModelServices, ModelsConfig};
use crate::services::{Services, ServicesConfig};

/// The shared handles and the model subsystem built on them. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub services: Services,
    pub models: ModelServices,
}

impl App {
    pub async fn connect(config: &ServicesConfig, models: ModelsConfig) -> Result<Self> {
        Ok(Self::new(Services::connect(config).await?, models))
    }

    pub fn new(services: Services, models: ModelsConfig) -> Self {
        Self { models: ModelServices::new(services.clone(), models), services }
    }
}
