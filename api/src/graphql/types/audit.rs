use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, Utc};
use domain::audit::{AuditRecord, Checkpoint, Problem, VerifyReport};

/// One entry of the tenant's audit log. `hash` chains it to `prevHash`; docs/audit.md
/// gives the algorithm, so anyone holding an export can recompute the chain.
#[derive(SimpleObject, Clone)]
#[graphql(name = "AuditEvent")]
pub struct AuditEventGql {
    /// Position in the tenant's log: 1, 2, 3, ... without gaps.
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    /// `member:<id>`, `api_key:<id>`, `operator` or `anonymous`.
    pub principal: String,
    /// `<object>.<verb>`, e.g. `api_key.created`, `session.login_failed`.
    pub action: String,
    pub target_kind: Option<String>,
    /// The target's id; for end users and typed login names, a keyed pseudonym.
    pub target: Option<String>,
    pub request_id: String,
    /// `success` or `denied`.
    pub outcome: String,
    pub details: async_graphql::Json<serde_json::Value>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditRecord> for AuditEventGql {
    fn from(r: AuditRecord) -> Self {
        Self {
            seq: r.seq,
            occurred_at: r.occurred_at,
            principal: r.principal,
            action: r.action,
            target_kind: r.target_kind,
            target: r.target,
            request_id: r.request_id,
            outcome: r.outcome,
            details: async_graphql::Json(r.details),
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// What is wrong with the log, at `firstBrokenSeq`.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "AuditProblem")]
pub enum AuditProblemGql {
    /// The event's content no longer matches its hash.
    Changed,
    /// The event was deleted (or the log ends before the head or a signed checkpoint says it should).
    Missing,
    /// An intact event was moved to another position.
    Reordered,
    /// The chain is consistent but contradicts a signed checkpoint: rewritten wholesale.
    RewrittenAfterCheckpoint,
    /// A checkpoint's signature is not the server's.
    CheckpointInvalid,
    /// Events were added, or the head moved, outside the service.
    HeadMismatch,
    /// A signed checkpoint that was due is gone: deleted, so the events after the last
    /// one left may have been rewritten (`missingCheckpoints` names them).
    CheckpointMissing,
    /// An archived segment's file is gone.
    ArchiveMissing,
    /// An archived segment's file is not the one archived.
    ArchiveChanged,
    /// The first event after an archive does not chain from the archive's last hash.
    ArchiveUnlinked,
}

impl From<Problem> for AuditProblemGql {
    fn from(p: Problem) -> Self {
        match p {
            Problem::Changed => Self::Changed,
            Problem::Missing => Self::Missing,
            Problem::Reordered => Self::Reordered,
            Problem::RewrittenAfterCheckpoint => Self::RewrittenAfterCheckpoint,
            Problem::CheckpointInvalid => Self::CheckpointInvalid,
            Problem::HeadMismatch => Self::HeadMismatch,
            Problem::CheckpointMissing => Self::CheckpointMissing,
            Problem::ArchiveMissing => Self::ArchiveMissing,
            Problem::ArchiveChanged => Self::ArchiveChanged,
            Problem::ArchiveUnlinked => Self::ArchiveUnlinked,
        }
    }
}

/// The result of recomputing the tenant's audit chain from event 1.
#[derive(SimpleObject, Clone)]
#[graphql(name = "AuditVerification")]
pub struct AuditVerificationGql {
    pub ok: bool,
    /// Events recomputed and found sound.
    pub checked: i64,
    /// Signed checkpoints found sound.
    pub checkpoints_checked: i64,
    pub first_broken_seq: Option<i64>,
    pub problem: Option<AuditProblemGql>,
    pub detail: Option<String>,
    /// How many events the log records.
    pub head_seq: i64,
    pub latest_checkpoint_seq: Option<i64>,
    /// Signed checkpoints that were due and are gone, lowest first (the first 20).
    pub missing_checkpoints: Vec<i64>,
    /// Events up to this one were archived (0: none) and verified from their archive
    /// files; `auditEvents` lists only the events after it.
    pub archived_through: i64,
}

impl From<VerifyReport> for AuditVerificationGql {
    fn from(r: VerifyReport) -> Self {
        Self {
            ok: r.ok,
            checked: i64::try_from(r.checked).unwrap_or(i64::MAX),
            checkpoints_checked: i64::try_from(r.checkpoints_checked).unwrap_or(i64::MAX),
            first_broken_seq: r.first_broken_seq,
            problem: r.problem.map(Into::into),
            detail: r.detail,
            head_seq: r.head_seq,
            latest_checkpoint_seq: r.latest_checkpoint_seq,
            missing_checkpoints: r.missing_checkpoints,
            archived_through: r.archived_through,
        }
    }
}

/// A signed statement of the chain's hash at one position.
#[derive(SimpleObject, Clone)]
#[graphql(name = "AuditCheckpoint")]
pub struct AuditCheckpointGql {
    pub seq: i64,
    pub hash: String,
    pub signed_at: DateTime<Utc>,
    /// Fingerprint of the signing key.
    pub key_id: String,
    pub signature: String,
}

impl From<Checkpoint> for AuditCheckpointGql {
    fn from(c: Checkpoint) -> Self {
        Self { seq: c.seq, hash: c.hash, signed_at: c.signed_at, key_id: c.key_id, signature: c.signature }
    }
}
