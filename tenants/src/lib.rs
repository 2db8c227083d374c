//! Tenancy and access: who is asking, for which tenant, with what rights.
//!
//! Layering rule: this crate depends on no other workspace crate. It owns the tables
//! `tenants`, `members`, `api_keys` and `refresh_tokens`; their ORM entities stay private
//! and are mapped to the domain types below at this crate's boundary. Every tenant-scoped
//! operation takes `&TenantCtx` first; a data function takes the [`db::TenantTx`] it runs
//! in first, which carries the `TenantCtx` that opened it and on PostgreSQL also sets the
//! tenant for row-level security.

// Modules in layering order, lowest first: a module uses only those declared before it
// (`error` aside), which `e2e`'s module-order test checks.
pub mod error;
pub mod scope;
pub mod role;
pub mod ids;
pub mod ctx;
pub mod db;
pub mod api_key_secret;
pub mod jwt;
pub mod page;
pub mod password;
mod entity;
pub mod store;
pub mod auth;
pub mod throttle;
pub mod redis_limiter;
pub mod quota;

pub use ctx::{Principal, RequestId, SystemCtx, TenantCtx};
pub use db::{Db, DbBackendKind, SystemTx, TenantTx};
pub use error::TenantsError;
pub use ids::{Email, MemberId, PublicId, TenantId, TenantSlug};
pub use role::Role;
pub use scope::{Scope, ScopeSet};
