//! Recomputing a tenant's chain and saying where, if anywhere, it was tampered with.
//!
//! Events and checkpoints are streamed in pages inside one read-only snapshot, so the
//! log may be large and others may append meanwhile. The first problem found (the
//! lowest sequence number) is reported. Besides the chain, the checkpoints themselves
//! are checked for completeness ([`due`]): a deleted checkpoint that was due is
//! tampering even when the events after it were rewritten consistently. Archived
//! segments ([`archive`]) are walked first, from their files, with the same checks.

use std::collections::VecDeque;

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tenants::TenantTx;

use super::AuditConfig;
use super::archive::{self, Archive, Opened};
use super::chain::{self, ChainFields, GENESIS, Interval};
use super::entity::{checkpoint, event, head};
use super::{due, encoding};
use crate::error::Result;

const PAGE: u64 = 500;
/// How far from its place a moved event is looked for before calling it changed.
const REORDER_WINDOW: i64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The event's content no longer matches its hash (or, if its hash was recomputed
    /// too, the next event's link to it).
    Changed,
    /// A sequence number is absent: deleted from the middle, or the tail is shorter
    /// than the head or a signed checkpoint proves it was.
    Missing,
    /// An intact event sits at another position than the one it was recorded at.
    Reordered,
    /// The chain is internally consistent but contradicts a signed checkpoint: it was
    /// rewritten, hashes and all, after the checkpoint was signed.
    RewrittenAfterCheckpoint,
    /// A checkpoint's signature does not verify with the server's key: it was forged
    /// or altered.
    CheckpointInvalid,
    /// The chain and the tenant's head row disagree: events were appended, or the head
    /// moved, outside the service.
    HeadMismatch,
    /// A signed checkpoint that was due is gone (the surviving checkpoints say which
    /// were due): deleted, so the events after the last one left may have been
    /// rewritten. `missing_checkpoints` names them.
    CheckpointMissing,
    /// An archived segment's file is gone.
    ArchiveMissing,
    /// An archived segment's file is not the one archived (its SHA-256, header or
    /// content differs from what `audit_archives` recorded).
    ArchiveChanged,
    /// The first event after an archive does not chain from the archive's last hash.
    ArchiveUnlinked,
}

impl Problem {
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Changed => "CHANGED",
            Problem::Missing => "MISSING",
            Problem::Reordered => "REORDERED",
            Problem::RewrittenAfterCheckpoint => "REWRITTEN_AFTER_CHECKPOINT",
            Problem::CheckpointInvalid => "CHECKPOINT_INVALID",
            Problem::HeadMismatch => "HEAD_MISMATCH",
            Problem::CheckpointMissing => "CHECKPOINT_MISSING",
            Problem::ArchiveMissing => "ARCHIVE_MISSING",
            Problem::ArchiveChanged => "ARCHIVE_CHANGED",
            Problem::ArchiveUnlinked => "ARCHIVE_UNLINKED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub ok: bool,
    /// Events recomputed and found sound, from seq 1.
    pub checked: u64,
    pub checkpoints_checked: u64,
    pub first_broken_seq: Option<i64>,
    pub problem: Option<Problem>,
    /// What was found, in words, for the operator.
    pub detail: Option<String>,
    /// The last sequence number the tenant's head records.
    pub head_seq: i64,
    pub latest_checkpoint_seq: Option<i64>,
    /// Checkpoints that were due and are gone, lowest first (the first 20; `detail`
    /// says how many in all).
    pub missing_checkpoints: Vec<i64>,
    /// Events up to this one are in archives (0: none), the rest in the database.
    pub archived_through: i64,
}

/// Where the walk stands: the hash of the last sound event and the next position.
struct Position {
    prev: [u8; 32],
    expected: i64,
}

/// Verifies the tenant's chain and checkpoints inside the caller's snapshot.
pub(crate) async fn verify_in(config: &AuditConfig, tx: &TenantTx) -> Result<VerifyReport> {
    Verifier::new(config, tx).run().await
}

