use async_graphql::{Context, Object, SimpleObject};
use chrono::NaiveDate;
use domain::stats::{self, DayRange};

use super::batch::count;
use super::catalog::{ContentGql, ContentKindGql};
use super::interactions::EventTypeGql;
use crate::graphql::context::{services, tenant};
use crate::graphql::error::ApiResult;

#[derive(SimpleObject)]
pub struct StatisticsCounts {
    /// Live catalog items.
    pub items: i32,
    /// End users who are not erased.
    pub users: i32,
    pub interactions: i32,
}

#[derive(SimpleObject)]
pub struct DayCount {
    /// A UTC day.
    pub day: NaiveDate,
    pub count: i32,
}

#[derive(SimpleObject)]
pub struct TopContent {
    pub content: ContentGql,
    pub interactions: i32,
    /// Distinct users who interacted.
    pub users: i32,
}

#[derive(SimpleObject)]
pub struct GenreCount {
    pub genre: String,
    pub items: i32,
}

#[derive(SimpleObject)]
pub struct KindCount {
    pub kind: ContentKindGql,
    pub items: i32,
}

#[derive(SimpleObject)]
pub struct EventTypeCount {
    #[graphql(name = "type")]
    pub event_type: EventTypeGql,
    pub interactions: i32,
}

/// Catalog and audience figures for the console (needs `reports:read`). Aggregates only.
pub struct StatisticsGql;

#[Object(name = "Statistics")]
impl StatisticsGql {
    async fn counts(&self, ctx: &Context<'_>) -> ApiResult<StatisticsCounts> {
        let c = stats::counts(tenant(ctx)?, services(ctx)?).await?;
        Ok(StatisticsCounts { items: count(c.items), users: count(c.users), interactions: count(c.interactions) })
    }

    /// Events per UTC day of occurrence, every day of the range listed (zeros
    /// included), at most 731 days. Default: the 30 days up to the latest event.
    async fn interactions_per_day(
        &self,
        ctx: &Context<'_>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> ApiResult<Vec<DayCount>> {
        let (_, days) =
            stats::interactions_per_day(tenant(ctx)?, services(ctx)?, DayRange::parse_bounds(from, to)?).await?;
        Ok(days.into_iter().map(|d| DayCount { day: d.day, count: count(d.count) }).collect())
    }

    /// The items with the most events (1 to 100), optionally of one type and within a range of days.
    #[graphql(complexity = "crate::graphql::complexity::list(first, child_complexity)")]
    async fn top_content(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
        #[graphql(name = "type")] event_type: Option<EventTypeGql>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> ApiResult<Vec<TopContent>> {
        let first = u64::try_from(first).unwrap_or(0);
        let rows = stats::top_content(
            tenant(ctx)?,
            services(ctx)?,
            first,
            event_type.map(Into::into),
            DayRange::parse_bounds(from, to)?,
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|t| TopContent {
                content: t.content.into(),
                interactions: count(t.interactions),
                users: count(t.users),
            })
            .collect())
    }

    /// Live items per genre, most first.
    async fn genres(&self, ctx: &Context<'_>) -> ApiResult<Vec<GenreCount>> {
        let rows = stats::genre_counts(tenant(ctx)?, services(ctx)?).await?;
        Ok(rows.into_iter().map(|r| GenreCount { genre: r.value, items: count(r.count) }).collect())
    }

    /// Live items per kind, most first.
    async fn kinds(&self, ctx: &Context<'_>) -> ApiResult<Vec<KindCount>> {
        let rows = stats::kind_counts(tenant(ctx)?, services(ctx)?).await?;
        Ok(rows.into_iter().map(|r| KindCount { kind: r.value.into(), items: count(r.count) }).collect())
    }

    /// Events per type, most first.
    async fn event_types(&self, ctx: &Context<'_>) -> ApiResult<Vec<EventTypeCount>> {
        let rows = stats::event_type_counts(tenant(ctx)?, services(ctx)?).await?;
        Ok(rows
            .into_iter()
            .map(|r| EventTypeCount { event_type: r.value.into(), interactions: count(r.count) })
            .collect())
    }
}
