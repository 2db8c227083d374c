//! Item exposure over many users' lists, its Gini index, and the re-ranking of every
//! user's list together so that the Gini falls as far as asked at the least loss of
//! model score (the fairness reports' `EXPOSURE_GINI`), after Do and Usunier,
//! "Optimizing generalized Gini indices for fairness in rankings" (SIGIR 2022). Here,
//! not in `domain`, so that it runs optimized in tests too.
//!
//! The Gini of the exposures is a weighted sum of them in sorted order, so its gradient
//! prices each item by its place in that order, (2·rank − n − 1)/n: the most exposed
//! item costs most, items nobody is shown are subsidized. Frank-Wolfe iterations
//! average the prices of successive solutions, and each user's list is the best k of
//! their pool by score − μ·price. The paper serves a random mixture of the iterates'
//! rankings; here the lists are the last iterate's, deterministic, so the exposure a
//! report measures is the exposure the lists give.
//!
//! Strength s asks for a Gini s·100% below the unranked lists': μ is the smallest price
//! weight found by bisection that reaches it (or the largest tried, when none does).
//! Scores are used as the model gives them, not normalized per user: prices are global,
//! so a point of score must weigh the same in every user's list.
//!
//! Pools must reach beyond the model's top 50: those hold only about half the catalog
//! (see docs/fairness.md), so each user's pool adds [`tail_candidates`].

use rayon::prelude::*;

/// Exposure of rank `r` (1-based): 1 / log2(r + 1), the DCG discount.
fn position_weight(rank: usize) -> f64 {
    1.0 / ((rank + 1) as f64).log2()
}

/// Position-weighted exposure of each item (index) over all lists' top k; items at or
/// beyond `n_items` are not counted.
pub fn item_exposure(lists: &[Vec<u32>], n_items: usize, k: usize) -> Vec<f64> {
    let mut exposure = vec![0.0; n_items];
    for list in lists {
        for (i, &item) in list.iter().take(k).enumerate() {
            if let Some(e) = exposure.get_mut(item as usize) {
                *e += position_weight(i + 1);
            }
        }
    }
    exposure
}

/// Gini index of non-negative values (0: all equal; (n-1)/n: all on one).
pub fn gini(values: &[f64]) -> f64 {
    let n = values.len();
    let total: f64 = values.iter().sum();
    if n == 0 || total <= 0.0 {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let weighted: f64 = sorted.iter().enumerate().map(|(i, x)| (2.0 * (i + 1) as f64 - n as f64 - 1.0) * x).sum();
    weighted / (n as f64 * total)
}

/// Frank-Wolfe iterations per price weight: on MovieLens 100K, 30 give the same
/// trade-off to 0.1 point of NDCG, 10 a worse one.
const ITERATIONS: usize = 20;
/// Halvings of the price weight's interval (to 1/1024 of it): on MovieLens 100K the
/// Gini reached is within half a percent of the one asked for.
const BISECTION_STEPS: usize = 10;

/// One user's pool: the model's best candidates, best first, then the tail candidates.
pub type Pool = [(u32, f32)];

/// The lists of k at `strength` (0 keeps the model's order, 1 asks for a Gini of 0),
/// in the users' order. A Gini out of reach gives the lowest one found, never above
/// the unranked lists'.
pub fn rerank_all(pools: &[Vec<(u32, f32)>], n_items: usize, k: usize, strength: f64) -> Vec<Vec<u32>> {
    let unranked: Vec<Vec<u32>> = pools.iter().map(|p| p.iter().take(k).map(|c| c.0).collect()).collect();
    if strength <= 0.0 || n_items == 0 {
        return unranked;
    }
    let gini_of = |lists: &[Vec<u32>]| gini(&item_exposure(lists, n_items, k));
    let target = gini_of(&unranked) * (1.0 - strength.min(1.0));
    // Prices lie in [-1, 1]: twice the widest score spread lets them outweigh any score.
    let spread = pools
        .iter()
        .map(|p| {
            let (lo, hi) = p.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), c| (lo.min(c.1), hi.max(c.1)));
            f64::from(hi - lo)
        })
        .filter(|s| s.is_finite())
        .fold(0.0, f64::max);
    if spread <= 0.0 {
        return unranked;
    }
    let (mut lo, mut hi) = (0.0, 2.0 * spread);
    let mut best = solve(pools, n_items, k, hi);
    if gini_of(&best) > target {
        // Out of reach: the lowest Gini among weights halving from the largest (never
        // above the unranked lists': few users or items can make the iterations swing).
        let mut lowest = (gini_of(&unranked), unranked);
        let mut mu = hi;
        for _ in 0..=BISECTION_STEPS {
            let lists = if mu == hi { std::mem::take(&mut best) } else { solve(pools, n_items, k, mu) };
            let g = gini_of(&lists);
            if g < lowest.0 {
                lowest = (g, lists);
            }
            mu *= 0.5;
        }
        return lowest.1;
    }
    for _ in 0..BISECTION_STEPS {
        let mid = 0.5 * (lo + hi);
        let lists = solve(pools, n_items, k, mid);
        if gini_of(&lists) <= target {
            hi = mid;
            best = lists;
        } else {
            lo = mid;
        }
    }
    best
}

/// The lists at price weight `mu`, after the Frank-Wolfe iterations.
fn solve(pools: &[Vec<(u32, f32)>], n_items: usize, k: usize, mu: f64) -> Vec<Vec<u32>> {
    let mut price = vec![0.0; n_items];
    let mut lists = pick(pools, &price, mu, k);
    for t in 0..ITERATIONS {
        let gradient = gini_gradient(&item_exposure(&lists, n_items, k));
        let step = 1.0 / (t as f64 + 1.0);
        for (p, g) in price.iter_mut().zip(gradient) {
            *p += step * (g - *p);
        }
        lists = pick(pools, &price, mu, k);
    }
    lists
}

