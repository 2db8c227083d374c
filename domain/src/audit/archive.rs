//! Archiving sealed segments (docs/audit.md, "Archival"). A segment is the run of events
//! after the previous archive's end up to a signed checkpoint. It is written, with that
//! checkpoint, to a file under `audit.archive_dir`; `audit_archives` records it; then its
//! events leave `audit_events`, as the dedicated archiver role on PostgreSQL (the only
//! role allowed to delete, and only what an archive holds; migration m0017).
//!
//! Only a log that verifies is archived: the file must hold the chain as it was
//! recorded, since from then on it is the only copy. The tenant's head stays locked
//! meanwhile, so its appends wait for the archive to commit.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tenants::{TenantCtx, TenantTx};

use super::chain::{self, GENESIS};
use super::entity::{archive as row, checkpoint, event, head};
use super::{AuditConfig, AuditEvent, AuditRecord, action, encoding, record, segment, verify};
use crate::durable_file::sha256_hex;
use crate::error::{DomainError, Result};

/// The PostgreSQL role that alone may delete archived events (created by m0017).
pub const ARCHIVER_ROLE: &str = "marquee_archiver";

/// At most this many events per archive file: the segment is built in memory.
const MAX_SEGMENT_EVENTS: i64 = 100_000;

/// One archived segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    pub from_seq: i64,
    pub to_seq: i64,
    /// The hash of the event before `from_seq`, which the segment chains from.
    pub prev_hash: String,
    pub last_hash: String,
    pub checkpoint_seq: i64,
    /// The file, relative to `audit.archive_dir`.
    pub location: String,
    pub sha256: String,
    pub created_at: chrono::DateTime<Utc>,
}

impl From<row::Model> for Archive {
    fn from(m: row::Model) -> Self {
        Self {
            from_seq: m.from_seq,
            to_seq: m.to_seq,
            prev_hash: m.prev_hash,
            last_hash: m.last_hash,
            checkpoint_seq: m.checkpoint_seq,
            location: m.location,
            sha256: m.sha256,
            created_at: m.created_at,
        }
    }
}

/// The tenant's archives, oldest first.
pub(crate) async fn archives(tx: &TenantTx) -> Result<Vec<Archive>> {
    let rows = row::Entity::find()
        .filter(row::Column::TenantId.eq(tx.tenant_id().get()))
        .order_by_asc(row::Column::FromSeq)
        .all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(Archive::from).collect())
}

/// A segment's file, checked against what `audit_archives` recorded: its header and its
/// events as rows in their logical form, or why it cannot be trusted.
pub(super) enum Opened {
    Sound(Box<segment::Header>, Vec<event::Model>),
    Missing,
    Changed(String),
}

/// Reads and checks the file of `archive`.
pub(super) async fn open(config: &AuditConfig, archive: &Archive) -> Result<Opened> {
    let Some(bytes) = segment::read(&config.archive_dir, &archive.location).await? else {
        return Ok(Opened::Missing);
    };
    if sha256_hex(&bytes) != archive.sha256 {
        return Ok(Opened::Changed("its SHA-256 differs from the one recorded when it was archived".into()));
    }
    match segment::decode(&bytes) {
        Ok((header, rows)) => Ok(Opened::Sound(Box::new(header), rows)),
        Err(why) => Ok(Opened::Changed(why)),
    }
}

