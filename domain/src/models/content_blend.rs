//! Content in serving: items the model does not know yet (new since training) blended
//! into a person's list (`content::ContentTransfer`, docs/content.md), and "more like
//! this" by embeddings for items no model knows. Both are skipped, never fail a request,
//! when the tenant has no embeddings (no text model, or nothing embedded yet).

use std::sync::Arc;

use tenants::TenantCtx;

use super::data::CachedAnswer;
use super::runtime::ModelServices;
use super::serving::LoadedModel;
use crate::content::{KeptList, ModelTransfer, SemanticIndex, TransferKey};
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

/// What the blend made of one request.
pub(crate) struct Blended {
    /// The list with new items blended in; `None` when the blend has nothing to add.
    pub top: Option<Vec<(String, f32)>>,
    /// The version of the index it was made over (0: none), which a kept answer names.
    /// While the newest index's precomputation is being built, that is the index the
    /// precomputation in use was built over: such an answer is kept too, so serving
    /// stays cheap while the upkeep runs behind it (the answer lapses as answers over a
    /// replaced index do, [`BlendInput::serves`], and is then brought up to date by
    /// scoring only the items added since).
    pub version: u64,
}

impl Blended {
    fn nothing(version: u64) -> Self {
        Self { top: None, version }
    }
}

/// Which semantic index the blend would use now: a kept answer names the one it was
/// made over. That is the index of the model's precomputation in use, which may be
/// behind the newest index while its successor is built behind serving: answers made
/// over it are what a blend would answer now, so they are served rather than computed
/// again on every request until the upkeep catches up (which, at the lowest priority,
/// waits for a core serving leaves).
#[derive(Clone, Default)]
pub(crate) struct BlendInput {
    /// The index's version; 0 without a blend (no text model, weight 0, no index yet).
    pub version: u64,
    replaced_version: u64,
    age: std::time::Duration,
    /// The model's precomputation in use (`None` before the first is built).
    pub transfer: Option<Arc<ModelTransfer>>,
}

impl BlendInput {
    /// Whether an answer made over index `version` may still be served to `person`.
    /// Answers made over the index the precomputation in use replaced stay usable for the
    /// person's share of the interval after it was built, so people move over spread over it
    /// rather than all being answered afresh by the first requests after a batch (each
    /// blend over thousands of new items costs milliseconds).
    pub fn serves(&self, version: u64, person: &str) -> bool {
        version == self.version
            || (version != 0
                && version == self.replaced_version
                && self.age.as_secs_f64() < crate::content::BATCHES_EVERY.as_secs_f64() * share_of(person))
    }
}

/// A stable number in [0, 1) for a person (FNV-1a of their id).
fn share_of(person: &str) -> f64 {
    let hash = person.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    (hash % 10_000) as f64 / 10_000.0
}

/// What a blend for `model` would be made over now; starts the rebuild of the model's
/// precomputation when it is behind the index (an answer served from the cache makes no
/// blend that would start it).
pub(crate) fn blend_input(ctx: &TenantCtx, models: &ModelServices, model: Option<&Arc<LoadedModel>>) -> BlendInput {
    if models.content.config().blend_weight <= 0.0 || models.content.model_key().is_none() {
        return BlendInput::default();
    }
    let index = models.content.current_index(ctx);
    let key = model.map(|m| (ctx.tenant_id().get(), m.id));
    let transfer = key.as_ref().and_then(|key| models.content.transfers.get(key));
    match (model, key, transfer) {
        (Some(model), Some(key), Some(transfer)) if index.as_ref().is_none_or(|i| !i.is_empty()) => {
            if let Some(index) = index.filter(|i| !transfer.is_current(i)) {
                rebuild_behind(models, model, key, transfer.clone(), index);
            }
            BlendInput {
                version: transfer.index.version,
                replaced_version: transfer.replaced_version,
                age: transfer.made_at.elapsed(),
                transfer: Some(transfer),
            }
        }
        _ => index.map_or_else(BlendInput::default, |index| BlendInput {
            version: index.version,
            replaced_version: index.replaced_version,
            age: index.made_at.elapsed(),
            transfer: None,
        }),
    }
}

