//! Recomputing a tenant's chain and saying where, if anywhere, it was tampered with.
//!
//! Events and checkpoints are streamed in pages inside one read-only snapshot, so the
//! log may be large and others may append meanwhile. The first problem found (the
//! lowest sequence number) is reported. Besides the chain, the checkpoints themselves
//! are checked for completeness ([`due`]): a deleted checkpoint that was due is
//! tampering even when the events after it were rewritten consistently.

use std::collections::VecDeque;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tenants::TenantTx;

use super::AuditConfig;
use super::chain::{self, ChainFields, GENESIS, Interval};
use super::due;
use super::entity::{checkpoint, event, head};
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

        let mut prev = GENESIS;
        let mut expected = 1i64;
        let mut after = 0i64;
        loop {
            let rows = event::Entity::find()
                .filter(event::Column::TenantId.eq(self.tenant_id))
                .filter(event::Column::Seq.gt(after))
                .order_by_asc(event::Column::Seq)
                .limit(PAGE)
                .all(self.tx.conn())
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            for row in &rows {
                if row.seq != expected {
                    let detail = format!("event {expected} is missing (the next one stored is {})", row.seq);
                    return Ok(self.broken(expected, Problem::Missing, detail));
                }
                let computed = chain::to_hex(&chain::chain_hash(&prev, &fields(row)));
                if row.prev_hash != chain::to_hex(&prev) || computed != row.hash {
                    let (seq, problem, detail) = self.classify(row).await?;
                    return Ok(self.broken(seq, problem, detail));
                }
                if let Some(report) = self.check_checkpoints_up_to(row.seq, &row.hash).await? {
                    return Ok(report);
                }
                prev = chain::from_hex(&row.hash).unwrap_or(GENESIS);
                self.checked += 1;
                expected += 1;
            }
        }
        let last = expected - 1;
        self.finish(last, &chain::to_hex(&prev), &head_hash).await
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
        let predecessor_exists = row.prev_hash == chain::to_hex(&GENESIS)
            || event::Entity::find()
                .filter(event::Column::TenantId.eq(self.tenant_id))
                .filter(event::Column::Hash.eq(row.prev_hash.as_str()))
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
