//! Catalog and audience statistics for the console: counts, interactions per day, top
//! content, items per genre and kind. Aggregates only; needs `reports:read`.
//!
//! Each figure is one grouped query on indexed columns; nothing is loaded row by row.
//! People who withheld analytics consent (and erased people) are left out of every
//! figure about users and their events.

use chrono::{Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, Func, Query};
use sea_orm::{ColumnTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use tenants::{Scope, TenantCtx, TenantTx};

use crate::Services;
use crate::catalog::{Content, ContentKind};
use crate::entity::{content_genre, content_item, end_user, interaction};
use crate::error::{DomainError, Result};
use crate::interactions::EventType;

const DAY_MS: i64 = 86_400_000;
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

/// The end users whose events statistics may count: analytics consent, not erased.
fn counted_users(t: i64) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(end_user::Column::Id)
        .from(end_user::Entity)
        .and_where(end_user::Column::TenantId.eq(t))
        .and_where(end_user::Column::ConsentAnalytics.eq(true))
        .and_where(end_user::Column::ErasedAt.is_null())
        .to_owned()
}

async fn begin(ctx: &TenantCtx, services: &Services) -> Result<TenantTx> {
    ctx.require(Scope::ReportsRead)?;
    Ok(services.db.begin(ctx).await?)
}

pub async fn counts(ctx: &TenantCtx, services: &Services) -> Result<Counts> {
    let tx = begin(ctx, services).await?;
    let t = ctx.tenant_id().get();
    let items = content_item::Entity::find()
        .filter(content_item::Column::TenantId.eq(t))
        .filter(content_item::Column::DeletedAt.is_null())
        .count(tx.conn())
        .await?;
    let users = end_user::Entity::find()
        .filter(end_user::Column::TenantId.eq(t))
        .filter(end_user::Column::ErasedAt.is_null())
        .filter(end_user::Column::ConsentAnalytics.eq(true))
        .count(tx.conn())
        .await?;
    let interactions = interaction::Entity::find()
        .filter(interaction::Column::TenantId.eq(t))
        .filter(interaction::Column::UserId.in_subquery(counted_users(t)))
        .count(tx.conn())
        .await?;
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
    let t = ctx.tenant_id().get();
    let range = match range {
        Some(r) => r,
        None => {
            let latest: Option<Option<i64>> = interaction::Entity::find()
                .select_only()
                .column_as(interaction::Column::OccurredAt.max(), "latest")
                .filter(interaction::Column::TenantId.eq(t))
                .into_tuple()
                .one(tx.conn())
                .await?;
            let to = latest.flatten().map(day_of).unwrap_or_else(|| Utc::now().date_naive());
            DayRange { from: to - Duration::days(29), to }
        }
    };
    let (start, end) = range.bounds_ms();
    // A literal divisor, so the select and the GROUP BY are the same expression on
    // PostgreSQL (two bound parameters would not be).
    let day = Expr::cust(format!("\"occurred_at\" / {DAY_MS}"));
    let rows: Vec<(i64, i64)> = interaction::Entity::find()
        .select_only()
        .column_as(day.clone(), "day")
        .column_as(interaction::Column::Id.count(), "n")
        .filter(interaction::Column::TenantId.eq(t))
        .filter(interaction::Column::UserId.in_subquery(counted_users(t)))
        .filter(interaction::Column::OccurredAt.gte(start))
        .filter(interaction::Column::OccurredAt.lt(end))
        .group_by(day)
        .into_tuple()
        .all(tx.conn())
        .await?;
    tx.commit().await?;
    let by_day: std::collections::HashMap<i64, i64> = rows.into_iter().collect();
    let mut out = Vec::new();
    let mut d = range.from;
    while d <= range.to {
        let key = d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis() / DAY_MS).unwrap_or(0);
        out.push(DayCount { day: d, count: u64::try_from(by_day.get(&key).copied().unwrap_or(0)).unwrap_or(0) });
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
    let t = ctx.tenant_id().get();
    let mut query = interaction::Entity::find()
        .select_only()
        .column(interaction::Column::ItemId)
        .column_as(interaction::Column::Id.count(), "n")
        .column_as(Expr::expr(Func::count_distinct(Expr::col(interaction::Column::UserId))), "u")
        .filter(interaction::Column::TenantId.eq(t))
        .filter(interaction::Column::UserId.in_subquery(counted_users(t)))
        .filter(
            interaction::Column::ItemId.not_in_subquery(
                Query::select()
                    .column(content_item::Column::Id)
                    .from(content_item::Entity)
                    .and_where(content_item::Column::TenantId.eq(t))
                    .and_where(content_item::Column::DeletedAt.is_not_null())
                    .to_owned(),
            ),
        );
    if let Some(et) = event_type {
        query = query.filter(interaction::Column::EventType.eq(et.as_str()));
    }
    if let Some(r) = range {
        let (start, end) = r.bounds_ms();
        query =
            query.filter(interaction::Column::OccurredAt.gte(start)).filter(interaction::Column::OccurredAt.lt(end));
    }
    let rows: Vec<(i64, i64, i64)> = query
        .group_by(interaction::Column::ItemId)
        .order_by(Expr::col("n"), Order::Desc)
        .order_by(interaction::Column::ItemId, Order::Asc)
        .limit(first)
        .into_tuple()
        .all(tx.conn())
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut items = crate::catalog::store::find_by_internal_ids(ctx, &tx, &ids).await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, n, u)| {
            items.remove(&id).map(|content| TopContent {
                content,
                interactions: u64::try_from(n).unwrap_or(0),
                users: u64::try_from(u).unwrap_or(0),
            })
        })
        .collect())
}

