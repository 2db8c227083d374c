//! Hostile history-signature graphs (`user_history [N, I] -> scores [N, I]`), built with
//! the crate's ONNX protobuf types: what a tenant could upload.

use prost::Message;

pub use inference::onnx::graph::{int_attribute, int64_tensor};

use inference::onnx::proto::tensor_proto::DataType;
use inference::onnx::proto::tensor_shape_proto::{Dimension, dimension};
use inference::onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto, attribute_proto, type_proto,
};

/// `scores = ReduceSum(Expand(Unsqueeze(history), [1, copies, 1]), axis 1)`: the middle
/// tensor is `N x copies x I` floats.
pub fn expand_bomb(n_items: usize, copies: i64) -> Vec<u8> {
    let nodes = vec![
        node("Unsqueeze", &["user_history", "axis1"], &["wide"], vec![]),
        node("Expand", &["wide", "bomb_shape"], &["huge"], vec![]),
        node("ReduceSum", &["huge", "axis1"], &["scores"], vec![int_attribute("keepdims", 0)]),
    ];
    let init = vec![int64_tensor("axis1", &[1], &[1]), int64_tensor("bomb_shape", &[3], &[1, copies, 1])];
    model(nodes, init, n_items)
}

/// `scores = user_history + Loop(trips){ v }`: the loop does nothing, `trips` times.
pub fn loop_bomb(n_items: usize, trips: i64) -> Vec<u8> {
    let init = vec![int64_tensor("trips", &[], &[trips]), bool_tensor("go", true), float_tensor("zero", &[], &[0.0])];
    let nodes = vec![
        node("Loop", &["trips", "go", "zero"], &["spun"], vec![graph_attribute("body", loop_body())]),
        node("Add", &["user_history", "spun"], &["scores"], vec![]),
    ];
    model(nodes, init, n_items)
}

/// Like [`loop_bomb`], but the loop runs `trips` times only when some history weight is
/// above 1.5 (an item seen twice): never on the upload probe's 0/1 history.
pub fn loop_bomb_on_real_history(n_items: usize, trips: i64) -> Vec<u8> {
    let init = vec![
        float_tensor("threshold", &[], &[1.5]),
        float_tensor("trips_f", &[], &[trips as f32]),
        bool_tensor("go", true),
        float_tensor("zero", &[], &[0.0]),
    ];
    let nodes = vec![
        node("ReduceMax", &["user_history"], &["top"], vec![int_attribute("keepdims", 0)]),
        node("Greater", &["top", "threshold"], &["heavy"], vec![]),
        node("Cast", &["heavy"], &["heavy_f"], vec![int_attribute("to", DataType::Float as i64)]),
        node("Mul", &["heavy_f", "trips_f"], &["count_f"], vec![]),
        node("Cast", &["count_f"], &["count"], vec![int_attribute("to", DataType::Int64 as i64)]),
        node("Loop", &["count", "go", "zero"], &["spun"], vec![graph_attribute("body", loop_body())]),
        node("Add", &["user_history", "spun"], &["scores"], vec![]),
    ];
    model(nodes, init, n_items)
}

fn loop_body() -> GraphProto {
    GraphProto {
        name: Some("spin".into()),
        node: vec![
            node("Identity", &["cond_in"], &["cond_out"], vec![]),
            node("Identity", &["v_in"], &["v_out"], vec![]),
        ],
        input: vec![
            scalar_info("i", DataType::Int64),
            scalar_info("cond_in", DataType::Bool),
            scalar_info("v_in", DataType::Float),
        ],
        output: vec![scalar_info("cond_out", DataType::Bool), scalar_info("v_out", DataType::Float)],
        ..Default::default()
    }
}

fn model(node: Vec<NodeProto>, initializer: Vec<TensorProto>, n_items: usize) -> Vec<u8> {
    let graph = GraphProto {
        name: Some("hostile".into()),
        node,
        initializer,
        input: vec![matrix_info("user_history", n_items)],
        output: vec![matrix_info("scores", n_items)],
        ..Default::default()
    };
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(17) }],
        producer_name: Some("a hostile tenant".into()),
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

fn node(op: &str, inputs: &[&str], outputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: Some(format!("{op}_{}", outputs[0])),
        op_type: Some(op.into()),
        domain: Some(String::new()),
        attribute,
        ..Default::default()
    }
}

pub fn graph_attribute(name: &str, g: GraphProto) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_proto::AttributeType::Graph as i32),
        g: Some(g),
        ..Default::default()
    }
}

fn float_tensor(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(DataType::Float as i32),
        float_data: values.to_vec(),
        ..Default::default()
    }
}

fn bool_tensor(name: &str, value: bool) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: vec![],
        data_type: Some(DataType::Bool as i32),
        int32_data: vec![i32::from(value)],
        ..Default::default()
    }
}

fn tensor_info(name: &str, elem: DataType, dims: Option<Vec<dimension::Value>>) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            denotation: None,
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem as i32),
                shape: dims.map(|d| TensorShapeProto {
                    dim: d.into_iter().map(|v| Dimension { denotation: None, value: Some(v) }).collect(),
                }),
            })),
        }),
        ..Default::default()
    }
}

fn scalar_info(name: &str, elem: DataType) -> ValueInfoProto {
    tensor_info(name, elem, Some(vec![]))
}

fn matrix_info(name: &str, n_items: usize) -> ValueInfoProto {
    tensor_info(
        name,
        DataType::Float,
        Some(vec![dimension::Value::DimParam("N".into()), dimension::Value::DimValue(n_items as i64)]),
    )
}
