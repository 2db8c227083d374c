//! Schema migrations, the same on SQLite and PostgreSQL.
//!
//! Layering rule: this crate depends on no other workspace crate; the `api` binary runs
//! it at start-up (unless turned off) and through `marquee migrate`. One file per
//! migration (sea-orm names a migration after its file). On PostgreSQL every tenant
//! table gets row-level security through [`rls::protect_tenant_table`].

pub use sea_orm_migration::prelude::*;

// `rls` first: every migration uses it (module order, checked by `e2e`).
pub mod rls;
mod m0001_access;
mod m0002_catalog;
mod m0003_audit;
mod m0004_models;
mod m0005_fairness;
mod m0006_privacy;
mod m0007_history_index;
mod m0008_erasure_followup;
mod m0009_job_owners;
mod m0010_checkpoint_intervals;
mod m0011_content_search;
mod m0012_content_embeddings;
mod m0013_job_leases;
mod m0014_job_runs;
mod m0015_model_artifacts;
mod m0016_audit_compact;
mod m0017_audit_archives;

/// The PostgreSQL role the service switches to; row-level security applies to it.
pub const APP_ROLE: &str = rls::APP_ROLE;

/// The PostgreSQL role that alone may remove archived audit events (docs/audit.md).
pub const ARCHIVER_ROLE: &str = m0017_audit_archives::ARCHIVER_ROLE;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_access::Migration),
            Box::new(m0002_catalog::Migration),
            Box::new(m0003_audit::Migration),
            Box::new(m0004_models::Migration),
            Box::new(m0005_fairness::Migration),
            Box::new(m0006_privacy::Migration),
            Box::new(m0007_history_index::Migration),
            Box::new(m0008_erasure_followup::Migration),
            Box::new(m0009_job_owners::Migration),
            Box::new(m0010_checkpoint_intervals::Migration),
            Box::new(m0011_content_search::Migration),
            Box::new(m0012_content_embeddings::Migration),
            Box::new(m0013_job_leases::Migration),
            Box::new(m0014_job_runs::Migration),
            Box::new(m0015_model_artifacts::Migration),
            Box::new(m0016_audit_compact::Migration),
            Box::new(m0017_audit_archives::Migration),
        ]
    }
}
