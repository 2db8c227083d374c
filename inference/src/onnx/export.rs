//! Builders for the two published signatures.

use ndarray::ArrayView2;

use super::graph::{Dim, encode_model, float_tensor, float_value_info, ints_attribute, node};
use super::proto::GraphProto;
use super::{META_FACTORS, META_ITEMS, META_MODEL_KIND, SCORES_OUTPUT, USER_FACTORS_INPUT, USER_HISTORY_INPUT};
use crate::als::AlsModel;
use crate::error::{InferenceError, Result};
use crate::knn::ItemKnn;

/// Protobuf messages cannot exceed 2 GiB; stay well below.
const MAX_INITIALIZER_BYTES: usize = 1 << 30;

/// Exports a trained ALS model as a factor model (`model_kind = "als"`).
pub fn export_als(model: &AlsModel) -> Result<Vec<u8>> {
    export_factor_model(model.item_factors().view(), "als")
}

/// Exports any factor model: `scores = user_factors . item_factors^T`, with the item
/// factors `[I, F]` stored as an initializer and transposed in the graph (ONNX Runtime
/// folds the transpose once at load time).
pub fn export_factor_model(item_factors: ArrayView2<'_, f32>, model_kind: &str) -> Result<Vec<u8>> {
    let (n_items, factors) = item_factors.dim();
    check_initializer("item_factors", n_items, factors, item_factors.iter())?;
    let graph = GraphProto {
        name: Some(format!("marquee_{model_kind}")),
        node: vec![
            node("Transpose", "transpose_items", &["item_factors"], &["item_factors_t"], vec![ints_attribute(
                "perm",
                &[1, 0],
            )]),
            node("MatMul", "score", &[USER_FACTORS_INPUT, "item_factors_t"], &[SCORES_OUTPUT], Vec::new()),
        ],
        initializer: vec![float_tensor("item_factors", &[n_items, factors], item_factors.iter().copied())],
        input: vec![float_value_info(USER_FACTORS_INPUT, &[Dim::Symbolic("N"), Dim::Fixed(factors)])],
        output: vec![float_value_info(SCORES_OUTPUT, &[Dim::Symbolic("N"), Dim::Fixed(n_items)])],
        ..Default::default()
    };
    Ok(encode_model(graph, "Marquee factor model: scores = user_factors x item_factors^T", &[
        (META_MODEL_KIND, model_kind.to_string()),
        (META_FACTORS, factors.to_string()),
        (META_ITEMS, n_items.to_string()),
    ]))
}

/// Exports an item-item neighbour model as a history model (`model_kind = "item_knn"`).
pub fn export_item_knn(knn: &ItemKnn) -> Result<Vec<u8>> {
    let n = knn.n_items();
    check_size("similarity", n, n)?;
    let dense = knn.dense_similarity();
    export_history_model(dense.view(), "item_knn")
}

/// Exports any linear history model: `scores = user_history . weights`, with `weights`
/// an `[I, I]` initializer (row j = what history item j adds to every item's score).
pub fn export_history_model(weights: ArrayView2<'_, f32>, model_kind: &str) -> Result<Vec<u8>> {
    let (rows, n_items) = weights.dim();
    if rows != n_items {
        return Err(InferenceError::DimensionMismatch { what: "history weight matrix rows", expected: n_items, actual: rows });
    }
    check_initializer("weights", rows, n_items, weights.iter())?;
    let graph = GraphProto {
        name: Some(format!("marquee_{model_kind}")),
        node: vec![node("MatMul", "score", &[USER_HISTORY_INPUT, "weights"], &[SCORES_OUTPUT], Vec::new())],
        initializer: vec![float_tensor("weights", &[rows, n_items], weights.iter().copied())],
        input: vec![float_value_info(USER_HISTORY_INPUT, &[Dim::Symbolic("N"), Dim::Fixed(n_items)])],
        output: vec![float_value_info(SCORES_OUTPUT, &[Dim::Symbolic("N"), Dim::Fixed(n_items)])],
        ..Default::default()
    };
    Ok(encode_model(graph, "Marquee history model: scores = user_history x weights", &[
        (META_MODEL_KIND, model_kind.to_string()),
        (META_ITEMS, n_items.to_string()),
    ]))
}

fn check_size(name: &'static str, rows: usize, cols: usize) -> Result<()> {
    let bytes = rows.saturating_mul(cols).saturating_mul(4);
    if bytes > MAX_INITIALIZER_BYTES {
        return Err(InferenceError::invalid(
            name,
            format!("{rows} x {cols} floats is too large for one ONNX initializer (limit {MAX_INITIALIZER_BYTES} bytes)"),
        ));
    }
    Ok(())
}

fn check_initializer<'a>(name: &'static str, rows: usize, cols: usize, mut values: impl Iterator<Item = &'a f32>) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Err(InferenceError::invalid(name, "has an empty dimension"));
    }
    check_size(name, rows, cols)?;
    if values.any(|v| !v.is_finite()) {
        return Err(InferenceError::invalid(name, "contains NaN or infinite values"));
    }
    Ok(())
}
