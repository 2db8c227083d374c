//! What the model subsystem reads from the catalog, the audience and the interactions:
//! the training snapshot, one user's state, and a cached view of the catalog for
//! filtering and hydrating answers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use tenants::{Db, TenantCtx};

use super::catalog_growth::CatalogGrowth;
use super::runtime::ModelServices;
use super::serving::{HistoryEvent, IndexedHistory, LoadedModel, Strategy};
use super::training::TrainingData;
use super::types::DataSnapshot;
use crate::catalog::Content;
use crate::error::Result;
use crate::settings::{EventWeights, TenantSettings};
use crate::sql::from_ms;
use crate::vocab::{EventType, UserId};

/// How much of a user's history serving looks at: the most recent events.
const HISTORY_LIMIT: u64 = 2_000;

pub async fn load_training_data(ctx: &TenantCtx, models: &ModelServices) -> Result<TrainingData> {
    let snapshot = crate::interactions::training_snapshot(ctx, &models.services).await?;
    let range = snapshot.time_range();
    let triplets = snapshot.triplets();
    let users_with_events: HashSet<u32> = snapshot.events.iter().map(|e| e.user).collect();
    Ok(TrainingData {
        snapshot: DataSnapshot {
            users: users_with_events.len(),
            items: snapshot.items.len(),
            interactions: snapshot.events.len(),
            first_interaction_at: range.and_then(|(a, _)| DateTime::from_timestamp(a, 0)),
            last_interaction_at: range.and_then(|(_, b)| DateTime::from_timestamp(b, 0)),
            taken_at: snapshot.taken_at,
        },
        user_ids: snapshot.users.iter().map(|u| u.as_str().to_owned()).collect(),
        item_ids: snapshot.items.iter().map(|i| i.id.as_str().to_owned()).collect(),
        triplets,
    })
}

/// One end user as serving sees them.
pub struct UserState {
    /// False for users who withheld personalization consent or were erased.
    pub personalization: bool,
    /// Recent history, newest first, weighted by the tenant's event weights.
    pub history: Vec<HistoryEvent>,
    /// Where `history` came from, and the weights that weighed it.
    source: Option<(Arc<CachedPerson>, EventWeights)>,
}

impl UserState {
    /// The history in `model`'s item space, with its digest: kept with the cached person
    /// for the model and weights that last served them, so a steady stream of requests
    /// for one person indexes and digests their history once, not on every request.
    pub fn indexed_for(&self, model: &LoadedModel) -> Arc<IndexedHistory> {
        let Some((person, weights)) = &self.source else { return Arc::new(model.index_history(&self.history)) };
        // The memo only ever holds a whole entry: a panic elsewhere leaves it usable.
        let mut memo = person.indexed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(kept) = memo.as_ref().filter(|m| m.model == model.id && m.weights == *weights) {
            return kept.indexed.clone();
        }
        let indexed = Arc::new(model.index_history(&self.history));
        *memo = Some(IndexedMemo { model: model.id, weights: *weights, indexed: indexed.clone() });
        indexed
    }
}

/// What serving keeps of a person between requests (`ModelServices::people`): consent
/// and recent events with their types, so a change of event weights applies at once.
/// Every write that changes them (interactions, profile upserts, consent, erasure,
/// retention) invalidates the entry after its commit.
pub(crate) struct CachedPerson {
    personalization: bool,
    events: Vec<(Arc<str>, EventType, i64)>,
    /// The history as the last model that served this person indexes it. A new entry
    /// (any change of the person) starts empty, so it never outlives the events.
    indexed: std::sync::Mutex<Option<IndexedMemo>>,
    /// The model's last answers for this person ([`CachedAnswer`]), as short-lived as
    /// the entry: any write about the person replaces the entry through the change bus.
    answers: std::sync::Mutex<Vec<(AnswerKey, Arc<CachedAnswer>)>>,
}

/// Different list lengths or `excludeSeen` a person's answers are kept for at once.
const MAX_ANSWERS_PER_PERSON: usize = 4;

/// What an answer depends on besides the person: the model, the event weights that
/// weighed the history, the catalog it was filtered against, and the request's shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AnswerKey {
    pub model: tenants::ids::PublicId,
    pub weights: EventWeights,
    pub catalog: u64,
    pub first: usize,
    pub exclude_seen: bool,
}

impl AnswerKey {
    /// The same request to the same model under the same weights, over any catalog view.
    fn same_request(&self, other: &Self) -> bool {
        self.model == other.model
            && self.weights == other.weights
            && self.first == other.first
            && self.exclude_seen == other.exclude_seen
    }
}

