//! Choosing settings on an inner validation split, never on test.
//!
//! - [`grid`]: the exhaustive ALS grid (the reference the bench compares with
//!   `implicit`);
//! - [`setting`]: the built-in families, one setting of each, and fitting any of them;
//! - [`search`]: the budgeted search over families that training uses.

mod grid;
mod setting;
mod search;

pub use grid::{Trial as GridTrial, TuneConfig, TuneGrid, TuneResult, tune_als};
pub use search::{DEFAULT_EASE_START, FamilyOutcome, SearchConfig, SearchResult, Trial, VALIDATION_RULE, search};
pub use setting::{Family, FitOptions, Fitted, Setting};
