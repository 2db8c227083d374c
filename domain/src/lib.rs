//! The business core of Marquee: what the service does, independent of how it is asked.
//!
//! Layering rule: `domain` depends on `tenants` (tenancy, access, the database handle)
//! and `inference` (machine learning), never on `api`, HTTP or GraphQL. Every
//! tenant-scoped operation takes `&TenantCtx` first. Errors are [`DomainError`], each
//! with exactly one public [`ErrorCode`].

pub mod access;
pub mod audience;
pub mod audit;
pub mod batch;
pub mod catalog;
mod entity;
pub mod error;
pub mod fairness;
mod fresh_cache;
pub mod import;
pub mod interactions;
pub mod models;
pub mod privacy;
pub mod services;
pub mod settings;
mod sql;
pub mod stats;
mod validate;

pub use error::{DomainError, ErrorCode};
pub use services::{Services, ServicesConfig};
pub use tenants;
pub use tenants::{RequestId, TenantCtx};
