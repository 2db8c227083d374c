use ndarray::{Array2, Axis};
use prost::Message;

use inference::als::{AlsModel, AlsParams};
use inference::eval::{SplitRule, evaluate, split_per_user};
use inference::knn::ItemKnn;
use inference::onnx::proto::ModelProto;
use inference::onnx::{
    META_FACTORS, META_ITEMS, META_MODEL_KIND, OPSET, export_als, export_item_knn, read_item_factors,
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
    let direct = evaluate(&knn, &split, 10).unwrap();
    let through = evaluate(&OnnxHistoryScorer::new(&onnx, 70), &split, 10).unwrap();
    assert!((direct.metrics.ndcg - through.metrics.ndcg).abs() < 1e-3);
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
    let mut input = Array2::<f32>::zeros((3, 60));
    for u in 0..3u32 {
        for (i, w) in data.row(u).unwrap().iter() {
            input[(u as usize, i as usize)] = w;
        }
    }
    let scores = scorer.score(input.view()).unwrap();
    for u in 0..3u32 {
        let h: Vec<(u32, f32)> = data.row(u).unwrap().iter().collect();
        let want = knn.score_history(&h).unwrap();
        for (i, w) in want.iter().enumerate() {
            assert!((scores[(u as usize, i)] - w).abs() < 1e-4);
        }
    }
}
