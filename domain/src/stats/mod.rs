//! Catalog and audience statistics for the console: counts, interactions per day, top
//! content, items per genre and kind. Aggregates only; needs `reports:read`.
//!
//! Each figure is one grouped query on indexed columns, asked of the store that owns the
//! table it counts (`catalog`, `audience`, `interactions`); nothing is loaded row by row.
//! People who withheld analytics consent (and erased people) are left out of every
//! figure about users and their events.

use chrono::{Duration, NaiveDate, Utc};
use tenants::{Scope, TenantCtx, TenantTx};

use crate::Services;
use crate::audience::store::stats as audience;
use crate::catalog::store::stats as catalog;
use crate::catalog::{Content, ContentKind};
use crate::error::{DomainError, Result};
use crate::interactions::EventType;
use crate::interactions::store::stats as interactions;
use crate::sql::DAY_MS;

/// The longest span `interactions_per_day` answers.
pub const MAX_DAYS: i64 = 731;
/// The most items `top_content` answers.
pub const MAX_TOP: u64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Live catalog items.
    pub items: u64,
    /// End users who are not erased and consent to analytics.
    pub users: u64,
    /// Their interactions.
    pub interactions: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    pub day: NaiveDate,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopContent {
    pub content: Content,
    pub interactions: u64,
    /// Distinct users who interacted.
    pub users: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelCount<T> {
    pub value: T,
    pub count: u64,
}

/// An inclusive range of UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DayRange {
    pub fn parse(from: NaiveDate, to: NaiveDate) -> Result<Self> {
        if to < from {
            return Err(DomainError::invalid("to", "must not be before from"));
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(DomainError::invalid("from", format!("a range spans at most {MAX_DAYS} days")));
        }
        Ok(Self { from, to })
    }

    /// A range from optional bounds: none gives none (all time); one bound alone
    /// gives the longest range from it, or the 30 days up to it.
    pub fn parse_bounds(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Option<Self>> {
        let range = match (from, to) {
            (None, None) => return Ok(None),
            (Some(f), Some(t)) => (f, t),
            (Some(f), None) => (f, f + chrono::Duration::days(MAX_DAYS - 1)),
            (None, Some(t)) => (t - chrono::Duration::days(29), t),
        };
        Self::parse(range.0, range.1).map(Some)
    }

    fn bounds_ms(self) -> (i64, i64) {
        let start = self.from.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or(0);
        let end = self.to.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or(0) + DAY_MS;
        (start, end)
    }
}

fn day_of(ms: i64) -> NaiveDate {
    crate::sql::from_ms(ms).date_naive()
}

/// Whether the context may read statistics at all (`reports:read`).
pub fn authorize(ctx: &TenantCtx) -> Result<()> {
    Ok(ctx.require(Scope::ReportsRead)?)
}

async fn begin(ctx: &TenantCtx, services: &Services) -> Result<TenantTx> {
    ctx.require(Scope::ReportsRead)?;
    Ok(services.db.begin(ctx).await?)
}

pub async fn counts(ctx: &TenantCtx, services: &Services) -> Result<Counts> {
    let tx = begin(ctx, services).await?;
    let items = catalog::count_live_items(&tx).await?;
    let users = audience::count_counted_users(&tx).await?;
    let interactions = interactions::count_counted_events(&tx).await?;
    tx.commit().await?;
    Ok(Counts { items, users, interactions })
}

/// Events per UTC day of occurrence, every day of the range listed (zeros included).
/// Without a range: the 30 days up to the latest event's day (or today).
pub async fn interactions_per_day(
    ctx: &TenantCtx,
    services: &Services,
    range: Option<DayRange>,
) -> Result<(DayRange, Vec<DayCount>)> {
    let tx = begin(ctx, services).await?;
    let range = match range {
        Some(r) => r,
        None => {
            let latest = interactions::latest_occurred_at(&tx).await?;
            let to = latest.map(day_of).unwrap_or_else(|| Utc::now().date_naive());
            DayRange { from: to - Duration::days(29), to }
        }
    };
    let (start, end) = range.bounds_ms();
    let by_day = interactions::per_day(&tx, start, end).await?;
    tx.commit().await?;
    let mut out = Vec::new();
    let mut d = range.from;
    while d <= range.to {
        let key = d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis() / DAY_MS).unwrap_or(0);
        out.push(DayCount { day: d, count: by_day.get(&key).copied().unwrap_or(0) });
        d += Duration::days(1);
    }
    Ok((range, out))
}

/// The live items with the most events (optionally of one type, within a range), most
/// first; ties by the order items were stored.
pub async fn top_content(
    ctx: &TenantCtx,
    services: &Services,
    first: u64,
    event_type: Option<EventType>,
    range: Option<DayRange>,
) -> Result<Vec<TopContent>> {
    if !(1..=MAX_TOP).contains(&first) {
        return Err(DomainError::invalid("first", format!("must be between 1 and {MAX_TOP}")));
    }
    let tx = begin(ctx, services).await?;
    let rows = interactions::top_items(&tx, first, event_type, range.map(DayRange::bounds_ms)).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.row).collect();
    let mut items = crate::catalog::store::find_by_internal_ids(&tx, &ids).await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            items.remove(&r.row).map(|content| TopContent { content, interactions: r.events, users: r.users })
        })
        .collect())
}

/// Live items per genre, most first.
pub async fn genre_counts(ctx: &TenantCtx, services: &Services) -> Result<Vec<LabelCount<String>>> {
    let tx = begin(ctx, services).await?;
    let rows = catalog::genre_counts(&tx).await?;
    tx.commit().await?;
    Ok(sorted(rows))
}

/// Live items per kind, most first.
pub async fn kind_counts(ctx: &TenantCtx, services: &Services) -> Result<Vec<LabelCount<ContentKind>>> {
    let tx = begin(ctx, services).await?;
    let rows = catalog::kind_counts(&tx).await?;
    tx.commit().await?;
    Ok(sorted(rows))
}

/// Events per type, most first.
pub async fn event_type_counts(ctx: &TenantCtx, services: &Services) -> Result<Vec<LabelCount<EventType>>> {
    let tx = begin(ctx, services).await?;
    let rows = interactions::type_counts(&tx).await?;
    tx.commit().await?;
    Ok(sorted(rows))
}

/// Most first, ties by value.
fn sorted<T: Ord>(rows: Vec<(T, u64)>) -> Vec<LabelCount<T>> {
    let mut out: Vec<_> = rows.into_iter().map(|(value, count)| LabelCount { value, count }).collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    out
}
