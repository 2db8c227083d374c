//! The re-ranking at serving time: the same algorithms as in reports, with group
//! shares taken from the live catalog, popularity from the list serving already caches
//! and the user's profile from the history serving already loaded.

use std::collections::HashMap;

use super::data::CatalogView;
use crate::fairness::metrics::{HEAD_FRACTION, MID_FRACTION, PopularityBucket};
use crate::fairness::rerank::{self, CandidateFacts};
use crate::fairness::{Rerank, RerankStrategy};

const NONE: &str = "(none)";

fn bucket_at(position: usize, n: usize) -> PopularityBucket {
    let head = (n as f64 * HEAD_FRACTION).ceil() as usize;
    let mid = head + (n as f64 * MID_FRACTION).ceil() as usize;
    if position < head {
        PopularityBucket::Head
    } else if position < mid {
        PopularityBucket::Mid
    } else {
        PopularityBucket::Tail
    }
}

/// The popularity buckets of `ids` (by the position in `popular`; items it lacks are
/// tail), in one pass over the list that stops once every id is placed.
fn buckets_of<'a>(ids: impl Iterator<Item = &'a str>, popular: &[(String, f32)]) -> HashMap<&'a str, PopularityBucket> {
    let mut wanted: HashMap<&'a str, PopularityBucket> = ids.map(|id| (id, PopularityBucket::Tail)).collect();
    let n = popular.len();
    let mut left = wanted.len();
    for (position, (id, _)) in popular.iter().enumerate() {
        if left == 0 {
            break;
        }
        if let Some(b) = wanted.get_mut(id.as_str()) {
            *b = bucket_at(position, n);
            left -= 1;
        }
    }
    wanted
}

/// The shares of head, mid and tail in the tenant's interactions.
fn interaction_profile(popular: &[(String, f32)]) -> [f64; 3] {
    let n = popular.len();
    let mut shares = [0.0; 3];
    for (position, (_, count)) in popular.iter().enumerate() {
        shares[bucket_at(position, n).index()] += f64::from(*count);
    }
    let total: f64 = shares.iter().sum();
    if total > 0.0 { shares.map(|s| s / total) } else { [1.0 / 3.0; 3] }
}

/// Re-ranks a user's best candidates (`(item id, score)`, best first) and returns the
/// chosen indices into `candidates`, at most `first`. `popular` is the tenant's
/// items by interaction count, most popular first; `history` the ids of the items in
/// the user's history (for the strategies personalized by it).
pub(crate) fn rerank_candidates<'a>(
    r: &Rerank,
    candidates: &'a [(String, f32)],
    first: usize,
    catalog: &CatalogView,
    popular: &[(String, f32)],
    history: impl Iterator<Item = &'a str>,
) -> Vec<usize> {
    let scores = candidates.iter().map(|c| c.1).collect();
    let empty = |scores| CandidateFacts {
        scores,
        groups: Vec::new(),
        targets: Vec::new(),
        features: Vec::new(),
        buckets: Vec::new(),
        profile: [1.0 / 3.0; 3],
    };
    let facts = match r.strategy {
        RerankStrategy::ProviderExposure => {
            let provider = |id: &str| {
                catalog.get(id).and_then(|f| f.provider.clone()).unwrap_or_else(|| NONE.to_owned()).to_lowercase()
            };
            let names: Vec<String> = catalog.iter().map(|(id, _)| provider(id)).collect();
            let (ids, targets) = rerank::group_targets(names.iter().map(String::as_str));
            let groups = candidates.iter().map(|c| ids.get(&provider(&c.0)).copied().unwrap_or(usize::MAX)).collect();
            CandidateFacts { groups, targets, ..empty(scores) }
        }
        RerankStrategy::PopularityExposure => {
            let n = popular.len();
            let position: HashMap<&str, usize> =
                popular.iter().enumerate().map(|(i, (id, _))| (id.as_str(), i)).collect();
            let (ids, targets) = rerank::group_targets((0..n).map(|p| bucket_at(p, n).as_str()));
            let groups = candidates
                .iter()
                .map(|c| {
                    let b = position.get(c.0.as_str()).map_or(PopularityBucket::Tail, |&p| bucket_at(p, n));
                    ids.get(b.as_str()).copied().unwrap_or(usize::MAX)
                })
                .collect();
            CandidateFacts { groups, targets, ..empty(scores) }
        }
        RerankStrategy::ExposureGini => empty(scores),
        RerankStrategy::MmrDiversity => {
            let features = candidates
                .iter()
                .map(|c| {
                    catalog
                        .get(&c.0)
                        .map(|f| f.genres.iter().chain(&f.tags).map(|s| s.to_lowercase()).collect())
                        .unwrap_or_default()
                })
                .collect();
            CandidateFacts { features, ..empty(scores) }
        }
        RerankStrategy::PopularityXquad | RerankStrategy::PopularityCalibration => {
            let mut history: Vec<&str> = history.collect();
            history.sort_unstable();
            history.dedup();
            let buckets = buckets_of(candidates.iter().map(|c| c.0.as_str()).chain(history.iter().copied()), popular);
            let bucket = |id: &str| buckets.get(id).copied().unwrap_or(PopularityBucket::Tail);
            // Only a user without history needs the catalog's shares (a pass over it).
            let fallback = if history.is_empty() { interaction_profile(popular) } else { [1.0 / 3.0; 3] };
            CandidateFacts {
                buckets: candidates.iter().map(|c| bucket(&c.0)).collect(),
                profile: rerank::profile(history.iter().map(|id| bucket(id)), fallback),
                ..empty(scores)
            }
        }
    };
    rerank::rerank(r, &facts, first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_profile_from_the_popularity_list() {
        // Ten items by count, most popular first: head 2 (ceil 20%), mid 3, tail 5.
        let popular: Vec<(String, f32)> = (0..10).map(|i| (format!("i{i}"), (10 - i) as f32)).collect();
        let b = buckets_of(["i1", "i2", "i9", "gone"].into_iter(), &popular);
        assert_eq!(b["i1"], PopularityBucket::Head);
        assert_eq!(b["i2"], PopularityBucket::Mid);
        assert_eq!(b["i9"], PopularityBucket::Tail);
        assert_eq!(b["gone"], PopularityBucket::Tail, "an item the list lacks is tail");
        // Counts 55 in all: head 10 + 9, mid 8 + 7 + 6, tail 5 + 4 + 3 + 2 + 1.
        let p = interaction_profile(&popular);
        assert!((p[0] - 19.0 / 55.0).abs() < 1e-12 && (p[1] - 21.0 / 55.0).abs() < 1e-12);
    }
}
