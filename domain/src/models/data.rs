//! What the model subsystem reads from the catalog, the audience and the interactions:
//! the training snapshot, one user's state, and a cached view of the catalog for
//! filtering and hydrating answers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tenants::TenantCtx;
use tenants::db::TenantTx;

use super::serving::HistoryEvent;
use super::training::TrainingData;
use super::types::DataSnapshot;
use crate::Services;
use crate::catalog::Content;
use crate::entity::{content_item, end_user, interaction};
use crate::error::Result;
use crate::interactions::EventType;
use crate::sql::from_ms;

/// How much of a user's history serving looks at: the most recent events.
const HISTORY_LIMIT: u64 = 2_000;

pub async fn load_training_data(ctx: &TenantCtx, services: &Services) -> Result<TrainingData> {
    let snapshot = crate::interactions::training_snapshot(ctx, services).await?;
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

pub async fn user_state(ctx: &TenantCtx, tx: &TenantTx, user_id: &str) -> Result<UserState> {
    let tenant = ctx.tenant_id().get();
    let Some(user) = end_user::Entity::find()
        .filter(end_user::Column::TenantId.eq(tenant))
        .filter(end_user::Column::ExternalId.eq(user_id))
        .one(tx.conn())
        .await?
    else {
        return Ok(UserState { personalization: true, history: Vec::new() });
    };
    if user.erased_at.is_some() || !user.consent_personalization {
        return Ok(UserState { personalization: false, history: Vec::new() });
    }
    let weights = crate::settings::load(ctx, tx).await?.event_weights;
    let type_weights: HashMap<&'static str, f32> = EventType::ALL.iter().map(|t| (t.as_str(), weights.get(*t))).collect();
    let events: Vec<(i64, String, i64)> = interaction::Entity::find()
        .select_only()
        .columns([interaction::Column::ItemId, interaction::Column::EventType, interaction::Column::OccurredAt])
        .filter(interaction::Column::TenantId.eq(tenant))
        .filter(interaction::Column::UserId.eq(user.id))
        .order_by_desc(interaction::Column::OccurredAt)
        .limit(HISTORY_LIMIT)
        .into_tuple()
        .all(tx.conn())
        .await?;
    let item_ids: Vec<i64> = events.iter().map(|(i, _, _)| *i).collect::<HashSet<_>>().into_iter().collect();
    let mut external: HashMap<i64, String> = HashMap::with_capacity(item_ids.len());
    for chunk in item_ids.chunks(500) {
        let rows: Vec<(i64, String)> = content_item::Entity::find()
            .select_only()
            .columns([content_item::Column::Id, content_item::Column::ExternalId])
            .filter(content_item::Column::TenantId.eq(tenant))
            .filter(content_item::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(tx.conn())
            .await?;
        external.extend(rows);
    }
    let history = events
        .into_iter()
        .filter_map(|(item, event_type, at)| {
            let weight = type_weights.get(event_type.as_str()).copied().unwrap_or(0.0);
            let item_id = external.get(&item)?.clone();
            (weight > 0.0).then(|| HistoryEvent { item_id, weight, occurred_at: from_ms(at) })
        })
        .collect();
    Ok(UserState { personalization: true, history })
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
/// item. Cached for a few seconds; catalog edits reach serving within that time.
pub struct CatalogView {
    pub items: HashMap<String, (ItemFacets, Arc<Content>)>,
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

pub async fn catalog_facets(ctx: &TenantCtx, services: &Services) -> Result<Arc<CatalogView>> {
    let tenant = ctx.tenant_id().get();
    if let Some(view) = services.models.catalog.get(&tenant).await {
        return Ok(view);
    }
    let tx = services.db.begin(ctx).await?;
    let rows = content_item::Entity::find()
        .filter(content_item::Column::TenantId.eq(tenant))
        .filter(content_item::Column::DeletedAt.is_null())
        .all(tx.conn())
        .await?;
    tx.commit().await?;
    let mut items = HashMap::with_capacity(rows.len());
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
    let view = Arc::new(CatalogView { items });
    services.models.catalog.insert(tenant, view.clone()).await;
    Ok(view)
}

/// Items by interaction count, most popular first, for non-personalized answers.
/// Cached like the catalog.
pub async fn popular_items(ctx: &TenantCtx, services: &Services) -> Result<Arc<Vec<(String, f32)>>> {
    let tenant = ctx.tenant_id().get();
    if let Some(list) = services.models.popular.get(&tenant).await {
        return Ok(list);
    }
    let tx = services.db.begin(ctx).await?;
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
    let mut list: Vec<(i64, String, i64)> = ids.into_iter().map(|(id, ext)| (id, ext, counts.get(&id).copied().unwrap_or(0))).collect();
    list.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let list = Arc::new(list.into_iter().map(|(_, ext, n)| (ext, n as f32)).collect::<Vec<_>>());
    services.models.popular.insert(tenant, list.clone()).await;
    Ok(list)
}

/// Jaccard overlap of genres and tags, case-insensitive.
pub fn content_similarity(a: &ItemFacets, b: &ItemFacets) -> f32 {
    let set = |f: &ItemFacets| f.genres.iter().chain(f.tags.iter()).map(|s| s.to_lowercase()).collect::<HashSet<_>>();
    let (sa, sb) = (set(a), set(b));
    let union = sa.union(&sb).count();
    if union == 0 { 0.0 } else { sa.intersection(&sb).count() as f32 / union as f32 }
}
