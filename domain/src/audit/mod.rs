//! The tamper-evident audit log (docs/audit.md).
//!
//! Every mutation, every read of an end user's personal data and every access event
//! appends one event to its tenant's chain, in the caller's own transaction: if the
//! event cannot be written, the change does not happen. Events are numbered without gaps
//! per tenant and chained by SHA-256 ([`chain`]); signed checkpoints let [`verify`]
//! catch even a consistent rewrite of the whole chain by someone who can write to the
//! database but does not hold the server's signing key.
//!
//! Use: `services.audit.record(&tx, AuditEvent::new(action::X).target(...))`
//! before `tx.commit()`. Open `tx` with `db.begin_write` when it reads before it records:
//! on SQLite a transaction that read first cannot take the write lock once another
//! writer has committed. Appends serialise per tenant on the head row, so record as late
//! in the transaction as possible.

mod archive;
pub mod chain;
mod checkpoint;
mod coalesce;
mod due;
mod encoding;
mod entity;
mod event;
mod list;
#[cfg(test)]
mod list_tests;
mod read_coalesce;
mod read_queue;
mod record;
mod segment;
mod verify;

use std::sync::Arc;

use tenants::{RequestId, TenantCtx, TenantId, TenantTx};

use crate::error::{DomainError, Result};

pub use archive::{ARCHIVER_ROLE, Archive};
pub(crate) use archive::{archive_next, archives};
pub use checkpoint::Checkpoint;
pub(crate) use checkpoint::{count_checkpoints, page_of_checkpoints, sign_now};
pub use coalesce::{FailedLoginCoalescer, FailureRecord};
pub use event::{AuditEvent, Outcome, Target, action};
pub use list::{AuditFilter, AuditRecord};
pub(crate) use list::{count_events, page_of_events};
pub use read_queue::ReadAuditQueue;
pub(crate) use record::head_seq;
pub(crate) use verify::verify_in;
pub use verify::{Problem, VerifyReport};

/// The audit settings: secrets come from configuration (generated into the data
/// directory when not set), never from globals.
#[derive(Clone)]
pub struct AuditConfig {
    /// Keys the HMAC that turns end-user ids into pseudonyms. Changing it makes old
    /// and new pseudonyms of the same person unlinkable.
    pub pseudonym_secret: Vec<u8>,
    /// Signs checkpoints. Whoever can write to the database must not hold it.
    pub checkpoint_signing_key: Vec<u8>,
    /// A signed checkpoint every this many events per tenant; 0 means only on request.
    pub checkpoint_every: u64,
    /// Failed sign-ins of one account recorded one by one per window; past it, only
    /// summaries with counts ([`FailedLoginCoalescer`]).
    pub failed_login_threshold: u32,
    pub failed_login_window: std::time::Duration,
    /// Reads of one person by one principal within this window are one event plus a
    /// count (at most a minute; zero: every read is its own event).
    pub read_coalesce_window: std::time::Duration,
    /// Where archived segments are written (`audit.archive_dir`); verification and
    /// exports read them from there.
    pub archive_dir: std::path::PathBuf,
}

impl std::fmt::Debug for AuditConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets stay out of logs and panic messages.
        f.debug_struct("AuditConfig")
            .field("pseudonym_secret", &"<redacted>")
            .field("checkpoint_signing_key", &"<redacted>")
            .field("checkpoint_every", &self.checkpoint_every)
            .field("failed_login_threshold", &self.failed_login_threshold)
            .field("failed_login_window", &self.failed_login_window)
            .field("read_coalesce_window", &self.read_coalesce_window)
            .field("archive_dir", &self.archive_dir)
            .finish()
    }
}

/// Appends audit events. Held by [`crate::Services`]; cheap to clone.
#[derive(Clone, Debug)]
pub struct Auditor {
    config: Arc<AuditConfig>,
    failed_logins: FailedLoginCoalescer,
}

