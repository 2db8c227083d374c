//! Refusal of external tensor data in uploaded models.
//!
//! An ONNX tensor may say its bytes live in a file (`data_location = EXTERNAL`, with a
//! `location` key). ONNX Runtime resolves that path on the server's filesystem, so an
//! uploaded model could make the server read its own secrets, its database or another
//! tenant's files and hand them back as scores. Uploaded models must be self-contained:
//! every place a tensor can sit is walked, including subgraphs and functions, and the
//! first external tensor found is refused by name.

use super::proto::tensor_proto::DataLocation;
use super::proto::{AttributeProto, GraphProto, ModelProto, NodeProto, SparseTensorProto, TensorProto};
use crate::error::{InferenceError, Result};

/// Nesting deeper than this is refused outright: a hostile file could otherwise make the
/// walk recurse until the stack overflows. Real scoring graphs nest a few levels at most.
const MAX_DEPTH: usize = 32;

/// Longest part of an attacker-chosen location echoed back in an error.
const MAX_ECHO: usize = 120;

/// Fails with [`InferenceError::ExternalData`] if any tensor in `model` keeps its data
/// outside the file.
pub fn refuse_external_data(model: &ModelProto) -> Result<()> {
    if let Some(graph) = &model.graph {
        walk_graph(graph, "graph", 0)?;
    }
    for (i, info) in model.training_info.iter().enumerate() {
        if let Some(g) = &info.initialization {
            walk_graph(g, &format!("training_info[{i}].initialization"), 0)?;
        }
        if let Some(g) = &info.algorithm {
            walk_graph(g, &format!("training_info[{i}].algorithm"), 0)?;
        }
    }
    for function in &model.functions {
        let place = format!("function `{}`", function.name.as_deref().unwrap_or(""));
        for attribute in &function.attribute_proto {
            walk_attribute(attribute, &format!("{place} default attribute"), 0)?;
        }
        walk_nodes(&function.node, &place, 0)?;
    }
    Ok(())
}

fn walk_graph(graph: &GraphProto, place: &str, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(InferenceError::NotOnnx { reason: format!("subgraphs nest deeper than {MAX_DEPTH} levels") });
    }
    for tensor in &graph.initializer {
        check_tensor(tensor, &format!("{place} initializer"))?;
    }
    for sparse in &graph.sparse_initializer {
        check_sparse(sparse, &format!("{place} sparse initializer"))?;
    }
    walk_nodes(&graph.node, place, depth)
}

fn walk_nodes(nodes: &[NodeProto], place: &str, depth: usize) -> Result<()> {
    for node in nodes {
        let node_place = format!(
            "{place}, node `{}` ({})",
            node.name.as_deref().unwrap_or(""),
            node.op_type.as_deref().unwrap_or("?")
        );
        for attribute in &node.attribute {
            walk_attribute(attribute, &node_place, depth)?;
        }
    }
    Ok(())
}

fn walk_attribute(attribute: &AttributeProto, place: &str, depth: usize) -> Result<()> {
    let place = format!("{place} attribute `{}`", attribute.name.as_deref().unwrap_or(""));
    if let Some(t) = &attribute.t {
        check_tensor(t, &place)?;
    }
    for t in &attribute.tensors {
        check_tensor(t, &place)?;
    }
    if let Some(s) = &attribute.sparse_tensor {
        check_sparse(s, &place)?;
    }
    for s in &attribute.sparse_tensors {
        check_sparse(s, &place)?;
    }
    if let Some(g) = &attribute.g {
        walk_graph(g, &format!("{place} subgraph"), depth + 1)?;
    }
    for g in &attribute.graphs {
        walk_graph(g, &format!("{place} subgraph"), depth + 1)?;
    }
    Ok(())
}

fn check_sparse(sparse: &SparseTensorProto, place: &str) -> Result<()> {
    if let Some(values) = &sparse.values {
        check_tensor(values, &format!("{place} values"))?;
    }
    if let Some(indices) = &sparse.indices {
        check_tensor(indices, &format!("{place} indices"))?;
    }
    Ok(())
}

/// A tensor is external when it says so, or when it carries external-data keys at all
/// (runtimes differ in which of the two they trust; refusing both leaves no gap).
fn check_tensor(tensor: &TensorProto, place: &str) -> Result<()> {
    let external = tensor.data_location == Some(DataLocation::External as i32) || !tensor.external_data.is_empty();
    if !external {
        return Ok(());
    }
    let location = tensor
        .external_data
        .iter()
        .find(|e| e.key.as_deref() == Some("location"))
        .and_then(|e| e.value.as_deref())
        .unwrap_or("");
    Err(InferenceError::ExternalData {
        tensor: tensor.name.clone().unwrap_or_default(),
        place: place.to_string(),
        location: location.chars().take(MAX_ECHO).collect(),
    })
}
