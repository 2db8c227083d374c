//! The blend's precomputation for one model over one semantic index: which embedded items
//! the model knows, which it does not, and the stand-ins of the latter
//! ([`super::blend::ContentTransfer`]). Built once per model (off the executor: about
//! (1,000 + new items) × known items × dimensions multiply-adds); a new index (each
//! embedded batch makes one) costs only its changed items, since stand-ins of unchanged
//! vectors over unchanged known items are reused.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::blend::ContentTransfer;
use super::index::SemanticIndex;

pub struct ModelTransfer {
    /// The index it was built over: a rebuilt index makes it stale.
    pub(crate) index: Arc<SemanticIndex>,
    /// Model positions of the embedded items the model knows, in the transfer's order.
    pub known: Vec<u32>,
    /// Index positions of the same known items.
    known_rows: Vec<usize>,
    /// Index positions of the embedded items the model does not know, in its order.
    pub new: Vec<usize>,
    pub transfer: ContentTransfer,
}

impl ModelTransfer {
    /// `item_index`: the model's item ids and positions. `previous`: the transfer of the
    /// same model over an earlier index, whose stand-ins are reused where the known items
    /// and a new item's vector are unchanged.
    pub fn build(index: Arc<SemanticIndex>, item_index: &FxHashMap<String, u32>, previous: Option<&Self>) -> Self {
        let mut known: Vec<(u32, usize)> =
            item_index.iter().filter_map(|(id, &m)| index.position(id).map(|p| (m, p))).collect();
        known.sort_unstable();
        let new: Vec<usize> =
            (0..index.len()).filter(|&p| !item_index.contains_key(index.items[p].id.as_str())).collect();
        let known_vectors: Vec<&[f32]> = known.iter().map(|&(_, p)| index.vector(p)).collect();
        let new_vectors: Vec<&[f32]> = new.iter().map(|&p| index.vector(p)).collect();
        let same_known = |prev: &&Self| {
            prev.known.len() == known.len()
                && prev
                    .known
                    .iter()
                    .zip(&prev.known_rows)
                    .zip(&known)
                    .all(|((&m, &row), &(m2, p))| m == m2 && prev.index.vector(row) == index.vector(p))
        };
        let transfer = match previous.filter(same_known) {
            Some(prev) => {
                let kept: FxHashMap<&str, (usize, usize)> =
                    prev.new.iter().enumerate().map(|(j, &p)| (prev.index.items[p].id.as_str(), (j, p))).collect();
                let reuse: Vec<Option<usize>> = new
                    .iter()
                    .map(|&p| {
                        let &(j, old) = kept.get(index.items[p].id.as_str())?;
                        (prev.index.vector(old) == index.vector(p)).then_some(j)
                    })
                    .collect();
                prev.transfer.with_new_items(&known_vectors, &new_vectors, &reuse)
            }
            None => ContentTransfer::build(&known_vectors, &new_vectors),
        };
        let known_rows = known.iter().map(|&(_, p)| p).collect();
        let known = known.into_iter().map(|(m, _)| m).collect();
        Self { index, known, known_rows, new, transfer }
    }

    pub fn is_current(&self, index: &Arc<SemanticIndex>) -> bool {
        Arc::ptr_eq(&self.index, index) || (index.version != 0 && self.index.version == index.version)
    }
}
