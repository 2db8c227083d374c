//! Marquee's machine learning: training, evaluation, ONNX export and ONNX Runtime serving.
//!
//! **House rule: this crate knows nothing of databases, HTTP or tenants.** It works on
//! dense internal indices only (`u32` user index, `u32` item index); mapping a tenant's
//! string ids to those indices, and back, is the caller's job (the `domain` crate). Keep
//! it that way: no persistence, no web types, no tenant context in here.
//!
//! Modules, in the order a model's life goes:
//! - [`matrix`]: the sparse user x item interaction matrix;
//! - [`als`], [`knn`], [`popular`]: the built-in algorithms;
//! - [`eval`]: the evaluation protocol shared by every model; [`tune`]: hyper-parameter
//!   search on an inner validation split;
//! - [`onnx`]: ONNX graphs for trained models and validation of uploaded ones;
//! - [`runtime`]: ONNX Runtime sessions for serving;
//! - [`sandbox`]: worker processes with resource limits for tenant-uploaded models.

pub mod als;
pub mod error;
pub mod eval;
pub mod explain;
pub mod knn;
mod linalg;
pub mod matrix;
pub mod movielens;
pub mod onnx;
pub mod popular;
pub mod rank;
pub mod rng;
pub mod runtime;
pub mod sandbox;
pub mod tune;

pub use error::{InferenceError, Result};
