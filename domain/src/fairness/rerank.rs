//! Fairness-aware re-ranking of a model's best candidates, shared by reports and
//! serving. All greedy: each position takes the candidate with the best blend of its
//! model score, min-max normalized over the user's candidates (so scores of any model,
//! whatever their scale, weigh the same), and the fairness objective, weighted by
//! strength. Each is O(k × candidates) per list.

use std::collections::{HashMap, HashSet};

use super::metrics::{PopularityBucket, position_weight};
use super::types::{Rerank, RerankStrategy};

/// What the strategies need to know about each candidate.
pub struct CandidateFacts {
    /// Model scores, best first.
    pub scores: Vec<f32>,
    /// Exposure strategies: each candidate's group and each group's target share of
    /// exposure (its catalog share).
    pub groups: Vec<usize>,
    pub targets: Vec<f64>,
    /// MMR: each candidate's genres and tags, lower case.
    pub features: Vec<HashSet<String>>,
    /// xQuAD and calibration: each candidate's popularity bucket, and the user's
    /// profile: the shares of head, mid and tail items in their history.
    pub buckets: Vec<PopularityBucket>,
    pub profile: [f64; 3],
}

/// Indices into the candidates, in the new order, at most `k`.
pub fn rerank(rerank: &Rerank, facts: &CandidateFacts, k: usize) -> Vec<usize> {
    match rerank.strategy {
        RerankStrategy::ProviderExposure | RerankStrategy::PopularityExposure => {
            calibrated(&facts.scores, &facts.groups, &facts.targets, k, rerank.strength)
        }
        RerankStrategy::MmrDiversity => mmr(&facts.scores, &facts.features, k, rerank.strength),
        RerankStrategy::PopularityXquad => {
            let tail: Vec<bool> = facts.buckets.iter().map(|&b| b != PopularityBucket::Head).collect();
            xquad(&facts.scores, &tail, 1.0 - facts.profile[0], k, rerank.strength)
        }
        RerankStrategy::PopularityCalibration => {
            let buckets: Vec<usize> = facts.buckets.iter().map(|&b| b.index()).collect();
            calibration(&facts.scores, &buckets, &facts.profile, k, rerank.strength)
        }
        // It re-ranks all users' lists together (`inference::exposure`); one list alone keeps
        // the model's order.
        RerankStrategy::ExposureGini => (0..k.min(facts.scores.len())).collect(),
    }
}

/// The shares of head, mid and tail in a user's history (each distinct item once), or
/// `fallback` (the catalog's interaction shares) for a user without history.
pub fn profile(history: impl Iterator<Item = PopularityBucket>, fallback: [f64; 3]) -> [f64; 3] {
    let mut counts = [0.0; 3];
    for b in history {
        counts[b.index()] += 1.0;
    }
    let n: f64 = counts.iter().sum();
    if n > 0.0 { counts.map(|c| c / n) } else { fallback }
}

fn normalized(scores: &[f32]) -> Vec<f64> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let min = scores.iter().copied().fold(f32::INFINITY, f32::min);
    let span = f64::from(max - min);
    scores.iter().map(|&s| if span > 0.0 { f64::from(s - min) / span } else { 1.0 }).collect()
}

/// Picks the unused candidate with the highest utility; ties go to the better-ranked.
fn pick(used: &[bool], mut utility: impl FnMut(usize) -> f64) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, u) in used.iter().enumerate() {
        if *u {
            continue;
        }
        let value = utility(i);
        if best.is_none_or(|(_, b)| value > b) {
            best = Some((i, value));
        }
    }
    best.map(|(i, _)| i)
}

