//! The data a model is trained on, loaded in one pass per table.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tenants::{Scope, TenantCtx};

use super::store;
use super::types::EventType;
use crate::Services;
use crate::audience::UserId;
pub use crate::catalog::SnapshotItem;
use crate::error::Result;
use crate::settings::{self, EventWeights};

/// One event in index space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SnapshotEvent {
    /// Index into [`TrainingSnapshot::users`].
    pub user: u32,
    /// Index into [`TrainingSnapshot::items`].
    pub item: u32,
    /// The tenant's weight for the event's type (always > 0: zero-weight types are left out).
    pub weight: f32,
    /// Seconds since the Unix epoch.
    pub occurred_at: i64,
}

/// A tenant's interactions as a training job needs them.
///
/// - `users`: every end user who consents to personalization and is not erased, in the
///   order they were first stored; index `i` is `users[i]`. Users without consent and
///   erased users are left out, and so are their events.
/// - `items`: every live (not deleted) catalog item, in the order first stored, with
///   or without events (so cold items can still be scored and filtered).
/// - `events`: one entry per stored event (repeats of a (user, item) pair are separate
///   entries; [`TrainingSnapshot::triplets`] keeps them apart too, and the sparse matrix
///   builder sums them), in arrival order, weighted by the tenant's current
///   [`EventWeights`]; events of zero-weight types and on deleted items are left out.
#[derive(Debug, Clone)]
pub struct TrainingSnapshot {
    pub users: Vec<UserId>,
    pub items: Vec<SnapshotItem>,
    pub events: Vec<SnapshotEvent>,
    pub weights: EventWeights,
    pub taken_at: DateTime<Utc>,
}

impl TrainingSnapshot {
    /// `(user index, item index, weight)` for `inference::matrix::Interactions::from_triplets`.
    pub fn triplets(&self) -> Vec<(u32, u32, f32)> {
        self.events.iter().map(|e| (e.user, e.item, e.weight)).collect()
    }

    pub fn user_index(&self) -> HashMap<&str, u32> {
        self.users.iter().enumerate().map(|(i, u)| (u.as_str(), i as u32)).collect()
    }

    pub fn item_index(&self) -> HashMap<&str, u32> {
        self.items.iter().enumerate().map(|(i, it)| (it.id.as_str(), i as u32)).collect()
    }

    /// The time span of the events, in seconds since the epoch.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let min = self.events.iter().map(|e| e.occurred_at).min()?;
        let max = self.events.iter().map(|e| e.occurred_at).max()?;
        Some((min, max))
    }
}

/// Loads all of a tenant's training data (needs `models:manage`): three queries in one
/// transaction, no per-row round trips. 100,000 events take well under a second.
pub async fn training_snapshot(ctx: &TenantCtx, services: &Services) -> Result<TrainingSnapshot> {
    ctx.require(Scope::ModelsManage)?;
    let tx = services.db.begin(ctx).await?;
    let weights = settings::load(&tx).await?.event_weights;
    let taken_at = Utc::now();

    let item_rows = crate::catalog::store::live_items(&tx).await?;
    let mut item_index = HashMap::with_capacity(item_rows.len());
    let mut items = Vec::with_capacity(item_rows.len());
    for (row, item) in item_rows {
        item_index.insert(row, items.len() as u32);
        items.push(item);
    }

    let user_rows = crate::audience::store::personalizable(&tx).await?;
    let mut user_index = HashMap::with_capacity(user_rows.len());
    let mut users = Vec::with_capacity(user_rows.len());
    for (row, id) in user_rows {
        user_index.insert(row, users.len() as u32);
        users.push(id);
    }

    let type_weights: HashMap<&'static str, f32> =
        EventType::ALL.iter().map(|t| (t.as_str(), weights.get(*t))).collect();
    let rows = store::all_events(&tx).await?;
    tx.commit().await?;
    let mut events = Vec::with_capacity(rows.len());
    for (user, item, event_type, occurred_at) in rows {
        let (Some(&u), Some(&i)) = (user_index.get(&user), item_index.get(&item)) else { continue };
        let weight = type_weights.get(event_type.as_str()).copied().unwrap_or(0.0);
        if weight > 0.0 {
            events.push(SnapshotEvent { user: u, item: i, weight, occurred_at: occurred_at.div_euclid(1000) });
        }
    }
    Ok(TrainingSnapshot { users, items, events, weights, taken_at })
}
