//! The tenant's embeddings in memory, for exact nearest-neighbour search: one row-major
//! matrix of unit vectors, scored by a dot product (the cosine) against the query.
//!
//! Exact search reads every vector: about 40 million multiply-adds per query for 100,000
//! items of 384 dimensions, a few milliseconds on a core (bench/README.md has the
//! figures). Beyond a few hundred thousand items per tenant, or when the matrix no
//! longer fits the memory budget of the cache, an approximate index takes over behind
//! the same `top_k`: HNSW (as in `hnswlib`/`usearch`, or pgvector's `hnsw` index on
//! PostgreSQL), rebuilt incrementally from the same change announcements.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::vector;
use crate::catalog::SnapshotItem;

pub struct SemanticIndex {
    pub(crate) model_key: String,
    pub dims: usize,
    /// Catalog row ids, in matrix order.
    pub(crate) rows: Vec<i64>,
    /// The items' facets (for filters), in matrix order.
    pub items: Vec<SnapshotItem>,
    matrix: Vec<f32>,
    by_id: HashMap<String, usize>,
}

impl SemanticIndex {
    /// Joins the live items with their stored vectors; items without a vector (still
    /// queued) are left out.
    pub(crate) fn build(
        model_key: &str,
        dims: usize,
        items: Vec<(i64, SnapshotItem)>,
        vectors: Vec<(i64, Vec<u8>)>,
    ) -> Self {
        let mut by_row: HashMap<i64, Vec<u8>> = vectors.into_iter().collect();
        let mut index = Self {
            model_key: model_key.to_owned(),
            dims,
            rows: Vec::new(),
            items: Vec::new(),
            matrix: Vec::new(),
            by_id: HashMap::new(),
        };
        for (row, item) in items {
            let Some(v) = by_row.remove(&row).and_then(|b| vector::from_bytes(&b, dims)) else { continue };
            index.by_id.insert(item.id.as_str().to_owned(), index.rows.len());
            index.rows.push(row);
            index.items.push(item);
            index.matrix.extend_from_slice(&v);
        }
        index
    }

    /// An index over the given unit vectors, named `i0`, `i1`, ..., with no catalog behind
    /// them: for benchmarks and tools.
    pub fn from_vectors(model_key: &str, dims: usize, vectors: Vec<Vec<f32>>) -> Self {
        let items = (0..vectors.len())
            .map(|n| {
                let item = SnapshotItem {
                    id: crate::vocab::ContentId::from_db(format!("i{n}")),
                    kind: crate::catalog::ContentKind::Movie,
                    genres: Vec::new(),
                    provider: None,
                    available_from: None,
                    available_until: None,
                    maturity_rating: None,
                };
                (n as i64, item)
            })
            .collect();
        let bytes = vectors.iter().enumerate().map(|(n, v)| (n as i64, vector::to_bytes(v))).collect();
        Self::build(model_key, dims, items, bytes)
    }

    /// The text model the vectors come from.
    pub fn model_key(&self) -> &str {
        &self.model_key
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// What the cache counts this index as, in KiB.
    pub(crate) fn weight(&self) -> u32 {
        u32::try_from(self.matrix.len() * 4 / 1024 + self.rows.len() / 8 + 1).unwrap_or(u32::MAX)
    }

    pub fn position(&self, item_id: &str) -> Option<usize> {
        self.by_id.get(item_id).copied()
    }

    pub fn vector(&self, position: usize) -> &[f32] {
        &self.matrix[position * self.dims..(position + 1) * self.dims]
    }

    /// Cosine of `query` (unit length) with every item, in matrix order.
    pub fn scores(&self, query: &[f32]) -> Vec<f32> {
        if query.len() != self.dims || self.dims == 0 {
            return vec![0.0; self.len()];
        }
        self.matrix.chunks_exact(self.dims).map(|row| vector::dot(row, query)).collect()
    }

    /// The `k` best positions by cosine among those `admits` lets through, best first
    /// (ties by position).
    pub fn top_k(&self, query: &[f32], k: usize, admits: impl Fn(usize) -> bool) -> Vec<(usize, f32)> {
        let scores = self.scores(query);
        top_of(&scores, k, admits)
    }
}

/// The `k` best of `scores` among admitted positions, best first, ties by position.
pub(crate) fn top_of(scores: &[f32], k: usize, admits: impl Fn(usize) -> bool) -> Vec<(usize, f32)> {
    let mut best: Vec<(usize, f32)> =
        scores.iter().copied().enumerate().filter(|(i, s)| s.is_finite() && admits(*i)).collect();
    let order = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if best.len() > k {
        best.select_nth_unstable_by(k, order);
        best.truncate(k);
    }
    best.sort_by(order);
    best
}

/// Whether an item is available at `at` (no window: always).
pub(crate) fn available(item: &SnapshotItem, at: DateTime<Utc>) -> bool {
    item.available_from.is_none_or(|from| from <= at) && item.available_until.is_none_or(|until| at < until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_come_first_and_ties_keep_their_order() {
        let scores = [0.1, 0.9, 0.5, 0.9, f32::NAN, 0.7];
        assert_eq!(top_of(&scores, 3, |_| true), vec![(1, 0.9), (3, 0.9), (5, 0.7)]);
        assert_eq!(top_of(&scores, 2, |i| i != 1), vec![(3, 0.9), (5, 0.7)]);
        assert_eq!(top_of(&scores, 10, |i| i == 0), vec![(0, 0.1)]);
    }
}