/// Exposure calibration: a group's bonus at position r is how far its exposure so far
/// falls short of its target share of the exposure up to r, in units of that
/// position's weight (clamped to [-1, 1]), so an over-exposed group is held back and
/// an under-exposed one pulled forward.
pub fn calibrated(scores: &[f32], groups: &[usize], targets: &[f64], k: usize, strength: f64) -> Vec<usize> {
    let norm = normalized(scores);
    let mut used = vec![false; scores.len()];
    let mut exposure = vec![0.0; targets.len()];
    let mut total = 0.0;
    let mut order = Vec::with_capacity(k);
    for rank in 1..=k.min(scores.len()) {
        let w = position_weight(rank);
        total += w;
        let bonus = |g: usize| {
            let target = targets.get(g).copied().unwrap_or(0.0);
            ((target * total - exposure.get(g).copied().unwrap_or(0.0)) / w).clamp(-1.0, 1.0)
        };
        let group = |i: usize| groups.get(i).copied().unwrap_or(usize::MAX);
        let Some(i) = pick(&used, |i| (1.0 - strength) * norm[i] + strength * bonus(group(i))) else { break };
        used[i] = true;
        if let Some(e) = exposure.get_mut(group(i)) {
            *e += w;
        }
        order.push(i);
    }
    order
}

/// Popularity-aware xQuAD (Abdollahpouri, Burke and Mobasher 2019, "Managing
/// popularity bias in recommender systems with personalized re-ranking"), smooth and
/// personalized: the categories are the head (most popular 20% of items) and the long
/// tail (the rest); a candidate's utility is (1 − λ)·relevance + λ·P(c|u)·(1 − share of
/// c in the list so far), where c is its category and P(c|u) the share of c in the
/// user's history (`tail_share` for the tail). So the first slots go by relevance, and
/// a category the user likes but the list lacks is pulled forward.
pub fn xquad(scores: &[f32], tail: &[bool], tail_share: f64, k: usize, strength: f64) -> Vec<usize> {
    let norm = normalized(scores);
    let p = [1.0 - tail_share, tail_share];
    let category = |i: usize| usize::from(tail.get(i).copied().unwrap_or(false));
    let mut used = vec![false; scores.len()];
    let mut placed = [0usize; 2];
    let mut order = Vec::with_capacity(k);
    for _ in 0..k.min(scores.len()) {
        let n = order.len();
        let coverage = |c: usize| if n == 0 { 1.0 } else { 1.0 - placed[c] as f64 / n as f64 };
        let Some(i) = pick(&used, |i| {
            let c = category(i);
            (1.0 - strength) * norm[i] + strength * p[c] * coverage(c)
        }) else {
            break;
        };
        used[i] = true;
        placed[category(i)] += 1;
        order.push(i);
    }
    order
}

/// Steck's smoothing of the list's distribution towards the user's (α in q̃ = (1 − α)q + αp).
const CALIBRATION_ALPHA: f64 = 0.01;

/// Kullback-Leibler divergence of the smoothed list distribution `q` from the user's `p`.
fn calibration_kl(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .filter(|(p, _)| **p > 0.0)
        .map(|(&p, &q)| {
            let smoothed = (1.0 - CALIBRATION_ALPHA) * q + CALIBRATION_ALPHA * p;
            p * (p / smoothed).ln()
        })
        .sum()
}

/// Calibrated recommendations (Steck 2018, "Calibrated recommendations"): the greedy
/// maximization of (1 − λ)·Σ relevance − λ·KL(p ‖ q̃), where p is the user's
/// distribution over categories (here popularity buckets: head, mid, tail of their
/// history), q the list's, and q̃ = (1 − α)q + αp with α = 0.01 as in the paper. A
/// list whose mix of popular and less popular items matches the user's own history is
/// calibrated.
pub fn calibration(scores: &[f32], categories: &[usize], p: &[f64], k: usize, strength: f64) -> Vec<usize> {
    let norm = normalized(scores);
    let mut used = vec![false; scores.len()];
    let mut counts = vec![0.0; p.len()];
    let mut q = vec![0.0; p.len()];
    let mut order = Vec::with_capacity(k);
    for _ in 0..k.min(scores.len()) {
        let n = order.len() as f64 + 1.0;
        let Some(i) = pick(&used, |i| {
            let c = categories.get(i).copied().unwrap_or(usize::MAX);
            for (j, slot) in q.iter_mut().enumerate() {
                *slot = (counts[j] + if j == c { 1.0 } else { 0.0 }) / n;
            }
            (1.0 - strength) * norm[i] - strength * calibration_kl(p, &q)
        }) else {
            break;
        };
        used[i] = true;
        if let Some(c) = counts.get_mut(categories.get(i).copied().unwrap_or(usize::MAX)) {
            *c += 1.0;
        }
        order.push(i);
    }
    order
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 { 0.0 } else { a.intersection(b).count() as f64 / union as f64 }
}

