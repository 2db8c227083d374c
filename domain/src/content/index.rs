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
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::store::embeddings::StoredVector;
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
    /// The newest `embedded_at` among the vectors read: later batches are read from
    /// (a little before) it.
    pub(crate) written_through: Option<DateTime<Utc>>,
    /// When the whole index was last read from the database (facets that changed
    /// without a new vector are caught up by the next whole read).
    pub(crate) read_whole_at: Instant,
    /// When this index was made: batches are applied at most every few seconds.
    pub(crate) made_at: Instant,
    /// Numbers the contents of the indexes a process loads, so what was derived from one
    /// (the blend's precomputation, a kept answer) can tell it changed; an index read
    /// again with the same contents keeps its number. 0 until the content services
    /// number it.
    pub(crate) version: u64,
    /// The version of the index this one replaced (0: none), whose kept answers stay
    /// usable for a moment while people move over to this one.
    pub(crate) replaced_version: u64,
}

impl SemanticIndex {
    /// Joins the live items with their stored vectors; items without a vector (still
    /// queued) are left out.
    pub(crate) fn build(
        model_key: &str,
        dims: usize,
        items: Vec<(i64, SnapshotItem)>,
        vectors: Vec<StoredVector>,
    ) -> Self {
        let empty = Self {
            model_key: model_key.to_owned(),
            dims,
            rows: Vec::new(),
            items: Vec::new(),
            matrix: Vec::new(),
            by_id: HashMap::new(),
            written_through: None,
            read_whole_at: Instant::now(),
            made_at: Instant::now(),
            version: 0,
            replaced_version: 0,
        };
        empty.with_vectors(items, vectors)
    }

    /// This index with `vectors` of `items` (freshly read snapshots) added, or replacing
    /// the same items' vectors and facets: a batch of the embedding worker applied
    /// without reading the whole index again. Vectors of items not among `items` (deleted
    /// meanwhile) are left out.
    pub(crate) fn with_vectors(&self, items: Vec<(i64, SnapshotItem)>, vectors: Vec<StoredVector>) -> Self {
        let mut index = Self {
            model_key: self.model_key.clone(),
            dims: self.dims,
            rows: self.rows.clone(),
            items: self.items.clone(),
            matrix: self.matrix.clone(),
            by_id: self.by_id.clone(),
            written_through: self.written_through,
            read_whole_at: self.read_whole_at,
            made_at: Instant::now(),
            version: 0,
            replaced_version: 0,
        };
        let mut by_row: HashMap<i64, StoredVector> = vectors.into_iter().map(|v| (v.item_row, v)).collect();
        for (row, item) in items {
            let Some(stored) = by_row.remove(&row) else { continue };
            index.written_through = index.written_through.max(Some(stored.embedded_at));
            let Some(v) = vector::from_bytes(&stored.bytes, index.dims) else { continue };
            match index.by_id.get(item.id.as_str()) {
                Some(&position) => {
                    index.matrix[position * index.dims..(position + 1) * index.dims].copy_from_slice(&v);
                    index.rows[position] = row;
                    index.items[position] = item;
                }
                None => {
                    index.by_id.insert(item.id.as_str().to_owned(), index.rows.len());
                    index.rows.push(row);
                    index.items.push(item);
                    index.matrix.extend_from_slice(&v);
                }
            }
        }
        index
    }

    /// An index over the given unit vectors, named `i0`, `i1`, ..., with no catalog behind
    /// them: for benchmarks and tools.
    pub fn from_vectors(model_key: &str, dims: usize, vectors: Vec<Vec<f32>>) -> Self {
        let items = (0..vectors.len()).map(|n| (n as i64, bare_item(format!("i{n}")))).collect();
        let stored = vectors
            .iter()
            .enumerate()
            .map(|(n, v)| StoredVector { item_row: n as i64, bytes: vector::to_bytes(v), embedded_at: Utc::now() })
            .collect();
        Self::build(model_key, dims, items, stored)
    }

    /// Whether both hold the same items with the same facets and vectors, in the same
    /// order.
    pub(crate) fn same_contents(&self, other: &Self) -> bool {
        self.model_key == other.model_key
            && self.rows == other.rows
            && self.items == other.items
            && self.matrix == other.matrix
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

/// An item with an id and nothing else (a movie, no genres, always available): for
/// indexes with no catalog behind them.
pub(crate) fn bare_item(id: String) -> SnapshotItem {
    SnapshotItem {
        id: crate::vocab::ContentId::from_db(id),
        kind: crate::catalog::ContentKind::Movie,
        genres: Vec::new(),
        provider: None,
        available_from: None,
        available_until: None,
        maturity_rating: None,
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn item(id: &str, genre: &str) -> SnapshotItem {
        SnapshotItem {
            id: crate::vocab::ContentId::from_db(id.to_owned()),
            kind: crate::catalog::ContentKind::Movie,
            genres: vec![genre.to_owned()],
            provider: None,
            available_from: None,
            available_until: None,
            maturity_rating: None,
        }
    }

    fn stored(row: i64, v: [f32; 2], second: i64) -> StoredVector {
        let embedded_at = DateTime::<Utc>::from_timestamp(1_700_000_000 + second, 0).unwrap();
        StoredVector { item_row: row, bytes: vector::to_bytes(&v), embedded_at }
    }

    #[test]
    fn a_batch_replaces_known_items_and_appends_new_ones_in_place() {
        let index = SemanticIndex::build(
            "m",
            2,
            vec![(1, item("a", "drama")), (2, item("b", "drama")), (3, item("queued", "drama"))],
            vec![stored(1, [1.0, 0.0], 0), stored(2, [0.0, 1.0], 1)],
        );
        assert_eq!((index.len(), index.written_through.map(|t| t.timestamp())), (2, Some(1_700_000_001)));

        let batch = index.with_vectors(
            vec![(2, item("b", "comedy")), (3, item("queued", "drama")), (4, item("c", "drama"))],
            vec![
                stored(2, [0.6, 0.8], 5),
                stored(3, [0.0, -1.0], 5),
                stored(4, [-1.0, 0.0], 6),
                stored(9, [1.0, 0.0], 7),
            ],
        );
        assert_eq!(batch.len(), 4, "b replaced, queued and c appended, row 9 (deleted meanwhile) left out");
        assert_eq!(batch.position("b"), Some(1));
        assert_eq!(batch.vector(1), &[0.6, 0.8]);
        assert_eq!(batch.items[1].genres, vec!["comedy".to_owned()]);
        assert_eq!(batch.vector(batch.position("c").unwrap()), &[-1.0, 0.0]);
        assert_eq!(batch.top_k(&[0.0, -1.0], 1, |_| true)[0].0, batch.position("queued").unwrap());
        assert_eq!(batch.written_through.map(|t| t.timestamp()), Some(1_700_000_006));
        assert_eq!((index.len(), index.vector(1)), (2, &[0.0, 1.0][..]), "the index served meanwhile is untouched");
    }

    #[test]
    fn the_best_come_first_and_ties_keep_their_order() {
        let scores = [0.1, 0.9, 0.5, 0.9, f32::NAN, 0.7];
        assert_eq!(top_of(&scores, 3, |_| true), vec![(1, 0.9), (3, 0.9), (5, 0.7)]);
        assert_eq!(top_of(&scores, 2, |i| i != 1), vec![(3, 0.9), (5, 0.7)]);
        assert_eq!(top_of(&scores, 10, |i| i == 0), vec![(0, 0.1)]);
    }
}
