//! `contentInsights` and `audienceInsights`: who engages with an item, how and when, and
//! what a segment of the audience engages with more than everyone else.
//!
//! Privacy rules (docs/content.md, "Insights and privacy"): only people who gave
//! analytics consent (and are not erased) are counted, like every statistic; a group of
//! fewer than `content.min_group_size` people is suppressed (its figure is not shown,
//! only that something was suppressed), so no answer singles out a few people. Every
//! answer reads personal data in aggregate and is audited as a read.

use chrono::{DateTime, NaiveDate, Utc};
use tenants::{Scope, TenantCtx};

use super::services::ContentServices;
use crate::audience::store::insights::{self as people, Attribute};
use crate::audit::{AuditEvent, Target, action};
use crate::catalog::{Content, ContentId, MAX_LABEL_CHARS};
use crate::error::{DomainError, Result};
use crate::interactions::store::insights as events;
use crate::sql::DAY_MS;
use crate::vocab::EventType;

/// Days of engagement an insight covers.
const ENGAGEMENT_DAYS: i64 = 90;
/// Neighbours listed by content and by behaviour.
const NEIGHBOURS: usize = 10;
/// Items listed by an audience insight.
const MAX_LIFTS: usize = 20;

#[derive(Debug, Clone, PartialEq)]
pub struct DailyEngagement {
    pub day: NaiveDate,
    /// `None`: fewer people than the minimum group size engaged that day.
    pub events: Option<u64>,
    pub people: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupCount {
    /// `None`: people who did not give the attribute.
    pub value: Option<String>,
    pub people: u64,
}

/// The audience by one attribute; small groups are left out and counted.
#[derive(Debug, Clone, PartialEq)]
pub struct AudienceGroup {
    /// `age_band`, `country` or `plan`.
    pub attribute: &'static str,
    pub groups: Vec<GroupCount>,
    /// Groups left out for being smaller than the minimum.
    pub suppressed_groups: usize,
}

#[derive(Debug, Clone)]
pub struct ContentInsights {
    pub content: Content,
    /// Counted people who engaged at all; `None` when fewer than the minimum.
    pub audience_size: Option<u64>,
    pub engagement: Vec<DailyEngagement>,
    /// People who completed it among those who started it (play, view or complete);
    /// `None` when the data has no such events or too few people.
    pub completion_rate: Option<f64>,
    pub audience: Vec<AudienceGroup>,
    /// Nearest items by embedding (empty without a text model), with their cosine.
    pub nearest_by_content: Vec<(Content, f32)>,
    /// Items the same people engaged with, with how many of them (groups under the
    /// minimum left out).
    pub nearest_by_behaviour: Vec<(Content, u64)>,
    pub min_group_size: usize,
}

/// Who a segment is: people whose attributes match every non-empty list.
#[derive(Debug, Clone, Default)]
pub struct AudienceSegment {
    pub age_bands: Vec<String>,
    pub countries: Vec<String>,
    pub plans: Vec<String>,
    pub genders: Vec<String>,
}

impl AudienceSegment {
    fn parse(self) -> Result<Vec<(Attribute, Vec<String>)>> {
        use crate::validate::filter_values;
        let parts = vec![
            (Attribute::AgeBand, filter_values("segment.ageBands", self.age_bands, 50, MAX_LABEL_CHARS)?),
            (Attribute::Country, filter_values("segment.countries", self.countries, 300, MAX_LABEL_CHARS)?),
            (Attribute::Plan, filter_values("segment.plans", self.plans, 50, MAX_LABEL_CHARS)?),
            (Attribute::Gender, filter_values("segment.genders", self.genders, 50, MAX_LABEL_CHARS)?),
        ];
        if parts.iter().all(|(_, v)| v.is_empty()) {
            return Err(DomainError::invalid("segment", "name at least one attribute value"));
        }
        Ok(parts)
    }
}

#[derive(Debug, Clone)]
pub struct AudienceLift {
    pub content: Content,
    /// Segment members who engaged with the item.
    pub segment_people: u64,
    /// Counted people (segment included) who engaged with it.
    pub all_people: u64,
    /// The segment's engagement rate over everyone's: 2.0 means twice as likely.
    pub lift: f64,
}

#[derive(Debug, Clone)]
pub struct AudienceInsights {
    /// Counted people in the segment; `None` (and no items) when fewer than the minimum.
    pub segment_size: Option<u64>,
    pub items: Vec<AudienceLift>,
    pub min_group_size: usize,
}

fn day_of(index: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp_millis(index * DAY_MS).unwrap_or_default().date_naive()
}

pub async fn content_insights(ctx: &TenantCtx, content: &ContentServices, id: &ContentId) -> Result<ContentInsights> {
    ctx.require(Scope::ReportsRead)?;
    let min = content.config.min_group_size.max(1) as u64;
    let event = AuditEvent::new(action::CONTENT_INSIGHTS_READ).target(Target::object("content", id.as_str()));
    content.services.read_audit.record(ctx, event).await?;
    let index = match content.semantic_index(ctx).await {
        Ok(index) => Some(index),
        Err(DomainError::ModelNotReady(_)) => None,
        Err(e) => return Err(e),
    };

    let tx = content.services.db.begin(ctx).await?;
    let item = crate::catalog::store::get(&tx, id).await?;
    let Some(item) = item else {
        tx.commit().await?;
        return Err(DomainError::NotFound(format!("content {:?}", id.as_str())));
    };
    let row = *crate::catalog::store::resolve_live_ids(&tx, &[id.as_str()])
        .await?
        .get(id.as_str())
        .ok_or_else(|| DomainError::NotFound(format!("content {:?}", id.as_str())))?;
    let start = (Utc::now().timestamp_millis() / DAY_MS - ENGAGEMENT_DAYS + 1) * DAY_MS;
    let per_day = events::item_per_day(&tx, row, start).await?;
    let by_type = events::item_people_by_type(&tx, row).await?;
    let audience_size = people::count_in(&tx, events::people_of_item(ctx, row)).await?;
    let mut audience = Vec::new();
    for (attribute, name) in
        [(Attribute::AgeBand, "age_band"), (Attribute::Country, "country"), (Attribute::Plan, "plan")]
    {
        let groups = people::composition(&tx, events::people_of_item(ctx, row), attribute).await?;
        let total = groups.len();
        let mut kept: Vec<GroupCount> =
            groups.into_iter().filter(|(_, n)| *n >= min).map(|(value, people)| GroupCount { value, people }).collect();
        kept.sort_by(|a, b| b.people.cmp(&a.people).then_with(|| a.value.cmp(&b.value)));
        audience.push(AudienceGroup { attribute: name, suppressed_groups: total - kept.len(), groups: kept });
    }
    let co = events::co_engaged(&tx, row, NEIGHBOURS as u64 * 3).await?;
    let co: Vec<(i64, u64)> = co.into_iter().filter(|(_, n)| *n >= min).take(NEIGHBOURS).collect();
    let by_content: Vec<(i64, f32)> = match &index {
        Some(index) => match index.position(id.as_str()) {
            Some(p) => {
                let query = index.vector(p).to_vec();
                index.top_k(&query, NEIGHBOURS, |i| i != p).into_iter().map(|(i, s)| (index.rows[i], s)).collect()
            }
            None => Vec::new(),
        },
        None => Vec::new(),
    };
    let rows: Vec<i64> = co.iter().map(|(r, _)| *r).chain(by_content.iter().map(|(r, _)| *r)).collect();
    let mut found = crate::catalog::store::find_by_internal_ids(&tx, &rows).await?;
    tx.commit().await?;

    let engagement = per_day
        .into_iter()
        .map(|(day, n, people)| {
            let shown = people >= min;
            DailyEngagement { day: day_of(day), events: shown.then_some(n), people: shown.then_some(people) }
        })
        .collect();
    let people_with = |types: &[EventType]| by_type.iter().filter(|(t, _)| types.contains(t)).map(|(_, n)| *n).max();
    let started = people_with(&[EventType::Play, EventType::View, EventType::Complete]);
    let completed = people_with(&[EventType::Complete]);
    let completion_rate = match (started, completed) {
        (Some(s), Some(c)) if s >= min => Some((c as f64 / s as f64).min(1.0)),
        _ => None,
    };
    let nearest_by_behaviour =
        co.into_iter().filter_map(|(r, n)| Some((found.get(&r)?.clone(), n))).collect::<Vec<_>>();
    let nearest_by_content = by_content.into_iter().filter_map(|(r, s)| Some((found.remove(&r)?, s))).collect();
    Ok(ContentInsights {
        content: item,
        audience_size: (audience_size >= min).then_some(audience_size),
        engagement,
        completion_rate,
        audience,
        nearest_by_content,
        nearest_by_behaviour,
        min_group_size: min as usize,
    })
}

pub async fn audience_insights(
    ctx: &TenantCtx,
    content: &ContentServices,
    segment: AudienceSegment,
    first: Option<i64>,
) -> Result<AudienceInsights> {
    ctx.require(Scope::ReportsRead)?;
    let first = match first {
        None => 10,
        Some(n) if (1..=MAX_LIFTS as i64).contains(&n) => n as usize,
        Some(_) => return Err(DomainError::invalid("first", format!("must be between 1 and {MAX_LIFTS}"))),
    };
    let segment = segment.parse()?;
    let min = content.config.min_group_size.max(1) as u64;
    let details = serde_json::json!({
        "segment": segment.iter().filter(|(_, v)| !v.is_empty()).map(|(a, v)| (format!("{a:?}"), v.clone())).collect::<std::collections::BTreeMap<_, _>>(),
    });
    let event = AuditEvent::new(action::AUDIENCE_INSIGHTS_READ).details(details);
    content.services.read_audit.record(ctx, event).await?;

    let tx = content.services.db.begin(ctx).await?;
    let members = people::segment_rows(ctx, &segment);
    let everyone = people::segment_rows(ctx, &[]);
    let segment_size = people::count_in(&tx, members.clone()).await?;
    if segment_size < min {
        tx.commit().await?;
        return Ok(AudienceInsights { segment_size: None, items: Vec::new(), min_group_size: min as usize });
    }
    let all_size = people::count_in(&tx, everyone.clone()).await?.max(1);
    let in_segment = events::reach_per_item(&tx, members, min).await?;
    let overall = events::reach_per_item(&tx, everyone, 1).await?;
    let mut lifts: Vec<(i64, u64, u64, f64)> = in_segment
        .into_iter()
        .filter_map(|(row, seg)| {
            let all = *overall.get(&row)?;
            let lift = (seg as f64 / segment_size as f64) / (all as f64 / all_size as f64);
            Some((row, seg, all, lift))
        })
        .collect();
    lifts.sort_by(|a, b| b.3.total_cmp(&a.3).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
    lifts.truncate(first);
    let rows: Vec<i64> = lifts.iter().map(|l| l.0).collect();
    let mut found = crate::catalog::store::find_by_internal_ids(&tx, &rows).await?;
    tx.commit().await?;
    let items = lifts
        .into_iter()
        .filter_map(|(row, segment_people, all_people, lift)| {
            Some(AudienceLift { content: found.remove(&row)?, segment_people, all_people, lift })
        })
        .collect();
    Ok(AudienceInsights { segment_size: Some(segment_size), items, min_group_size: min as usize })
}
