//! Integration tests of the inference crate: one binary, one module per concern.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod als;
mod bootstrap;
mod common;
mod ease;
mod eval;
mod explain;
mod external_data;
mod fold_in;
mod hostile;
mod knn_popular;
mod onnx;
mod sandbox;
mod text;
mod tune;
mod validate;
