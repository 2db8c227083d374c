//! GraphQL types: separate from domain types, built from them at the boundary.

mod access;
pub mod audience;
mod audit;
pub mod batch;
pub mod catalog;
pub mod content;
pub mod explanations;
pub mod fairness;
pub mod interactions;
pub mod models;
pub mod privacy;
pub mod recommendations;
pub mod settings;
pub mod stats;
mod tenant;

pub use access::{ApiKeyGql, KeyEnvironmentGql, MemberGql, MemberStatusGql, RoleGql, SessionPayload};
pub use audit::{AuditCheckpointGql, AuditEventGql, AuditProblemGql, AuditVerificationGql};
pub use tenant::TenantGql;