/// Live items per genre, most first.
pub async fn genre_counts(ctx: &TenantCtx, services: &Services) -> Result<Vec<LabelCount<String>>> {
    let tx = begin(ctx, services).await?;
    let t = ctx.tenant_id().get();
    let rows: Vec<(String, i64)> = content_genre::Entity::find()
        .select_only()
        .column(content_genre::Column::Genre)
        .column_as(content_genre::Column::ItemId.count(), "n")
        .filter(content_genre::Column::TenantId.eq(t))
        .filter(
            content_genre::Column::ItemId.not_in_subquery(
                Query::select()
                    .column(content_item::Column::Id)
                    .from(content_item::Entity)
                    .and_where(content_item::Column::TenantId.eq(t))
                    .and_where(content_item::Column::DeletedAt.is_not_null())
                    .to_owned(),
            ),
        )
        .group_by(content_genre::Column::Genre)
        .into_tuple()
        .all(tx.conn())
        .await?;
    tx.commit().await?;
    let mut out: Vec<_> =
        rows.into_iter().map(|(value, n)| LabelCount { value, count: u64::try_from(n).unwrap_or(0) }).collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    Ok(out)
}

/// Live items per kind, most first.
pub async fn kind_counts(ctx: &TenantCtx, services: &Services) -> Result<Vec<LabelCount<ContentKind>>> {
    let tx = begin(ctx, services).await?;
    let rows: Vec<(String, i64)> = content_item::Entity::find()
        .select_only()
        .column(content_item::Column::Kind)
        .column_as(content_item::Column::Id.count(), "n")
        .filter(content_item::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(content_item::Column::DeletedAt.is_null())
        .group_by(content_item::Column::Kind)
        .into_tuple()
        .all(tx.conn())
        .await?;
    tx.commit().await?;
    let mut out = rows
        .into_iter()
        .map(|(kind, n)| Ok(LabelCount { value: ContentKind::from_db(&kind)?, count: u64::try_from(n).unwrap_or(0) }))
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    Ok(out)
}

/// Events per type, most first.
pub async fn event_type_counts(ctx: &TenantCtx, services: &Services) -> Result<Vec<LabelCount<EventType>>> {
    let tx = begin(ctx, services).await?;
    let rows: Vec<(String, i64)> = interaction::Entity::find()
        .select_only()
        .column(interaction::Column::EventType)
        .column_as(interaction::Column::Id.count(), "n")
        .filter(interaction::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(interaction::Column::UserId.in_subquery(counted_users(ctx.tenant_id().get())))
        .group_by(interaction::Column::EventType)
        .into_tuple()
        .all(tx.conn())
        .await?;
    tx.commit().await?;
    let mut out = rows
        .into_iter()
        .map(|(t, n)| Ok(LabelCount { value: EventType::from_db(&t)?, count: u64::try_from(n).unwrap_or(0) }))
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    Ok(out)
}
