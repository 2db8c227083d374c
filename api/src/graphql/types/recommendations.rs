use std::sync::Arc;

use async_graphql::{ComplexObject, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use domain::catalog::{Content, ContentKind};
use domain::models::{RecommendationFilter, Recommendations};

use super::catalog::{ContentGql, ContentKindGql};
use super::explanations::ExplanationGql;
use super::models::StrategyGql;

/// What a recommendation list may contain. Empty lists mean "any"; each list holds at
/// most 100 values.
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
        Self {
            kinds: Vec::new(),
            genres: Vec::new(),
            providers: Vec::new(),
            exclude_seen: true,
            available_at: None,
            rerank: None,
        }
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
#[graphql(complex)]
pub struct RecommendedContent {
    pub rank: i32,
    pub score: f64,
    pub content_id: String,
    /// The catalog entry, converted only when the query asks for it.
    #[graphql(skip)]
    pub catalog_entry: Option<Arc<Content>>,
    /// Present when the list was asked for with `explain: true`.
    pub explanation: Option<ExplanationGql>,
}

#[ComplexObject]
impl RecommendedContent {
    async fn content(&self) -> Option<ContentGql> {
        self.catalog_entry.as_deref().map(|c| ContentGql::from(c.clone()))
    }
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
                    catalog_entry: i.content,
                    content_id: i.item_id,
                    explanation: None,
                })
                .collect(),
        }
    }
}
