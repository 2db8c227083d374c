//! Signed checkpoints: the server's HMAC over (tenant, seq, chain hash, time). Someone
//! who can rewrite the database can recompute every hash, but not these signatures.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use tenants::page::{Page, PageRequest};
use tenants::{TenantCtx, TenantTx};

use super::chain::{self, Interval};
use super::entity::checkpoint as row;
use super::{AuditConfig, AuditEvent, action, record};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub signed_at: DateTime<Utc>,
    /// Fingerprint of the key that signed it.
    pub key_id: String,
    pub signature: String,
}

impl From<row::Model> for Checkpoint {
    fn from(m: row::Model) -> Self {
        Self { seq: m.seq, hash: m.hash, signed_at: m.signed_at, key_id: m.key_id, signature: m.signature }
    }
}

/// Signs the chain at `seq` (whose hash is `hash`) under `interval` unless a checkpoint
/// is already there.
pub(super) async fn write(
    config: &AuditConfig,
    tx: &TenantTx,
    seq: i64,
    hash: &str,
    interval: Interval,
) -> Result<Checkpoint> {
    let tenant_id = tx.tenant_id().get();
    let existing = row::Entity::find()
        .filter(row::Column::TenantId.eq(tenant_id))
        .filter(row::Column::Seq.eq(seq))
        .one(tx.conn())
        .await?;
    if let Some(existing) = existing {
        return Ok(existing.into());
    }
    let signed_at = chain::now_micros();
    let key = &config.checkpoint_signing_key;
    let checkpoint = Checkpoint {
        seq,
        hash: hash.to_owned(),
        signed_at,
        key_id: chain::key_id(key),
        signature: chain::sign_checkpoint(key, tenant_id, seq, hash, signed_at, Some(&interval))?,
    };
    row::Entity::insert(row::ActiveModel {
        tenant_id: Set(tenant_id),
        seq: Set(seq),
        hash: Set(checkpoint.hash.clone()),
        signed_at: Set(signed_at),
        key_id: Set(checkpoint.key_id.clone()),
        signature: Set(checkpoint.signature.clone()),
        interval_every: Set(Some(interval.every)),
        interval_since: Set(Some(interval.since)),
        previous_interval_since: Set(interval.previous_since),
        ..Default::default()
    })
    .exec_without_returning(tx.conn())
    .await?;
    Ok(checkpoint)
}

/// Signs the chain as it stands now, inside the caller's write transaction. The
/// request is itself recorded, and the checkpoint covers that event too.
pub(crate) async fn sign_now(config: &AuditConfig, ctx: &TenantCtx, tx: &TenantTx) -> Result<Checkpoint> {
    let (seq, hash) = record::append(
        config,
        tx,
        &ctx.principal().label(),
        ctx.request_id(),
        AuditEvent::new(action::AUDIT_CHECKPOINTED),
    )
    .await?;
    let interval = record::interval_in_force(tx).await?;
    write(config, tx, seq, &hash, interval).await
}

/// The tenant's signed checkpoints, newest first, paged by sequence number.
pub(crate) async fn page_of_checkpoints(tx: &TenantTx, page: PageRequest) -> Result<Page<Checkpoint>> {
    let mut query = row::Entity::find()
        .filter(row::Column::TenantId.eq(tx.tenant_id().get()))
        .order_by_desc(row::Column::Seq)
        .limit(page.first + 1);
    if let Some(after) = page.after {
        query = query.filter(row::Column::Seq.lt(after));
    }
    let rows = query.all(tx.conn()).await?;
    let rows = rows.into_iter().map(|m| (m.seq, Checkpoint::from(m))).collect();
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) async fn count_checkpoints(tx: &TenantTx) -> Result<u64> {
    Ok(row::Entity::find().filter(row::Column::TenantId.eq(tx.tenant_id().get())).count(tx.conn()).await?)
}
