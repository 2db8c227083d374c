//! The report's figures as pure functions of ranked lists, held-out items and groups,
//! so each one can be checked by hand on a tiny example (the tests below do).

use std::collections::BTreeMap;

/// Position weight of rank `r` (1-based): 1 / log2(r + 1), the DCG discount.
pub fn position_weight(rank: usize) -> f64 {
    1.0 / ((rank + 1) as f64).log2()
}

/// NDCG@k and Recall@k of one list against the held-out items, as the evaluation
/// protocol defines them: binary gain, ideal over min(|test|, k), recall over |test|.
pub fn ndcg_recall(list: &[u32], test: &[u32], k: usize) -> (f64, f64) {
    if test.is_empty() || k == 0 {
        return (0.0, 0.0);
    }
    let mut dcg = 0.0;
    let mut hits = 0usize;
    for (i, item) in list.iter().take(k).enumerate() {
        if test.contains(item) {
            dcg += position_weight(i + 1);
            hits += 1;
        }
    }
    let ideal: f64 = (1..=test.len().min(k)).map(position_weight).sum();
    (dcg / ideal, hits as f64 / test.len() as f64)
}

/// Mean NDCG and recall of a set of users.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Quality {
    pub users: usize,
    pub ndcg: f64,
    pub recall: f64,
}

pub fn mean_quality(per_user: impl IntoIterator<Item = (f64, f64)>) -> Quality {
    let mut q = Quality::default();
    for (n, r) in per_user {
        q.users += 1;
        q.ndcg += n;
        q.recall += r;
    }
    if q.users > 0 {
        q.ndcg /= q.users as f64;
        q.recall /= q.users as f64;
    }
    q
}

/// Per-user figures grouped by one attribute's value (users without a value are the
/// group `None`), in value order.
pub fn by_group(per_user: &[(Option<String>, f64, f64)]) -> BTreeMap<Option<String>, Quality> {
    let mut sums: BTreeMap<Option<String>, Vec<(f64, f64)>> = BTreeMap::new();
    for (g, n, r) in per_user {
        sums.entry(g.clone()).or_default().push((*n, *r));
    }
    sums.into_iter().map(|(g, v)| (g, mean_quality(v))).collect()
}

/// Fairlearn's MetricFrame summaries over the groups shown: largest minus smallest, and
/// smallest over largest (1 when every group scores 0: they are equal). `None` with
/// fewer than two groups, where there is nothing to compare.
pub fn difference_and_ratio(values: &[f64]) -> Option<(f64, f64)> {
    if values.len() < 2 {
        return None;
    }
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let ratio = if max > 0.0 { min / max } else { 1.0 };
    Some((max - min, ratio))
}

/// Position-weighted exposure of each item (index) over all lists' top k; the same
/// figure `EXPOSURE_GINI` lowers, so it is one function.
pub use inference::exposure::item_exposure;

/// Gini index of non-negative values (0: all equal; (n-1)/n: all on one).
pub use inference::exposure::gini;

/// One item group's shares: of position-weighted exposure, of the catalog (items) and
/// of training interactions. An item in several groups (genres) counts in each.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupShares {
    pub group: String,
    pub items: usize,
    pub exposure_share: f64,
    pub catalog_share: f64,
    pub interaction_share: f64,
}

/// `groups_of[i]` lists item i's groups.
pub fn group_shares(groups_of: &[Vec<String>], exposure: &[f64], interactions: &[u32]) -> Vec<GroupShares> {
    let n = groups_of.len();
    let total_exposure: f64 = exposure.iter().sum();
    let total_interactions: f64 = interactions.iter().map(|&c| f64::from(c)).sum();
    let mut acc: BTreeMap<&str, (usize, f64, f64)> = BTreeMap::new();
    for (i, groups) in groups_of.iter().enumerate() {
        for g in groups {
            let e = acc.entry(g.as_str()).or_default();
            e.0 += 1;
            e.1 += exposure.get(i).copied().unwrap_or(0.0);
            e.2 += interactions.get(i).map_or(0.0, |&c| f64::from(c));
        }
    }
    let share = |part: f64, total: f64| if total > 0.0 { part / total } else { 0.0 };
    acc.into_iter()
        .map(|(g, (items, e, c))| GroupShares {
            group: g.to_owned(),
            items,
            exposure_share: share(e, total_exposure),
            catalog_share: share(items as f64, n as f64),
            interaction_share: share(c, total_interactions),
        })
        .collect()
}

