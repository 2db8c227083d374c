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

mod search {
    use std::time::Duration;

    use inference::eval::{Split, SplitRule, evaluate, split_per_user};
    use inference::matrix::Interactions;
    use inference::rng::SplitMix64;
    use inference::tune::{Family, FitOptions, SearchConfig, Setting, TuneGrid, search};

    use crate::common::synthetic;

    fn config(families: &[Family]) -> SearchConfig {
        SearchConfig {
            families: families.to_vec(),
            fit: FitOptions { seed: 42, threads: 2, cg_steps: 3, ease_memory_budget: 1 << 30 },
            als_grid: TuneGrid {
                factors: vec![8, 32],
                regularization: vec![0.1, 10.0],
                alpha: vec![1.0, 10.0],
                iterations: vec![4, 8, 12],
            },
            ease_lambdas: vec![1.0, 5.0, 20.0, 100.0, 500.0, 2000.0, 10_000.0],
            ease_omegas: vec![0.0, 1.0],
            ..SearchConfig::default()
        }
    }

    /// Sparse, long-tailed, large catalog, with play counts: each user draws a few items
    /// from one of 24 taste clusters (long-tailed in people and in items), each played a
    /// heavy-tailed number of times. Low rank by construction, and too sparse for item
    /// pairs to co-occur often; counts are confidence, not preference (ALS's model).
    fn sparse_long_tail(seed: u64) -> Interactions {
        let (users, items, clusters, per_user) = (3000usize, 2400usize, 24usize, 12usize);
        let size = items / clusters;
        let mut rng = SplitMix64::new(seed);
        let mut t = Vec::new();
        for u in 0..users {
            // Tastes are long-tailed too: a few clusters hold most people.
            let c = (0..clusters).find(|_| rng.below(3) == 0).unwrap_or(clusters - 1);
            for _ in 0..per_user {
                // Popularity inside a cluster falls off with rank (a long tail).
                let r = rng.below(size).min(rng.below(size));
                // Play counts are heavy-tailed, as in music listening: most items are
                // played once or twice, a few hundreds of times.
                let plays = (1.0 / (rng.next_f32().max(1e-4) as f64).powf(1.2)).min(500.0).floor() as f32;
                // Items of a cluster are spread over the catalog, not contiguous.
                t.push((u as u32, ((r * clusters + c) % items) as u32, plays));
            }
        }
        Interactions::from_triplets(users, items, &t).unwrap()
    }

    /// Dense, small catalog of complements: items come in pairs (a film and its
    /// sequel), a person takes whole pairs, and pairs are unrelated to each other. The
    /// structure is item-to-item and of full rank (60 independent pairs), which a linear
    /// item-item model captures exactly and a low-rank factor model cannot.
    fn dense_pairs(seed: u64) -> Interactions {
        let (users, pairs, per_user) = (1000usize, 60usize, 12usize);
        let mut rng = SplitMix64::new(seed);
        let mut t = Vec::new();
        for u in 0..users {
            for _ in 0..per_user {
                let pair = rng.below(pairs);
                for item in [2 * pair, 2 * pair + 1] {
                    if rng.below(10) < 9 {
                        t.push((u as u32, item as u32, 1.0));
                    }
                }
            }
        }
        Interactions::from_triplets(users, 2 * pairs, &t).unwrap()
    }

    /// Per-user test NDCG@10 of `setting` fitted on the training part.
    fn test_ndcg(split: &Split, setting: &Setting, options: &FitOptions) -> Vec<f64> {
        let model = setting.fit(&split.train, options, |_| true).unwrap();
        evaluate(&model, split, 10).unwrap().users.iter().map(|u| u.ndcg).collect()
    }

    /// 95% percentile bootstrap interval of the mean.
    fn interval(values: &[f64]) -> (f64, f64) {
        let mut rng = SplitMix64::new(7);
        let mut means: Vec<f64> = (0..2000)
            .map(|_| (0..values.len()).map(|_| values[rng.below(values.len())]).sum::<f64>() / values.len() as f64)
            .collect();
        means.sort_by(f64::total_cmp);
        (means[50], means[1949])
    }

    fn mean(v: &[f64]) -> f64 {
        v.iter().sum::<f64>() / v.len() as f64
    }

    fn auto_picks(data: &Interactions, winner: Family, loser: Family) {
        let _memory = crate::common::resident_memory_lock();
        let split = split_per_user(data, 42, SplitRule::default()).unwrap();
        let cfg = config(&Family::ALL);
        let result = search(&split.train, &cfg, |_| true).unwrap();
        for f in &result.families {
            eprintln!("{:?}: {:?} val {:?} ({} tried)", f.family, f.best, f.validation_ndcg, f.settings_tried);
        }
        assert_eq!(result.best.family(), winner, "{result:#?}");
        let best_of =
            |family: Family| result.families.iter().find(|f| f.family == family).and_then(|f| f.best.clone()).unwrap();
        let won = test_ndcg(&split, &best_of(winner), &cfg.fit);
        let lost = test_ndcg(&split, &best_of(loser), &cfg.fit);
        let (low, high) = interval(&lost);
        eprintln!("test NDCG@10: {winner:?} {:.4}, {loser:?} {:.4} [{low:.4}, {high:.4}]", mean(&won), mean(&lost));
        assert!(mean(&won) > high, "{winner:?} {} is inside {loser:?}'s interval [{low}, {high}]", mean(&won));
    }

