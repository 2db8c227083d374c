use async_graphql::SimpleObject;
use domain::batch::RowError;

use crate::error_codes::ErrorCodeExt as _;

/// Why one row of a batch was not stored. The other rows were.
#[derive(SimpleObject, Clone)]
#[graphql(name = "BatchRowError")]
pub struct BatchRowErrorGql {
    /// The row's position in the batch, from 0.
    pub index: i32,
    /// The row's own id (content, user or event id), when it had one.
    pub id: Option<String>,
    /// An error code from the table in docs/errors.md (`INVALID_INPUT`, `NOT_FOUND`, `CONFLICT`).
    pub code: String,
    /// The input field at fault.
    pub field: Option<String>,
    pub message: String,
}

impl From<RowError> for BatchRowErrorGql {
    fn from(e: RowError) -> Self {
        Self {
            index: i32::try_from(e.index).unwrap_or(i32::MAX),
            id: e.id,
            code: e.code.graphql_code().to_owned(),
            field: e.field,
            message: e.message,
        }
    }
}

pub fn count(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