/// Each user's best k by score − mu·price, in that order (ties: the earlier in the pool).
fn pick(pools: &[Vec<(u32, f32)>], price: &[f64], mu: f64, k: usize) -> Vec<Vec<u32>> {
    pools
        .par_iter()
        .map(|pool| {
            let mut utility: Vec<(f64, usize)> = pool
                .iter()
                .enumerate()
                .map(|(j, &(item, score))| {
                    (f64::from(score) - mu * price.get(item as usize).copied().unwrap_or(0.0), j)
                })
                .collect();
            utility.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            utility.into_iter().take(k).map(|(_, j)| pool[j].0).collect()
        })
        .collect()
}

/// The gradient of the Gini in each item's exposure, up to a positive factor: the
/// weight (2·rank − n − 1)/n of its place in ascending order (tied items share their
/// mean rank, so no item is favoured by its index).
pub fn gini_gradient(exposure: &[f64]) -> Vec<f64> {
    let n = exposure.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| exposure[a].total_cmp(&exposure[b]));
    let mut gradient = vec![0.0; n];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && exposure[order[end]] == exposure[order[start]] {
            end += 1;
        }
        // Ranks start + 1 ..= end, whose mean is (start + end + 1) / 2.
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            gradient[i] = (2.0 * rank - n as f64 - 1.0) / n as f64;
        }
        start = end;
    }
    gradient
}

/// How many tail candidates evaluation keeps per user beside the best 50 (measured on
/// MovieLens 100K: 25 reach as far as 200 more of the model's best; docs/fairness.md).
pub const TAIL_CANDIDATES: usize = 25;

/// The tail candidates of one user: the best [`TAIL_CANDIDATES`] items outside `top`
/// and `excluded` by score / (1 + training interactions), among items of positive
/// score, best first, with their model scores. Dividing by popularity (inverse
/// propensity) reaches the less popular items the model still likes, which the
/// model's own top 50 rarely holds.
pub fn tail_candidates(scores: &[f32], train_counts: &[u32], top: &[u32], excluded: &[u32]) -> Vec<(u32, f32)> {
    let mut skip = vec![false; scores.len()];
    for &i in top.iter().chain(excluded) {
        if let Some(s) = skip.get_mut(i as usize) {
            *s = true;
        }
    }
    let mut debiased: Vec<(f32, u32)> = scores
        .iter()
        .enumerate()
        .filter(|&(i, &s)| !skip[i] && s > 0.0 && s.is_finite())
        .map(|(i, &s)| (s / (1.0 + train_counts.get(i).copied().unwrap_or(0) as f32), i as u32))
        .collect();
    let n = TAIL_CANDIDATES.min(debiased.len());
    if n == 0 {
        return Vec::new();
    }
    debiased.select_nth_unstable_by(n - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    debiased.truncate(n);
    debiased.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    debiased.into_iter().map(|(_, i)| (i, scores[i as usize])).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn gradient_by_hand() {
        // Exposures 3, 0, 1, 0 over n = 4: ascending 0, 0 (ranks 1, 2: mean 1.5), 1 (3),
        // 3 (4); weights (2r - 5)/4: -0.5, -0.5, 0.25, 0.75.
        assert_eq!(gini_gradient(&[3.0, 0.0, 1.0, 0.0]), vec![0.75, -0.5, 0.25, -0.5]);
    }

    #[test]
    fn tail_candidates_by_hand() {
        // Scores 0.9, 0.8, 0.5, 0.3, -0.1; counts 99, 9, 4, 0, 0. Item 0 is in the top,
        // item 1 in the history; 2: 0.5/5 = 0.1, 3: 0.3/1 = 0.3, 4 has no positive score.
        let c = tail_candidates(&[0.9, 0.8, 0.5, 0.3, -0.1], &[99, 9, 4, 0, 0], &[0], &[1]);
        assert_eq!(c, vec![(3, 0.3), (2, 0.5)]);
    }

    /// Three users who all rank the same two items first; each also likes one item of
    /// their own a little less.
    fn pools() -> Vec<Vec<(u32, f32)>> {
        (0..3u32).map(|u| vec![(0, 1.0), (1, 0.9), (2 + u, 0.8)]).collect()
    }

    #[test]
    fn strength_zero_is_the_model_order_and_more_strength_lowers_the_gini() {
        let pools = pools();
        assert_eq!(rerank_all(&pools, 5, 2, 0.0), vec![vec![0, 1]; 3]);
        let g = |lists: &[Vec<u32>]| gini(&item_exposure(lists, 5, 2));
        let unranked = g(&rerank_all(&pools, 5, 2, 0.0));
        let mut last = unranked;
        for strength in [0.1, 0.3, 0.6] {
            let lists = rerank_all(&pools, 5, 2, strength);
            let gini = g(&lists);
            assert!(gini <= last + 1e-12, "{strength}: {lists:?}");
            last = gini;
        }
        // Asked for a Gini 20% lower, the lists take their users' own items and give it.
        let lists = rerank_all(&pools, 5, 2, 0.2);
        assert!(g(&lists) <= 0.8 * unranked + 1e-12, "{lists:?}");
        assert!(lists.iter().enumerate().all(|(u, l)| l.contains(&(2 + u as u32))), "{lists:?}");
    }
}
