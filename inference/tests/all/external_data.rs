//! Uploaded models must not read the server's files through external tensor data.
//!
//! Every place a tensor can hide (initializer, sparse initializer, `Constant` attributes,
//! `If`/`Loop`/`Scan` bodies, functions) is tried with every kind of location (relative,
//! absolute, `..`, symlink) pointing at a real file; the validator must refuse each by
//! name. Then such a model goes straight into a session, past the validator, and the
//! session must not be able to read the file either.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use prost::Message;

use inference::InferenceError;
use inference::onnx::proto::tensor_proto::{DataLocation, DataType};
use inference::onnx::proto::tensor_shape_proto::{Dimension, dimension};
use inference::onnx::proto::{
    AttributeProto, FunctionProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, SparseTensorProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto, attribute_proto, type_proto,
};
use inference::onnx::{SignatureKind, USER_HISTORY_INPUT};
use inference::runtime::OnnxScorer;
use inference::upload::{ExpectedSignature, validate_model};

use crate::common::runtime;
use crate::hostile::{graph_attribute, int_attribute, int64_tensor};

/// Catalog size of the attack models: the leaked tensor is one row of scores.
const ITEMS: usize = 8;
/// Values the "secret" file holds, as little-endian float32: easy to spot in scores.
const SECRET: [f32; ITEMS] = [1234.5, -77.25, 9.0, 31337.0, 0.125, 42.0, -1.0, 8.5];

/// A real file next to the "server", with a symlink to it and every kind of path to it.
struct Target {
    dir: PathBuf,
    relative_to_cwd: PathBuf,
    symlink_in_cwd: PathBuf,
}

impl Target {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("marquee-external-data-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bytes: Vec<u8> = SECRET.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.join("jwt_secret"), &bytes).unwrap();
        // A file in the working directory is what a relative location reaches when a
        // runtime resolves it against the process's folder.
        let relative_to_cwd = PathBuf::from(format!("marquee-secret-{tag}-{}.bin", std::process::id()));
        std::fs::write(&relative_to_cwd, &bytes).unwrap();
        let symlink_in_cwd = PathBuf::from(format!("marquee-secret-link-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_file(&symlink_in_cwd);
        std::os::unix::fs::symlink(dir.join("jwt_secret"), &symlink_in_cwd).unwrap();
        Self { dir, relative_to_cwd, symlink_in_cwd }
    }

    fn absolute(&self) -> String {
        self.dir.join("jwt_secret").display().to_string()
    }

    /// `../../..` up to the root, then down to the file: escapes any base folder.
    fn dot_dot(&self) -> String {
        format!("{}{}", "../".repeat(24), self.absolute().trim_start_matches('/'))
    }

    fn locations(&self) -> Vec<(&'static str, String)> {
        vec![
            ("relative", self.relative_to_cwd.display().to_string()),
            ("absolute", self.absolute()),
            ("dot-dot", self.dot_dot()),
            ("symlink", self.symlink_in_cwd.display().to_string()),
        ]
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.relative_to_cwd);
        let _ = std::fs::remove_file(&self.symlink_in_cwd);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn external(name: &str, dims: &[i64], data_type: DataType, location: &str, length: usize) -> TensorProto {
    let entry = |k: &str, v: String| StringStringEntryProto { key: Some(k.into()), value: Some(v) };
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(data_type as i32),
        data_location: Some(DataLocation::External as i32),
        external_data: vec![
            entry("location", location.into()),
            entry("offset", "0".into()),
            entry("length", length.to_string()),
        ],
        ..Default::default()
    }
}

fn inline_floats(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(DataType::Float as i32),
        raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    }
}

fn value_info(name: &str, elem: DataType, dims: &[Option<i64>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            denotation: None,
            value: Some(match d {
                Some(n) => dimension::Value::DimValue(*n),
                None => dimension::Value::DimParam("N".into()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            denotation: None,
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem as i32),
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], outputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: Some(format!("{op}_{}", outputs.first().copied().unwrap_or(""))),
        op_type: Some(op.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute,
        ..Default::default()
    }
}

fn tensor_attr(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_proto::AttributeType::Tensor as i32),
        t: Some(t),
        ..Default::default()
    }
}

fn sparse_attr(name: &str, s: SparseTensorProto) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_proto::AttributeType::SparseTensor as i32),
        sparse_tensor: Some(s),
        ..Default::default()
    }
}

