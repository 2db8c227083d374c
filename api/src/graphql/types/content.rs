//! GraphQL shapes of content analysis: search hits and why they matched, the embedding
//! pipeline's progress, tag suggestions, insights.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::NaiveDate;
use domain::content::{
    AudienceInsights, AudienceSegment, ContentInsights, EmbeddingStatus, KeywordMatch, LabelKind, SearchFilter,
    SearchHit, SearchMode, SemanticMatch, TagSuggestion,
};

use super::catalog::{ContentGql, ContentKindGql, mirror_enum};

mirror_enum!(
    /// How `searchContent` matches: the words (full-text index), the meaning (embeddings
    /// of the text model), or both fused by reciprocal rank.
    #[graphql(name = "SearchMode")]
    SearchModeGql mirrors SearchMode {
        Keyword,
        Semantic,
        Hybrid,
    }
);

/// What search hits may be. Empty lists mean any.
#[derive(InputObject, Default)]
pub struct SearchFilterInput {
    #[graphql(default)]
    pub kinds: Vec<ContentKindGql>,
    /// Any of these genres (case-insensitive).
    #[graphql(default)]
    pub genres: Vec<String>,
    /// Only items available at this time.
    pub available_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<SearchFilterInput> for SearchFilter {
    fn from(f: SearchFilterInput) -> Self {
        Self { kinds: f.kinds.into_iter().map(Into::into).collect(), genres: f.genres, available_at: f.available_at }
    }
}

/// Why a hit matched the words of the query.
#[derive(SimpleObject)]
pub struct KeywordReason {
    /// Rank in the keyword list (1 is best).
    pub rank: i32,
    /// The full-text index's relevance (higher is better; not comparable across backends).
    pub score: f64,
    /// Fields holding a match: `title`, `description`, `genres`, `tags`.
    pub fields: Vec<String>,
    /// The item's words that matched, lowercased.
    pub terms: Vec<String>,
    /// A fragment with the matches in square brackets (from the description, else the title).
    pub snippet: Option<String>,
}

impl From<KeywordMatch> for KeywordReason {
    fn from(m: KeywordMatch) -> Self {
        Self { rank: m.rank as i32, score: m.score, fields: m.fields, terms: m.terms, snippet: m.snippet }
    }
}

/// Why a hit matched the meaning of the query.
#[derive(SimpleObject)]
pub struct SemanticReason {
    /// Rank in the semantic list (1 is best).
    pub rank: i32,
    /// Cosine similarity of the item's and the query's embeddings.
    pub cosine: f64,
}

impl From<SemanticMatch> for SemanticReason {
    fn from(m: SemanticMatch) -> Self {
        Self { rank: m.rank as i32, cosine: f64::from(m.cosine) }
    }
}

#[derive(SimpleObject)]
pub struct SearchResult {
    pub rank: i32,
    /// KEYWORD: the index's relevance; SEMANTIC: the cosine; HYBRID: the fused
    /// reciprocal-rank score.
    pub score: f64,
    pub content: ContentGql,
    /// Present when the words matched (KEYWORD and HYBRID).
    pub keyword: Option<KeywordReason>,
    /// Present when the meaning matched (SEMANTIC and HYBRID).
    pub semantic: Option<SemanticReason>,
}

impl From<SearchHit> for SearchResult {
    fn from(h: SearchHit) -> Self {
        Self {
            rank: h.rank as i32,
            score: h.score,
            content: h.content.into(),
            keyword: h.keyword.map(Into::into),
            semantic: h.semantic.map(Into::into),
        }
    }
}

/// Progress of the background embedding of the catalog.
#[derive(SimpleObject)]
pub struct ContentEmbeddingStatus {
    /// The text model's version; null when no text model is installed.
    pub model_key: Option<String>,
    /// Items waiting to be embedded.
    pub pending: i64,
    /// Live items embedded by the current model.
    pub embedded: i64,
    /// Items that failed every attempt (tried again when they change).
    pub failed: i64,
}

impl From<EmbeddingStatus> for ContentEmbeddingStatus {
    fn from(s: EmbeddingStatus) -> Self {
        Self { model_key: s.model_key, pending: s.pending, embedded: s.embedded, failed: s.failed }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "LabelKind")]
pub enum LabelKindGql {
    Genre,
    Tag,
}

/// A genre or tag proposed for an item.
#[derive(SimpleObject)]
pub struct SuggestedTag {
    pub label: String,
    pub kind: LabelKindGql,
    /// Share of the similarity-weighted votes of the item's nearest items, 0 to 1.
    pub confidence: f64,
    /// Nearest items that carry the label.
    pub supporting_items: i32,
}

impl From<TagSuggestion> for SuggestedTag {
    fn from(t: TagSuggestion) -> Self {
        let kind = match t.kind {
            LabelKind::Genre => LabelKindGql::Genre,
            LabelKind::Tag => LabelKindGql::Tag,
        };
        Self { label: t.label, kind, confidence: f64::from(t.confidence), supporting_items: t.supporting_items as i32 }
    }
}

/// One day of engagement; counts are null when fewer people than the minimum group
/// size engaged that day.
#[derive(SimpleObject)]
#[graphql(name = "DailyEngagement")]
pub struct DailyEngagementGql {
    pub day: NaiveDate,
    pub events: Option<i64>,
    pub people: Option<i64>,
}

#[derive(SimpleObject)]
pub struct AudienceGroupCount {
    /// The attribute's value; null for people who did not give it.
    pub value: Option<String>,
    pub people: i64,
}

/// The audience by one attribute.
#[derive(SimpleObject)]
pub struct AudienceBreakdown {
    /// `age_band`, `country` or `plan`.
    pub attribute: String,
    pub groups: Vec<AudienceGroupCount>,
    /// Groups left out for having fewer people than the minimum group size.
    pub suppressed_groups: i32,
}

#[derive(SimpleObject)]
pub struct ContentNeighbour {
    pub content: ContentGql,
    /// By content: the cosine of the embeddings; by behaviour: people who engaged with both.
    pub score: f64,
}

/// Who engages with an item, how and when. Only people who gave analytics consent are
/// counted; groups smaller than `minGroupSize` are suppressed.
#[derive(SimpleObject)]
#[graphql(name = "ContentInsights")]
pub struct ContentInsightsGql {
    pub content: ContentGql,
    /// People who engaged; null when fewer than the minimum group size.
    pub audience_size: Option<i64>,
    /// The last 90 days with events.
    pub engagement: Vec<DailyEngagementGql>,
    /// Share of the people who started it (play, view) that completed it; null without
    /// such events or with too few people.
    pub completion_rate: Option<f64>,
    pub audience: Vec<AudienceBreakdown>,
    pub nearest_by_content: Vec<ContentNeighbour>,
    pub nearest_by_behaviour: Vec<ContentNeighbour>,
    pub min_group_size: i32,
}

impl From<ContentInsights> for ContentInsightsGql {
    fn from(i: ContentInsights) -> Self {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Self {
            content: i.content.into(),
            audience_size: i.audience_size.map(count),
            engagement: i
                .engagement
                .into_iter()
                .map(|d| DailyEngagementGql { day: d.day, events: d.events.map(count), people: d.people.map(count) })
                .collect(),
            completion_rate: i.completion_rate,
            audience: i
                .audience
                .into_iter()
                .map(|a| AudienceBreakdown {
                    attribute: a.attribute.to_owned(),
                    groups: a
                        .groups
                        .into_iter()
                        .map(|g| AudienceGroupCount { value: g.value, people: count(g.people) })
                        .collect(),
                    suppressed_groups: a.suppressed_groups as i32,
                })
                .collect(),
            nearest_by_content: i
                .nearest_by_content
                .into_iter()
                .map(|(c, s)| ContentNeighbour { content: c.into(), score: f64::from(s) })
                .collect(),
            nearest_by_behaviour: i
                .nearest_by_behaviour
                .into_iter()
                .map(|(c, n)| ContentNeighbour { content: c.into(), score: n as f64 })
                .collect(),
            min_group_size: i.min_group_size as i32,
        }
    }
}

/// A segment of the audience: people whose attributes match every non-empty list.
#[derive(InputObject, Default)]
pub struct AudienceSegmentInput {
    #[graphql(default)]
    pub age_bands: Vec<String>,
    #[graphql(default)]
    pub countries: Vec<String>,
    #[graphql(default)]
    pub plans: Vec<String>,
    #[graphql(default)]
    pub genders: Vec<String>,
}

impl From<AudienceSegmentInput> for AudienceSegment {
    fn from(s: AudienceSegmentInput) -> Self {
        Self { age_bands: s.age_bands, countries: s.countries, plans: s.plans, genders: s.genders }
    }
}

/// An item the segment engages with more (or less) than everyone.
#[derive(SimpleObject)]
#[graphql(name = "AudienceLift")]
pub struct AudienceLiftGql {
    pub content: ContentGql,
    /// Segment members who engaged with it.
    pub segment_people: i64,
    /// Counted people (segment included) who engaged with it.
    pub all_people: i64,
    /// The segment's engagement rate over everyone's: 2.0 means twice as likely.
    pub lift: f64,
}

#[derive(SimpleObject)]
#[graphql(name = "AudienceInsights")]
pub struct AudienceInsightsGql {
    /// Counted people in the segment; null (and no items) when fewer than `minGroupSize`.
    pub segment_size: Option<i64>,
    /// Items with the highest lift, each engaged by at least `minGroupSize` members.
    pub items: Vec<AudienceLiftGql>,
    pub min_group_size: i32,
}

impl From<AudienceInsights> for AudienceInsightsGql {
    fn from(i: AudienceInsights) -> Self {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Self {
            segment_size: i.segment_size.map(count),
            items: i
                .items
                .into_iter()
                .map(|l| AudienceLiftGql {
                    content: l.content.into(),
                    segment_people: count(l.segment_people),
                    all_people: count(l.all_people),
                    lift: l.lift,
                })
                .collect(),
            min_group_size: i.min_group_size as i32,
        }
    }
}
