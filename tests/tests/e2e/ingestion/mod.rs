//! Catalog, audience and interaction ingestion (issue #3): batches with per-row errors,
//! idempotency, filters and pagination, tenant isolation, bad input, statistics and
//! the MovieLens import.

mod audience;
mod bad_input;
mod catalog;
mod interactions;
mod isolation;
pub(crate) mod movielens;
mod pagination;

pub use crate::helpers::{RECORD, UPSERT_CONTENTS, UPSERT_USERS, movie};
