//! `suggestTags`: genres and tags from the tenant's own vocabulary for one item, voted
//! by its nearest items in embedding space. Each neighbour votes for its labels with its
//! cosine; a label's confidence is its share of all the votes cast (so 1.0 means every
//! neighbour carries it). Labels the item already has are not suggested.

use std::collections::HashMap;

use tenants::{Scope, TenantCtx};

use super::services::ContentServices;
use crate::catalog::ContentId;
use crate::error::{DomainError, Result};

/// Neighbours that vote.
const NEIGHBOURS: usize = 20;
/// Suggestions returned at most.
pub const MAX_SUGGESTIONS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LabelKind {
    Genre,
    Tag,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TagSuggestion {
    pub label: String,
    pub kind: LabelKind,
    /// Share of the neighbours' similarity-weighted votes, in [0, 1].
    pub confidence: f32,
    /// Neighbours carrying the label.
    pub supporting_items: usize,
}

pub async fn suggest_tags(
    ctx: &TenantCtx,
    content: &ContentServices,
    id: &ContentId,
    first: Option<i64>,
) -> Result<Vec<TagSuggestion>> {
    ctx.require(Scope::CatalogRead)?;
    let first = match first {
        None => 5,
        Some(n) if (1..=MAX_SUGGESTIONS as i64).contains(&n) => n as usize,
        Some(_) => return Err(DomainError::invalid("first", format!("must be between 1 and {MAX_SUGGESTIONS}"))),
    };
    let index = content.semantic_index(ctx).await?;
    let tx = content.services.db.begin(ctx).await?;
    let item = crate::catalog::store::get(&tx, id).await?;
    let Some(item) = item else {
        tx.commit().await?;
        return Err(DomainError::NotFound(format!("content {:?}", id.as_str())));
    };
    let Some(position) = index.position(id.as_str()) else {
        tx.commit().await?;
        return Err(DomainError::ModelNotReady(format!("content {:?} is not embedded yet", id.as_str())));
    };
    let query = index.vector(position).to_vec();
    let neighbours = index.top_k(&query, NEIGHBOURS, |i| i != position);
    let rows: Vec<i64> = neighbours.iter().map(|(p, _)| index.rows[*p]).collect();
    let found = crate::catalog::store::find_by_internal_ids(&tx, &rows).await?;
    tx.commit().await?;

    let has = |kind: LabelKind, label: &str| match kind {
        LabelKind::Genre => item.genres.iter().any(|g| g.eq_ignore_ascii_case(label)),
        LabelKind::Tag => item.tags.iter().any(|t| t.eq_ignore_ascii_case(label)),
    };
    let mut votes: HashMap<(LabelKind, String), (f32, usize)> = HashMap::new();
    let mut total = 0.0_f32;
    for (p, cosine) in &neighbours {
        let Some(neighbour) = found.get(&index.rows[*p]) else { continue };
        let weight = cosine.max(0.0);
        total += weight;
        let labels = neighbour
            .genres
            .iter()
            .map(|g| (LabelKind::Genre, g))
            .chain(neighbour.tags.iter().map(|t| (LabelKind::Tag, t)));
        for (kind, label) in labels {
            if has(kind, label) {
                continue;
            }
            let vote = votes.entry((kind, label.clone())).or_insert((0.0, 0));
            vote.0 += weight;
            vote.1 += 1;
        }
    }
    let mut out: Vec<TagSuggestion> = votes
        .into_iter()
        .map(|((kind, label), (weight, count))| TagSuggestion {
            label,
            kind,
            confidence: if total > 0.0 { (weight / total).clamp(0.0, 1.0) } else { 0.0 },
            supporting_items: count,
        })
        .collect();
    out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then_with(|| a.label.cmp(&b.label)));
    out.truncate(first);
    Ok(out)
}