struct Verifier<'a> {
    config: &'a AuditConfig,
    tx: &'a TenantTx,
    tenant_id: i64,
    checked: u64,
    checkpoints_checked: u64,
    head_seq: i64,
    latest_checkpoint_seq: Option<i64>,
    /// Highest checkpoint that matched the chain, to bound a rewrite.
    last_good_checkpoint: i64,
    checkpoints: VecDeque<checkpoint::Model>,
    checkpoints_after: i64,
    checkpoints_done: bool,
    archived_through: i64,
}

impl<'a> Verifier<'a> {
    fn new(config: &'a AuditConfig, tx: &'a TenantTx) -> Self {
        Self {
            config,
            tx,
            tenant_id: tx.tenant_id().get(),
            checked: 0,
            checkpoints_checked: 0,
            head_seq: 0,
            latest_checkpoint_seq: None,
            last_good_checkpoint: 0,
            checkpoints: VecDeque::new(),
            checkpoints_after: i64::MIN,
            checkpoints_done: false,
            archived_through: 0,
        }
    }

    fn broken(&self, seq: i64, problem: Problem, detail: String) -> VerifyReport {
        VerifyReport {
            ok: false,
            checked: self.checked,
            checkpoints_checked: self.checkpoints_checked,
            first_broken_seq: Some(seq),
            problem: Some(problem),
            detail: Some(detail),
            head_seq: self.head_seq,
            latest_checkpoint_seq: self.latest_checkpoint_seq,
            missing_checkpoints: Vec::new(),
            archived_through: self.archived_through,
        }
    }

    /// Walks the chain, then reports missing checkpoints instead when they show first.
    async fn run(self) -> Result<VerifyReport> {
        let tx = self.tx;
        let tenant_id = self.tenant_id;
        let configured_every = i64::try_from(self.config.checkpoint_every).unwrap_or(i64::MAX);
        let mut report = self.walk().await?;
        let stored = stored_checkpoints(tx, tenant_id).await?;
        let gaps = due::find(&stored, report.head_seq, configured_every);
        if let Some(first) = gaps.first()
            && report.first_broken_seq.is_none_or(|broken| first < broken)
        {
            report.ok = false;
            report.first_broken_seq = Some(first);
            report.problem = Some(Problem::CheckpointMissing);
            report.detail = gaps.detail();
        }
        report.missing_checkpoints = gaps.named;
        Ok(report)
    }

    async fn walk(mut self) -> Result<VerifyReport> {
        let head = head::Entity::find_by_id(self.tenant_id).one(self.tx.conn()).await?;
        let (head_seq, head_hash) = head.map(|h| (h.last_seq, h.last_hash)).unwrap_or((0, chain::to_hex(&GENESIS)));
        self.head_seq = head_seq;
        self.latest_checkpoint_seq = checkpoint::Entity::find()
            .filter(checkpoint::Column::TenantId.eq(self.tenant_id))
            .order_by_desc(checkpoint::Column::Seq)
            .one(self.tx.conn())
            .await?
            .map(|c| c.seq);

        let mut at = Position { prev: GENESIS, expected: 1 };
        let archives = archive::archives(self.tx).await?;
        self.archived_through = archives.last().map_or(0, |a| a.to_seq);
        for archive in &archives {
            if let Some(report) = self.walk_archive(archive, &mut at).await? {
                return Ok(report);
            }
        }
        let mut after = self.archived_through;
        loop {
            let rows = event::Entity::find()
                .filter(event::Column::TenantId.eq(self.tenant_id))
                .filter(event::Column::Seq.gt(after))
                .order_by_asc(event::Column::Seq)
                .limit(PAGE)
                .all(self.tx.conn())
                .await?;
            let rows: Vec<event::Model> = rows.into_iter().map(encoding::decoded).collect();
            let Some(last) = rows.last() else { break };
            after = last.seq;
            for row in &rows {
                let first_after_archive = self.archived_through > 0 && row.seq == self.archived_through + 1;
                if first_after_archive && row.prev_hash != chain::to_hex(&at.prev) {
                    let detail = format!(
                        "event {} does not chain from the last hash of the archive that ends at event {}",
                        row.seq, self.archived_through
                    );
                    return Ok(self.broken(row.seq, Problem::ArchiveUnlinked, detail));
                }
                if let Some(report) = self.check_row(row, &mut at).await? {
                    return Ok(report);
                }
            }
        }
        let last = at.expected - 1;
        self.finish(last, &chain::to_hex(&at.prev), &head_hash).await
    }

