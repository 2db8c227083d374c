//! Batches of rows from a client: parsed row by row at the boundary, written together,
//! answered row by row. A bad row never costs the good ones.

use crate::error::{DomainError, ErrorCode, Result};
use crate::vocab::UpsertCounts;

/// Why one row of a batch was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The row's position in the batch, from 0.
    pub index: usize,
    /// The row's own id (content, user or event id), when it had one.
    pub id: Option<String>,
    pub code: ErrorCode,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
    pub message: String,
}

impl RowError {
    pub fn new(index: usize, id: Option<String>, error: &DomainError) -> Self {
        Self { index, id, code: error.code(), field: error.field(), message: error.public_message() }
    }
}

/// What an upsert of a batch did: its counts and the rows it refused.
#[derive(Debug, Clone, Default)]
pub struct UpsertOutcome {
    pub counts: UpsertCounts,
    pub errors: Vec<RowError>,
}

/// A batch after parsing: the valid rows (with their positions) and the refused ones.
#[derive(Debug)]
pub struct Batch<T> {
    pub(crate) rows: Vec<(usize, T)>,
    pub(crate) errors: Vec<RowError>,
}

impl<T> Batch<T> {
    /// Parses each input; an input that does not parse becomes a row error. A batch of
    /// more than `max` rows is refused as a whole (`field` names the argument).
    pub fn parse<I>(
        inputs: Vec<I>,
        max: usize,
        field: &str,
        id_of: impl Fn(&I) -> Option<String>,
        mut parse: impl FnMut(I) -> Result<T>,
    ) -> Result<Self> {
        if inputs.len() > max {
            return Err(DomainError::invalid(
                field,
                format!("a batch holds at most {max} rows; this one has {}", inputs.len()),
            ));
        }
        let mut rows = Vec::with_capacity(inputs.len());
        let mut errors = Vec::new();
        for (index, input) in inputs.into_iter().enumerate() {
            let id = id_of(&input);
            match parse(input) {
                Ok(row) => rows.push((index, row)),
                Err(e) => errors.push(RowError::new(index, id, &e)),
            }
        }
        Ok(Self { rows, errors })
    }

    /// A batch of rows that are already valid, numbered from 0 (for bulk paths such as
    /// imports).
    pub fn of_valid(rows: Vec<T>) -> Self {
        Self { rows: rows.into_iter().enumerate().collect(), errors: Vec::new() }
    }

    pub fn valid_rows(&self) -> usize {
        self.rows.len()
    }
}

/// Sorts row errors by position, for stable answers.
pub(crate) fn sorted(mut errors: Vec<RowError>) -> Vec<RowError> {
    errors.sort_by_key(|e| e.index);
    errors
}