impl Auditor {
    pub fn new(config: AuditConfig) -> Result<Self> {
        if config.pseudonym_secret.len() < 32 || config.checkpoint_signing_key.len() < 32 {
            return Err(DomainError::invalid("audit", "the audit secrets must be at least 32 bytes"));
        }
        let failed_logins = FailedLoginCoalescer::new(config.failed_login_threshold, config.failed_login_window);
        Ok(Self { config: Arc::new(config), failed_logins })
    }

    /// Decides which failed sign-ins are recorded one by one.
    pub fn failed_logins(&self) -> &FailedLoginCoalescer {
        &self.failed_logins
    }

    pub(crate) fn config(&self) -> &AuditConfig {
        &self.config
    }

    /// Appends an event by the principal of the transaction's context to `tx`. The
    /// event commits or rolls back with the caller's change.
    pub async fn record(&self, tx: &TenantTx, event: AuditEvent) -> Result<()> {
        let ctx = tx.ctx();
        let principal = ctx.principal().label();
        record::append(&self.config, tx, &principal, ctx.request_id(), event).await?;
        Ok(())
    }

    /// Appends several events by the context's principal, in order, as one append (a
    /// batch that touches many end users records one event per person).
    pub async fn record_all(&self, tx: &TenantTx, events: Vec<AuditEvent>) -> Result<()> {
        let ctx = tx.ctx();
        let principal = ctx.principal().label();
        let entries = events
            .into_iter()
            .map(|event| record::Entry { principal: &principal, request_id: ctx.request_id(), event })
            .collect();
        record::append_all(&self.config, tx, entries).await?;
        Ok(())
    }

    /// Appends events of several requests of one tenant (the read-audit writer's
    /// batches), each by its own request's principal, as one append.
    pub(crate) async fn record_batch(&self, tx: &TenantTx, batch: Vec<(TenantCtx, AuditEvent)>) -> Result<()> {
        if batch.iter().any(|(ctx, _)| ctx.tenant_id() != tx.tenant_id()) {
            return Err(DomainError::internal("audit event for another tenant's transaction"));
        }
        let (contexts, events): (Vec<TenantCtx>, Vec<AuditEvent>) = batch.into_iter().unzip();
        let labels: Vec<String> = contexts.iter().map(|ctx| ctx.principal().label()).collect();
        let entries = events
            .into_iter()
            .zip(contexts.iter().zip(&labels))
            .map(|(event, (ctx, principal))| record::Entry { principal, request_id: ctx.request_id(), event })
            .collect();
        record::append_all(&self.config, tx, entries).await?;
        Ok(())
    }

    /// Appends an event that has no proven principal (a failed login, a replayed
    /// refresh token) to the tenant `tx` is open in. The event names its principal with
    /// [`AuditEvent::by`]; `anonymous` when it does not.
    pub async fn record_system(&self, tx: &TenantTx, request_id: &RequestId, event: AuditEvent) -> Result<()> {
        let principal = event.principal.clone().unwrap_or_else(|| "anonymous".to_owned());
        record::append(&self.config, tx, &principal, request_id, event).await?;
        Ok(())
    }

    /// Every event about one target (an end user's pseudonym, say), archived and in
    /// the database, oldest first, inside the caller's transaction. For data export:
    /// the caller checks the rights.
    pub async fn events_about(&self, tx: &TenantTx, kind: &str, target: &str) -> Result<Vec<AuditRecord>> {
        let mut events = archive::archived_events_about(&self.config, tx, kind, target).await?;
        events.extend(list::hot_events_about(tx, kind, target).await?);
        Ok(events)
    }

    /// The pseudonym an end user's events carry, to find events about them (export).
    pub fn end_user_pseudonym(&self, tenant: TenantId, user_id: &str) -> Result<String> {
        record::stored_target(&self.config, tenant.get(), &Target::end_user(user_id))
    }
}
