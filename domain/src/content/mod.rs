//! Content analysis (issue #13): embeddings of the catalog by a sentence-embedding
//! transformer, keyword / semantic / hybrid search, tag suggestions, content profiles
//! of people for cold-start recommendations, and insights about items and audiences.
//!
//! - The text model (`inference::text::TextEncoder`) is optional: without it keyword
//!   search and insights work, semantic features answer `MODEL_NOT_READY`.
//! - Embeddings are computed off the request path: writes to the catalog put items on a
//!   queue table in their own transaction (triggers, see migration m0012); a worker of
//!   the server claims batches with a lease and embeds them on a thread of its own at
//!   the lowest CPU priority, with a bounded number of ONNX Runtime threads ([`worker`],
//!   [`background_thread`]).
//! - Semantic search is exact: a per-tenant matrix kept in a [`crate::fresh_cache`];
//!   an announced batch ([`crate::serving_cache::Change::Embeddings`]) is applied to it
//!   in place in the background, and it is read whole again every 30 s ([`index`],
//!   [`services`]).
//! - Every read of personal data (insights) is audited through the read-audit queue.
//!
//! Scopes: search and tags need `catalog:read`; insights need `reports:read`.

mod background_thread;
mod blend;
mod index;
mod insights;
mod search;
mod services;
mod store;
#[cfg(test)]
mod store_tests;
mod tags;
mod text;
mod text_model;
mod transfer;
mod vector;
mod worker;

pub use blend::{ContentTransfer, DEFAULT_BLEND_WEIGHT, PersonScale};
pub use index::SemanticIndex;
pub(crate) use index::top_of;
pub use transfer::{KeptList, ModelTransfer};

pub use insights::{
    AudienceGroup, AudienceInsights, AudienceLift, AudienceSegment, ContentInsights, DailyEngagement, GroupCount,
    audience_insights, content_insights,
};
pub use search::{
    KeywordMatch, MAX_SEARCH_RESULTS, SearchFilter, SearchHit, SearchMode, SearchRequest, SemanticMatch, search_content,
};
pub(crate) use services::{BATCHES_EVERY, TransferKey};
pub use services::{ContentConfig, ContentServices, EmbeddingStatus, embedding_status};
pub use tags::{LabelKind, MAX_SUGGESTIONS, TagSuggestion, suggest_tags};
pub use text::embedding_text;

/// The `k` best finite scores, best first, ties by position.
pub(crate) fn top_positions(scores: &[f32], k: usize) -> Vec<(usize, f32)> {
    top_of(scores, k, |_| true)
}
