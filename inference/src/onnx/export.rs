//! Builders for the two published signatures.

use ndarray::{Array2, ArrayView2};
use prost::Message;

use super::graph::{
    Dim, encode_model, float_tensor, float_value_info, int_attribute, int64_tensor, int64_value_info, ints_attribute,
    node,
};
use super::proto::{GraphProto, ModelProto};
use super::{
    HISTORY_ITEMS_INPUT, HISTORY_WEIGHTS_INPUT, META_FACTORS, META_ITEMS, META_MODEL_KIND, SCORES_OUTPUT,
    USER_FACTORS_INPUT, USER_HISTORY_INPUT,
};
use crate::als::AlsModel;
use crate::ease::EaseModel;
use crate::error::{InferenceError, Result};
use crate::knn::ItemKnn;

/// ONNX element types (`TensorProto.DataType`) the graphs cast between.
const FLOAT: i64 = super::proto::tensor_proto::DataType::Float as i64;
const DOUBLE: i64 = super::proto::tensor_proto::DataType::Double as i64;

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
            node(
                "Transpose",
                "transpose_items",
                &["item_factors"],
                &["item_factors_t"],
                vec![ints_attribute("perm", &[1, 0])],
            ),
            node("MatMul", "score", &[USER_FACTORS_INPUT, "item_factors_t"], &[SCORES_OUTPUT], Vec::new()),
        ],
        initializer: vec![float_tensor("item_factors", &[n_items, factors], item_factors.iter().copied())],
        input: vec![float_value_info(USER_FACTORS_INPUT, &[Dim::Symbolic("N"), Dim::Fixed(factors)])],
        output: vec![float_value_info(SCORES_OUTPUT, &[Dim::Symbolic("N"), Dim::Fixed(n_items)])],
        ..Default::default()
    };
    Ok(encode_model(
        graph,
        "Marquee factor model: scores = user_factors x item_factors^T",
        &[
            (META_MODEL_KIND, model_kind.to_string()),
            (META_FACTORS, factors.to_string()),
            (META_ITEMS, n_items.to_string()),
        ],
    ))
}

/// Reads the item factors `[I, F]` back from a factor model exported by
/// [`export_factor_model`] (so a model store can keep the ONNX file as the single copy).
pub fn read_item_factors(model: &[u8]) -> Result<Array2<f32>> {
    let not_ours = |reason: &str| InferenceError::NotOnnx { reason: reason.to_string() };
    let proto = ModelProto::decode(model).map_err(|e| not_ours(&format!("the protobuf does not decode ({e})")))?;
    let init = proto
        .graph
        .as_ref()
        .and_then(|g| g.initializer.iter().find(|t| t.name.as_deref() == Some("item_factors")))
        .ok_or_else(|| not_ours("no `item_factors` initializer: not a Marquee factor model"))?;
    let (rows, cols) = match init.dims.as_slice() {
        [r, c] if *r > 0 && *c > 0 => (*r as usize, *c as usize),
        _ => return Err(not_ours("`item_factors` is not a non-empty matrix")),
    };
    let raw = init.raw_data.as_deref().unwrap_or_default();
    let values: Vec<f32> = if raw.is_empty() {
        init.float_data.clone()
    } else {
        raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    };
    Array2::from_shape_vec((rows, cols), values)
        .map_err(|e| not_ours(&format!("`item_factors` has the wrong size ({e})")))
}

/// Exports an item-item neighbour model as a sparse history model
/// (`model_kind = "item_knn"`).
pub fn export_item_knn(knn: &ItemKnn) -> Result<Vec<u8>> {
    let n = knn.n_items();
    check_size("similarity", n, n)?;
    let dense = knn.dense_similarity();
    export_sparse_history_model(dense.view(), "item_knn")
}

/// Exports an EASE model as a sparse history model (`model_kind = "ease"`).
pub fn export_ease(model: &EaseModel) -> Result<Vec<u8>> {
    let n = model.n_items();
    check_size("weights", n, n)?;
    let weights = ArrayView2::from_shape((n, n), model.weights())
        .map_err(|e| InferenceError::invalid("weights", format!("shape error: {e}")))?;
    export_sparse_history_model(weights, "ease")
}

