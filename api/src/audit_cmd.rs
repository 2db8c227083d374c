//! `marquee audit ...`: the operator's view of a tenant's audit log, without the API.

use anyhow::Context as _;
use domain::Services;
use domain::audit::{Archive, Checkpoint, VerifyReport};
use domain::tenants::ids::TenantSlug;
use domain::tenants::{RequestId, TenantCtx};

/// The exit status of `marquee audit verify` when the log is broken (1 is any error).
pub const BROKEN_EXIT_CODE: i32 = 2;

async fn operator_ctx(services: &Services, slug: &str) -> anyhow::Result<TenantCtx> {
    let slug = TenantSlug::parse(slug)?;
    let tenant =
        domain::access::find_tenant_by_slug(services, &slug).await?.with_context(|| format!("no tenant {slug}"))?;
    Ok(TenantCtx::operator(tenant.id, RequestId::new()))
}

pub async fn verify(services: &Services, slug: &str) -> anyhow::Result<VerifyReport> {
    let ctx = operator_ctx(services, slug).await?;
    Ok(domain::audit_log::verify(&ctx, services).await?)
}

pub async fn checkpoint(services: &Services, slug: &str) -> anyhow::Result<Checkpoint> {
    let ctx = operator_ctx(services, slug).await?;
    Ok(domain::audit_log::checkpoint(&ctx, services).await?)
}

/// Archives the tenant's sealed segments through `through` (docs/audit.md, "Archival").
pub async fn archive(services: &Services, slug: &str, through: Option<i64>) -> anyhow::Result<Vec<Archive>> {
    let ctx = operator_ctx(services, slug).await?;
    Ok(domain::audit_log::archive(&ctx, services, through).await?)
}

pub fn report_json(report: &VerifyReport) -> serde_json::Value {
    serde_json::json!({
        "ok": report.ok,
        "checked": report.checked,
        "checkpointsChecked": report.checkpoints_checked,
        "firstBrokenSeq": report.first_broken_seq,
        "problem": report.problem.map(|p| p.as_str()),
        "detail": report.detail,
        "headSeq": report.head_seq,
        "latestCheckpointSeq": report.latest_checkpoint_seq,
        "missingCheckpoints": report.missing_checkpoints,
        "archivedThrough": report.archived_through,
    })
}

pub fn report_text(slug: &str, report: &VerifyReport) -> String {
    let checkpoints = format!(
        "{} signed checkpoint(s) verified, latest at event {}",
        report.checkpoints_checked,
        report.latest_checkpoint_seq.map_or("-".to_owned(), |s| s.to_string())
    );
    match (report.ok, report.first_broken_seq, report.problem) {
        (true, _, _) => format!(
            "audit log of {slug}: OK, {} events verified{}; {checkpoints}",
            report.checked,
            match report.archived_through {
                0 => String::new(),
                n => format!(" (events up to {n} from archives)"),
            }
        ),
        (false, seq, problem) => format!(
            "audit log of {slug}: BROKEN at event {} ({}): {}\n{} events verified before it; {checkpoints}",
            seq.map_or("?".to_owned(), |s| s.to_string()),
            problem.map_or("?", |p| p.as_str()),
            report.detail.as_deref().unwrap_or(""),
            report.checked,
        ),
    }
}
