use inference::als::{AlsModel, AlsParams};

use crate::common::{history, ml100k_split, synthetic};

fn check_sums(model: &AlsModel, hist: &[(u32, f32)], items: impl Iterator<Item = u32>) {
    let x = model.fold_in(hist).unwrap();
    let explainer = model.explainer(hist).unwrap();
    for item in items {
        let e = explainer.explain(item).unwrap();
        let score: f64 =
            model.item_factors().row(item as usize).iter().zip(&x).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
        let sum: f64 = e.contributions.iter().map(|c| f64::from(c.value)).sum();
        let scale = score.abs().max(1e-3);
        assert!((sum - score).abs() / scale < 1e-4, "item {item}: contributions {sum} vs score {score}");
        assert!((f64::from(e.score) - score).abs() / scale < 1e-4);
        assert!(e.contributions.windows(2).all(|w| w[0].value >= w[1].value));
    }
}

#[test]
fn contributions_sum_to_the_score_synthetic() {
    let data = synthetic(200, 120, 4, 15, 11);
    for alpha in [1.0, 5.0] {
        let p = AlsParams { factors: 12, regularization: 0.5, alpha, iterations: 8, cg_steps: 3, seed: 3, threads: 2 };
        let m = AlsModel::fit(&data, &p, |_| true).unwrap();
        for u in [0u32, 17, 101] {
            check_sums(&m, &history(&data, u), 0..120);
        }
        // A disliked item (negative weight) shapes W^u but contributes nothing.
        let mut h = history(&data, 3);
        h.push((119, -2.0));
        check_sums(&m, &h, [0, 5, 60].into_iter());
        assert!(m.explain(&h, 7).unwrap().contributions.iter().all(|c| c.item != 119));
    }
}

#[test]
fn contributions_sum_to_the_score_ml100k() {
    let Some(split) = ml100k_split() else { return };
    let p =
        AlsParams { factors: 32, regularization: 5.0, alpha: 3.0, iterations: 5, cg_steps: 3, seed: 42, threads: 2 };
    let m = AlsModel::fit(&split.train, &p, |_| true).unwrap();
    for u in [0u32, 200, 942] {
        let h = history(&split.train, u);
        let top = inference::rank::top_k(&m.score_user(u).unwrap(), 5, split.train.row(u).unwrap().indices);
        check_sums(&m, &h, top.into_iter());
    }
}

/// A fitted user's served scores (their trained vector) against the explanations of their
/// history: the vector is the fold-in of the row bit for bit, and every explained top
/// item's score and contributions match the served score.
fn check_served(model: &AlsModel, data: &inference::matrix::Interactions, users: impl Iterator<Item = u32>) -> usize {
    let mut checked = 0;
    for u in users {
        let h = history(data, u);
        assert_eq!(model.fold_in(&h).unwrap(), model.user_vector(u).unwrap(), "user {u}");
        let served = model.score_user(u).unwrap();
        let explainer = model.explainer(&h).unwrap();
        for item in inference::rank::top_k(&served, 10, data.row(u).unwrap().indices) {
            let e = explainer.explain(item).unwrap();
            let s = f64::from(served[item as usize]);
            let sum: f64 = e.contributions.iter().map(|c| f64::from(c.value)).sum();
            let scale = s.abs().max(1e-6);
            assert!((f64::from(e.score) - s).abs() / scale <= 1e-4, "user {u} item {item}: {} vs {s}", e.score);
            assert!((sum - s).abs() / scale <= 1e-4, "user {u} item {item}: contributions {sum} vs {s}");
            checked += 1;
        }
    }
    checked
}

#[test]
fn fitted_users_are_explained_exactly_synthetic() {
    // Weights 1 to 3: every confidence differs from 1 (each user's own system); binary
    // weights with alpha 1: every user shares one factorisation.
    let weighted = synthetic(200, 120, 4, 15, 11);
    let binary = inference::matrix::Interactions::from_triplets(
        200,
        120,
        &weighted.triplets().map(|(u, i, _)| (u, i, 1.0)).collect::<Vec<_>>(),
    )
    .unwrap();
    for (data, alpha) in [(&weighted, 1.0), (&weighted, 7.0), (&binary, 1.0)] {
        let p = AlsParams { factors: 12, regularization: 0.1, alpha, iterations: 6, cg_steps: 3, seed: 5, threads: 2 };
        let m = AlsModel::fit(data, &p, |_| true).unwrap();
        assert_eq!(check_served(&m, data, 0..200), 2000);
    }
}

#[test]
fn fitted_users_are_explained_exactly_ml100k() {
    let Some(split) = ml100k_split() else { return };
    let p =
        AlsParams { factors: 48, regularization: 5.0, alpha: 3.0, iterations: 8, cg_steps: 3, seed: 42, threads: 2 };
    let m = AlsModel::fit(&split.train, &p, |_| true).unwrap();
    assert_eq!(check_served(&m, &split.train, (0..943).step_by(9)), 1050);
}

#[test]
fn empty_history_explains_nothing() {
    let data = synthetic(20, 10, 2, 4, 1);
    let p = AlsParams { factors: 4, iterations: 2, threads: 1, ..AlsParams::default() };
    let m = AlsModel::fit(&data, &p, |_| true).unwrap();
    let e = m.explain(&[], 3).unwrap();
    assert_eq!(e.score, 0.0);
    assert!(e.contributions.is_empty());
    assert!(m.explain(&[(99, 1.0)], 3).is_err());
    assert!(m.explain(&[(1, 1.0)], 10).is_err());
}