/// Builds `model`'s precomputation over `index` from `kept` behind serving, unless a
/// build is under way already.
fn rebuild_behind(
    models: &ModelServices,
    model: &Arc<LoadedModel>,
    key: TransferKey,
    kept: Arc<ModelTransfer>,
    index: Arc<SemanticIndex>,
) {
    let Ok(building) = models.content.transfer_builds.clone().try_lock_owned() else { return };
    let (content, transfers, model) = (models.content.clone(), models.content.transfers.clone(), model.clone());
    models.services.background.spawn(async move {
        let build = content.behind_serving(move || {
            let _building = building;
            let started = std::time::Instant::now();
            let transfer = ModelTransfer::build(index, &model.item_index, Some(&*kept));
            tracing::debug!(
                new_items = transfer.new.len(),
                ms = started.elapsed().as_secs_f64() * 1e3,
                "blend precomputation rebuilt"
            );
            transfers.insert(key, Arc::new(transfer));
        });
        if let Err(e) = build.await {
            tracing::warn!(error = %e, "the blend's precomputation could not be rebuilt");
        }
    });
}

/// The blend's precomputation for `model` over the tenant's current index. Only the
/// first is built while the request waits; after that a request blends with the one it
/// finds while the next is built in the background (one build at a time), so a catalog
/// being embedded batch after batch never holds answers up.
async fn transfer_of(
    models: &ModelServices,
    model: &Arc<LoadedModel>,
    key: TransferKey,
    index: Arc<SemanticIndex>,
) -> Result<Arc<ModelTransfer>> {
    let transfers = &models.content.transfers;
    let kept = transfers.get(&key);
    if let Some(kept) = kept.as_ref().filter(|t| t.is_current(&index)) {
        return Ok(kept.clone());
    }
    // A stale one is served while its successor is built.
    if let Some(kept) = kept {
        rebuild_behind(models, model, key, kept.clone(), index);
        return Ok(kept);
    }
    let _building = models.content.transfer_builds.lock().await;
    if let Some(kept) = transfers.get(&key) {
        return Ok(kept);
    }
    let transfer = if index.len() * model.item_ids.len().min(1_000 + index.len()) > INLINE_PAIRS {
        let model = model.clone();
        tokio::task::spawn_blocking(move || ModelTransfer::build(index, &model.item_index, None))
            .await
            .map_err(|e| DomainError::internal_from("blend thread", e))?
    } else {
        ModelTransfer::build(index, &model.item_index, None)
    };
    let transfer = Arc::new(transfer);
    transfers.insert(key, transfer.clone());
    Ok(transfer)
}

/// The `first` best admitted items when items the model does not know are admitted:
/// the model's own scores for the items it knows, and the blend's for the others.
/// No list when the blend is off or has nothing new to add (the plain path serves then).
/// `kept`: the person's last answer to the same request, blended over an earlier index;
/// when the current one only adds new items to that one, the answer is brought up to
/// date by scoring the added items alone (a batch adds a few hundred, the catalog may
/// hold thousands of new items, and every person's answer moves once per batch).
pub(crate) async fn blended_top(
    ctx: &TenantCtx,
    models: &ModelServices,
    model: &Arc<LoadedModel>,
    scores: &[f32],
    first: usize,
    admits: impl Fn(&str) -> bool,
    kept: Option<&CachedAnswer>,
) -> Result<Blended> {
    let weight = models.content.config().blend_weight;
    if weight <= 0.0 || models.content.model_key().is_none() {
        return Ok(Blended::nothing(0));
    }
    let key = (ctx.tenant_id().get(), model.id);
    // Never waits for the index: the one loaded, or the one the model's last blend used
    // while the index is read in the background.
    let index = match models.content.current_index(ctx) {
        Some(index) => index,
        None => match models.content.transfers.get(&key) {
            Some(last) => last.index.clone(),
            None => return Ok(Blended::nothing(0)),
        },
    };
    if index.is_empty() {
        return Ok(Blended::nothing(index.version));
    }
    let transfer = transfer_of(models, model, key, index).await?;
    if !transfer.new.iter().any(|&p| admits(transfer.index.items[p].id.as_str())) {
        return Ok(Blended::nothing(transfer.index.version));
    }
    // Whether each item the model knows is admitted, asked once: the scale of new items
    // and the list both need it, and each asking is a lookup or two.
    let admitted: Vec<bool> = model.item_ids.iter().map(|id| admits(id)).collect();
    let kept = kept.map(|k| KeptList { ranked: &k.ranked, index_version: k.content });
    let top = transfer.top_with_new_items(&model.item_ids, scores, &admitted, weight, first, &admits, kept);
    Ok(Blended { top: Some(top), version: transfer.index.version })
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
