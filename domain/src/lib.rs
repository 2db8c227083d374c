//! The business core of Marquee: what the service does, independent of how it is asked.
//!
//! Layering rule: `domain` depends on `tenants` (tenancy, access, the database handle)
//! and `inference` (machine learning), never on `api`, HTTP or GraphQL. Every
//! tenant-scoped operation takes `&TenantCtx` first; a store function takes the
//! `&TenantTx` it runs in first, which carries that context. Errors are
//! [`DomainError`], each with exactly one public [`ErrorCode`].

// Modules, lowest first. A module may use the modules above it in this list and never
// one below it (`error` aside, which every module uses); tests/module_order.rs checks it.
// The shared vocabulary and the plumbing come first, then the audit writer and the
// shared handles, then the features, each after the features whose data it reads.
pub mod error;
#[cfg(test)]
mod test_db;
pub mod vocab;
mod sql;
mod durable_file;
mod validate;
pub mod batch;
pub mod metrics;
mod jitter;
pub mod background;
mod fresh_cache;
pub mod serving_cache;
pub mod change_relay;
pub mod fairness;
pub mod audit;
pub mod services;
pub mod audit_log;
pub mod access;
pub mod settings;
pub mod limits;
pub mod catalog;
pub mod audience;
pub mod interactions;
pub mod stats;
pub mod content;
pub mod models;
pub mod usage;
pub mod fairness_reports;
pub mod privacy;
pub mod import;
pub mod app;

pub use app::App;
pub use error::{DomainError, ErrorCode};
pub use models::ModelServices;
pub use services::{Services, ServicesConfig};
pub use tenants;
pub use tenants::{RequestId, TenantCtx};
