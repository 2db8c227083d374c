use inference::eval::{SplitRule, evaluate, split_per_user};
use inference::tune::{TuneConfig, TuneGrid, tune_als};

use crate::common::synthetic;

#[test]
fn tuning_picks_the_best_validation_setting_and_refits() {
    let data = synthetic(200, 100, 4, 15, 31);
    let split = split_per_user(&data, 42, SplitRule::default()).unwrap();
    let grid = TuneGrid {
        factors: vec![4, 16],
        regularization: vec![0.1, 100.0],
        alpha: vec![1.0, 5.0],
        iterations: vec![2, 6],
    };
    let config = TuneConfig { grid: grid.clone(), seed: 42, threads: 2, ..TuneConfig::default() };
    let mut fractions = Vec::new();
    let r = tune_als(&split.train, &config, |f| {
        fractions.push(f);
        true
    })
    .unwrap();
    assert_eq!(r.trials.len(), grid.len());
    let best = r.trials.iter().map(|t| t.validation_ndcg).fold(f64::MIN, f64::max);
    let chosen = r.trials.iter().find(|t| t.params == r.best).unwrap();
    assert_eq!(chosen.validation_ndcg, best);
    assert!(r.trials.iter().any(|t| t.validation_ndcg < best), "the grid should not be flat");
    // The refit is on all the training data, with the chosen setting.
    assert_eq!(r.model.params(), &r.best);
    assert_eq!(r.model.n_users(), split.train.n_rows());
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]));
    assert!((fractions.last().unwrap() - 1.0).abs() < 1e-6);
    assert!(evaluate(&r.model, &split, 10).unwrap().metrics.ndcg > 0.0);
}

#[test]
fn snapshot_iterations_equal_separate_fits() {
    // Tuning reads iteration counts off one long run; that must equal a separate fit
    // (of the conjugate-gradient iterates: trials do not solve their users exactly).
    let data = synthetic(80, 50, 2, 10, 5);
    let grid = TuneGrid { factors: vec![6], regularization: vec![0.5], alpha: vec![2.0], iterations: vec![3, 7] };
    let config = TuneConfig { grid, seed: 1, threads: 2, ..TuneConfig::default() };
    let r = tune_als(&data, &config, |_| true).unwrap();
    let inner = split_per_user(&data, 2, SplitRule::default()).unwrap();
    for t in &r.trials {
        let m = inference::als::AlsModel::fit_cg_only(&inner.train, &t.params, |_| true).unwrap();
        let ndcg = evaluate(&m, &inner, 10).unwrap().metrics.ndcg;
        assert_eq!(ndcg, t.validation_ndcg, "{:?}", t.params);
    }
}

#[test]
fn cancelling_and_empty_grids_are_errors() {
    let data = synthetic(50, 30, 2, 8, 1);
    let config = TuneConfig { grid: TuneGrid { factors: vec![], ..TuneGrid::default() }, ..TuneConfig::default() };
    assert!(tune_als(&data, &config, |_| true).is_err());
    let small = TuneGrid { factors: vec![4], regularization: vec![1.0], alpha: vec![1.0], iterations: vec![3] };
    let config = TuneConfig { grid: small, threads: 1, ..TuneConfig::default() };
    assert!(matches!(tune_als(&data, &config, |_| false), Err(inference::InferenceError::Cancelled)));
}
