//! GraphQL types: separate from domain types, built from them at the boundary.

mod access;
mod tenant;

pub use access::{ApiKeyGql, KeyEnvironmentGql, MemberGql, MemberStatusGql, RoleGql, SessionPayload};
pub use tenant::TenantGql;
