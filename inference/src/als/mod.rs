//! Implicit-feedback alternating least squares (Hu, Koren, Volinsky 2008) with the
//! conjugate-gradient solver of Takacs, Pilaszy, Tikk 2011, following the `implicit`
//! library 0.7 (CPU) update for update: confidence = alpha * weight, factors initialised
//! uniformly in [0, 0.01), users then items each iteration, warm-started CG.

mod explain;
mod model;
mod params;
mod solver;
mod train;

pub use crate::explain::{Contribution, Explanation};
pub use explain::UserExplainer;
pub use model::AlsModel;
pub use params::AlsParams;
pub(crate) use train::train;
