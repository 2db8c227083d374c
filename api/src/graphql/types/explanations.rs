use async_graphql::{Enum, SimpleObject};
use domain::models::{ContentReason, Explanation, ItemContribution, ReasonKind};

use super::models::StrategyGql;

#[derive(SimpleObject, Clone)]
#[graphql(name = "Contribution")]
pub struct ContributionGql {
    /// A content item from the person's history.
    pub content_id: String,
    pub title: Option<String>,
    /// Its additive part of the score.
    pub contribution: f64,
    /// contribution / score.
    pub share: f64,
}

impl From<ItemContribution> for ContributionGql {
    fn from(c: ItemContribution) -> Self {
        Self {
            content_id: c.content_id,
            title: c.title,
            contribution: f64::from(c.contribution),
            share: f64::from(c.share),
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ReasonKind")]
pub enum ReasonKindGql {
    Genre,
    Tag,
    Provider,
    Creator,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "ContentReason")]
pub struct ContentReasonGql {
    pub kind: ReasonKindGql,
    pub value: String,
    /// History items that share it.
    pub shared_with: Vec<String>,
}

impl From<ContentReason> for ContentReasonGql {
    fn from(r: ContentReason) -> Self {
        Self {
            kind: match r.kind {
                ReasonKind::Genre => ReasonKindGql::Genre,
                ReasonKind::Tag => ReasonKindGql::Tag,
                ReasonKind::Provider => ReasonKindGql::Provider,
                ReasonKind::Creator => ReasonKindGql::Creator,
            },
            value: r.value,
            shared_with: r.shared_with,
        }
    }
}

/// Why an item is (or would be) recommended to a person.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Explanation")]
pub struct ExplanationGql {
    pub user_id: String,
    pub content_id: String,
    pub strategy: StrategyGql,
    /// The score `recommendations` serves the item with, which the contributions
    /// decompose. For ALS, the served vector is the exact solution for the person's
    /// history (Hu, Koren and Volinsky 2008, section 5). For a popularity answer, the
    /// item's popularity.
    pub score: f64,
    /// All contributions added up: equal to `score` up to float rounding (a relative
    /// 1e-4 at most); 0 for a popularity answer, which the history does not make.
    pub contributions_total: f64,
    /// The largest contributions (at most 5), largest first.
    pub contributions: Vec<ContributionGql>,
    pub content_reasons: Vec<ContentReasonGql>,
    /// Rank in the person's list with seen items excluded; null when not in the top 100.
    pub rank: Option<i32>,
    pub fallback_reason: Option<String>,
    /// One sentence a console can show as it is.
    pub summary: String,
}

impl From<Explanation> for ExplanationGql {
    fn from(e: Explanation) -> Self {
        Self {
            user_id: e.user_id,
            content_id: e.content_id,
            strategy: e.strategy.into(),
            score: f64::from(e.score),
            contributions_total: f64::from(e.contributions_total),
            contributions: e.contributions.into_iter().map(Into::into).collect(),
            content_reasons: e.content_reasons.into_iter().map(Into::into).collect(),
            rank: e.rank.map(|r| r as i32),
            fallback_reason: e.fallback_reason,
            summary: e.summary,
        }
    }
}
