use prost::Message;

use inference::InferenceError;
use inference::als::{AlsModel, AlsParams};
use inference::knn::ItemKnn;
use inference::onnx::proto::tensor_shape_proto::dimension::Value as Dim;
use inference::onnx::proto::{ModelProto, ValueInfoProto, type_proto};
use inference::onnx::{META_MODEL_KIND, SignatureKind, export_als, export_history_model};
use inference::upload::{ExpectedSignature, validate_model};

use crate::common::{runtime, synthetic};

const MB: usize = 1 << 20;

fn factor_model() -> ModelProto {
    let data = synthetic(60, 70, 2, 8, 1);
    let p = AlsParams { factors: 8, iterations: 2, threads: 1, ..AlsParams::default() };
    let m = AlsModel::fit(&data, &p, |_| true).unwrap();
    ModelProto::decode(export_als(&m).unwrap().as_slice()).unwrap()
}

fn expected() -> ExpectedSignature {
    ExpectedSignature { kind: SignatureKind::Factor, factors: 8, n_items: 70, max_bytes: MB }
}

fn tensor(v: &mut ValueInfoProto) -> &mut type_proto::Tensor {
    match v.r#type.as_mut().unwrap().value.as_mut().unwrap() {
        type_proto::Value::TensorType(t) => t,
        _ => unreachable!(),
    }
}

fn mutate(f: impl FnOnce(&mut ModelProto)) -> Vec<u8> {
    let mut m = factor_model();
    f(&mut m);
    m.encode_to_vec()
}

#[test]
fn refuses_garbage_empty_and_oversize() {
    for bytes in [&b""[..], b"this is not an ONNX model at all", &[0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]] {
        let r = validate_model(bytes, &expected());
        assert!(matches!(r, Err(InferenceError::NotOnnx { .. })), "{bytes:?}: {r:?}");
    }
    let bytes = factor_model().encode_to_vec();
    let limit = ExpectedSignature { max_bytes: 100, ..expected() };
    assert!(matches!(validate_model(&bytes, &limit), Err(InferenceError::ModelTooLarge { limit: 100, .. })));
}

#[test]
fn refuses_wrong_names() {
    let renamed_input = mutate(|m| m.graph.as_mut().unwrap().input[0].name = Some("x".into()));
    let err = validate_model(&renamed_input, &expected()).unwrap_err();
    assert!(matches!(err, InferenceError::MissingInput { .. }), "{err:?}");
    assert!(err.to_string().contains("user_factors") && err.to_string().contains("`x`"), "{err}");

    let renamed_output = mutate(|m| m.graph.as_mut().unwrap().output[0].name = Some("logits".into()));
    assert!(matches!(validate_model(&renamed_output, &expected()), Err(InferenceError::MissingOutput { .. })));

    let history_expected = ExpectedSignature { kind: SignatureKind::History, ..expected() };
    let bytes = factor_model().encode_to_vec();
    assert!(matches!(validate_model(&bytes, &history_expected), Err(InferenceError::MissingInput { .. })));

    let extra = mutate(|m| {
        let g = m.graph.as_mut().unwrap();
        let mut second = g.input[0].clone();
        second.name = Some("context".into());
        g.input.push(second);
    });
    assert!(matches!(validate_model(&extra, &expected()), Err(InferenceError::UnexpectedInputs { .. })));
}

#[test]
fn refuses_wrong_dtypes_and_shapes() {
    let double = mutate(|m| tensor(&mut m.graph.as_mut().unwrap().input[0]).elem_type = Some(11));
    let err = validate_model(&double, &expected()).unwrap_err();
    assert!(matches!(&err, InferenceError::WrongElementType { found, .. } if found == "double"), "{err:?}");

    let bytes = factor_model().encode_to_vec();
    let more_items = ExpectedSignature { n_items: 71, ..expected() };
    let err = validate_model(&bytes, &more_items).unwrap_err();
    assert!(matches!(&err, InferenceError::WrongShape { name, .. } if name == "scores"), "{err:?}");
    let more_factors = ExpectedSignature { factors: 9, ..expected() };
    let err = validate_model(&bytes, &more_factors).unwrap_err();
    assert!(matches!(&err, InferenceError::WrongShape { name, .. } if name == "user_factors"), "{err:?}");

    let fixed_batch = mutate(|m| {
        let shape = tensor(&mut m.graph.as_mut().unwrap().input[0]).shape.as_mut().unwrap();
        shape.dim[0].value = Some(Dim::DimValue(1));
    });
    assert!(matches!(validate_model(&fixed_batch, &expected()), Err(InferenceError::WrongShape { .. })));

    let rank3 = mutate(|m| {
        let shape = tensor(&mut m.graph.as_mut().unwrap().output[0]).shape.as_mut().unwrap();
        shape.dim.push(shape.dim[1].clone());
    });
    assert!(matches!(validate_model(&rank3, &expected()), Err(InferenceError::WrongShape { .. })));
}

#[test]
fn accepts_our_exports() {
    let Some(_rt) = runtime() else { return };
    let sig = validate_model(&factor_model().encode_to_vec(), &expected()).unwrap();
    assert_eq!((sig.kind, sig.input_width, sig.n_items, sig.opset), (SignatureKind::Factor, 8, 70, 17));
    assert_eq!(sig.metadata.get(META_MODEL_KIND).map(String::as_str), Some("als"));
    assert_eq!(sig.producer.as_deref(), Some("marquee"));

    let knn = ItemKnn::fit(&synthetic(60, 70, 2, 8, 1), 10, 1).unwrap();
    let history = ExpectedSignature { kind: SignatureKind::History, factors: 0, n_items: 70, max_bytes: MB };
    let sig =
        validate_model(&export_history_model(knn.dense_similarity().view(), "item_knn").unwrap(), &history).unwrap();
    assert_eq!((sig.kind, sig.input_width), (SignatureKind::History, 70));
}

#[test]
fn probe_refuses_models_that_load_badly_or_score_badly() {
    let Some(_rt) = runtime() else { return };
    let unknown_op = mutate(|m| m.graph.as_mut().unwrap().node[1].op_type = Some("NoSuchOperator".into()));
    let err = validate_model(&unknown_op, &expected()).unwrap_err();
    assert!(matches!(err, InferenceError::ModelLoad { .. }), "{err:?}");

    let nan = mutate(|m| {
        let raw = m.graph.as_mut().unwrap().initializer[0].raw_data.as_mut().unwrap();
        raw[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    let err = validate_model(&nan, &expected()).unwrap_err();
    assert!(matches!(err, InferenceError::ProbeNotFinite { count } if count > 0), "{err:?}");

    // Declares a symbolic width, then scores 70 items where 71 are expected.
    let symbolic = mutate(|m| {
        let shape = tensor(&mut m.graph.as_mut().unwrap().output[0]).shape.as_mut().unwrap();
        shape.dim[1].value = Some(Dim::DimParam("I".into()));
    });
    let err = validate_model(&symbolic, &ExpectedSignature { n_items: 71, ..expected() }).unwrap_err();
    assert!(matches!(&err, InferenceError::ProbeWrongShape { found, .. } if found == &vec![2, 70]), "{err:?}");
}