/// Popularity buckets by training interactions: the most popular 20% of items are the
/// head, the next 30% the middle, the rest the tail (ties broken by item index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PopularityBucket {
    Head,
    Mid,
    Tail,
}

impl PopularityBucket {
    pub fn as_str(self) -> &'static str {
        match self {
            PopularityBucket::Head => "head",
            PopularityBucket::Mid => "mid",
            PopularityBucket::Tail => "tail",
        }
    }
    /// 0 for the head, 1 for the middle, 2 for the tail.
    pub fn index(self) -> usize {
        match self {
            PopularityBucket::Head => 0,
            PopularityBucket::Mid => 1,
            PopularityBucket::Tail => 2,
        }
    }
}

pub const HEAD_FRACTION: f64 = 0.2;
pub const MID_FRACTION: f64 = 0.3;

pub fn popularity_buckets(counts: &[u32]) -> Vec<PopularityBucket> {
    let n = counts.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    let head = (n as f64 * HEAD_FRACTION).ceil() as usize;
    let mid = head + (n as f64 * MID_FRACTION).ceil() as usize;
    let mut buckets = vec![PopularityBucket::Tail; n];
    for (rank, &i) in order.iter().enumerate() {
        buckets[i] = if rank < head {
            PopularityBucket::Head
        } else if rank < mid {
            PopularityBucket::Mid
        } else {
            PopularityBucket::Tail
        };
    }
    buckets
}

/// Popularity bias of a set of top-k lists.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PopularityFigures {
    /// Mean over users of the mean training-interaction count of their list's items.
    pub average_popularity: f64,
    /// Mean interaction count of a catalog item, for scale.
    pub catalog_average_popularity: f64,
    /// Share of recommended slots filled by items outside the head.
    pub long_tail_share: f64,
    /// Gini index of position-weighted item exposure over the whole catalog.
    pub gini: f64,
    /// Distinct recommended items over catalog size.
    pub coverage: f64,
}

