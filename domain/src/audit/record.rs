//! Appending one event to a tenant's chain.
//!
//! Sequence numbers stay gap-free under concurrency because every append first locks
//! the tenant's head row (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite lets one writer
//! in at a time anyway) and moves it in the same transaction. A transaction that rolls
//! back takes its event and its head move with it, so no number is ever skipped.
//!
//! Checkpoints are written in the same transaction: one at every multiple of the
//! interval in force, and one opening each new interval (docs/audit.md), so that
//! verification can tell from the signed checkpoints alone which ones must exist.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use tenants::{RequestId, TenantTx};

use super::chain::{self, ChainFields, GENESIS, Interval};
use super::entity::{event as event_row, head};
use super::{AuditConfig, AuditEvent, Target, checkpoint, encoding};
use crate::error::{DomainError, Result};

/// What the `target` column holds: the id, or its keyed pseudonym for people.
pub(super) fn stored_target(config: &AuditConfig, tenant_id: i64, target: &Target) -> Result<String> {
    if target.pseudonymize {
        chain::pseudonym(&config.pseudonym_secret, target.kind, tenant_id, &target.id)
    } else {
        Ok(target.id.clone())
    }
}

/// One event with who did it and in which request.
pub(super) struct Entry<'a> {
    pub principal: &'a str,
    pub request_id: &'a RequestId,
    pub event: AuditEvent,
}

/// Appends the event and returns its sequence number and chain hash.
pub(super) async fn append(
    config: &AuditConfig,
    tx: &TenantTx,
    principal: &str,
    request_id: &RequestId,
    event: AuditEvent,
) -> Result<(i64, String)> {
    append_all(config, tx, vec![Entry { principal, request_id, event }])
        .await?
        .pop()
        .ok_or_else(|| DomainError::internal("audit append wrote nothing"))
}

/// Appends events in order under one lock of the head, with one insert: a batch that
/// touches many people records one event per person without a round trip each, and the
/// read-audit writer appends the reads of many requests at once.
pub(super) async fn append_all(
    config: &AuditConfig,
    tx: &TenantTx,
    entries: Vec<Entry<'_>>,
) -> Result<Vec<(i64, String)>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let tenant_id = tx.tenant_id().get();
    let conn = tx.conn();
    // The first event of a tenant creates its head; concurrent creators wait on the
    // primary key and then find the row.
    head::Entity::insert(head::ActiveModel {
        tenant_id: Set(tenant_id),
        last_seq: Set(0),
        last_hash: Set(chain::to_hex(&GENESIS)),
        interval_every: Set(None),
        interval_since: Set(None),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(conn)
    .await?;
    let head = head::Entity::find_by_id(tenant_id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| DomainError::internal("audit head missing after insert"))?;
    let mut prev = chain::from_hex(&head.last_hash)
        .ok_or_else(|| DomainError::internal(format!("corrupt audit head for tenant {tenant_id}")))?;
    let mut seq = head.last_seq;
    let interval = interval_for(config, &head);
    let occurred_at = chain::now_micros();

    let mut rows = Vec::with_capacity(entries.len());
    let mut appended = Vec::with_capacity(entries.len());
    for Entry { principal, request_id, event } in entries {
        seq += 1;
        let (target_kind, target, pseudonymized) = match &event.target {
            Some(t) => (t.kind, stored_target(config, tenant_id, t)?, t.pseudonymize),
            None => ("", String::new(), false),
        };
        let details = chain::canonical_json(&event.details);
        let fields = ChainFields {
            tenant_id,
            seq,
            occurred_at,
            principal,
            action: event.action,
            target_kind,
            target: &target,
            request_id: request_id.as_str(),
            outcome: event.outcome.as_str(),
            details: &details,
        };
        let hash = chain::chain_hash(&prev, &fields);
        let (target, target_bin) = encoding::stored_target(target, pseudonymized);
        rows.push(event_row::ActiveModel {
            tenant_id: Set(tenant_id),
            seq: Set(seq),
            occurred_at: Set(occurred_at),
            principal: Set(principal.to_owned()),
            action: Set(event.action.to_owned()),
            target_kind: Set(target_kind.to_owned()),
            target: Set(target),
            request_id: Set(request_id.as_str().to_owned()),
            outcome: Set(event.outcome.as_str().to_owned()),
            details: Set(details),
            prev_hash: Set(String::new()),
            hash: Set(String::new()),
            encoding: Set(encoding::V2),
            hash_bin: Set(Some(hash.to_vec())),
            prev_hash_bin: Set(Some(prev.to_vec())),
            target_bin: Set(target_bin),
            ..Default::default()
        });
        appended.push((seq, chain::to_hex(&hash)));
        prev = hash;
    }
    // Chunked so no statement exceeds the databases' bound-parameter limits.
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(INSERT_CHUNK).collect();
        event_row::Entity::insert_many(chunk).exec_without_returning(conn).await?;
    }
    head::Entity::update_many()
        .col_expr(head::Column::LastSeq, Expr::value(seq))
        .col_expr(head::Column::LastHash, Expr::value(chain::to_hex(&prev)))
        .col_expr(head::Column::IntervalEvery, Expr::value(interval.every))
        .col_expr(head::Column::IntervalSince, Expr::value(interval.since))
        .filter(head::Column::TenantId.eq(tenant_id))
        .exec(conn)
        .await?;

    for (seq, hash) in &appended {
        if *seq == interval.since {
            checkpoint::write(config, tx, *seq, hash, interval).await?;
        } else if interval.every > 0 && seq % interval.every == 0 {
            checkpoint::write(config, tx, *seq, hash, Interval { previous_since: None, ..interval }).await?;
        }
    }
    Ok(appended)
}

/// The interval these events are appended under: the one in force, or, when the
/// configured one differs (the tenant's first events, or a restart with another
/// `checkpoint_every`), a new one opening at the first of them, whose opening
/// checkpoint then names where the one before began.
fn interval_for(config: &AuditConfig, head: &head::Model) -> Interval {
    let every = i64::try_from(config.checkpoint_every).unwrap_or(i64::MAX);
    match (head.interval_every, head.interval_since) {
        (Some(e), Some(since)) if e == every => Interval { every, since, previous_since: None },
        (Some(_), Some(before)) => Interval { every, since: head.last_seq + 1, previous_since: Some(before) },
        _ if head.last_seq == 0 => Interval { every, since: 1, previous_since: Some(0) },
        // A chain begun before intervals were recorded.
        _ => Interval { every, since: head.last_seq + 1, previous_since: None },
    }
}

/// The tenant's last sequence number (0 before its first event).
pub(crate) async fn head_seq(tx: &TenantTx) -> Result<i64> {
    Ok(head::Entity::find_by_id(tx.tenant_id().get()).one(tx.conn()).await?.map_or(0, |h| h.last_seq))
}

/// The interval in force (for a checkpoint on request, after an append).
pub(super) async fn interval_in_force(tx: &TenantTx) -> Result<Interval> {
    let head = head::Entity::find_by_id(tx.tenant_id().get())
        .one(tx.conn())
        .await?
        .ok_or_else(|| DomainError::internal("audit head missing after an append"))?;
    match (head.interval_every, head.interval_since) {
        (Some(every), Some(since)) => Ok(Interval { every, since, previous_since: None }),
        _ => Err(DomainError::internal("audit head without an interval after an append")),
    }
}

/// 16 columns per row: 500 rows stay under SQLite's 32766 bound parameters.
const INSERT_CHUNK: usize = 500;
