//! Helpers that build ONNX protobuf messages: for the exports, and for tests that need
//! hand-made graphs (hostile uploads among them).

use prost::Message;

use super::OPSET;
use super::proto::tensor_proto::DataType;
use super::proto::tensor_shape_proto::{Dimension, dimension};
use super::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto, attribute_proto, type_proto,
};

/// IR version 8 is the one that goes with opset 17.
const IR_VERSION: i64 = 8;

/// A dimension of a graph input or output.
pub enum Dim {
    Fixed(usize),
    Symbolic(&'static str),
}

/// A float32 graph input or output of the given dimensions.
pub fn float_value_info(name: &str, dims: &[Dim]) -> ValueInfoProto {
    value_info(name, DataType::Float, dims)
}

/// An int64 graph input or output of the given dimensions.
pub fn int64_value_info(name: &str, dims: &[Dim]) -> ValueInfoProto {
    value_info(name, DataType::Int64, dims)
}

fn value_info(name: &str, elem_type: DataType, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            denotation: None,
            value: Some(match d {
                Dim::Fixed(n) => dimension::Value::DimValue(*n as i64),
                Dim::Symbolic(s) => dimension::Value::DimParam((*s).to_string()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            denotation: None,
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem_type as i32),
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
        ..Default::default()
    }
}

/// A float32 initializer stored as little-endian `raw_data` (compact, fast to load).
pub fn float_tensor(name: &str, dims: &[usize], values: impl Iterator<Item = f32>) -> TensorProto {
    let mut raw = Vec::with_capacity(dims.iter().product::<usize>() * 4);
    for v in values {
        raw.extend_from_slice(&v.to_le_bytes());
    }
    TensorProto {
        name: Some(name.to_string()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(DataType::Float as i32),
        raw_data: Some(raw),
        ..Default::default()
    }
}

/// An int64 initializer (shapes and axes that operators take as inputs).
pub fn int64_tensor(name: &str, dims: &[usize], values: &[i64]) -> TensorProto {
    TensorProto {
        name: Some(name.to_string()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(DataType::Int64 as i32),
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

/// A node of the default domain.
pub fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str], attributes: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: Some(name.to_string()),
        op_type: Some(op.to_string()),
        domain: Some(String::new()),
        attribute: attributes,
        ..Default::default()
    }
}

pub fn int_attribute(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(attribute_proto::AttributeType::Int as i32),
        i: Some(value),
        ..Default::default()
    }
}

pub fn ints_attribute(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(attribute_proto::AttributeType::Ints as i32),
        ints: values.to_vec(),
        ..Default::default()
    }
}

/// Wraps a graph in a model with the default opset and metadata, and serialises it.
pub fn encode_model(graph: GraphProto, doc: &str, metadata: &[(&str, String)]) -> Vec<u8> {
    let model = ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(OPSET) }],
        producer_name: Some("marquee".to_string()),
        producer_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        doc_string: Some(doc.to_string()),
        graph: Some(graph),
        metadata_props: metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto { key: Some((*k).to_string()), value: Some(v.clone()) })
            .collect(),
        ..Default::default()
    };
    model.encode_to_vec()
}
