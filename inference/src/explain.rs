//! Explanations: which history items a score comes from, shared by every algorithm.

use serde::{Deserialize, Serialize};

/// How much one history item adds to a recommendation's score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// History item index.
    pub item: u32,
    /// Its additive share of the score (may be negative).
    pub value: f32,
}

/// A score and the history items it comes from, largest contribution first.
///
/// For ALS the contributions add up to the score exactly (Hu, Koren, Volinsky 2008,
/// section 5); for item-item neighbours they are the similarity votes, which also add up
/// to the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The explained item.
    pub item: u32,
    /// The score; equals the sum of `contributions`.
    pub score: f32,
    /// Every contributing history item, sorted by value descending (then item index).
    pub contributions: Vec<Contribution>,
}

impl Explanation {
    /// Builds an explanation, sorting contributions by value descending (ties by item).
    pub fn new(item: u32, score: f32, mut contributions: Vec<Contribution>) -> Self {
        contributions.sort_by(|a, b| b.value.total_cmp(&a.value).then(a.item.cmp(&b.item)));
        Self { item, score, contributions }
    }
}
