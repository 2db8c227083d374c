use inference::eval::evaluate;
use inference::knn::ItemKnn;
use inference::matrix::Interactions;
use inference::popular::{Popularity, PopularityBy};

use crate::common::ml100k_split;

/// Items 0 and 1 always together; item 2 with 0 once; item 3 alone.
fn tiny() -> Interactions {
    Interactions::from_triplets(
        4,
        4,
        &[(0, 0, 1.0), (0, 1, 1.0), (1, 0, 1.0), (1, 1, 1.0), (2, 0, 1.0), (2, 2, 1.0), (3, 3, 1.0)],
    )
    .unwrap()
}

#[test]
fn cosine_neighbours_are_ranked_and_truncated() {
    let knn = ItemKnn::fit(&tiny(), 10, 2).unwrap();
    let n0 = knn.neighbours(0).unwrap();
    // cos(0, 1) = 2 / (sqrt 3 * sqrt 2); cos(0, 2) = 1 / (sqrt 3 * 1); self excluded.
    assert_eq!(n0.iter().map(|n| n.item).collect::<Vec<_>>(), vec![1, 2]);
    assert!((n0[0].similarity - 2.0 / (3f32.sqrt() * 2f32.sqrt())).abs() < 1e-6);
    assert!((n0[1].similarity - 1.0 / 3f32.sqrt()).abs() < 1e-6);
    assert!(knn.neighbours(3).unwrap().is_empty());
    let k1 = ItemKnn::fit(&tiny(), 1, 1).unwrap();
    assert_eq!(k1.neighbours(0).unwrap().len(), 1);
    assert!(ItemKnn::fit(&tiny(), 0, 1).is_err());
}

#[test]
fn knn_scores_sum_votes_and_explain_names_voters() {
    let knn = ItemKnn::fit(&tiny(), 10, 1).unwrap();
    let history = [(1u32, 1.0f32), (2, 2.0)];
    let scores = knn.score_history(&history).unwrap();
    let s10 = knn.neighbours(1).unwrap().iter().find(|n| n.item == 0).unwrap().similarity;
    let s20 = knn.neighbours(2).unwrap().iter().find(|n| n.item == 0).unwrap().similarity;
    assert!((scores[0] - (s10 + 2.0 * s20)).abs() < 1e-6);
    assert_eq!(scores[3], 0.0);
    let e = knn.explain(&history, 0).unwrap();
    assert!((e.score - scores[0]).abs() < 1e-6);
    let sum: f32 = e.contributions.iter().map(|c| c.value).sum();
    assert!((sum - e.score).abs() < 1e-6);
    assert_eq!(e.contributions[0].item, 2, "the double-weighted item votes most");
    assert!(knn.score_history(&[(9, 1.0)]).is_err());
}

#[test]
fn knn_beats_popularity_on_ml100k() {
    let Some(split) = ml100k_split() else { return };
    let knn = evaluate(&ItemKnn::fit(&split.train, 100, 2).unwrap(), split, 10).unwrap();
    let pop = evaluate(&Popularity::fit(&split.train, PopularityBy::Count), split, 10).unwrap();
    assert!(knn.metrics.ndcg > pop.metrics.ndcg + 0.05, "knn {:?} pop {:?}", knn.metrics, pop.metrics);
}

#[test]
fn popularity_by_count_and_weight() {
    let m = Interactions::from_triplets(3, 3, &[(0, 0, 5.0), (1, 1, 1.0), (2, 1, 1.0), (0, 2, 1.0)]).unwrap();
    let by_count = Popularity::fit(&m, PopularityBy::Count);
    assert_eq!(by_count.scores(), &[1.0, 2.0, 1.0]);
    assert_eq!(by_count.top(3, &[]), vec![1, 0, 2]);
    assert_eq!(by_count.top(2, &[1]), vec![0, 2]);
    let by_weight = Popularity::fit(&m, PopularityBy::Weight);
    assert_eq!(by_weight.top(1, &[]), vec![0]);
}

#[test]
fn trending_decays_with_half_life() {
    let day = 86_400;
    let now = 100 * day;
    // Item 0: one event now. Item 1: two events one half-life ago. Item 2: four events
    // three half-lives ago. Item 3: an event from the future counts as new.
    let mut events = vec![(0u32, 1.0f32, now), (1, 1.0, now - 7 * day), (1, 1.0, now - 7 * day), (3, 1.0, now + day)];
    events.extend(std::iter::repeat_n((2u32, 1.0f32, now - 21 * day), 4));
    let t = Popularity::trending(4, &events, now, 7 * day).unwrap();
    let s = t.scores();
    assert!((s[0] - 1.0).abs() < 1e-6);
    assert!((s[1] - 1.0).abs() < 1e-6);
    assert!((s[2] - 0.5).abs() < 1e-6);
    assert!((s[3] - 1.0).abs() < 1e-6);
    assert!(Popularity::trending(4, &events, now, 0).is_err());
    assert!(Popularity::trending(2, &events, now, day).is_err());
}
