//! The evaluation protocol of DESIGN.md ("Evaluation protocol"), as
//! `shared/bench/baseline_implicit.py` applies it: per-user random holdout, full ranking
//! of the catalog with training items excluded, metrics at a cutoff k.

mod metrics;
mod split;

pub use metrics::{EvalReport, Metrics, UserResult, evaluate};
pub use split::{Split, SplitRule, split_per_user};