    /// Checks one event, hot or archived, as the next of the chain at `at`.
    async fn check_row(&mut self, row: &event::Model, at: &mut Position) -> Result<Option<VerifyReport>> {
        let expected = at.expected;
        if row.seq != expected {
            let detail = format!("event {expected} is missing (the next one stored is {})", row.seq);
            return Ok(Some(self.broken(expected, Problem::Missing, detail)));
        }
        let computed = chain::to_hex(&chain::chain_hash(&at.prev, &fields(row)));
        if row.prev_hash != chain::to_hex(&at.prev) || computed != row.hash {
            let (seq, problem, detail) = self.classify(row).await?;
            return Ok(Some(self.broken(seq, problem, detail)));
        }
        if let Some(report) = self.check_checkpoints_up_to(row.seq, &row.hash).await? {
            return Ok(Some(report));
        }
        at.prev = chain::from_hex(&row.hash).unwrap_or(GENESIS);
        self.checked += 1;
        at.expected += 1;
        Ok(None)
    }

    /// Recomputes the chain through an archived segment: its file must be the one
    /// archived, sealed by a checkpoint signed with this server's key, and continue the
    /// chain where it stands.
    async fn walk_archive(&mut self, archive: &Archive, at: &mut Position) -> Result<Option<VerifyReport>> {
        let (from, to) = (archive.from_seq, archive.to_seq);
        if from != at.expected {
            let detail =
                format!("event {} is neither archived nor stored (the next archive begins at {from})", at.expected);
            return Ok(Some(self.broken(at.expected, Problem::Missing, detail)));
        }
        let changed =
            |why: String| format!("the archive of events {from}..={to} ({}) was changed: {why}", archive.location);
        let (header, rows) = match archive::open(self.config, archive).await? {
            Opened::Sound(header, rows) => (header, rows),
            Opened::Missing => {
                let detail = format!("the archive of events {from}..={to} ({}) is gone", archive.location);
                return Ok(Some(self.broken(from, Problem::ArchiveMissing, detail)));
            }
            Opened::Changed(why) => return Ok(Some(self.broken(from, Problem::ArchiveChanged, changed(why)))),
        };
        let recorded = (self.tenant_id, from, to, archive.prev_hash.as_str(), archive.last_hash.as_str());
        let in_file =
            (header.tenant_id, header.from_seq, header.to_seq, header.prev_hash.as_str(), header.last_hash.as_str());
        if recorded != in_file {
            return Ok(Some(self.broken(
                from,
                Problem::ArchiveChanged,
                changed("its header is not the one recorded".into()),
            )));
        }
        let Some(seal) = header.checkpoint.to_model(self.tenant_id) else {
            return Ok(Some(self.broken(to, Problem::ArchiveChanged, changed("its checkpoint does not parse".into()))));
        };
        if !self.signature_ok(&seal) {
            let detail = format!(
                "the checkpoint sealing the archive of events {from}..={to} is not signed by this server's key"
            );
            return Ok(Some(self.broken(seal.seq, Problem::CheckpointInvalid, detail)));
        }
        if seal.seq != to || seal.hash != archive.last_hash {
            return Ok(Some(self.broken(
                to,
                Problem::ArchiveChanged,
                changed("its checkpoint does not seal its end".into()),
            )));
        }
        for row in &rows {
            if let Some(report) = self.check_row(row, at).await? {
                return Ok(Some(report));
            }
        }
        if at.expected - 1 != to {
            let detail = changed(format!("it holds events up to {}", at.expected - 1));
            return Ok(Some(self.broken(at.expected, Problem::ArchiveChanged, detail)));
        }
        Ok(None)
    }

