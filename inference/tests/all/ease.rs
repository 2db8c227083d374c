use inference::InferenceError;
use inference::ease::{EaseGram, EaseModel, EaseParams};
use inference::matrix::Interactions;
use inference::rank::Scorer;

use crate::common::{history, synthetic};

/// `B = I - P diagMat(1 / diag(P))` with `P = (X^T X + lambda I)^-1`, by plain
/// Gauss-Jordan elimination in float64: an independent reference for the solver.
fn reference_weights(data: &Interactions, lambda: f64) -> Vec<f64> {
    let n = data.n_cols();
    let mut g = vec![0f64; n * n];
    for row in data.rows() {
        for (i, wi) in row.iter() {
            for (j, wj) in row.iter() {
                g[i as usize * n + j as usize] += f64::from(wi) * f64::from(wj);
            }
        }
    }
    for i in 0..n {
        g[i * n + i] += lambda;
    }
    let mut inv = vec![0f64; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0;
    }
    for k in 0..n {
        let pivot = g[k * n + k];
        for j in 0..n {
            g[k * n + j] /= pivot;
            inv[k * n + j] /= pivot;
        }
        for i in 0..n {
            if i != k {
                let f = g[i * n + k];
                for j in 0..n {
                    g[i * n + j] -= f * g[k * n + j];
                    inv[i * n + j] -= f * inv[k * n + j];
                }
            }
        }
    }
    (0..n * n).map(|c| if c / n == c % n { 0.0 } else { -inv[c] / inv[(c % n) * n + c % n] }).collect()
}

#[test]
fn the_closed_form_matches_an_independent_inverse() {
    let data = synthetic(90, 40, 3, 12, 5);
    let model = EaseModel::fit(&data, &EaseParams { lambda: 15.0, omega: 0.0, threads: 2 }, 1 << 30).unwrap();
    let want = reference_weights(&data, 15.0);
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (c, (&got, &want)) in model.weights().iter().zip(&want).enumerate() {
        assert!((f64::from(got) - want).abs() <= 1e-5 * scale, "cell {c}: {got} vs {want}");
    }
    for i in 0..40 {
        assert_eq!(model.weights()[i * 40 + i], 0.0, "an item never explains itself");
    }
    // The result does not depend on the thread count.
    let one = EaseModel::fit(&data, &EaseParams { lambda: 15.0, omega: 0.0, threads: 1 }, 1 << 30).unwrap();
    let most = one.weights().iter().zip(model.weights()).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(most <= 1e-6 * scale as f32, "{most}");
}

#[test]
fn a_score_is_the_sum_of_its_history_terms() {
    let data = synthetic(120, 50, 4, 10, 9);
    let model = EaseModel::fit(&data, &EaseParams { lambda: 40.0, omega: 0.0, threads: 2 }, 1 << 30).unwrap();
    let mut scores = vec![0f32; 50];
    for user in 0..20u32 {
        let h = history(&data, user);
        model.score_into(user, data.row(user).unwrap(), &mut scores).unwrap();
        assert_eq!(scores, model.score_history(&h).unwrap());
        for item in 0..50u32 {
            let e = model.explain(&h, item).unwrap();
            let total: f32 = e.contributions.iter().map(|c| c.value).sum();
            // Terms of both signs cancel, so rounding is relative to their magnitude.
            let magnitude: f32 = e.contributions.iter().map(|c| c.value.abs()).sum::<f32>().max(1e-6);
            let served = scores[item as usize];
            assert!((e.score - served).abs() <= 1e-5 * magnitude, "{} vs {served}", e.score);
            assert!((total - e.score).abs() <= 1e-5 * magnitude);
            assert!(e.contributions.iter().all(|c| h.iter().any(|(j, _)| *j == c.item)));
        }
    }
}

#[test]
fn one_gram_matrix_serves_every_penalty() {
    let data = synthetic(100, 45, 3, 10, 2);
    let gram = EaseGram::new(&data, 2, 1 << 30).unwrap();
    for lambda in [5.0, 50.0, 500.0] {
        let once = gram.fit(&EaseParams { lambda, omega: 0.0, threads: 2 }).unwrap();
        let fresh = EaseModel::fit(&data, &EaseParams { lambda, omega: 0.0, threads: 2 }, 1 << 30).unwrap();
        assert_eq!(once.weights(), fresh.weights());
        assert_eq!(once.lambda(), lambda);
    }
    assert!(gram.fit(&EaseParams { lambda: 0.0, omega: 0.0, threads: 2 }).is_err());
    assert!(gram.fit(&EaseParams { lambda: f64::NAN, omega: 0.0, threads: 2 }).is_err());
}

#[test]
fn catalogs_beyond_the_memory_budget_are_refused_with_the_figures() {
    let data = synthetic(50, 300, 3, 10, 4);
    let needed = EaseModel::memory_needed(300);
    assert_eq!(needed, 300 * 300 * 32);
    let err = EaseModel::fit(&data, &EaseParams { lambda: 10.0, omega: 0.0, threads: 1 }, needed - 1).unwrap_err();
    match &err {
        InferenceError::CatalogTooLarge { items, needed: n, budget } => {
            assert_eq!((*items, *n, *budget), (300, needed, needed - 1));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("300 items"), "{err}");
    assert!(EaseModel::fit(&data, &EaseParams { lambda: 10.0, omega: 0.0, threads: 1 }, needed).is_ok());
}

#[test]
fn pruning_keeps_the_largest_terms_of_every_item() {
    let data = synthetic(150, 60, 3, 14, 12);
    let model = EaseModel::fit(&data, &EaseParams { lambda: 20.0, omega: 0.0, threads: 2 }, 1 << 30).unwrap();
    let pruned = model.pruned(5);
    for i in 0..60 {
        let column = |m: &EaseModel| (0..60).map(|j| m.weights()[j * 60 + i]).collect::<Vec<f32>>();
        let (full, kept) = (column(&model), column(&pruned));
        let survivors: Vec<usize> = (0..60).filter(|&j| kept[j] != 0.0).collect();
        assert!(survivors.len() <= 5);
        let smallest_kept = survivors.iter().map(|&j| full[j].abs()).fold(f32::INFINITY, f32::min);
        for j in 0..60 {
            if kept[j] != 0.0 {
                assert_eq!(kept[j], full[j]);
            } else {
                assert!(full[j].abs() <= smallest_kept, "item {i}: dropped {} above kept {smallest_kept}", full[j]);
            }
        }
    }
}
