use async_graphql::{ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use domain::catalog::ContentKind;
use domain::models::{RecommendationFilter, Recommendations};

use super::catalog::{ContentGql, ContentKindGql};
use super::explanations::ExplanationGql;
use super::models::StrategyGql;

/// What a recommendation list may contain. Empty lists mean "any".
#[derive(InputObject)]
pub struct RecommendationFilterInput {
    #[graphql(default)]
    pub kinds: Vec<ContentKindGql>,
    #[graphql(default)]
    pub genres: Vec<String>,
    #[graphql(default)]
    pub providers: Vec<String>,
    /// Leave out items the user already interacted with (default true).
    #[graphql(default = true)]
    pub exclude_seen: bool,
    /// Only items available at this time (default: now).
    pub available_at: Option<DateTime<Utc>>,
    /// A fairness-aware re-ranking of the model's best 50 candidates.
    pub rerank: Option<super::fairness::RerankInput>,
}

impl Default for RecommendationFilterInput {
    fn default() -> Self {
        Self { kinds: Vec::new(), genres: Vec::new(), providers: Vec::new(), exclude_seen: true, available_at: None, rerank: None }
    }
}

impl TryFrom<RecommendationFilterInput> for RecommendationFilter {
    type Error = domain::DomainError;
    fn try_from(f: RecommendationFilterInput) -> Result<Self, Self::Error> {
        Ok(Self {
            kinds: f.kinds.into_iter().map(|k| ContentKind::from(k).as_str().to_owned()).collect(),
            genres: f.genres,
            providers: f.providers,
            exclude_seen: f.exclude_seen,
            available_at: f.available_at,
            rerank: f.rerank.map(|r| r.parse()).transpose()?,
        })
    }
}

#[derive(SimpleObject, Clone)]
pub struct RecommendedContent {
    pub rank: i32,
    pub score: f64,
    pub content_id: String,
    pub content: Option<ContentGql>,
    /// Present when the list was asked for with `explain: true`.
    pub explanation: Option<ExplanationGql>,
}

#[derive(SimpleObject, Clone)]
pub struct RecommendationList {
    /// What produced the list.
    pub strategy: StrategyGql,
    /// The model that scored it, when one did.
    pub model_id: Option<ID>,
    pub items: Vec<RecommendedContent>,
    /// Why the list is not personalized, when it is not: no consent to personalization,
    /// no deployed model, or no history yet.
    pub fallback_reason: Option<String>,
}

impl From<Recommendations> for RecommendationList {
    fn from(r: Recommendations) -> Self {
        Self {
            strategy: r.strategy.into(),
            model_id: r.model_id.map(|m| m.as_string().into()),
            fallback_reason: r.fallback_reason.map(str::to_owned),
            items: r
                .items
                .into_iter()
                .map(|i| RecommendedContent {
                    rank: i.rank as i32,
                    score: f64::from(i.score),
                    content: i.content.map(|c| ContentGql::from((*c).clone())),
                    content_id: i.item_id,
                    explanation: None,
                })
                .collect(),
        }
    }
}
