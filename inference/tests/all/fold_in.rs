use inference::als::{AlsModel, AlsParams};
use inference::eval::evaluate;
use inference::matrix::Row;
use inference::rank::{Scorer, top_k};

use crate::common::{history, ml100k_split, synthetic};

/// Scores users by folding in their training history instead of using trained vectors.
struct Folded<'a>(&'a AlsModel);

impl Scorer for Folded<'_> {
    fn n_items(&self) -> usize {
        self.0.n_items()
    }
    fn score_into(&self, _user: u32, h: Row<'_>, out: &mut [f32]) -> inference::Result<()> {
        let x = self.0.fold_in(&h.iter().collect::<Vec<_>>())?;
        out.copy_from_slice(&self.0.score_vector(&x)?);
        Ok(())
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let d: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    d / (n(a) * n(b))
}

#[test]
fn fold_in_solves_the_normal_equations() {
    let data = synthetic(150, 90, 3, 12, 5);
    let p =
        AlsParams { factors: 10, regularization: 0.3, alpha: 4.0, iterations: 10, cg_steps: 3, seed: 1, threads: 2 };
    let m = AlsModel::fit(&data, &p, |_| true).unwrap();
    let h = history(&data, 12);
    let x = m.fold_in(&h).unwrap();
    // (Y^T C Y + reg I) x = Y^T C p, checked in f64 straight from the definition.
    let y = m.item_factors();
    let f = 10;
    let mut residual = vec![0f64; f];
    let mut rhs_norm = 0f64;
    for j in 0..f {
        let mut ax = f64::from(p.regularization) * f64::from(x[j]);
        for i in 0..y.nrows() {
            let c = h.iter().find(|(it, _)| *it as usize == i).map_or(0.0, |(_, w)| f64::from(p.alpha * w));
            let conf = if c > 0.0 { c } else { 1.0 };
            let yx: f64 = (0..f).map(|k| f64::from(y[(i, k)]) * f64::from(x[k])).sum();
            ax += conf * f64::from(y[(i, j)]) * yx;
        }
        let b: f64 = h.iter().map(|&(i, w)| f64::from(p.alpha * w) * f64::from(y[(i as usize, j)])).sum();
        residual[j] = ax - b;
        rhs_norm += b * b;
    }
    let res: f64 = residual.iter().map(|r| r * r).sum::<f64>().sqrt();
    assert!(res / rhs_norm.sqrt() < 1e-4, "relative residual {}", res / rhs_norm.sqrt());
    // The trained vector is the same problem solved by a few CG steps: close to it.
    assert!(cosine(&x, m.user_vector(12).unwrap()) > 0.99);
}

#[test]
fn fold_in_recommends_like_the_trained_model_on_ml100k() {
    let Some(split) = ml100k_split() else { return };
    let p =
        AlsParams { factors: 32, regularization: 5.0, alpha: 3.0, iterations: 10, cg_steps: 3, seed: 42, threads: 2 };
    let m = AlsModel::fit(&split.train, &p, |_| true).unwrap();
    let mut cos = 0.0;
    for u in 0..100u32 {
        cos += cosine(&m.fold_in(&history(&split.train, u)).unwrap(), m.user_vector(u).unwrap());
    }
    assert!(cos / 100.0 > 0.95, "mean cosine {}", cos / 100.0);
    let trained = evaluate(&m, split, 10).unwrap().metrics.ndcg;
    let folded = evaluate(&Folded(&m), split, 10).unwrap().metrics.ndcg;
    assert!((trained - folded).abs() < 0.02, "trained {trained} folded {folded}");
}

#[test]
fn a_new_user_gets_items_of_their_taste() {
    // Group g of the synthetic data likes items g*30..g*30+30.
    let data = synthetic(300, 90, 3, 15, 8);
    let p = AlsParams { factors: 8, regularization: 1.0, alpha: 5.0, iterations: 10, cg_steps: 3, seed: 2, threads: 2 };
    let m = AlsModel::fit(&data, &p, |_| true).unwrap();
    let newcomer = [(31u32, 1.0f32), (40, 1.0), (45, 2.0), (52, 1.0)];
    let x = m.fold_in(&newcomer).unwrap();
    let seen: Vec<u32> = newcomer.iter().map(|h| h.0).collect();
    let top = top_k(&m.score_vector(&x).unwrap(), 10, &seen);
    let in_group = top.iter().filter(|&&i| (30..60).contains(&i)).count();
    assert!(in_group >= 9, "{top:?}");
    assert_eq!(m.fold_in(&[]).unwrap(), vec![0.0; 8]);
}