/// Exports a linear history model that reads only the rows of the person's history
/// items: inputs `history_items` int64 `[N, H]` and `history_weights` float32 `[N, H]`,
/// `scores[n] = sum_h history_weights[n, h] * weights[history_items[n, h]]`. A request
/// costs H x I multiply-adds instead of the I x I of a dense history row; rows shorter
/// than H are padded with weight 0 (any valid item index).
pub fn export_sparse_history_model(weights: ArrayView2<'_, f32>, model_kind: &str) -> Result<Vec<u8>> {
    let n_items = check_item_weights(weights)?;
    let rows = n_items;
    let batch_by_history = [Dim::Symbolic("N"), Dim::Symbolic("H")];
    let graph = GraphProto {
        name: Some(format!("marquee_{model_kind}")),
        node: vec![
            // [N, H] indices -> [N, H, I]: the history items' rows.
            node(
                "Gather",
                "history_rows",
                &["weights", HISTORY_ITEMS_INPUT],
                &["rows"],
                vec![int_attribute("axis", 0)],
            ),
            // [N, H] -> [N, 1, H], so one batched MatMul sums the weighted rows.
            node("Unsqueeze", "weights_as_row", &[HISTORY_WEIGHTS_INPUT, "axis_1"], &["row_weights"], Vec::new()),
            // Sums run in float64: a history of thousands of items mixes terms of both
            // signs, and a float32 sum would drift from the exact score that
            // explanations add up (by up to 1e-4 of it for 2,000 items).
            node("Cast", "rows_f64", &["rows"], &["rows64"], vec![int_attribute("to", DOUBLE)]),
            node("Cast", "weights_f64", &["row_weights"], &["row_weights64"], vec![int_attribute("to", DOUBLE)]),
            node("MatMul", "weighted_sum", &["row_weights64", "rows64"], &["summed64"], Vec::new()),
            node("Squeeze", "drop_axis", &["summed64", "axis_1"], &["scores64"], Vec::new()),
            node("Cast", "scores_f32", &["scores64"], &[SCORES_OUTPUT], vec![int_attribute("to", FLOAT)]),
        ],
        initializer: vec![
            float_tensor("weights", &[rows, n_items], weights.iter().copied()),
            int64_tensor("axis_1", &[1], &[1]),
        ],
        input: vec![
            int64_value_info(HISTORY_ITEMS_INPUT, &batch_by_history),
            float_value_info(HISTORY_WEIGHTS_INPUT, &batch_by_history),
        ],
        output: vec![float_value_info(SCORES_OUTPUT, &[Dim::Symbolic("N"), Dim::Fixed(n_items)])],
        ..Default::default()
    };
    Ok(encode_model(
        graph,
        "Marquee sparse history model: scores = sum over history items of weight x weights[item]",
        &[(META_MODEL_KIND, model_kind.to_string()), (META_ITEMS, n_items.to_string())],
    ))
}

/// Exports any linear history model: `scores = user_history . weights`, with `weights`
/// an `[I, I]` initializer (row j = what history item j adds to every item's score).
pub fn export_history_model(weights: ArrayView2<'_, f32>, model_kind: &str) -> Result<Vec<u8>> {
    let n_items = check_item_weights(weights)?;
    let rows = n_items;
    let graph = GraphProto {
        name: Some(format!("marquee_{model_kind}")),
        node: vec![node("MatMul", "score", &[USER_HISTORY_INPUT, "weights"], &[SCORES_OUTPUT], Vec::new())],
        initializer: vec![float_tensor("weights", &[rows, n_items], weights.iter().copied())],
        input: vec![float_value_info(USER_HISTORY_INPUT, &[Dim::Symbolic("N"), Dim::Fixed(n_items)])],
        output: vec![float_value_info(SCORES_OUTPUT, &[Dim::Symbolic("N"), Dim::Fixed(n_items)])],
        ..Default::default()
    };
    Ok(encode_model(
        graph,
        "Marquee history model: scores = user_history x weights",
        &[(META_MODEL_KIND, model_kind.to_string()), (META_ITEMS, n_items.to_string())],
    ))
}

/// Checks an `[I, I]` item-item weight matrix and returns I.
fn check_item_weights(weights: ArrayView2<'_, f32>) -> Result<usize> {
    let (rows, n_items) = weights.dim();
    if rows != n_items {
        return Err(InferenceError::DimensionMismatch {
            what: "history weight matrix rows",
            expected: n_items,
            actual: rows,
        });
    }
    check_initializer("weights", rows, n_items, weights.iter())?;
    Ok(n_items)
}

fn check_size(name: &'static str, rows: usize, cols: usize) -> Result<()> {
    let bytes = rows.saturating_mul(cols).saturating_mul(4);
    if bytes > MAX_INITIALIZER_BYTES {
        return Err(InferenceError::invalid(
            name,
            format!(
                "{rows} x {cols} floats is too large for one ONNX initializer (limit {MAX_INITIALIZER_BYTES} bytes)"
            ),
        ));
    }
    Ok(())
}

fn check_initializer<'a>(
    name: &'static str,
    rows: usize,
    cols: usize,
    mut values: impl Iterator<Item = &'a f32>,
) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Err(InferenceError::invalid(name, "has an empty dimension"));
    }
    check_size(name, rows, cols)?;
    if values.any(|v| !v.is_finite()) {
        return Err(InferenceError::invalid(name, "contains NaN or infinite values"));
    }
    Ok(())
}