/// A person's ranking: item ids, best first (new items the blend added included), with
/// their scores and the strategy, valid until an availability window in the catalog
/// opens or closes.
#[derive(Debug)]
pub(crate) struct CachedAnswer {
    pub strategy: Strategy,
    pub ranked: Vec<(Arc<str>, f32)>,
    /// The semantic index it was blended over (`content_blend::BlendInput::version`).
    pub content: u64,
    pub valid_until: Option<DateTime<Utc>>,
}

struct IndexedMemo {
    model: tenants::ids::PublicId,
    weights: EventWeights,
    indexed: Arc<IndexedHistory>,
}

impl CachedPerson {
    fn new(personalization: bool, events: Vec<(Arc<str>, EventType, i64)>) -> Self {
        Self { personalization, events, indexed: std::sync::Mutex::new(None), answers: Default::default() }
    }

    /// The answer kept for `key`'s request, while still valid at `now`, with the catalog
    /// generation it was filtered against (which may be older than `key`'s: the caller
    /// decides whether it still holds, [`CatalogView::keeps`]).
    pub(crate) fn answer(&self, key: &AnswerKey, now: DateTime<Utc>) -> Option<(Arc<CachedAnswer>, u64)> {
        // The list only ever holds whole entries: a panic elsewhere leaves it usable.
        let answers = self.answers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        answers
            .iter()
            .find(|(k, a)| k.same_request(key) && a.valid_until.is_none_or(|until| now < until))
            .map(|(k, a)| (a.clone(), k.catalog))
    }

    pub(crate) fn remember(&self, key: AnswerKey, answer: Arc<CachedAnswer>) {
        let mut answers = self.answers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        answers.retain(|(k, _)| !k.same_request(&key));
        if answers.len() >= MAX_ANSWERS_PER_PERSON {
            answers.remove(0);
        }
        answers.push((key, answer));
    }

    /// The same consent and the same events (a refresh that found nothing new).
    fn same_as(&self, other: &Self) -> bool {
        self.personalization == other.personalization && self.events == other.events
    }

    /// The cache's weight: one per event, so its capacity bounds the events it holds.
    pub(crate) fn weight(&self) -> u32 {
        u32::try_from(self.events.len()).unwrap_or(u32::MAX).saturating_add(1)
    }
}

/// The settings, from the per-tenant cache or the database: the request path must not
/// pay a query for a document that rarely changes.
async fn cached_settings(ctx: &TenantCtx, models: &ModelServices) -> Result<TenantSettings> {
    models.settings.get_or_load(ctx.tenant_id().get(), || crate::settings::tenant_settings(ctx, &models.services)).await
}

/// The person's consent and recent history, from the cache or the database.
pub async fn user_state(ctx: &TenantCtx, models: &ModelServices, user: &UserId) -> Result<UserState> {
    let (person, weights) = cached_person(ctx, models, user).await?;
    Ok(state_of(person, weights))
}

/// The person's cache entry and the event weights in force.
pub(crate) async fn cached_person(
    ctx: &TenantCtx,
    models: &ModelServices,
    user: &UserId,
) -> Result<(Arc<CachedPerson>, EventWeights)> {
    let key = (ctx.tenant_id().get(), user.as_str().to_owned());
    let (people, db, owned_ctx, owned_user) =
        (models.people.clone(), models.services.db.clone(), ctx.clone(), user.clone());
    let kept_key = key.clone();
    let person = models
        .people
        .get_refreshing_behind(key, &models.services.background, move || async move {
            let read = load_person(&owned_ctx, &db, &owned_user).await?;
            // A refresh past the entry's time to live that finds the same person keeps
            // the entry, with the answers and the indexed history it holds: dropping
            // them made every person of a busy tenant be scored afresh every lifetime.
            // A change announced for the person removes the entry first, so an entry
            // still here was not changed by any write this process heard of.
            Ok(match people.get(&kept_key) {
                Some(kept) if kept.same_as(&read) => kept,
                _ => read,
            })
        })
        .await?;
    let weights = cached_settings(ctx, models).await?.event_weights;
    Ok((person, weights))
}

/// The person as serving reads them: their history weighted by `weights`.
pub(crate) fn state_of(person: Arc<CachedPerson>, weights: EventWeights) -> UserState {
    if !person.personalization {
        return UserState { personalization: false, history: Vec::new(), source: None };
    }
    let history = person
        .events
        .iter()
        .filter_map(|(item_id, event_type, at)| {
            let weight = weights.get(*event_type);
            (weight > 0.0).then(|| HistoryEvent { item_id: item_id.clone(), weight, occurred_at: from_ms(*at) })
        })
        .collect();
    UserState { personalization: true, history, source: Some((person, weights)) }
}