/// `scores = user_history + leak`, where the nodes in `make_leak` produce `leak` [1, I].
fn model(mut graph: GraphProto, functions: Vec<FunctionProto>) -> Vec<u8> {
    graph.name = Some("attack".into());
    graph.input.insert(0, value_info(USER_HISTORY_INPUT, DataType::Float, &[None, Some(ITEMS as i64)]));
    graph.output = vec![value_info("scores", DataType::Float, &[None, Some(ITEMS as i64)])];
    graph.node.push(node("Add", &[USER_HISTORY_INPUT, "leak"], &["scores"], vec![]));
    let mut opset_import = vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(17) }];
    if !functions.is_empty() {
        opset_import.push(OperatorSetIdProto { domain: Some("attack.fn".into()), version: Some(1) });
    }
    ModelProto { ir_version: Some(8), opset_import, graph: Some(graph), functions, ..Default::default() }
        .encode_to_vec()
}

fn leak_tensor(name: &str, location: &str) -> TensorProto {
    external(name, &[1, ITEMS as i64], DataType::Float, location, ITEMS * 4)
}

/// A subgraph with no inputs whose only output is `out`, read from an external initializer.
fn body_graph(
    out: &str,
    location: &str,
    inputs: Vec<ValueInfoProto>,
    extra_outputs: Vec<ValueInfoProto>,
    pass: Vec<NodeProto>,
) -> GraphProto {
    let mut nodes = pass;
    nodes.push(node("Identity", &["body_secret"], &[out], vec![]));
    let mut output = extra_outputs;
    output.push(value_info(out, DataType::Float, &[Some(1), Some(ITEMS as i64)]));
    GraphProto {
        name: Some("body".into()),
        initializer: vec![leak_tensor("body_secret", location)],
        node: nodes,
        input: inputs,
        output,
        ..Default::default()
    }
}

/// Every place a tensor can hide, each as (place, tensor name, model bytes).
fn attack_models(location: &str) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut out = Vec::new();

    let g = GraphProto { initializer: vec![leak_tensor("leak", location)], ..Default::default() };
    out.push(("initializer", "leak", model(g, vec![])));

    let sparse = SparseTensorProto {
        values: Some(external("leak", &[ITEMS as i64], DataType::Float, location, ITEMS * 4)),
        indices: Some(int64_tensor("leak_indices", &[ITEMS], &(0..ITEMS as i64).collect::<Vec<_>>())),
        dims: vec![1, ITEMS as i64],
    };
    let g = GraphProto { sparse_initializer: vec![sparse.clone()], ..Default::default() };
    out.push(("sparse initializer", "leak", model(g, vec![])));

    let g = GraphProto {
        node: vec![node("Constant", &[], &["leak"], vec![tensor_attr("value", leak_tensor("const_secret", location))])],
        ..Default::default()
    };
    out.push(("Constant tensor attribute", "const_secret", model(g, vec![])));

    let mut sparse_const = sparse;
    sparse_const.values.as_mut().unwrap().name = Some("sparse_const_secret".into());
    let g = GraphProto {
        node: vec![node("Constant", &[], &["leak"], vec![sparse_attr("sparse_value", sparse_const)])],
        ..Default::default()
    };
    out.push(("Constant sparse tensor attribute", "sparse_const_secret", model(g, vec![])));

    let cond = inline_bool("cond", true);
    let g = GraphProto {
        initializer: vec![cond],
        node: vec![node(
            "If",
            &["cond"],
            &["leak"],
            vec![
                graph_attribute("then_branch", body_graph("then_out", location, vec![], vec![], vec![])),
                graph_attribute("else_branch", body_graph("else_out", location, vec![], vec![], vec![])),
            ],
        )],
        ..Default::default()
    };
    out.push(("If body", "body_secret", model(g, vec![])));

    // Loop body: (iteration, cond) -> (cond, scan output); one iteration.
    let loop_body = body_graph(
        "loop_out",
        location,
        vec![value_info("i", DataType::Int64, &[]), value_info("c_in", DataType::Bool, &[])],
        vec![value_info("c_out", DataType::Bool, &[])],
        vec![node("Identity", &["c_in"], &["c_out"], vec![])],
    );
    let g = GraphProto {
        initializer: vec![int64_tensor("trip", &[], &[1]), inline_bool("keep_going", true)],
        node: vec![
            node("Loop", &["trip", "keep_going"], &["stacked"], vec![graph_attribute("body", loop_body)]),
            node("Squeeze", &["stacked", "axis0"], &["leak"], vec![]),
        ],
        ..Default::default()
    };
    let mut g = g;
    g.initializer.push(int64_tensor("axis0", &[1], &[0]));
    out.push(("Loop body", "body_secret", model(g, vec![])));

    // Scan body: one state passed through, the secret added to it.
    let scan_body = GraphProto {
        name: Some("scan_body".into()),
        initializer: vec![leak_tensor("body_secret", location)],
        node: vec![
            node("Add", &["state_in", "body_secret"], &["state_out"], vec![]),
            node("Identity", &["x"], &["y"], vec![]),
        ],
        input: vec![
            value_info("state_in", DataType::Float, &[Some(1), Some(ITEMS as i64)]),
            value_info("x", DataType::Float, &[Some(1)]),
        ],
        output: vec![
            value_info("state_out", DataType::Float, &[Some(1), Some(ITEMS as i64)]),
            value_info("y", DataType::Float, &[Some(1)]),
        ],
        ..Default::default()
    };
    let g = GraphProto {
        initializer: vec![
            inline_floats("zero", &[1, ITEMS as i64], &[0.0; ITEMS]),
            inline_floats("seq", &[1, 1], &[0.0]),
        ],
        node: vec![node(
            "Scan",
            &["zero", "seq"],
            &["leak", "ys"],
            vec![graph_attribute("body", scan_body), int_attribute("num_scan_inputs", 1)],
        )],
        ..Default::default()
    };
    out.push(("Scan body", "body_secret", model(g, vec![])));

    // A local function whose Constant carries the external tensor.
    let function = FunctionProto {
        name: Some("Leak".into()),
        domain: Some("attack.fn".into()),
        output: vec!["out".into()],
        node: vec![node(
            "Constant",
            &[],
            &["out"],
            vec![tensor_attr("value", leak_tensor("function_secret", location))],
        )],
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(17) }],
        ..Default::default()
    };
    let mut call = node("Leak", &[], &["leak"], vec![]);
    call.domain = Some("attack.fn".into());
    let g = GraphProto { node: vec![call], ..Default::default() };
    out.push(("function", "function_secret", model(g, vec![function])));

    out
}

