//! ONNX models: the graphs of trained models, their published signatures, and the
//! structural checks every model file passes (`upload` validates tenants' files).
//!
//! Two published signatures, both with a dynamic batch dimension `N`:
//! - **factor models**: input `user_factors` float32 `[N, F]` -> output `scores` float32
//!   `[N, I]` (ALS: the item factors are an initializer, `scores = X Y^T`);
//! - **history models**: input `user_history` float32 `[N, I]` (a user's weights over the
//!   catalog, in the model's item order) -> output `scores` float32 `[N, I]` (item-item
//!   neighbours of older releases, and the signature tenants' own uploaded models must
//!   follow).
//!
//! Built-in linear item-item models (item-kNN, EASE) use a third, internal signature,
//! **sparse history**: inputs `history_items` int64 `[N, H]` and `history_weights`
//! float32 `[N, H]` -> `scores` float32 `[N, I]`; the graph gathers the rows of the
//! history items only, so a request costs H x I rather than I x I multiply-adds.
//!
//! Graphs use opset 17 and carry `metadata_props` (`marquee.model_kind`,
//! `marquee.factors`, `marquee.items`) so a stored file describes itself.

mod export;
mod external_data;
pub mod graph;
pub mod proto;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use export::{
    export_als, export_ease, export_factor_model, export_history_model, export_item_knn, export_sparse_history_model,
    read_item_factors,
};
pub use external_data::refuse_external_data;

/// Input name of factor models.
pub const USER_FACTORS_INPUT: &str = "user_factors";
/// Input name of history models.
pub const USER_HISTORY_INPUT: &str = "user_history";
/// Sparse history models' first input: the person's history item indices `[N, H]`.
pub const HISTORY_ITEMS_INPUT: &str = "history_items";
/// Sparse history models' second input: the weights of those items `[N, H]`.
pub const HISTORY_WEIGHTS_INPUT: &str = "history_weights";
/// Output name of every model.
pub const SCORES_OUTPUT: &str = "scores";
/// Default ONNX operator set of exported graphs.
pub const OPSET: i64 = 17;
/// Metadata key naming the algorithm (`als`, `item_knn`, or anything for uploads).
pub const META_MODEL_KIND: &str = "marquee.model_kind";
/// Metadata key with the factor count (factor models).
pub const META_FACTORS: &str = "marquee.factors";
/// Metadata key with the catalog size.
pub const META_ITEMS: &str = "marquee.items";

/// Which input a model takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SignatureKind {
    /// `user_factors [N, F] -> scores [N, I]`.
    Factor,
    /// `user_history [N, I] -> scores [N, I]`.
    History,
}

impl SignatureKind {
    /// The graph input name of this kind.
    pub fn input_name(self) -> &'static str {
        match self {
            Self::Factor => USER_FACTORS_INPUT,
            Self::History => USER_HISTORY_INPUT,
        }
    }
}

/// What a validated model looks like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSignature {
    /// Input kind.
    pub kind: SignatureKind,
    /// Width of the input: factors for factor models, catalog size for history models.
    pub input_width: usize,
    /// Number of scores per row (catalog size).
    pub n_items: usize,
    /// Highest default-domain opset the model imports.
    pub opset: i64,
    /// `producer_name` of the file, if any.
    pub producer: Option<String>,
    /// The model's `metadata_props`.
    pub metadata: BTreeMap<String, String>,
}
