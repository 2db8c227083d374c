//! The blend's precomputation for one model over one semantic index: which embedded items
//! the model knows, which it does not, and the stand-ins of the latter
//! ([`super::blend::ContentTransfer`]). Built once per model and index (off the
//! executor: about (1,000 + new items) × known items × dimensions multiply-adds) and
//! kept until either changes.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::blend::ContentTransfer;
use super::index::SemanticIndex;

pub struct ModelTransfer {
    /// The index it was built over: a rebuilt index makes it stale.
    pub(crate) index: Arc<SemanticIndex>,
    /// Model positions of the embedded items the model knows, in the transfer's order.
    pub known: Vec<u32>,
    /// Index positions of the embedded items the model does not know, in its order.
    pub new: Vec<usize>,
    pub transfer: ContentTransfer,
}

impl ModelTransfer {
    /// `item_index`: the model's item ids and positions.
    pub fn build(index: Arc<SemanticIndex>, item_index: &FxHashMap<String, u32>) -> Self {
        let mut known: Vec<(u32, usize)> =
            item_index.iter().filter_map(|(id, &m)| index.position(id).map(|p| (m, p))).collect();
        known.sort_unstable();
        let new: Vec<usize> =
            (0..index.len()).filter(|&p| !item_index.contains_key(index.items[p].id.as_str())).collect();
        let known_vectors: Vec<&[f32]> = known.iter().map(|&(_, p)| index.vector(p)).collect();
        let new_vectors: Vec<&[f32]> = new.iter().map(|&p| index.vector(p)).collect();
        let transfer = ContentTransfer::build(&known_vectors, &new_vectors);
        let known = known.into_iter().map(|(m, _)| m).collect();
        Self { index, known, new, transfer }
    }

    pub fn is_current(&self, index: &Arc<SemanticIndex>) -> bool {
        Arc::ptr_eq(&self.index, index)
    }
}
