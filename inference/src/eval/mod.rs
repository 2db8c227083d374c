//! The evaluation protocol of DESIGN.md ("Evaluation protocol"), as
//! `shared/bench/baseline_implicit.py` applies it: per-user random holdout, full ranking
//! of the catalog with training items excluded, metrics at a cutoff k; and confidence
//! intervals for them, by bootstrap over users.

mod bootstrap;
mod metrics;
mod split;

pub use bootstrap::{Bootstrap, Interval, mean};
pub use metrics::{EvalReport, Metrics, UserResult, evaluate};
pub use split::{Split, SplitRule, split_per_user};
