//! Content in serving: items the model does not know yet (new since training) blended
//! into a person's list (`content::ContentTransfer`, docs/content.md), and "more like
//! this" by embeddings for items no model knows. Both are skipped, never fail a request,
//! when the tenant has no embeddings (no text model, or nothing embedded yet).

use std::sync::Arc;

use tenants::TenantCtx;

use super::runtime::ModelServices;
use super::serving::LoadedModel;
use crate::content::{ModelTransfer, SemanticIndex};
use crate::error::{DomainError, Result};

/// Above this many known × new-and-calibration items the precomputation runs off the
/// executor.
const INLINE_PAIRS: usize = 1 << 16;

/// The tenant's semantic index, or `None` when there is none to use.
async fn index_of(ctx: &TenantCtx, models: &ModelServices) -> Result<Option<Arc<SemanticIndex>>> {
    match models.content.semantic_index(ctx).await {
        Ok(index) if !index.is_empty() => Ok(Some(index)),
        Ok(_) | Err(DomainError::ModelNotReady(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The blend's precomputation for `model` over the tenant's current index.
async fn transfer_of(
    models: &ModelServices,
    model: &Arc<LoadedModel>,
    key: (i64, String),
    index: Arc<SemanticIndex>,
) -> Result<Arc<ModelTransfer>> {
    if let Some(kept) = models.content.transfers.get(&key).filter(|t| t.is_current(&index)) {
        return Ok(kept);
    }
    let _building = models.content.transfer_builds.lock().await;
    let previous = models.content.transfers.get(&key);
    if let Some(kept) = previous.as_ref().filter(|t| t.is_current(&index)) {
        return Ok(kept.clone());
    }
    let transfer = if index.len() * model.item_ids.len().min(1_000 + index.len()) > INLINE_PAIRS {
        let model = model.clone();
        tokio::task::spawn_blocking(move || ModelTransfer::build(index, &model.item_index, previous.as_deref()))
            .await
            .map_err(|e| DomainError::internal_from("blend thread", e))?
    } else {
        ModelTransfer::build(index, &model.item_index, previous.as_deref())
    };
    let transfer = Arc::new(transfer);
    models.content.transfers.insert(key, transfer.clone());
    Ok(transfer)
}

/// The `first` best admitted items when items the model does not know are admitted:
/// the model's own scores for the items it knows, and the blend's for the others.
/// `None` when the blend is off or has nothing new to add (the plain path serves then).
pub(crate) async fn blended_top(
    ctx: &TenantCtx,
    models: &ModelServices,
    model: &Arc<LoadedModel>,
    scores: &[f32],
    first: usize,
    admits: impl Fn(&str) -> bool,
) -> Result<Option<Vec<(String, f32)>>> {
    let weight = models.content.config().blend_weight;
    if weight <= 0.0 {
        return Ok(None);
    }
    // Each embedded batch invalidates the index, and reloading it reads every vector: a
    // request never waits for that. It blends with the index it finds, or the one the
    // model's last blend used, while the index reloads in the background.
    if models.content.model_key().is_none() {
        return Ok(None);
    }
    let key = (ctx.tenant_id().get(), model.id.to_string());
    let index = match models.content.loaded_index(ctx) {
        Some(index) => index,
        None => {
            use std::sync::atomic::Ordering;
            let reloading = models.content.index_reloading.clone();
            if reloading.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                let (content, ctx) = (models.content.clone(), ctx.clone());
                tokio::spawn(async move {
                    if let Err(e) = content.semantic_index(&ctx).await {
                        tracing::debug!(error = %e, "the semantic index did not reload");
                    }
                    reloading.store(false, Ordering::Release);
                });
            }
            match models.content.transfers.get(&key) {
                Some(last) => last.index.clone(),
                None => return Ok(None),
            }
        }
    };
    if index.is_empty() {
        return Ok(None);
    }
    let transfer = transfer_of(models, model, key, index).await?;
    if !transfer.new.iter().any(|&p| admits(transfer.index.items[p].id.as_str())) {
        return Ok(None);
    }
    let known_scores: Vec<f32> =
        transfer.known.iter().map(|&m| scores.get(m as usize).copied().unwrap_or(f32::NAN)).collect();
    let candidate = |p: usize| admits(&model.item_ids[transfer.known[p] as usize]);
    let new_scores = transfer.transfer.new_item_scores(&known_scores, candidate, weight);
    let mut ids: Vec<&str> = Vec::with_capacity(model.item_ids.len() + transfer.new.len());
    let mut blended = Vec::with_capacity(ids.capacity());
    for (i, id) in model.item_ids.iter().enumerate() {
        if admits(id) {
            ids.push(id);
            blended.push(scores[i]);
        }
    }
    for (&p, score) in transfer.new.iter().zip(new_scores) {
        let id = transfer.index.items[p].id.as_str();
        if let Some(score) = score.filter(|_| admits(id)) {
            ids.push(id);
            blended.push(score);
        }
    }
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