fn inline_bool(name: &str, v: bool) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: vec![],
        data_type: Some(DataType::Bool as i32),
        int32_data: vec![i32::from(v)],
        ..Default::default()
    }
}

fn history_signature() -> ExpectedSignature {
    ExpectedSignature { kind: SignatureKind::History, factors: 0, n_items: ITEMS, max_bytes: 1 << 20 }
}

#[test]
fn every_hiding_place_and_every_location_is_refused_by_name() {
    let target = Target::new("validate");
    let mut checked = 0;
    for (kind, location) in target.locations() {
        for (place, tensor, bytes) in attack_models(&location) {
            let err = validate_model(&bytes, &history_signature())
                .expect_err(&format!("{place} with a {kind} location was accepted"));
            match &err {
                InferenceError::ExternalData { tensor: named, .. } => {
                    assert_eq!(named, tensor, "{place}/{kind}: {err}")
                }
                other => panic!("{place} with a {kind} location: expected an external-data refusal, got {other:?}"),
            }
            let text = err.to_string();
            assert!(text.contains(tensor) && text.contains("outside the model"), "{place}/{kind}: {text}");
            checked += 1;
        }
    }
    assert_eq!(checked, 4 * 8);
}

#[test]
fn external_data_keys_without_the_location_flag_are_refused_too() {
    let target = Target::new("keys");
    let mut leak = leak_tensor("leak", &target.absolute());
    leak.data_location = None;
    let g = GraphProto { initializer: vec![leak], ..Default::default() };
    let err = validate_model(&model(g, vec![]), &history_signature()).unwrap_err();
    assert!(matches!(&err, InferenceError::ExternalData { tensor, .. } if tensor == "leak"), "{err:?}");
}

/// What a session returns for a zero history: the leaked tensor itself, if it could read it.
fn score_zero_history(bytes: &[u8]) -> Result<Vec<f32>, InferenceError> {
    let rt = runtime().expect("checked by the caller");
    let scorer = OnnxScorer::new(rt, bytes, 1)?;
    let scores = scorer.score(Array2::<f32>::zeros((1, ITEMS)).view())?;
    Ok(scores.iter().copied().collect())
}

#[test]
fn a_session_cannot_read_files_even_when_validation_is_skipped() {
    let Some(_rt) = runtime() else { return };
    let target = Target::new("session");

    // The same graph with the secret inline scores exactly the secret: the check below
    // would see a leak if a session read the file.
    let inline =
        GraphProto { initializer: vec![inline_floats("leak", &[1, ITEMS as i64], &SECRET)], ..Default::default() };
    assert_eq!(score_zero_history(&model(inline, vec![])).unwrap(), SECRET.to_vec());

    for (kind, location) in target.locations() {
        for (place, _, bytes) in attack_models(&location) {
            match score_zero_history(&bytes) {
                Err(_) => {}
                Ok(scores) => assert!(
                    scores.iter().zip(SECRET).all(|(a, b)| *a != b),
                    "{place} with a {kind} location read the file through the session: {scores:?}"
                ),
            }
        }
    }
}

#[test]
fn the_external_data_folder_is_empty() {
    let Some(rt) = runtime() else { return };
    let folder: &Path = rt.external_data_folder();
    assert!(folder.is_dir(), "{}", folder.display());
    assert_eq!(std::fs::read_dir(folder).unwrap().count(), 0);
}