    /// Checks the checkpoints at or before `seq`, which has hash `hash`.
    async fn check_checkpoints_up_to(&mut self, seq: i64, hash: &str) -> Result<Option<VerifyReport>> {
        while let Some(cp) = self.peek_checkpoint().await? {
            if cp.seq > seq {
                break;
            }
            let cp = cp.clone();
            self.checkpoints.pop_front();
            if !self.signature_ok(&cp) {
                let detail = format!("the checkpoint at event {} is not signed by this server's key", cp.seq);
                return Ok(Some(self.broken(cp.seq, Problem::CheckpointInvalid, detail)));
            }
            if cp.seq != seq || cp.hash != hash {
                let detail = format!(
                    "the chain was rewritten after it was signed: event {} no longer has the signed hash; \
                     the rewrite lies within events {}..={}",
                    cp.seq,
                    self.last_good_checkpoint + 1,
                    cp.seq
                );
                return Ok(Some(self.broken(cp.seq, Problem::RewrittenAfterCheckpoint, detail)));
            }
            self.last_good_checkpoint = cp.seq;
            self.checkpoints_checked += 1;
        }
        Ok(None)
    }

    async fn peek_checkpoint(&mut self) -> Result<Option<&checkpoint::Model>> {
        if self.checkpoints.is_empty() && !self.checkpoints_done {
            let page = checkpoint::Entity::find()
                .filter(checkpoint::Column::TenantId.eq(self.tenant_id))
                .filter(checkpoint::Column::Seq.gt(self.checkpoints_after))
                .order_by_asc(checkpoint::Column::Seq)
                .limit(PAGE)
                .all(self.tx.conn())
                .await?;
            match page.last() {
                Some(last) => self.checkpoints_after = last.seq,
                None => self.checkpoints_done = true,
            }
            self.checkpoints.extend(page);
        }
        Ok(self.checkpoints.front())
    }

    fn signature_ok(&self, cp: &checkpoint::Model) -> bool {
        chain::checkpoint_signature_ok(
            &self.config.checkpoint_signing_key,
            self.tenant_id,
            cp.seq,
            &cp.hash,
            cp.signed_at,
            interval_of(cp).as_ref(),
            &cp.signature,
        )
    }

    /// After the last stored event: is anything missing from the tail, or added past the head?
    async fn finish(mut self, last: i64, last_hash: &str, head_hash: &str) -> Result<VerifyReport> {
        if let Some(cp) = self.peek_checkpoint().await?.cloned() {
            if !self.signature_ok(&cp) {
                let detail = format!("the checkpoint at event {} is not signed by this server's key", cp.seq);
                return Ok(self.broken(cp.seq, Problem::CheckpointInvalid, detail));
            }
            let detail = format!("the log ends at event {last} but a signed checkpoint covers event {}", cp.seq);
            return Ok(self.broken(last + 1, Problem::Missing, detail));
        }
        if self.head_seq > last {
            let detail = format!("the log ends at event {last} but {} were recorded", self.head_seq);
            return Ok(self.broken(last + 1, Problem::Missing, detail));
        }
        if self.head_seq < last {
            let detail = format!("events after {} were added outside the service", self.head_seq);
            return Ok(self.broken(self.head_seq + 1, Problem::HeadMismatch, detail));
        }
        if last > 0 && last_hash != head_hash {
            let detail = format!("event {last} differs from the one the head recorded");
            return Ok(self.broken(last, Problem::HeadMismatch, detail));
        }
        Ok(VerifyReport {
            ok: true,
            checked: self.checked,
            checkpoints_checked: self.checkpoints_checked,
            first_broken_seq: None,
            problem: None,
            detail: None,
            head_seq: self.head_seq,
            latest_checkpoint_seq: self.latest_checkpoint_seq,
            missing_checkpoints: Vec::new(),
            archived_through: self.archived_through,
        })
    }