/// Archives the next sealed segment that ends at or before `through`: from the previous
/// archive's end to the furthest signed checkpoint within [`MAX_SEGMENT_EVENTS`] (or
/// the nearest one past it). `None` when no checkpoint seals anything new.
pub(crate) async fn archive_next(
    config: &AuditConfig,
    ctx: &TenantCtx,
    tx: &TenantTx,
    through: i64,
) -> Result<Option<Archive>> {
    // The tenant's appends wait until this commits, so the log verified is the log archived.
    head::Entity::find_by_id(tx.tenant_id().get()).lock_exclusive().one(tx.conn()).await?;
    let report = verify::verify_in(config, tx).await?;
    if !report.ok {
        return Err(DomainError::Conflict(format!(
            "the audit log does not verify ({} at event {}): nothing was archived",
            report.problem.map_or("?", |p| p.as_str()),
            report.first_broken_seq.unwrap_or_default()
        )));
    }
    let tenant_id = tx.tenant_id().get();
    let previous = archives(tx).await?.pop();
    let end = previous.as_ref().map_or(0, |a| a.to_seq);
    let Some(seal) = sealing_checkpoint(tx, end, through.min(report.head_seq)).await? else {
        return Ok(None);
    };
    let rows: Vec<event::Model> = event::Entity::find()
        .filter(event::Column::TenantId.eq(tenant_id))
        .filter(event::Column::Seq.gt(end))
        .filter(event::Column::Seq.lte(seal.seq))
        .order_by_asc(event::Column::Seq)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(encoding::decoded)
        .collect();
    let header = segment::Header {
        format: segment::FORMAT.to_owned(),
        tenant_id,
        from_seq: end + 1,
        to_seq: seal.seq,
        prev_hash: previous.map_or_else(|| chain::to_hex(&GENESIS), |a| a.last_hash),
        last_hash: seal.hash.clone(),
        checkpoint: segment::SignedCheckpoint::of(&seal),
    };
    let bytes = segment::encode(&header, &rows)?;
    let sha256 = sha256_hex(&bytes);
    let key = format!("{tenant_id}/{:012}-{:012}", header.from_seq, header.to_seq);
    segment::write(&config.archive_dir, &key, bytes).await?;
    let location = format!("{key}/{}", segment::FILE_NAME);

    let details = serde_json::json!({
        "fromSeq": header.from_seq, "toSeq": header.to_seq, "location": location, "sha256": sha256,
    });
    let event = AuditEvent::new(action::AUDIT_ARCHIVED).details(details);
    record::append(config, tx, &ctx.principal().label(), ctx.request_id(), event).await?;

    // From here on as the archiver: the only role that may record an archive and
    // remove what it holds (the service's own role can do neither).
    if tx.conn().get_database_backend() == DbBackend::Postgres {
        tx.conn().execute_unprepared(&format!("SET LOCAL ROLE {ARCHIVER_ROLE}")).await?;
    }
    let archive = Archive {
        from_seq: header.from_seq,
        to_seq: header.to_seq,
        prev_hash: header.prev_hash,
        last_hash: header.last_hash,
        checkpoint_seq: seal.seq,
        location,
        sha256,
        created_at: chain::now_micros(),
    };
    row::Entity::insert(row::ActiveModel {
        tenant_id: Set(tenant_id),
        from_seq: Set(archive.from_seq),
        to_seq: Set(archive.to_seq),
        prev_hash: Set(archive.prev_hash.clone()),
        last_hash: Set(archive.last_hash.clone()),
        checkpoint_seq: Set(archive.checkpoint_seq),
        location: Set(archive.location.clone()),
        sha256: Set(archive.sha256.clone()),
        created_at: Set(archive.created_at),
        ..Default::default()
    })
    .exec_without_returning(tx.conn())
    .await?;
    event::Entity::delete_many()
        .filter(event::Column::TenantId.eq(tenant_id))
        .filter(event::Column::Seq.gte(archive.from_seq))
        .filter(event::Column::Seq.lte(archive.to_seq))
        .exec(tx.conn())
        .await?;
    Ok(Some(archive))
}

/// The checkpoint that ends the next segment after `end`, at or before `limit`.
async fn sealing_checkpoint(tx: &TenantTx, end: i64, limit: i64) -> Result<Option<checkpoint::Model>> {
    let within = |query: sea_orm::Select<checkpoint::Entity>| {
        query.filter(checkpoint::Column::TenantId.eq(tx.tenant_id().get())).filter(checkpoint::Column::Seq.gt(end))
    };
    let furthest = within(checkpoint::Entity::find())
        .filter(checkpoint::Column::Seq.lte(limit.min(end.saturating_add(MAX_SEGMENT_EVENTS))))
        .order_by_desc(checkpoint::Column::Seq)
        .limit(1)
        .one(tx.conn())
        .await?;
    if furthest.is_some() {
        return Ok(furthest);
    }
    Ok(within(checkpoint::Entity::find())
        .filter(checkpoint::Column::Seq.lte(limit))
        .order_by_asc(checkpoint::Column::Seq)
        .limit(1)
        .one(tx.conn())
        .await?)
}

/// The archived events about one target (an end user's pseudonym), oldest first. An
/// archive that is gone or changed is an error: an export must not silently leave out
/// what it cannot read.
pub(crate) async fn archived_events_about(
    config: &AuditConfig,
    tx: &TenantTx,
    kind: &str,
    target: &str,
) -> Result<Vec<AuditRecord>> {
    let mut out = Vec::new();
    for archive in archives(tx).await? {
        let rows = match open(config, &archive).await? {
            Opened::Sound(_, rows) => rows,
            Opened::Missing | Opened::Changed(_) => {
                return Err(DomainError::Conflict(format!(
                    "the audit archive of events {}..={} cannot be read as archived; verify the audit log",
                    archive.from_seq, archive.to_seq
                )));
            }
        };
        out.extend(rows.into_iter().filter(|r| r.target_kind == kind && r.target == target).map(AuditRecord::from));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_archiver_is_the_role_the_migration_creates() {
        assert_eq!(super::ARCHIVER_ROLE, migrations::ARCHIVER_ROLE);
    }
}
