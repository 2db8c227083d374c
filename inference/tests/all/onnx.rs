use ndarray::{Array2, Axis};
use prost::Message;

use inference::als::{AlsModel, AlsParams};
use inference::ease::{EaseModel, EaseParams};
use inference::eval::{SplitRule, evaluate, split_per_user};
use inference::knn::ItemKnn;
use inference::onnx::proto::ModelProto;
use inference::onnx::{
    META_FACTORS, META_ITEMS, META_MODEL_KIND, OPSET, export_als, export_ease, export_item_knn, read_item_factors,
};
use inference::runtime::{OnnxFactorScorer, OnnxHistoryScorer, OnnxScorer};

use crate::common::{runtime, synthetic};

fn model() -> AlsModel {
    let data = synthetic(120, 70, 3, 10, 21);
    let p = AlsParams { factors: 12, regularization: 0.1, alpha: 2.0, iterations: 5, cg_steps: 3, seed: 4, threads: 2 };
    AlsModel::fit(&data, &p, |_| true).unwrap()
}

#[test]
fn als_export_describes_itself() {
    let m = model();
    let proto = ModelProto::decode(export_als(&m).unwrap().as_slice()).unwrap();
    assert_eq!(proto.opset_import[0].version, Some(OPSET));
    let meta =
        |k: &str| proto.metadata_props.iter().find(|p| p.key.as_deref() == Some(k)).and_then(|p| p.value.clone());
    assert_eq!(meta(META_MODEL_KIND).as_deref(), Some("als"));
    assert_eq!(meta(META_FACTORS).as_deref(), Some("12"));
    assert_eq!(meta(META_ITEMS).as_deref(), Some("70"));
}

#[test]
fn item_factors_read_back_exactly() {
    let m = model();
    let back = read_item_factors(&export_als(&m).unwrap()).unwrap();
    assert_eq!(&back, m.item_factors());
    assert!(read_item_factors(b"junk").is_err());
}

#[test]
fn exported_models_evaluate_like_the_originals() {
    let Some(rt) = runtime() else { return };
    let data = synthetic(120, 70, 3, 10, 21);
    let split = split_per_user(&data, 42, SplitRule::default()).unwrap();
    let p = AlsParams { factors: 12, regularization: 0.1, alpha: 2.0, iterations: 5, cg_steps: 3, seed: 4, threads: 2 };
    let als = AlsModel::fit(&split.train, &p, |_| true).unwrap();
    let onnx = OnnxScorer::new(rt, &export_als(&als).unwrap(), 2).unwrap();
    let direct = evaluate(&als, &split, 10).unwrap();
    let through = evaluate(&OnnxFactorScorer::new(&onnx, als.user_factors().view(), 70), &split, 10).unwrap();
    assert!((direct.metrics.ndcg - through.metrics.ndcg).abs() < 1e-3, "{direct:?} {through:?}");

    let knn = ItemKnn::fit(&split.train, 20, 2).unwrap();
    let onnx = OnnxScorer::new(rt, &export_item_knn(&knn).unwrap(), 2).unwrap();
    assert!(onnx.is_sparse(), "built-in item-item models read only the history's rows");
    let direct = evaluate(&knn, &split, 10).unwrap();
    let through = evaluate(&OnnxHistoryScorer::new(&onnx, 70), &split, 10).unwrap();
    assert!((direct.metrics.ndcg - through.metrics.ndcg).abs() < 1e-3);
    assert!(direct.metrics.ndcg > 0.0);

    let ease = EaseModel::fit(&split.train, &EaseParams { lambda: 20.0, omega: 0.0, threads: 2 }, 1 << 30).unwrap();
    let onnx = OnnxScorer::new(rt, &export_ease(&ease).unwrap(), 2).unwrap();
    let direct = evaluate(&ease, &split, 10).unwrap();
    let through = evaluate(&OnnxHistoryScorer::new(&onnx, 70), &split, 10).unwrap();
    assert!((direct.metrics.ndcg - through.metrics.ndcg).abs() < 1e-3, "{direct:?} {through:?}");
    assert!(direct.metrics.ndcg > 0.0);
}

