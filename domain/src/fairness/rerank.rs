//! Fairness-aware re-ranking of a model's best candidates, shared by reports and
//! serving. Both greedy: each position takes the candidate with the best blend of its
//! (min-max normalized) model score and the fairness objective, weighted by strength.

use std::collections::{HashMap, HashSet};

use super::metrics::position_weight;
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
}

/// Indices into the candidates, in the new order, at most `k`.
pub fn rerank(rerank: &Rerank, facts: &CandidateFacts, k: usize) -> Vec<usize> {
    match rerank.strategy {
        RerankStrategy::ProviderExposure | RerankStrategy::PopularityExposure => {
            calibrated(&facts.scores, &facts.groups, &facts.targets, k, rerank.strength)
        }
        RerankStrategy::MmrDiversity => mmr(&facts.scores, &facts.features, k, rerank.strength),
    }
}

fn normalized(scores: &[f32]) -> Vec<f64> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let min = scores.iter().copied().fold(f32::INFINITY, f32::min);
    let span = f64::from(max - min);
    scores.iter().map(|&s| if span > 0.0 { f64::from(s - min) / span } else { 1.0 }).collect()
}

/// Picks the unused candidate with the highest utility; ties go to the better-ranked.
fn pick(used: &[bool], utility: impl Fn(usize) -> f64) -> Option<usize> {
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
    fn targets_are_catalog_shares() {
        let (ids, targets) = group_targets(["x", "y", "x", "x"].into_iter());
        assert_eq!(targets[ids["x"]], 0.75);
        assert_eq!(targets[ids["y"]], 0.25);
    }
}