pub fn popularity_figures(lists: &[Vec<u32>], counts: &[u32], k: usize) -> PopularityFigures {
    let n = counts.len();
    let buckets = popularity_buckets(counts);
    let mut arp = 0.0;
    let mut users = 0usize;
    let mut slots = 0usize;
    let mut tail_slots = 0usize;
    let mut seen = vec![false; n];
    for list in lists {
        let top: Vec<usize> = list.iter().take(k).map(|&i| i as usize).filter(|&i| i < n).collect();
        if top.is_empty() {
            continue;
        }
        users += 1;
        arp += top.iter().map(|&i| f64::from(counts[i])).sum::<f64>() / top.len() as f64;
        for &i in &top {
            slots += 1;
            tail_slots += usize::from(buckets[i] != PopularityBucket::Head);
            seen[i] = true;
        }
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    PopularityFigures {
        average_popularity: ratio(arp, users as f64),
        catalog_average_popularity: ratio(counts.iter().map(|&c| f64::from(c)).sum(), n as f64),
        long_tail_share: ratio(tail_slots as f64, slots as f64),
        gini: gini(&item_exposure(lists, n, k)),
        coverage: ratio(seen.iter().filter(|s| **s).count() as f64, n as f64),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn ndcg_and_recall_by_hand() {
        // Hits at ranks 1 and 3 of 3, two held out: DCG = 1 + 1/log2(4) = 1.5,
        // ideal = 1 + 1/log2(3) = 1.6309..., so NDCG = 0.91972...; recall 2/2.
        let (n, r) = ndcg_recall(&[5, 6, 7], &[7, 5], 3);
        assert!(close(n, 1.5 / (1.0 + 1.0 / 3f64.log2())), "{n}");
        assert!(close(r, 1.0));
        // One hit at rank 2 of 2, three held out (ideal over min(3, 2) = 2 positions):
        // (1/log2 3) / (1 + 1/log2 3) = 0.38685...; recall 1/3.
        let (n, r) = ndcg_recall(&[1, 2, 9], &[2, 3, 4], 2);
        assert!(close(n, (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2())));
        assert!(close(r, 1.0 / 3.0));
        assert_eq!(ndcg_recall(&[1], &[], 10), (0.0, 0.0));
    }

    #[test]
    fn groups_difference_and_ratio_by_hand() {
        let per_user = vec![
            (Some("f".to_owned()), 1.0, 1.0),
            (Some("f".to_owned()), 0.5, 0.0),
            (Some("m".to_owned()), 0.25, 0.5),
            (None, 0.0, 0.0),
        ];
        let groups = by_group(&per_user);
        assert_eq!(groups[&Some("f".to_owned())], Quality { users: 2, ndcg: 0.75, recall: 0.5 });
        assert_eq!(groups[&Some("m".to_owned())], Quality { users: 1, ndcg: 0.25, recall: 0.5 });
        assert_eq!(groups[&None].users, 1);
        // f 0.75, m 0.25: difference 0.5, ratio 1/3.
        let (d, r) = difference_and_ratio(&[0.75, 0.25]).unwrap_or_default();
        assert!(close(d, 0.5) && close(r, 1.0 / 3.0));
        assert_eq!(difference_and_ratio(&[0.0, 0.0]), Some((0.0, 1.0)));
        assert_eq!(difference_and_ratio(&[0.4]), None);
    }

    #[test]
    fn gini_by_hand() {
        assert!(close(gini(&[1.0, 1.0, 1.0, 1.0]), 0.0));
        assert!(close(gini(&[0.0, 0.0, 0.0, 4.0]), 0.75));
        // Sorted 1, 2, 3: (-2*1 + 0*2 + 2*3) / (3 * 6) = 4/18.
        assert!(close(gini(&[3.0, 1.0, 2.0]), 4.0 / 18.0));
        assert_eq!(gini(&[]), 0.0);
    }

    #[test]
    fn exposure_shares_by_hand() {
        // Two lists of two over four items: [0, 1] and [0, 2].
        // Exposure: item 0 = 2, item 1 = item 2 = 1/log2 3 = 0.63093, item 3 = 0.
        let lists = vec![vec![0, 1], vec![0, 2]];
        let exposure = item_exposure(&lists, 4, 2);
        let w2 = 1.0 / 3f64.log2();
        assert!(close(exposure[0], 2.0) && close(exposure[1], w2) && close(exposure[3], 0.0));
        // Groups: item 0 in A and B, item 1 in A, items 2 and 3 in C.
        let groups = vec![
            vec!["A".to_owned(), "B".to_owned()],
            vec!["A".to_owned()],
            vec!["C".to_owned()],
            vec!["C".to_owned()],
        ];
        let shares = group_shares(&groups, &exposure, &[6, 2, 1, 1]);
        let total = 2.0 + 2.0 * w2;
        let a = &shares[0];
        assert_eq!((a.group.as_str(), a.items), ("A", 2));
        assert!(close(a.exposure_share, (2.0 + w2) / total));
        assert!(close(a.catalog_share, 0.5));
        assert!(close(a.interaction_share, 0.8));
        let c = &shares[2];
        assert!(close(c.exposure_share, w2 / total) && close(c.catalog_share, 0.5) && close(c.interaction_share, 0.2));
    }

    #[test]
    fn popularity_figures_by_hand() {
        // Ten items, counts 10, 9, ..., 1: head = items 0, 1 (top 20%), mid = 2, 3, 4.
        let counts: Vec<u32> = (1..=10).rev().collect();
        let buckets = popularity_buckets(&counts);
        assert_eq!(buckets[1], PopularityBucket::Head);
        assert_eq!(buckets[2], PopularityBucket::Mid);
        assert_eq!(buckets[5], PopularityBucket::Tail);
        // Lists [0, 1] and [0, 9]: ARP = mean(9.5, 5.5) = 7.5; slots 4, outside head 1.
        let lists = vec![vec![0, 1], vec![0, 9]];
        let p = popularity_figures(&lists, &counts, 2);
        assert!(close(p.average_popularity, 7.5));
        assert!(close(p.catalog_average_popularity, 5.5));
        assert!(close(p.long_tail_share, 0.25));
        assert!(close(p.coverage, 0.3));
        // Exposure: item 0 = 2, items 1 and 9 = w2, seven zeros. Sorted ascending the
        // weights (2i - 11) are 5, 7, 9 for the three non-zeros (i = 8, 9, 10):
        // (5 w2 + 7 w2 + 9 * 2) / (10 * (2 + 2 w2)).
        let w2 = 1.0 / 3f64.log2();
        assert!(close(p.gini, (12.0 * w2 + 18.0) / (10.0 * (2.0 + 2.0 * w2))));
    }
}
