use inference::Result;
use inference::eval::{Split, SplitRule, evaluate, split_per_user};
use inference::matrix::{Interactions, Row};
use inference::rank::Scorer;

use crate::common::synthetic;

/// Fixed scores per user.
struct Table(Vec<Vec<f32>>);

impl Scorer for Table {
    fn n_items(&self) -> usize {
        self.0[0].len()
    }
    fn score_into(&self, user: u32, _history: Row<'_>, out: &mut [f32]) -> Result<()> {
        out.copy_from_slice(&self.0[user as usize]);
        Ok(())
    }
}

fn hand_made() -> (Split, Table) {
    let train =
        Interactions::from_triplets(3, 6, &[(0, 0, 1.0), (1, 2, 1.0), (1, 3, 1.0), (2, 0, 1.0), (2, 1, 1.0)]).unwrap();
    let test = Interactions::from_triplets(3, 6, &[(0, 1, 1.0), (0, 4, 1.0), (1, 5, 1.0)]).unwrap();
    let scores = Table(vec![
        // user 0: item 0 is a training item (excluded); 4 and 5 tie, 4 wins by index.
        vec![0.9, 0.8, 0.1, 0.7, 0.5, 0.5],
        // user 1: 2 and 3 excluded; its test item 5 ranks last.
        vec![0.2, 0.2, 0.9, 0.9, 0.1, 0.0],
        // user 2: no test items, not evaluated.
        vec![0.0; 6],
    ]);
    (Split { train, test }, scores)
}

#[test]
fn metrics_match_hand_computed_values() {
    let (split, scores) = hand_made();
    let r = evaluate(&scores, &split, 3).unwrap();
    assert_eq!(r.evaluated_users, 2);
    assert_eq!(r.users[0].top, vec![1, 3, 4]);
    assert_eq!(r.users[1].top, vec![0, 1, 4]);
    assert_eq!((r.users[0].hits, r.users[1].hits), (2, 0));

    // user 0: hits at ranks 1 and 3 -> DCG = 1 + 1/log2(4) = 1.5; ideal over min(2, 3) = 2
    // items = 1 + 1/log2(3).
    let ndcg0 = 1.5 / (1.0 + 1.0 / 3f64.log2());
    assert!((r.users[0].ndcg - ndcg0).abs() < 1e-12);
    assert!((r.users[0].recall - 1.0).abs() < 1e-12);
    assert!((r.users[0].precision - 2.0 / 3.0).abs() < 1e-12);

    let m = r.metrics;
    assert!((m.precision - 1.0 / 3.0).abs() < 1e-12, "{m:?}");
    assert!((m.recall - 0.5).abs() < 1e-12);
    assert!((m.hit_rate - 0.5).abs() < 1e-12);
    assert!((m.ndcg - ndcg0 / 2.0).abs() < 1e-12);
    // Distinct recommended items {0, 1, 3, 4} out of 6.
    assert!((m.coverage - 4.0 / 6.0).abs() < 1e-12);
}

#[test]
fn cutoff_is_a_parameter() {
    let (split, scores) = hand_made();
    let r = evaluate(&scores, &split, 1).unwrap();
    assert_eq!(r.users[0].top, vec![1]);
    // One hit at rank 1 over an ideal of one item.
    assert!((r.users[0].ndcg - 1.0).abs() < 1e-12);
    assert!((r.users[0].recall - 0.5).abs() < 1e-12);
    assert!(evaluate(&scores, &split, 0).is_err());
}

#[test]
fn split_follows_the_protocol_rule() {
    // Users with 3, 4, 5, 7, 8, 13 and 18 interactions.
    let sizes = [3usize, 4, 5, 7, 8, 13, 18];
    let mut t = Vec::new();
    for (u, &n) in sizes.iter().enumerate() {
        for i in 0..n {
            t.push((u as u32, i as u32, 1.0));
        }
    }
    let data = Interactions::from_triplets(sizes.len(), 20, &t).unwrap();
    let s = split_per_user(&data, 5, SplitRule::default()).unwrap();
    let expected_test = [0usize, 0, 1, 1, 2, 3, 4]; // round(0.2 n), at least 1, n >= 5
    for (u, &n) in sizes.iter().enumerate() {
        let train = s.train.row(u as u32).unwrap();
        let test = s.test.row(u as u32).unwrap();
        assert_eq!(test.len(), expected_test[u], "user {u} with {n}");
        assert_eq!(train.len() + test.len(), n);
        assert!(test.indices.iter().all(|i| !train.contains(*i)));
    }
    assert_eq!(s.evaluated_users(), vec![2, 3, 4, 5, 6]);
}

#[test]
fn split_is_seeded() {
    let data = synthetic(100, 80, 4, 15, 9);
    let a = split_per_user(&data, 1, SplitRule::default()).unwrap();
    let b = split_per_user(&data, 1, SplitRule::default()).unwrap();
    let c = split_per_user(&data, 2, SplitRule::default()).unwrap();
    assert_eq!(a.test, b.test);
    assert_ne!(a.test, c.test);
    assert_eq!(a.train.nnz() + a.test.nnz(), data.nnz());
}
