//! A small builder that names intermediate values, so the BERT graph reads like the model.

use crate::onnx::graph::{float_tensor, int64_tensor, node};
use crate::onnx::proto::{AttributeProto, NodeProto, TensorProto, attribute_proto};

#[derive(Default)]
pub(super) struct GraphBuilder {
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    next: usize,
}

impl GraphBuilder {
    /// Adds a float32 initializer and returns its name.
    pub fn constant(&mut self, name: &str, dims: &[usize], values: impl Iterator<Item = f32>) -> String {
        self.initializers.push(float_tensor(name, dims, values));
        name.to_string()
    }

    /// Adds an int64 initializer (shapes, axes) and returns its name.
    pub fn ints(&mut self, name: &str, dims: &[usize], values: &[i64]) -> String {
        self.initializers.push(int64_tensor(name, dims, values));
        name.to_string()
    }

    /// Adds one node with a fresh output name derived from `hint`, and returns that name.
    pub fn op(&mut self, op: &str, hint: &str, inputs: &[&str], attributes: Vec<AttributeProto>) -> String {
        self.next += 1;
        let out = format!("{hint}_{}", self.next);
        self.nodes.push(node(op, &out, inputs, &[&out], attributes));
        out
    }

    /// Adds one node whose output has a given (graph output) name.
    pub fn op_named(&mut self, op: &str, out: &str, inputs: &[&str], attributes: Vec<AttributeProto>) {
        self.nodes.push(node(op, out, inputs, &[out], attributes));
    }
}

pub(super) fn float_attribute(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(attribute_proto::AttributeType::Float as i32),
        f: Some(value),
        ..Default::default()
    }
}
