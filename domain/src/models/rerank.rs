//! The re-ranking at serving time: the same algorithms as in reports, with group
//! shares taken from the live catalog and the popularity list serving already caches.

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

/// Re-ranks a user's best candidates (`(item id, score)`, best first) and returns the
/// chosen indices into `candidates`, at most `first`. `popular` is the tenant's
/// items by interaction count, most popular first.
pub(crate) fn rerank_candidates(
    r: &Rerank,
    candidates: &[(String, f32)],
    first: usize,
    catalog: &CatalogView,
    popular: &[(String, f32)],
) -> Vec<usize> {
    let scores = candidates.iter().map(|c| c.1).collect();
    let facts = match r.strategy {
        RerankStrategy::ProviderExposure => {
            let provider = |id: &str| {
                catalog.get(id).and_then(|f| f.provider.clone()).unwrap_or_else(|| NONE.to_owned()).to_lowercase()
            };
            let names: Vec<String> = catalog.iter().map(|(id, _)| provider(id)).collect();
            let (ids, targets) = rerank::group_targets(names.iter().map(String::as_str));
            let groups = candidates.iter().map(|c| ids.get(&provider(&c.0)).copied().unwrap_or(usize::MAX)).collect();
            CandidateFacts { scores, groups, targets, features: Vec::new() }
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
            CandidateFacts { scores, groups, targets, features: Vec::new() }
        }
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
            CandidateFacts { scores, groups: Vec::new(), targets: Vec::new(), features }
        }
    };
    rerank::rerank(r, &facts, first)
}
