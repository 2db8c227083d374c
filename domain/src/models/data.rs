//! What the model subsystem reads from the catalog, the audience and the interactions:
//! the training snapshot, one user's state, and a cached view of the catalog for
//! filtering and hydrating answers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use tenants::TenantCtx;

use super::runtime::ModelServices;
use super::serving::HistoryEvent;
use super::training::TrainingData;
use super::types::DataSnapshot;
use crate::catalog::Content;
use crate::error::Result;
use crate::settings::TenantSettings;
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
}

/// What serving keeps of a person between requests (`ModelServices::people`): consent
/// and recent events with their types, so a change of event weights applies at once.
/// Every write that changes them (interactions, profile upserts, consent, erasure,
/// retention) invalidates the entry after its commit.
pub(crate) struct CachedPerson {
    personalization: bool,
    events: Vec<(Arc<str>, EventType, i64)>,
}

impl CachedPerson {
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
    let user_id = user.as_str();
    let key = (ctx.tenant_id().get(), user_id.to_owned());
    let person = models.people.get_or_load(key, || load_person(ctx, models, user)).await?;
    if !person.personalization {
        return Ok(UserState { personalization: false, history: Vec::new() });
    }
    let weights = cached_settings(ctx, models).await?.event_weights;
    let history = person
        .events
        .iter()
        .filter_map(|(item_id, event_type, at)| {
            let weight = weights.get(*event_type);
            (weight > 0.0).then(|| HistoryEvent { item_id: item_id.clone(), weight, occurred_at: from_ms(*at) })
        })
        .collect();
    Ok(UserState { personalization: true, history })
}

async fn load_person(ctx: &TenantCtx, models: &ModelServices, user: &UserId) -> Result<Arc<CachedPerson>> {
    let tx = models.services.db.begin(ctx).await?;
    let person = match crate::audience::store::serving_consent(&tx, user).await? {
        // Unknown yet: personalizable, with no history (their first events invalidate this).
        None => CachedPerson { personalization: true, events: Vec::new() },
        Some(p) if p.erased || !p.personalization => CachedPerson { personalization: false, events: Vec::new() },
        Some(p) => {
            let backend = models.services.db.kind();
            let events = crate::interactions::store::recent_for_user(&tx, backend, p.row, HISTORY_LIMIT).await?;
            CachedPerson { personalization: true, events }
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
    pub items: FxHashMap<String, (ItemFacets, Arc<Content>)>,
}

impl CatalogView {
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

pub async fn catalog_facets(ctx: &TenantCtx, models: &ModelServices) -> Result<Arc<CatalogView>> {
    models.catalog.get_or_load(ctx.tenant_id().get(), || load_catalog(ctx, models)).await
}

async fn load_catalog(ctx: &TenantCtx, models: &ModelServices) -> Result<Arc<CatalogView>> {
    let tx = models.services.db.begin(ctx).await?;
    let contents = crate::catalog::store::live_contents(&tx).await?;
    tx.commit().await?;
    let mut items = FxHashMap::with_capacity_and_hasher(contents.len(), Default::default());
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
    Ok(Arc::new(CatalogView { items }))
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
