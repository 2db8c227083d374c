//! Sparse user x item interaction matrix (CSR).

use crate::error::{InferenceError, Result};

/// One row of an [`Interactions`] matrix: column indices (ascending) and their weights.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// Column indices, strictly ascending.
    pub indices: &'a [u32],
    /// Weights, aligned with `indices`.
    pub values: &'a [f32],
}

impl<'a> Row<'a> {
    /// An empty row, for users without history.
    pub const EMPTY: Row<'static> = Row { indices: &[], values: &[] };

    /// Number of stored entries.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the row has no entries.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Iterates `(column, weight)` pairs.
    pub fn iter(self) -> impl Iterator<Item = (u32, f32)> + 'a {
        self.indices.iter().copied().zip(self.values.iter().copied())
    }

    /// Whether `column` is present (binary search; rows are sorted).
    pub fn contains(&self, column: u32) -> bool {
        self.indices.binary_search(&column).is_ok()
    }
}

/// A compressed-sparse-row matrix of f32 weights, rows = users and columns = items by
/// convention (its [`transpose`](Self::transpose) is the item x user matrix).
///
/// Indices are dense `u32`s; mapping from tenant ids is the caller's job. Within a row,
/// columns are sorted and unique.
#[derive(Debug, Clone, PartialEq)]
pub struct Interactions {
    n_rows: usize,
    n_cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl Interactions {
    /// Builds the matrix from `(row, column, weight)` triplets, summing duplicates.
    ///
    /// Entries whose summed weight is exactly zero are kept (they still mark an
    /// interaction); out-of-range indices and non-finite weights are errors.
    pub fn from_triplets(n_rows: usize, n_cols: usize, triplets: &[(u32, u32, f32)]) -> Result<Self> {
        check_dimension("rows", n_rows)?;
        check_dimension("columns", n_cols)?;
        let mut counts = vec![0usize; n_rows + 1];
        for &(r, c, w) in triplets {
            if r as usize >= n_rows {
                return Err(InferenceError::UserOutOfRange { index: r, count: n_rows });
            }
            if c as usize >= n_cols {
                return Err(InferenceError::ItemOutOfRange { index: c, count: n_cols });
            }
            if !w.is_finite() {
                return Err(InferenceError::NonFiniteWeight { user: r, item: c });
            }
            counts[r as usize + 1] += 1;
        }
        for i in 0..n_rows {
            counts[i + 1] += counts[i];
        }
        // Counting sort by row keeps this O(nnz) and preserves input order within a row.
        let mut next = counts.clone();
        let mut entries = vec![(0u32, 0f32); triplets.len()];
        for &(r, c, w) in triplets {
            let slot = &mut next[r as usize];
            entries[*slot] = (c, w);
            *slot += 1;
        }
        let mut indptr = Vec::with_capacity(n_rows + 1);
        let mut indices = Vec::with_capacity(triplets.len());
        let mut values = Vec::with_capacity(triplets.len());
        indptr.push(0);
        for r in 0..n_rows {
            let row = &mut entries[counts[r]..counts[r + 1]];
            row.sort_by_key(|&(c, _)| c);
            for &(c, w) in row.iter() {
                if indices.len() > indptr[r] && indices.last() == Some(&c) {
                    if let Some(last) = values.last_mut() {
                        *last += w;
                    }
                } else {
                    indices.push(c);
                    values.push(w);
                }
            }
            indptr.push(indices.len());
        }
        Ok(Self { n_rows, n_cols, indptr, indices, values })
    }

    /// An all-empty matrix of the given shape.
    pub fn empty(n_rows: usize, n_cols: usize) -> Result<Self> {
        Self::from_triplets(n_rows, n_cols, &[])
    }

    /// Number of rows (users).
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns (items).
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// One row; an out-of-range index is an error.
    pub fn row(&self, r: u32) -> Result<Row<'_>> {
        if r as usize >= self.n_rows {
            return Err(InferenceError::UserOutOfRange { index: r, count: self.n_rows });
        }
        Ok(self.row_unchecked(r as usize))
    }