/// Maximal marginal relevance (Carbonell and Goldstein 1998): score minus the largest
/// genre/tag overlap with any item already placed.
pub fn mmr(scores: &[f32], features: &[HashSet<String>], k: usize, strength: f64) -> Vec<usize> {
    let norm = normalized(scores);
    let mut used = vec![false; scores.len()];
    let mut order: Vec<usize> = Vec::with_capacity(k);
    for _ in 0..k.min(scores.len()) {
        let empty = HashSet::new();
        let feature = |i: usize| features.get(i).unwrap_or(&empty);
        let redundancy = |i: usize| order.iter().map(|&j| jaccard(feature(i), feature(j))).fold(0.0, f64::max);
        let Some(i) = pick(&used, |i| (1.0 - strength) * norm[i] - strength * redundancy(i)) else { break };
        used[i] = true;
        order.push(i);
    }
    order
}

/// Numbers group names 0.. and gives each its share of `population` (the catalog).
pub fn group_targets<'a>(population: impl Iterator<Item = &'a str>) -> (HashMap<String, usize>, Vec<f64>) {
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut counts: Vec<f64> = Vec::new();
    let mut n = 0.0;
    for name in population {
        let next = ids.len();
        let id = *ids.entry(name.to_owned()).or_insert(next);
        if id == counts.len() {
            counts.push(0.0);
        }
        counts[id] += 1.0;
        n += 1.0;
    }
    let targets = counts.into_iter().map(|c| if n > 0.0 { c / n } else { 0.0 }).collect();
    (ids, targets)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn strength_zero_keeps_the_model_order() {
        let scores = [0.9, 0.8, 0.7, 0.6];
        assert_eq!(calibrated(&scores, &[0, 0, 1, 1], &[0.5, 0.5], 3, 0.0), vec![0, 1, 2]);
        let f: Vec<HashSet<String>> = (0..4).map(|_| HashSet::from(["x".to_owned()])).collect();
        assert_eq!(mmr(&scores, &f, 4, 0.0), vec![0, 1, 2, 3]);
    }

    #[test]
    fn calibration_by_hand() {
        // Scores 1, 0.9, 0.8, 0 normalize to 1, 0.9, 0.8, 0; groups A A A B; targets
        // 0.5/0.5; strength 0.5.
        // Rank 1 (w 1, total 1): bonus A = B = 0.5: utilities 0.75, 0.7, 0.65, 0.25 -> 0.
        // Rank 2 (w 0.63093, total 1.63093): A has 1: bonus (0.815 - 1)/0.631 = -0.29;
        //   B: 0.815/0.631 = 1.29 -> 1. Utilities: 0.9*0.5 - 0.146 = 0.30, B: 0 + 0.5 = 0.5 -> 3.
        let order = calibrated(&[1.0, 0.9, 0.8, 0.0], &[0, 0, 0, 1], &[0.5, 0.5], 2, 0.5);
        assert_eq!(order, vec![0, 3]);
    }

    #[test]
    fn mmr_by_hand() {
        // Items 0 and 1 share their only genre; item 2 is different and scores a bit less.
        // Rank 2 at strength 0.5: item 1 = 0.5*0.5 - 0.5*1 = -0.25; item 2 = 0 - 0 = 0.
        let f = |s: &str| HashSet::from([s.to_owned()]);
        let order = mmr(&[1.0, 0.5, 0.0], &[f("a"), f("a"), f("b")], 2, 0.5);
        assert_eq!(order, vec![0, 2]);
    }

    #[test]
    fn xquad_by_hand() {
        // Scores 1, 0.9, 0.8, 0.7, 0 normalize to 1, 0.9, 0.8, 0.7, 0; items 0-2 head, 3-4
        // tail; the user's history is half tail; strength 0.5.
        // Rank 1 (empty list, coverage 1 for both): 0.5 + 0.25 = 0.75 for item 0 -> 0.
        // Rank 2: head coverage 1 - 1/1 = 0, tail 1: item 1 = 0.45, item 3 = 0.35 + 0.25
        //   = 0.6 -> 3. Rank 3: both covered half: item 1 = 0.45 + 0.125 = 0.575, item 4 =
        //   0 + 0.125 -> 1.
        let tail = [false, false, false, true, true];
        let order = xquad(&[1.0, 0.9, 0.8, 0.7, 0.0], &tail, 0.5, 3, 0.5);
        assert_eq!(order, vec![0, 3, 1]);
        // Without the re-ranking, the model's order.
        assert_eq!(xquad(&[1.0, 0.9, 0.8, 0.7, 0.0], &tail, 0.5, 3, 0.0), vec![0, 1, 2]);
        // A user who never plays tail items gets none, however strong the re-ranking.
        assert_eq!(xquad(&[1.0, 0.9, 0.8, 0.7, 0.0], &tail, 0.0, 3, 0.9), vec![0, 1, 2]);
    }

    #[test]
    fn popularity_calibration_by_hand() {
        // Items 0-2 head (bucket 0), 3 mid (1), 4 tail (2); scores normalize to 1, 0.9,
        // 0.8, 0.7, 0. The user's history is half head, half mid: p = (0.5, 0.5, 0).
        let buckets = [0, 0, 0, 1, 2];
        let p = [0.5, 0.5, 0.0];
        // At full strength only the divergence counts. Rank 1: a head item alone gives
        // q = (1, 0, 0), q̃ = (0.995, 0.005, 0), KL = 0.5 ln(0.5/0.995) + 0.5 ln(0.5/0.005)
        // = 1.958, and a mid item the same: a tie, which the better-ranked item 0 wins.
        // Rank 2: a second head item leaves KL at 1.958; the mid item gives q = (0.5,
        // 0.5, 0): KL 0 -> 3.
        let order = calibration(&[1.0, 0.9, 0.8, 0.7, 0.0], &buckets, &p, 2, 1.0);
        assert_eq!(order, vec![0, 3]);
        let kl = |q: [f64; 3]| calibration_kl(&p, &q);
        assert!((kl([1.0, 0.0, 0.0]) - (0.5 * (0.5f64 / 0.995).ln() + 0.5 * (0.5f64 / 0.005).ln())).abs() < 1e-12);
        assert_eq!(kl([0.5, 0.5, 0.0]), 0.0);
        // At strength 0.1 the gain of calibration (0.1 × 1.958 = 0.196) still beats the
        // score lost (0.9 × 0.2 = 0.18); at 0.05 it does not (0.098 < 0.95 × 0.2 = 0.19).
        assert_eq!(calibration(&[1.0, 0.9, 0.8, 0.7, 0.0], &buckets, &p, 2, 0.1), vec![0, 3]);
        assert_eq!(calibration(&[1.0, 0.9, 0.8, 0.7, 0.0], &buckets, &p, 2, 0.05), vec![0, 1]);
        assert_eq!(calibration(&[1.0, 0.9, 0.8, 0.7, 0.0], &buckets, &p, 3, 0.0), vec![0, 1, 2]);
        // The tail item, which the user's history lacks, never comes in.
        assert!(!calibration(&[1.0, 0.9, 0.8, 0.7, 0.0], &buckets, &p, 4, 1.0).contains(&4));
    }

    #[test]
    fn profiles_are_history_shares() {
        use PopularityBucket::*;
        let p = profile([Head, Head, Mid, Tail].into_iter(), [1.0, 0.0, 0.0]);
        assert_eq!(p, [0.5, 0.25, 0.25]);
        assert_eq!(profile(std::iter::empty(), [0.7, 0.2, 0.1]), [0.7, 0.2, 0.1]);
    }

    #[test]
    fn targets_are_catalog_shares() {
        let (ids, targets) = group_targets(["x", "y", "x", "x"].into_iter());
        assert_eq!(targets[ids["x"]], 0.75);
        assert_eq!(targets[ids["y"]], 0.25);
    }
}
