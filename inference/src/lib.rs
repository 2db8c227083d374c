//! Marquee's machine learning: training, evaluation, ONNX export and ONNX Runtime serving.
//!
//! **House rule: this crate knows nothing of databases, HTTP or tenants.** It works on
//! dense internal indices only (`u32` user index, `u32` item index); mapping a tenant's
//! string ids to those indices, and back, is the caller's job (the `domain` crate). Keep
//! it that way: no persistence, no web types, no tenant context in here.
//!
//! Modules, in the order a model's life goes:
//! - [`matrix`]: the sparse user x item interaction matrix;
//! - [`als`], [`knn`], [`ease`], [`popular`]: the built-in algorithms;
//! - [`exposure`]: the Gini of item exposure over many users' lists, and the re-ranking
//!   of all lists together that lowers it (fairness reports);
//! - [`eval`]: the evaluation protocol shared by every model; [`tune`]: hyper-parameter
//!   search on an inner validation split;
//! - [`onnx`]: ONNX graphs for trained models and their published signatures;
//! - [`native_memory`]: the C heap's free pages handed back (the workspace's one
//!   reviewed `unsafe` module);
//! - [`runtime`]: ONNX Runtime sessions for serving;
//! - [`text`]: sentence embeddings (a BERT encoder built as an ONNX graph, run by ONNX Runtime);
//! - [`sandbox`]: worker processes with resource limits for tenant-uploaded models;
//! - [`upload`]: validation of tenant-uploaded models (signature, external data, a probe).
//!
//! The module declarations below are in layering order, lowest first: a module uses
//! only those declared before it (`error` aside), which `e2e`'s module-order test checks.

pub mod error;
pub mod rng;
mod linalg;
pub mod matrix;
pub mod rank;
pub mod exposure;
pub mod explain;
pub mod eval;
pub mod als;
pub mod knn;
pub mod ease;
pub mod popular;
pub mod tune;
pub mod movielens;
pub mod onnx;
#[allow(unsafe_code)]
pub mod native_memory;
pub mod runtime;
pub mod text;
pub mod sandbox;
pub mod upload;

pub use error::{InferenceError, Result};
