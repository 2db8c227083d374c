//! Content in serving: the blend of the model's scores with a person's content profile
//! (`content::blend_scores`, docs/content.md), and "more like this" by embeddings for
//! items no model knows. Both are skipped, never fail a request, when the tenant has no
//! embeddings (no text model, or nothing embedded yet).

use std::sync::Arc;

use tenants::TenantCtx;

use super::runtime::ModelServices;
use super::serving::{HistoryEvent, LoadedModel};
use crate::content::{SemanticIndex, blend_scores, profile_of};
use crate::error::{DomainError, Result};

/// Above this many multiply-adds the content scores are computed off the executor.
const INLINE_WORK: usize = 1 << 20;

/// The tenant's semantic index, or `None` when there is none to use.
async fn index_of(ctx: &TenantCtx, models: &ModelServices) -> Result<Option<Arc<SemanticIndex>>> {
    match models.content.semantic_index(ctx).await {
        Ok(index) if !index.is_empty() => Ok(Some(index)),
        Ok(_) | Err(DomainError::ModelNotReady(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The `first` best admitted items by the blend of the model's `scores` and the
/// person's content profile, new items (unknown to the model) included; `None` when the
/// blend is off or has nothing to work with.
pub(crate) async fn blended_top(
    ctx: &TenantCtx,
    models: &ModelServices,
    model: &LoadedModel,
    scores: &[f32],
    history: &[HistoryEvent],
    first: usize,
    admits: impl Fn(&str) -> bool,
) -> Result<Option<Vec<(String, f32)>>> {
    let weight = models.content.config().blend_weight;
    if weight <= 0.0 {
        return Ok(None);
    }
    let Some(index) = index_of(ctx, models).await? else { return Ok(None) };
    let profile = profile_of(
        history.iter().filter_map(|e| index.position(&e.item_id).map(|p| (index.vector(p), e.weight))),
        index.dims,
    );
    let Some(profile) = profile else { return Ok(None) };
    let content = if index.len() * index.dims > INLINE_WORK {
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.scores(&profile))
            .await
            .map_err(|e| DomainError::internal_from("scoring thread", e))?
    } else {
        index.scores(&profile)
    };
    let mut ids: Vec<&str> = Vec::with_capacity(model.item_ids.len());
    let mut collab = Vec::with_capacity(model.item_ids.len());
    let mut by_content = Vec::with_capacity(model.item_ids.len());
    for (i, id) in model.item_ids.iter().enumerate() {
        if admits(id) {
            ids.push(id);
            collab.push(Some(scores[i]));
            by_content.push(index.position(id).map(|p| content[p]));
        }
    }
    for (p, item) in index.items.iter().enumerate() {
        let id = item.id.as_str();
        if !model.item_index.contains_key(id) && admits(id) {
            ids.push(id);
            collab.push(None);
            by_content.push(Some(content[p]));
        }
    }
    let blended = blend_scores(&collab, &by_content, weight);
    let top = crate::content::top_positions(&blended, first);
    Ok(Some(top.into_iter().map(|(i, s)| (ids[i].to_owned(), s)).collect()))
}

/// Items like `item_id` by embedding, best first, among those `admits` lets through;
/// `None` when the item has no embedding.
pub(crate) async fn similar_by_content(
    ctx: &TenantCtx,
    models: &ModelServices,
    item_id: &str,
    first: usize,
    admits: impl Fn(&str) -> bool,
) -> Result<Option<Vec<(String, f32)>>> {
    let Some(index) = index_of(ctx, models).await? else { return Ok(None) };
    let Some(position) = index.position(item_id) else { return Ok(None) };
    let query = index.vector(position).to_vec();
    let top = index.top_k(&query, first, |p| p != position && admits(index.items[p].id.as_str()));
    Ok(Some(top.into_iter().map(|(p, s)| (index.items[p].id.as_str().to_owned(), s)).collect()))
}
