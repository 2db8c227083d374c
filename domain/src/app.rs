//! The composition root: everything a process needs, built once from configuration.

use crate::content::{ContentConfig, ContentServices};
use crate::error::Result;
use crate::models::{ModelServices, ModelsConfig};
use crate::services::{Services, ServicesConfig};

/// The shared handles and the subsystems built on them. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub services: Services,
    /// The text model, embeddings, search and insights.
    pub content: ContentServices,
    pub models: ModelServices,
}

impl App {
    pub async fn connect(config: &ServicesConfig, models: ModelsConfig, content: ContentConfig) -> Result<Self> {
        Self::new(Services::connect(config).await?, models, content)
    }

    /// Content first: serving blends content scores into recommendations.
    pub fn new(services: Services, models: ModelsConfig, content: ContentConfig) -> Result<Self> {
        let content = ContentServices::new(services.clone(), content);
        Ok(Self { models: ModelServices::new(services.clone(), content.clone(), models)?, content, services })
    }
}