    /// Names what is wrong with an event that does not continue the chain.
    async fn classify(&self, row: &event::Model) -> Result<(i64, Problem, String)> {
        let stored_prev = chain::from_hex(&row.prev_hash);
        let self_consistent = |seq: i64| {
            stored_prev.is_some_and(|p| chain::to_hex(&chain::chain_hash(&p, &fields_at(row, seq))) == row.hash)
        };
        if self_consistent(row.seq) {
            // Intact, but chained to something that is no longer its predecessor: the
            // event before it was altered and its hash recomputed.
            let seq = (row.seq - 1).max(1);
            let detail = format!(
                "event {seq} was altered and its hash recomputed; event {} was chained to the original",
                row.seq
            );
            return Ok((seq, Problem::Changed, detail));
        }
        let lo = (row.seq - REORDER_WINDOW).max(1);
        let hi = row.seq + REORDER_WINDOW;
        let original = (1..=REORDER_WINDOW)
            .flat_map(|d| [row.seq + d, row.seq - d])
            .filter(|s| (lo..=hi).contains(s))
            .find(|&s| self_consistent(s));
        let Some(original) = original else {
            return Ok((row.seq, Problem::Changed, format!("event {} does not match its hash", row.seq)));
        };
        // An event from further on, whose predecessor is gone: events were deleted and
        // the rest renumbered to hide the gap.
        // In either encoding.
        let mut stored_as = Condition::any().add(event::Column::Hash.eq(row.prev_hash.as_str()));
        if let Some(bytes) = stored_prev {
            stored_as = stored_as.add(event::Column::HashBin.eq(bytes.to_vec()));
        }
        let predecessor_exists = row.prev_hash == chain::to_hex(&GENESIS)
            || event::Entity::find()
                .filter(event::Column::TenantId.eq(self.tenant_id))
                .filter(stored_as)
                .one(self.tx.conn())
                .await?
                .is_some();
        if original > row.seq && !predecessor_exists {
            let detail = format!(
                "event {} is missing: the event stored there was recorded as {original} and the rest renumbered",
                row.seq
            );
            return Ok((row.seq, Problem::Missing, detail));
        }
        let detail = format!("the event at position {} was recorded as event {original}", row.seq);
        Ok((row.seq, Problem::Reordered, detail))
    }
}

/// The interval a checkpoint signed; `None` for one signed before intervals were
/// recorded (a row with only some of the columns set fails its signature either way).
fn interval_of(cp: &checkpoint::Model) -> Option<Interval> {
    match (cp.interval_every, cp.interval_since) {
        (Some(every), Some(since)) => Some(Interval { every, since, previous_since: cp.previous_interval_since }),
        _ => None,
    }
}

/// Every checkpoint's position and interval, in order: a few numbers per checkpoint,
/// so even a long log's fit in memory (a million checkpoints: tens of megabytes).
async fn stored_checkpoints(tx: &TenantTx, tenant_id: i64) -> Result<Vec<due::Stored>> {
    // Sequence number, then the interval's every, since and previous since.
    type Row = (i64, Option<i64>, Option<i64>, Option<i64>);
    let rows: Vec<Row> = checkpoint::Entity::find()
        .select_only()
        .column(checkpoint::Column::Seq)
        .column(checkpoint::Column::IntervalEvery)
        .column(checkpoint::Column::IntervalSince)
        .column(checkpoint::Column::PreviousIntervalSince)
        .filter(checkpoint::Column::TenantId.eq(tenant_id))
        .order_by_asc(checkpoint::Column::Seq)
        .into_tuple()
        .all(tx.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, every, since, previous_since)| due::Stored {
            seq,
            interval: every.zip(since).map(|(every, since)| Interval { every, since, previous_since }),
        })
        .collect())
}

fn fields(row: &event::Model) -> ChainFields<'_> {
    fields_at(row, row.seq)
}

fn fields_at(row: &event::Model, seq: i64) -> ChainFields<'_> {
    ChainFields {
        tenant_id: row.tenant_id,
        seq,
        occurred_at: row.occurred_at,
        principal: &row.principal,
        action: &row.action,
        target_kind: &row.target_kind,
        target: &row.target,
        request_id: &row.request_id,
        outcome: &row.outcome,
        details: &row.details,
    }
}
