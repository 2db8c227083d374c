//! What the model subsystem reads from the catalog, the audience and the interactions:
//! the training snapshot, one user's state, and a cached view of the catalog for
//! filtering and hydrating answers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement};
use tenants::TenantCtx;
use tenants::db::{DbBackendKind, TenantTx};

use super::runtime::ModelServices;
use super::serving::HistoryEvent;
use super::training::TrainingData;
use super::types::DataSnapshot;
use crate::catalog::Content;
use crate::entity::{content_item, end_user, interaction};
use crate::error::{DomainError, Result};
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
    let person = models.people.get_or_load(key, || load_person(ctx, models, user_id)).await?;
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

/// The person's newest events with their items' catalog ids, newest first, as one row
/// holding a JSON array: the driver hands rows one at a time from its worker thread,
/// and a hundred hand-overs cost more than the query.
async fn recent_events(
    ctx: &TenantCtx,
    models: &ModelServices,
    tx: &TenantTx,
    user_row: i64,
) -> Result<Vec<(Arc<str>, EventType, i64)>> {
    let (backend, aggregate, tenant, user) = match models.services.db.kind() {
        DbBackendKind::Sqlite => {
            (DbBackend::Sqlite, "json_group_array(json_array(external_id, event_type, occurred_at))", "?", "?")
        }
        DbBackendKind::Postgres => {
            (DbBackend::Postgres, "json_agg(json_build_array(external_id, event_type, occurred_at))::text", "$1", "$2")
        }
    };
    let sql = format!(
        "SELECT {aggregate} FROM (SELECT c.external_id AS external_id, i.event_type AS event_type, i.occurred_at AS occurred_at \
         FROM interactions i JOIN content_items c ON c.id = i.item_id AND c.tenant_id = i.tenant_id \
         WHERE i.tenant_id = {tenant} AND i.user_id = {user} ORDER BY i.occurred_at DESC LIMIT {HISTORY_LIMIT}) recent"
    );
    let statement = Statement::from_sql_and_values(backend, sql, [ctx.tenant_id().get().into(), user_row.into()]);
    let json: Option<String> = match tx.conn().query_one_raw(statement).await? {
        Some(row) => row.try_get_by_index(0)?,
        None => None,
    };
    let rows: Vec<(String, String, i64)> = match json {
        Some(text) => serde_json::from_str(&text).map_err(|e| DomainError::internal_from("history row", e))?,
        None => Vec::new(),
    };
    let mut events = rows
        .into_iter()
        .map(|(item_id, event_type, at)| Ok((Arc::from(item_id), EventType::from_db(&event_type)?, at)))
        .collect::<Result<Vec<_>>>()?;
    // An aggregate's input order is not promised; the newest-first order is restored here.
    events.sort_by_key(|e| std::cmp::Reverse(e.2));
    Ok(events)
}

async fn load_person(ctx: &TenantCtx, models: &ModelServices, user_id: &str) -> Result<Arc<CachedPerson>> {
    let tenant = ctx.tenant_id().get();
    let tx = models.services.db.begin(ctx).await?;
    let user = end_user::Entity::find()
        .select_only()
        .columns([end_user::Column::Id, end_user::Column::ConsentPersonalization])
        .column_as(end_user::Column::ErasedAt.is_not_null(), "erased")
        .filter(end_user::Column::TenantId.eq(tenant))
        .filter(end_user::Column::ExternalId.eq(user_id))
        .into_tuple::<(i64, bool, bool)>()
        .one(tx.conn())
        .await?;
    let person = match user {
        // Unknown yet: personalizable, with no history (their first events invalidate this).
        None => CachedPerson { personalization: true, events: Vec::new() },
        Some((_, consent, erased)) if erased || !consent => CachedPerson { personalization: false, events: Vec::new() },
        Some((user_row, _, _)) => {
            CachedPerson { personalization: true, events: recent_events(ctx, models, &tx, user_row).await? }
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
    let tenant = ctx.tenant_id().get();
    let tx = models.services.db.begin(ctx).await?;
    let rows = content_item::Entity::find()
        .filter(content_item::Column::TenantId.eq(tenant))
        .filter(content_item::Column::DeletedAt.is_null())
        .all(tx.conn())
        .await?;
    tx.commit().await?;
    let mut items = FxHashMap::with_capacity_and_hasher(rows.len(), Default::default());
    for row in rows {
        let content = crate::catalog::store::to_domain(row)?;
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
    let counts: Vec<(i64, i64)> = interaction::Entity::find()
        .select_only()
        .column(interaction::Column::ItemId)
        .column_as(interaction::Column::Id.count(), "n")
        .filter(interaction::Column::TenantId.eq(tenant))
        .group_by(interaction::Column::ItemId)
        .into_tuple()
        .all(tx.conn())
        .await?;
    let ids: Vec<(i64, String)> = content_item::Entity::find()
        .select_only()
        .columns([content_item::Column::Id, content_item::Column::ExternalId])
        .filter(content_item::Column::TenantId.eq(tenant))
        .filter(content_item::Column::DeletedAt.is_null())
        .order_by_asc(content_item::Column::Id)
        .into_tuple()
        .all(tx.conn())
        .await?;
    tx.commit().await?;
    let counts: HashMap<i64, i64> = counts.into_iter().collect();
    // Every live item is listed (items nobody touched last), so filters can still fill
    // a page from a young catalog.
    let mut list: Vec<(i64, String, i64)> =
        ids.into_iter().map(|(id, ext)| (id, ext, counts.get(&id).copied().unwrap_or(0))).collect();
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