    /// One row by a `usize` index that the caller knows is in range (internal loops).
    pub(crate) fn row_unchecked(&self, r: usize) -> Row<'_> {
        let (s, e) = (self.indptr[r], self.indptr[r + 1]);
        Row { indices: &self.indices[s..e], values: &self.values[s..e] }
    }

    /// Iterates all rows in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = Row<'_>> + '_ {
        (0..self.n_rows).map(|r| self.row_unchecked(r))
    }

    /// Iterates all `(row, column, weight)` entries in row order.
    pub fn triplets(&self) -> impl Iterator<Item = (u32, u32, f32)> + '_ {
        (0..self.n_rows).flat_map(move |r| self.row_unchecked(r).iter().map(move |(c, w)| (r as u32, c, w)))
    }

    /// The item x user matrix.
    pub fn transpose(&self) -> Self {
        let mut indptr = vec![0usize; self.n_cols + 1];
        for &c in &self.indices {
            indptr[c as usize + 1] += 1;
        }
        for i in 0..self.n_cols {
            indptr[i + 1] += indptr[i];
        }
        let mut next = indptr.clone();
        let mut indices = vec![0u32; self.nnz()];
        let mut values = vec![0f32; self.nnz()];
        // Visiting rows in order leaves each transposed row sorted.
        for r in 0..self.n_rows {
            for (c, w) in self.row_unchecked(r).iter() {
                let slot = &mut next[c as usize];
                indices[*slot] = r as u32;
                values[*slot] = w;
                *slot += 1;
            }
        }
        Self { n_rows: self.n_cols, n_cols: self.n_rows, indptr, indices, values }
    }

    /// A copy with every weight multiplied by `factor` (ALS confidence = alpha * weight).
    pub fn scaled(&self, factor: f32) -> Self {
        let mut out = self.clone();
        for v in &mut out.values {
            *v *= factor;
        }
        out
    }

    /// Sum of weights per column (item popularity by weight).
    pub fn column_sums(&self) -> Vec<f64> {
        let mut sums = vec![0f64; self.n_cols];
        for (&c, &w) in self.indices.iter().zip(&self.values) {
            sums[c as usize] += f64::from(w);
        }
        sums
    }

    /// Number of entries per column (item popularity by count).
    pub fn column_counts(&self) -> Vec<u32> {
        let mut counts = vec![0u32; self.n_cols];
        for &c in &self.indices {
            counts[c as usize] += 1;
        }
        counts
    }
}

fn check_dimension(what: &'static str, n: usize) -> Result<()> {
    // Indices are u32 everywhere else; refusing bigger shapes here keeps casts lossless.
    if n > u32::MAX as usize {
        return Err(InferenceError::invalid(what, format!("{n} exceeds the u32 index range")));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sums_duplicates_and_sorts_rows() {
        let m = Interactions::from_triplets(2, 4, &[(0, 3, 1.0), (0, 1, 2.0), (0, 3, 0.5), (1, 0, 1.0)]).unwrap();
        let r0 = m.row(0).unwrap();
        assert_eq!(r0.indices, &[1, 3]);
        assert_eq!(r0.values, &[2.0, 1.5]);
        assert_eq!(m.nnz(), 3);
        assert!(m.row(2).is_err());
    }

    #[test]
    fn transpose_round_trips() {
        let m = Interactions::from_triplets(3, 2, &[(0, 1, 1.0), (2, 1, 3.0), (1, 0, 2.0)]).unwrap();
        let t = m.transpose();
        assert_eq!(t.n_rows(), 2);
        assert_eq!(t.row(1).unwrap().indices, &[0, 2]);
        assert_eq!(t.row(1).unwrap().values, &[1.0, 3.0]);
        assert_eq!(t.transpose(), m);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            Interactions::from_triplets(1, 1, &[(0, 1, 1.0)]),
            Err(InferenceError::ItemOutOfRange { index: 1, count: 1 })
        ));
        assert!(matches!(
            Interactions::from_triplets(1, 1, &[(0, 0, f32::NAN)]),
            Err(InferenceError::NonFiniteWeight { .. })
        ));
    }
}