    #[test]
    fn auto_picks_als_on_sparse_long_tailed_data() {
        auto_picks(&sparse_long_tail(11), Family::Als, Family::Ease);
    }

    #[test]
    fn auto_picks_ease_on_dense_small_catalogs() {
        auto_picks(&dense_pairs(12), Family::Ease, Family::Als);
    }

    #[test]
    fn the_budget_stops_the_search_and_keeps_the_best_so_far() {
        let data = synthetic(300, 120, 4, 15, 3);
        let mut cfg = config(&Family::ALL);
        cfg.budget = Some(Duration::from_millis(1));
        let result = search(&data, &cfg, |_| true).unwrap();
        assert!(result.budget_exhausted);
        // Most popular always runs; the others are skipped once the budget is spent.
        let popular = &result.families[0];
        assert_eq!((popular.family, popular.settings_tried), (Family::MostPopular, 1));
        assert!(result.families.iter().any(|f| f.skipped.is_some() || f.stopped_by_budget));
        assert!(result.settings_tried() < search(&data, &config(&Family::ALL), |_| true).unwrap().settings_tried());
        let best = result.trials.iter().map(|t| t.validation_ndcg).fold(f64::MIN, f64::max);
        assert_eq!(result.validation_ndcg, best);
    }

    #[test]
    fn halving_spends_fewer_iterations_than_the_full_grid() {
        let data = synthetic(300, 120, 4, 15, 5);
        let result = search(&data, &config(&[Family::Als]), |_| true).unwrap();
        // 8 settings x 3 rungs in full; halving evaluates 8, then 3, then 1.
        assert_eq!(result.settings_tried(), 8 + 3 + 1);
        let iterations: usize = result
            .trials
            .iter()
            .map(|t| match t.setting {
                Setting::Als { iterations, .. } => iterations,
                _ => 0,
            })
            .max()
            .unwrap();
        assert_eq!(iterations, 12, "the survivor reaches the last rung");
    }

    #[test]
    fn a_warm_start_walks_from_the_previous_best() {
        let data = synthetic(300, 120, 4, 15, 8);
        let cold = search(&data, &config(&[Family::Ease]), |_| true).unwrap();
        let mut cfg = config(&[Family::Ease]);
        cfg.warm = vec![cold.best.clone()];
        let warm = search(&data, &cfg, |_| true).unwrap();
        assert_eq!(warm.best, cold.best, "the same data gives the same choice");
        assert_eq!(warm.trials[0].setting, cold.best, "the walk starts at the previous best");
        assert!(warm.settings_tried() <= cold.settings_tried(), "{:?} {:?}", warm.trials, cold.trials);
        // A warm ALS setting always reaches the last rung.
        let als_cold = search(&data, &config(&[Family::Als]), |_| true).unwrap();
        let weak = Setting::Als { factors: 8, regularization: 10.0, alpha: 1.0, iterations: 12 };
        let mut cfg = config(&[Family::Als]);
        cfg.warm = vec![weak.clone()];
        let als_warm = search(&data, &cfg, |_| true).unwrap();
        assert!(als_warm.trials.iter().any(|t| t.setting == weak), "{:?}", als_warm.trials);
        assert!(als_warm.validation_ndcg >= als_cold.validation_ndcg - 1e-12);
    }

    #[test]
    fn item_knn_tries_every_neighbour_count_from_one_fit() {
        let data = synthetic(200, 80, 4, 12, 2);
        let result = search(&data, &config(&[Family::ItemKnn]), |_| true).unwrap();
        let counts: Vec<usize> = result
            .trials
            .iter()
            .map(|t| match t.setting {
                Setting::ItemKnn { neighbours } => neighbours,
                _ => 0,
            })
            .collect();
        assert_eq!(counts, vec![10, 20, 50, 79], "counts above the catalog collapse to its size");
        assert!(result.trials.windows(2).all(|w| w[0].fit_seconds == w[1].fit_seconds), "one shared fit");
    }

    #[test]
    fn the_search_is_deterministic_and_cancellable() {
        let data = synthetic(200, 80, 4, 12, 6);
        let a = search(&data, &config(&Family::ALL), |_| true).unwrap();
        let b = search(&data, &config(&Family::ALL), |_| true).unwrap();
        assert_eq!(a.best, b.best);
        let scores = |r: &inference::tune::SearchResult| r.trials.iter().map(|t| t.validation_ndcg).collect::<Vec<_>>();
        assert_eq!(scores(&a), scores(&b));
        assert!(matches!(search(&data, &config(&Family::ALL), |_| false), Err(inference::InferenceError::Cancelled)));
    }
}