async fn load_person(ctx: &TenantCtx, db: &Db, user: &UserId) -> Result<Arc<CachedPerson>> {
    let tx = db.begin(ctx).await?;
    let person = match crate::audience::store::serving_consent(&tx, user).await? {
        // Unknown yet: personalizable, with no history (their first events invalidate this).
        None => CachedPerson::new(true, Vec::new()),
        Some(p) if p.erased || !p.personalization => CachedPerson::new(false, Vec::new()),
        Some(p) => {
            let backend = db.kind();
            let events = crate::interactions::store::recent_for_user(&tx, backend, p.row, HISTORY_LIMIT).await?;
            CachedPerson::new(true, events)
        }
    };
    tx.commit().await?;
    Ok(Arc::new(person))
}

/// What filtering needs of one item.
pub struct ItemFacets {
    pub kind: String,
    pub genres: Vec<String>,
    pub tags: Vec<String>,
    pub provider: Option<String>,
    pub available_from: Option<DateTime<Utc>>,
    pub available_until: Option<DateTime<Utc>>,
    pub deleted: bool,
}

/// The tenant's live catalog, for filtering and hydrating answers without a query per
/// item. Cached per tenant: deletions apply at once (`Change::ItemsDeleted`), other
/// changes within the cache's time to live.
pub struct CatalogView {
    /// Shared with the views that find the catalog unchanged.
    pub items: Arc<FxHashMap<String, (ItemFacets, Arc<Content>)>>,
    /// Which contents these are: a kept answer names the view it was filtered against.
    /// A view read again with the same contents keeps its generation.
    pub(crate) generation: u64,
    /// When it was read: older than `ModelsConfig::catalog_ttl`, it is checked again in
    /// the background.
    loaded_at: std::time::Instant,
    /// Every availability start and end in the catalog, in order: an answer filtered
    /// at one time holds until the next of them.
    boundaries: Arc<Vec<DateTime<Utc>>>,
    /// The catalog's mark when its items were read: a reading that finds the same mark
    /// keeps them.
    mark: crate::catalog::store::CatalogMark,
    /// When its items were read whole.
    read_whole_at: std::time::Instant,
    /// The earlier views it only adds to: answers kept over them may still hold.
    growth: Arc<CatalogGrowth>,
}

impl CatalogView {
    /// The first moment after `at` when an item's availability changes.
    pub(crate) fn next_change_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.boundaries.get(self.boundaries.partition_point(|b| *b <= at)).copied()
    }

    /// Whether an answer kept over the view of `generation` still holds over this one
    /// ([`CatalogGrowth::keeps`]).
    pub(crate) fn keeps(
        &self,
        generation: u64,
        model: &LoadedModel,
        transfer: Option<&crate::content::ModelTransfer>,
        kept_content: u64,
    ) -> bool {
        generation == self.generation || self.growth.keeps(generation, model, transfer, kept_content)
    }

    pub fn get(&self, id: &str) -> Option<&ItemFacets> {
        self.items.get(id).map(|(f, _)| f)
    }
    pub fn content(&self, id: &str) -> Option<Arc<Content>> {
        self.items.get(id).map(|(_, c)| c.clone())
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &ItemFacets)> {
        self.items.iter().map(|(id, (f, _))| (id, f))
    }
}

/// The tenant's catalog view. Only the first reading (and the one after a deletion) is
/// waited for: a view past its time to live is served while one background reading per
/// tenant replaces it, so requests never queue behind a large catalog's reading.
pub async fn catalog_facets(ctx: &TenantCtx, models: &ModelServices) -> Result<Arc<CatalogView>> {
    let tenant = ctx.tenant_id().get();
    let Some(view) = models.catalog.get(&tenant) else {
        return models.catalog.get_or_load(tenant, || load_catalog(ctx, models, None)).await;
    };
    if view.loaded_at.elapsed() >= models.config.catalog_ttl && refreshing(models).insert(tenant) {
        let (background, models, ctx) = (models.services.background.clone(), models.clone(), ctx.clone());
        background.spawn(async move {
            let fresh = models.catalog.replace(tenant, |current| load_catalog(&ctx, &models, Some(current))).await;
            if let Err(e) = fresh {
                tracing::warn!(error = %e, tenant, "the catalog view could not be read again");
            }
            refreshing(&models).remove(&tenant);
        });
    }
    Ok(view)
}