#[test]
fn als_round_trip_through_onnx_runtime() {
    let Some(rt) = runtime() else { return };
    let m = model();
    let scorer = OnnxScorer::new(rt, &export_als(&m).unwrap(), 2).unwrap();
    assert_eq!(scorer.input_width(), Some(12));
    let users = m.user_factors().select(Axis(0), &(0..50).collect::<Vec<_>>());
    let scores = scorer.score(users.view()).unwrap();
    assert_eq!(scores.dim(), (50, 70));
    for u in 0..50u32 {
        let expect = m.score_user(u).unwrap();
        for (i, e) in expect.iter().enumerate() {
            let got = scores[(u as usize, i)];
            assert!((got - e).abs() <= 1e-4 * e.abs().max(1.0), "user {u} item {i}: {got} vs {e}");
        }
    }
    // A wrong width is an error, not a crash.
    assert!(scorer.score(Array2::<f32>::zeros((1, 5)).view()).is_err());
}

#[test]
fn onnx_scorer_serves_many_threads() {
    let Some(rt) = runtime() else { return };
    let m = model();
    let scorer = OnnxScorer::new(rt, &export_als(&m).unwrap(), 2).unwrap();
    std::thread::scope(|scope| {
        for t in 0..6usize {
            let (scorer, m) = (&scorer, &m);
            scope.spawn(move || {
                for r in 0..20usize {
                    let u = (t * 20 + r) % m.n_users();
                    let x = m.user_factors().select(Axis(0), &[u]);
                    let got = scorer.score(x.view()).unwrap();
                    let want = m.score_user(u as u32).unwrap();
                    assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() <= 1e-4 * b.abs().max(1.0)));
                }
            });
        }
    });
}

#[test]
fn item_knn_round_trip_through_onnx_runtime() {
    let Some(rt) = runtime() else { return };
    let data = synthetic(100, 60, 3, 8, 3);
    let knn = ItemKnn::fit(&data, 20, 2).unwrap();
    let scorer = OnnxScorer::new(rt, &export_item_knn(&knn).unwrap(), 1).unwrap();
    let histories: Vec<Vec<(u32, f32)>> = (0..3u32).map(|u| data.row(u).unwrap().iter().collect()).collect();
    let scores = score_padded(&scorer, &histories);
    for (u, h) in histories.iter().enumerate() {
        let want = knn.score_history(h).unwrap();
        for (i, w) in want.iter().enumerate() {
            assert!((scores[(u, i)] - w).abs() < 1e-4);
        }
    }
    // A dense input to a sparse model is refused, not misread.
    assert!(scorer.score(Array2::<f32>::zeros((1, 60)).view()).is_err());
}

#[test]
fn ease_round_trip_through_onnx_runtime_with_padded_histories() {
    let Some(rt) = runtime() else { return };
    let data = synthetic(150, 80, 4, 12, 8);
    let ease = EaseModel::fit(&data, &EaseParams { lambda: 30.0, omega: 0.0, threads: 2 }, 1 << 30).unwrap();
    let scorer = OnnxScorer::new(rt, &export_ease(&ease).unwrap(), 1).unwrap();
    let histories: Vec<Vec<(u32, f32)>> = (0..5u32).map(|u| data.row(u).unwrap().iter().collect()).collect();
    assert!(histories.iter().map(Vec::len).min() < histories.iter().map(Vec::len).max(), "rows must need padding");
    let scores = score_padded(&scorer, &histories);
    for (u, h) in histories.iter().enumerate() {
        let want = ease.score_history(h).unwrap();
        for (i, w) in want.iter().enumerate() {
            let got = scores[(u, i)];
            assert!((got - w).abs() <= 1e-5 * w.abs().max(1.0), "user {u} item {i}: {got} vs {w}");
        }
    }
    let out_of_range = Array2::from_elem((1, 1), 80i64);
    assert!(scorer.score_sparse(out_of_range.view(), Array2::<f32>::ones((1, 1)).view()).is_err());
}

/// Scores histories of different lengths in one batch, padding with weight 0.
fn score_padded(scorer: &OnnxScorer, histories: &[Vec<(u32, f32)>]) -> Array2<f32> {
    let width = histories.iter().map(Vec::len).max().unwrap();
    let mut items = Array2::<i64>::zeros((histories.len(), width));
    let mut weights = Array2::<f32>::zeros((histories.len(), width));
    for (r, h) in histories.iter().enumerate() {
        for (c, &(i, w)) in h.iter().enumerate() {
            items[(r, c)] = i64::from(i);
            weights[(r, c)] = w;
        }
    }
    scorer.score_sparse(items.view(), weights.view()).unwrap()
}
