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
