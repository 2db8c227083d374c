//! The tenant's audit log as a feature: listing its events, verifying its chain and
//! signing a checkpoint on demand. Each first drains the queue of read events, so the
//! answer includes every read made before the call. (Writing events is `audit`.)
//!
//! For owners, admins and keys with `audit:read`, and the operator's CLI.

use tenants::page::{Page, PageRequest};
use tenants::{Scope, TenantCtx};

use crate::Services;
use crate::audit::{self, AuditFilter, AuditRecord, Checkpoint, VerifyReport};
use crate::error::Result;

pub async fn list_events(
    ctx: &TenantCtx,
    services: &Services,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditRecord>> {
    ctx.require(Scope::AuditRead)?;
    services.read_audit.flush().await?;
    let tx = services.db.begin(ctx).await?;
    let page = audit::page_of_events(&tx, filter, page).await?;
    tx.commit().await?;
    Ok(page)
}

/// How many events match `filter`.
pub async fn count_events(ctx: &TenantCtx, services: &Services, filter: &AuditFilter) -> Result<u64> {
    ctx.require(Scope::AuditRead)?;
    services.read_audit.flush().await?;
    let tx = services.db.begin(ctx).await?;
    let n = audit::count_events(&tx, filter).await?;
    tx.commit().await?;
    Ok(n)
}

pub async fn verify(ctx: &TenantCtx, services: &Services) -> Result<VerifyReport> {
    ctx.require(Scope::AuditRead)?;
    services.read_audit.flush().await?;
    let tx = services.db.begin_snapshot(ctx).await?;
    let report = audit::verify_in(services.audit.config(), &tx).await?;
    tx.commit().await?;
    Ok(report)
}

/// The signed checkpoints, newest first: what an auditor keeps outside Marquee to prove
/// later that the log was not rewritten.
pub async fn list_checkpoints(ctx: &TenantCtx, services: &Services, page: PageRequest) -> Result<Page<Checkpoint>> {
    ctx.require(Scope::AuditRead)?;
    let tx = services.db.begin(ctx).await?;
    let page = audit::page_of_checkpoints(&tx, page).await?;
    tx.commit().await?;
    Ok(page)
}

pub async fn count_checkpoints(ctx: &TenantCtx, services: &Services) -> Result<u64> {
    ctx.require(Scope::AuditRead)?;
    let tx = services.db.begin(ctx).await?;
    let n = audit::count_checkpoints(&tx).await?;
    tx.commit().await?;
    Ok(n)
}

/// Signs the chain as it stands now, beyond the periodic checkpoints (before handing
/// the log to an auditor, say). The request is itself recorded, and the checkpoint
/// covers that event too.
pub async fn checkpoint(ctx: &TenantCtx, services: &Services) -> Result<Checkpoint> {
    ctx.require(Scope::AuditRead)?;
    services.read_audit.flush().await?;
    let tx = services.db.begin_write(ctx).await?;
    let checkpoint = audit::sign_now(services.audit.config(), ctx, &tx).await?;
    tx.commit().await?;
    Ok(checkpoint)
}
