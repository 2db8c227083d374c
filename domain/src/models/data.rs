//! TEMPORARY STUB until the ingestion module lands.
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tenants::TenantCtx;
use tenants::db::TenantTx;
use tenants::ids::PublicId;

use super::serving::HistoryEvent;
use super::training::TrainingData;
use crate::Services;
use crate::error::{DomainError, Result};

pub struct UserState {
    pub personalization: bool,
    pub history: Vec<HistoryEvent>,
}

pub struct ItemFacets {
    pub kind: String,
    pub genres: Vec<String>,
    pub tags: Vec<String>,
    pub provider: Option<String>,
    pub available_from: Option<DateTime<Utc>>,
    pub available_until: Option<DateTime<Utc>>,
    pub deleted: bool,
}

pub async fn load_training_data(_ctx: &TenantCtx, _services: &Services) -> Result<TrainingData> {
    Err(DomainError::Internal("stub".into()))
}
pub async fn user_state(_ctx: &TenantCtx, _tx: &TenantTx, _user: &str) -> Result<UserState> {
    Err(DomainError::Internal("stub".into()))
}
pub async fn model_public_id(ctx: &TenantCtx, tx: &TenantTx, row: i64) -> Result<PublicId> {
    Ok(super::store::model_by_row(ctx, tx, row).await?.model.id)
}
pub async fn catalog_facets(_ctx: &TenantCtx, _services: &Services) -> Result<Arc<HashMap<String, ItemFacets>>> {
    Err(DomainError::Internal("stub".into()))
}
pub async fn popular_items(_ctx: &TenantCtx, _services: &Services) -> Result<Arc<Vec<(String, f32)>>> {
    Err(DomainError::Internal("stub".into()))
}
pub fn content_similarity(a: &ItemFacets, b: &ItemFacets) -> f32 {
    let set = |f: &ItemFacets| f.genres.iter().chain(f.tags.iter()).map(|s| s.to_lowercase()).collect::<std::collections::HashSet<_>>();
    let (sa, sb) = (set(a), set(b));
    let union = sa.union(&sb).count();
    if union == 0 { 0.0 } else { sa.intersection(&sb).count() as f32 / union as f32 }
}