fn refreshing(models: &ModelServices) -> std::sync::MutexGuard<'_, std::collections::HashSet<i64>> {
    // Tenants are only ever added or removed whole: a panic elsewhere leaves it usable.
    models.catalog_refreshing.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn load_catalog(
    ctx: &TenantCtx,
    models: &ModelServices,
    previous: Option<Arc<CatalogView>>,
) -> Result<Arc<CatalogView>> {
    let started = std::time::Instant::now();
    let tx = models.services.db.begin(ctx).await?;
    let mark = crate::catalog::store::mark(&tx).await?;
    if let Some(previous) =
        previous.as_ref().filter(|p| p.mark == mark && p.read_whole_at.elapsed() < super::runtime::CATALOG_READ_WHOLE)
    {
        tx.commit().await?;
        return Ok(Arc::new(CatalogView {
            items: previous.items.clone(),
            generation: previous.generation,
            boundaries: previous.boundaries.clone(),
            mark,
            read_whole_at: previous.read_whole_at,
            loaded_at: std::time::Instant::now(),
            growth: previous.growth.clone(),
        }));
    }
    let contents = crate::catalog::store::live_contents(&tx).await?;
    tx.commit().await?;
    let read_in = started.elapsed();
    let mut items = FxHashMap::with_capacity_and_hasher(contents.len(), Default::default());
    let mut boundaries: Vec<DateTime<Utc>> =
        contents.iter().flat_map(|c| [c.available_from, c.available_until]).flatten().collect();
    boundaries.sort_unstable();
    boundaries.dedup();
    for content in contents {
        let facets = ItemFacets {
            kind: content.kind.as_str().to_owned(),
            genres: content.genres.clone(),
            tags: content.tags.clone(),
            provider: content.provider.clone(),
            available_from: content.available_from,
            available_until: content.available_until,
            deleted: false,
        };
        items.insert(content.id.as_str().to_owned(), (facets, Arc::new(content)));
    }
    let unchanged = previous.as_ref().filter(|p| {
        p.items.len() == items.len()
            && items.iter().all(|(id, (_, content))| p.items.get(id).is_some_and(|(_, old)| **old == **content))
    });
    let (generation, growth) = match (unchanged, &previous) {
        (Some(previous), _) => (previous.generation, previous.growth.clone()),
        (None, previous) => (
            models.catalog_generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
            Arc::new(previous.as_ref().map_or_else(CatalogGrowth::default, |p| {
                CatalogGrowth::after(&p.items, p.generation, &p.growth, &items)
            })),
        ),
    };
    tracing::debug!(
        items = items.len(),
        read_ms = read_in.as_secs_f64() * 1e3,
        total_ms = started.elapsed().as_secs_f64() * 1e3,
        unchanged = unchanged.is_some(),
        "catalog view read"
    );
    let now = std::time::Instant::now();
    Ok(Arc::new(CatalogView {
        items: Arc::new(items),
        generation,
        boundaries: Arc::new(boundaries),
        mark,
        read_whole_at: now,
        loaded_at: now,
        growth,
    }))
}

/// Items by interaction count, most popular first, for non-personalized answers.
/// Cached per tenant for a few seconds: the order need not follow every new event.
pub async fn popular_items(ctx: &TenantCtx, models: &ModelServices) -> Result<Arc<Vec<(String, f32)>>> {
    let tenant = ctx.tenant_id().get();
    if let Some(list) = models.popular.get(&tenant) {
        return Ok(list);
    }
    let tx = models.services.db.begin(ctx).await?;
    let counts = crate::interactions::store::counts_per_item(&tx).await?;
    let ids = crate::catalog::store::live_ids(&tx).await?;
    tx.commit().await?;
    let counts: HashMap<i64, i64> = counts.into_iter().collect();
    // Every live item is listed (items nobody touched last), so filters can still fill
    // a page from a young catalog.
    let mut list: Vec<(i64, String, i64)> =
        ids.into_iter().map(|(id, ext)| (id, ext.into_string(), counts.get(&id).copied().unwrap_or(0))).collect();
    list.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let list = Arc::new(list.into_iter().map(|(_, ext, n)| (ext, n as f32)).collect::<Vec<_>>());
    models.popular.insert(tenant, list.clone());
    Ok(list)
}

/// Jaccard overlap of genres and tags, case-insensitive.
pub fn content_similarity(a: &ItemFacets, b: &ItemFacets) -> f32 {
    let set = |f: &ItemFacets| f.genres.iter().chain(f.tags.iter()).map(|s| s.to_lowercase()).collect::<HashSet<_>>();
    let (sa, sb) = (set(a), set(b));
    let union = sa.union(&sb).count();
    if union == 0 { 0.0 } else { sa.intersection(&sb).count() as f32 / union as f32 }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_answer_holds_until_the_next_availability_change() {
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let view = CatalogView {
            items: Arc::default(),
            generation: 0,
            boundaries: Arc::new(vec![at(10), at(20)]),
            mark: Default::default(),
            read_whole_at: std::time::Instant::now(),
            loaded_at: std::time::Instant::now(),
            growth: Arc::default(),
        };
        assert_eq!(view.next_change_after(at(5)), Some(at(10)));
        assert_eq!(view.next_change_after(at(10)), Some(at(20)), "a change at that very moment is behind it");
        assert_eq!(view.next_change_after(at(25)), None);
    }
}
