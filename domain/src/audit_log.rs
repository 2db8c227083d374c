//! The tenant's audit log as a feature: listing its events, verifying its chain,
//! signing a checkpoint on demand and archiving sealed segments. Each first drains the queue of read events, so the
//! answer includes every read made before the call. (Writing events is `audit`.)
//!
//! For owners, admins and keys with `audit:read`, and the operator's CLI.

use tenants::page::{Page, PageRequest};
use tenants::store::tenants as tenant_store;
use tenants::{RequestId, Scope, SystemCtx, TenantCtx, TenantId};

use crate::Services;
use crate::audit::{self, Archive, AuditFilter, AuditRecord, Checkpoint, VerifyReport};
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

/// Archives the tenant's sealed segments through `through` (its head when `None`), one
/// segment per transaction, each ending at a signed checkpoint, and removes their events
/// from the database (docs/audit.md, "Archival"). Returns the archives written, oldest
/// first; none when no checkpoint seals anything new. A log that does not verify is not
/// archived (`CONFLICT`).
pub async fn archive(ctx: &TenantCtx, services: &Services, through: Option<i64>) -> Result<Vec<Archive>> {
    ctx.require(Scope::AuditRead)?;
    services.read_audit.flush().await?;
    let through = through.unwrap_or(i64::MAX);
    let mut written = Vec::new();
    loop {
        let tx = services.db.begin_write(ctx).await?;
        let Some(archive) = audit::archive_next(services.audit.config(), ctx, &tx, through).await? else {
            tx.commit().await?;
            return Ok(written);
        };
        tx.commit().await?;
        written.push(archive);
    }
}

/// The periodic archival: for every tenant, archives what is sealed and more than
/// `keep_hot` events behind its head. A tenant that fails is logged and skipped.
pub async fn archive_all(services: &Services, keep_hot: u64) -> Result<Vec<(TenantId, Archive)>> {
    let tx = services.db.begin_system(&SystemCtx::new("list tenants for audit archival")).await?;
    let tenants = tenant_store::list_all(&tx).await?;
    tx.commit().await?;
    let keep_hot = i64::try_from(keep_hot).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    for tenant in tenants {
        let ctx = TenantCtx::operator(tenant.id, RequestId::new());
        let head = {
            let tx = services.db.begin(&ctx).await?;
            let head = audit::head_seq(&tx).await?;
            tx.commit().await?;
            head
        };
        if head.saturating_sub(keep_hot) <= 0 {
            continue;
        }
        match archive(&ctx, services, Some(head - keep_hot)).await {
            Ok(archives) => out.extend(archives.into_iter().map(|a| (tenant.id, a))),
            Err(e) => tracing::error!(tenant_id = tenant.id.get(), error = ?e, "audit archival failed for a tenant"),
        }
    }
    Ok(out)
}

/// The tenant's archived segments, oldest first.
pub async fn list_archives(ctx: &TenantCtx, services: &Services) -> Result<Vec<Archive>> {
    ctx.require(Scope::AuditRead)?;
    let tx = services.db.begin(ctx).await?;
    let archives = audit::archives(&tx).await?;
    tx.commit().await?;
    Ok(archives)
}
