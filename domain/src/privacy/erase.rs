//! Erasing an end user: their interactions are deleted, their profile emptied, their
//! vectors and evaluation entries removed from every model's files (and from the models
//! in memory), the models that learnt from them marked for retraining by a deadline, and
//! a receipt kept.
//!
//! Two steps, so the receipt never claims more than was done: the database changes
//! commit with a `pending` receipt that names the models holding the person; then, under
//! the tenant's erasure lock, every model's files are scrubbed and verified and the
//! receipt becomes `complete`. A failure between the two leaves the receipt `pending`
//! (and the person erased from the database); any later `eraseUser` for the person
//! re-checks every model file and their rows, scrubs what survived, and completes it.
//! The receipt says when the person left every model once the models that learnt from
//! them are retrained and their files deleted (`models::retrain`).
//!
//! Policy for later data under the same id: the emptied row stays as a marker holding
//! only the tenant's id and the erasure time, so later events and profile upserts for
//! that id are refused (`CONFLICT` row errors) instead of silently rebuilding the
//! person. Audit events stay, naming the person by pseudonym only.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use tenants::ids::PublicId;
use tenants::page::{Page, PageRequest};
use tenants::{Scope, TenantCtx, TenantTx};

use super::entity::receipt;
use super::subject;
use crate::Services;
use crate::audience::UserId;
use crate::audit::{AuditEvent, Target, action};
use crate::error::{DomainError, Result};
use crate::models::ModelServices;
use crate::serving_cache::Change;

/// Whether every model file has been verified free of the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureStatus {
    /// The database no longer holds the person; model files are not yet verified.
    Pending,
    /// Every model file was scrubbed and verified.
    Complete,
}

impl ErasureStatus {
    fn as_str(self) -> &'static str {
        match self {
            ErasureStatus::Pending => "pending",
            ErasureStatus::Complete => "complete",
        }
    }
    fn parse(raw: &str) -> Result<Self> {
        match raw {
            "pending" => Ok(ErasureStatus::Pending),
            "complete" => Ok(ErasureStatus::Complete),
            other => Err(DomainError::internal(format!("unknown erasure status {other:?}"))),
        }
    }
}

/// Proof of an erasure. The person appears only as their audit pseudonym.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureReceipt {
    pub id: PublicId,
    pub subject: String,
    pub erased_at: DateTime<Utc>,
    pub requested_by: String,
    pub request_id: String,
    pub interactions_deleted: u64,
    /// Models whose files held the person and were scrubbed.
    pub models_scrubbed: Vec<String>,
    /// Models marked for retraining because they learnt from the person.
    pub models_to_retrain: Vec<String>,
    pub status: ErasureStatus,
    /// When every model file was verified free of the person.
    pub completed_at: Option<DateTime<Utc>>,
    /// When the last model that learnt from the person was retired (its files deleted)
    /// or finished without them; `None` while one remains.
    pub left_every_model_at: Option<DateTime<Utc>>,
}

fn model_ids(raw: &str) -> Result<Vec<String>> {
    serde_json::from_str(raw).map_err(|e| DomainError::internal_from("corrupt receipt", e))
}

fn json_ids(ids: &[String]) -> Result<String> {
    serde_json::to_string(ids).map_err(|e| DomainError::internal(e.to_string()))
}

async fn to_receipt(tx: &TenantTx, m: receipt::Model) -> Result<ErasureReceipt> {
    let status = ErasureStatus::parse(&m.status)?;
    let models_to_retrain = model_ids(&m.models_to_retrain)?;
    let left_every_model_at = match status {
        ErasureStatus::Complete => crate::models::privacy::released_at(tx, &models_to_retrain, m.erased_at).await?,
        ErasureStatus::Pending => None,
    };
    Ok(ErasureReceipt {
        id: PublicId::from_db(&m.public_id)?,
        subject: m.subject,
        erased_at: m.erased_at,
        requested_by: m.requested_by,
        request_id: m.request_id,
        interactions_deleted: u64::try_from(m.interactions_deleted).unwrap_or(0),
        models_scrubbed: model_ids(&m.models_scrubbed)?,
        models_to_retrain,
        status,
        completed_at: m.completed_at,
        left_every_model_at,
    })
}

/// Needs `privacy:manage`. Erasing someone already erased re-checks that nothing of
/// them survives and returns the first receipt.
pub async fn erase_user(ctx: &TenantCtx, models: &ModelServices, user: &UserId) -> Result<ErasureReceipt> {
    ctx.require(Scope::PrivacyManage)?;
    let services = models.services();
    let subject_pseudonym = services.audit.end_user_pseudonym(ctx.tenant_id(), user.as_str())?;
    let tx = services.db.begin_write(ctx).await?;
    crate::models::privacy::erasure_lock(models, ctx, &tx).await?;
    let person = subject::find(&tx, user).await?;
    if person.erased_at.is_some() {
        let existing = find_receipt(&tx, &subject_pseudonym).await?;
        tx.commit().await?;
        let existing = existing.ok_or_else(|| DomainError::internal("erased end user without a receipt"))?;
        return complete(ctx, models, user, existing, true).await;
    }
    let now = Utc::now();
    let deleted = crate::interactions::store::delete_for_user(&tx, person.row).await?;
    crate::audience::store::empty_profile(&tx, person.row, now, now).await?;
    let holders = crate::models::privacy::mark_holders(ctx, models, &tx, user.as_str(), now).await?;
    let ids = |held: &[crate::models::Model]| held.iter().map(|m| m.id.as_string()).collect::<Vec<_>>();
    let stored = receipt::ActiveModel {
        tenant_id: Set(ctx.tenant_id().get()),
        public_id: Set(PublicId::new().as_string()),
        subject: Set(subject_pseudonym),
        erased_at: Set(now),
        requested_by: Set(ctx.principal().label()),
        request_id: Set(ctx.request_id().to_string()),
        interactions_deleted: Set(i64::try_from(deleted).unwrap_or(i64::MAX)),
        models_scrubbed: Set(json_ids(&ids(&holders.holding))?),
        models_to_retrain: Set(json_ids(&ids(&holders.to_retrain))?),
        status: Set(ErasureStatus::Pending.as_str().to_owned()),
        completed_at: Set(None),
        ..Default::default()
    }
    .insert(tx.conn())
    .await?;
    let event =
        AuditEvent::new(action::END_USER_ERASED).target(Target::end_user(user.as_str())).details(serde_json::json!({
            "receipt": stored.public_id,
            "interactionsDeleted": deleted,
            "modelsScrubbed": ids(&holders.holding),
            "modelsToRetrain": ids(&holders.to_retrain),
        }));
    services.audit.record(&tx, event).await?;
    tx.commit().await?;
    services.serving_cache.announce(ctx, Change::People(vec![user.clone()]));
    complete(ctx, models, user, stored, false).await
}

/// The second step (see the module doc): scrubs and verifies every model's files and
/// the person's rows, completes the receipt, and starts retraining that is due at once.
/// On a later call (`recheck`) whatever it still finds is scrubbed, added to the
/// receipt and recorded in the audit log.
async fn complete(
    ctx: &TenantCtx,
    models: &ModelServices,
    user: &UserId,
    stored: receipt::Model,
    recheck: bool,
) -> Result<ErasureReceipt> {
    let services = models.services();
    let tx = services.db.begin_write(ctx).await?;
    crate::models::privacy::erasure_lock(models, ctx, &tx).await?;
    let person = subject::find(&tx, user).await?;
    let erased_at = person.erased_at.unwrap_or(stored.erased_at);
    let late_interactions = crate::interactions::store::delete_for_user(&tx, person.row).await?;
    if !person.emptied {
        crate::audience::store::empty_profile(&tx, person.row, erased_at, Utc::now()).await?;
    }
    let found = crate::models::privacy::scrub_everywhere(models, &tx, user.as_str()).await?;
    let mut scrubbed = model_ids(&stored.models_scrubbed)?;
    let mut to_retrain = model_ids(&stored.models_to_retrain)?;
    let stored_status = ErasureStatus::parse(&stored.status)?;
    let mut found_ids = Vec::new();
    let mut found_rows = Vec::new();
    if !found.is_empty() {
        for m in &found {
            found_ids.push(m.id.as_string());
            found_rows.push(crate::models::privacy::model_row(&tx, &m.id).await?);
        }
        crate::models::privacy::mark_for_retraining(&tx, &found_rows, erased_at).await?;
        for id in &found_ids {
            if !scrubbed.contains(id) {
                scrubbed.push(id.clone());
            }
            if !to_retrain.contains(id) {
                to_retrain.push(id.clone());
            }
        }
    }
    let completed_at = match stored_status {
        ErasureStatus::Complete => stored.completed_at,
        ErasureStatus::Pending => Some(Utc::now()),
    };
    receipt::Entity::update_many()
        .col_expr(receipt::Column::Status, Expr::value(ErasureStatus::Complete.as_str()))
        .col_expr(receipt::Column::CompletedAt, Expr::value(completed_at))
        .col_expr(receipt::Column::ModelsScrubbed, Expr::value(json_ids(&scrubbed)?))
        .col_expr(receipt::Column::ModelsToRetrain, Expr::value(json_ids(&to_retrain)?))
        .filter(receipt::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(receipt::Column::Id.eq(stored.id))
        .exec(tx.conn())
        .await?;
    if recheck {
        let event = AuditEvent::new(action::END_USER_ERASURE_RECHECKED)
            .target(Target::end_user(user.as_str()))
            .details(serde_json::json!({
                "receipt": stored.public_id,
                "wasPending": stored_status == ErasureStatus::Pending,
                "interactionsDeleted": late_interactions,
                "modelsScrubbed": found_ids,
            }));
        services.audit.record(&tx, event).await?;
    }
    let refreshed = receipt::Entity::find()
        .filter(receipt::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(receipt::Column::Id.eq(stored.id))
        .one(tx.conn())
        .await?
        .ok_or_else(|| DomainError::internal("the erasure receipt vanished"))?;
    tx.commit().await?;
    if late_interactions > 0 {
        services.serving_cache.announce(ctx, Change::People(vec![user.clone()]));
    }
    if !found.is_empty() {
        // This process dropped the scrubbed models under the erasure lock; other
        // replicas still hold copies with the person in them.
        services.serving_cache.announce(ctx, Change::ModelFiles(found_rows));
    }
    // Retraining that is due at once (the active model of a tenant that asks) starts
    // now rather than at the next periodic check; it runs as the operator, since the
    // caller may hold only `privacy:manage`.
    let operator = TenantCtx::operator(ctx.tenant_id(), ctx.request_id().clone());
    if let Err(e) = crate::models::retrain_due(&operator, models, Utc::now()).await {
        tracing::error!(error = ?e, "could not start retraining after an erasure; the periodic check retries");
    }
    let tx = services.db.begin(ctx).await?;
    let receipt = to_receipt(&tx, refreshed).await?;
    tx.commit().await?;
    Ok(receipt)
}

async fn find_receipt(tx: &TenantTx, subject: &str) -> Result<Option<receipt::Model>> {
    Ok(receipt::Entity::find()
        .filter(receipt::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(receipt::Column::Subject.eq(subject))
        .one(tx.conn())
        .await?)
}

/// How many erasure receipts the tenant holds (needs `privacy:manage`).
pub async fn count_erasure_receipts(ctx: &TenantCtx, services: &Services) -> Result<u64> {
    ctx.require(Scope::PrivacyManage)?;
    let query = receipt::Entity::find().filter(receipt::Column::TenantId.eq(ctx.tenant_id().get()));
    let tx = services.db.begin(ctx).await?;
    let n = query.count(tx.conn()).await?;
    tx.commit().await?;
    Ok(n)
}

/// The tenant's erasure receipts, oldest first (needs `privacy:manage`).
pub async fn list_erasure_receipts(
    ctx: &TenantCtx,
    services: &Services,
    page: PageRequest,
) -> Result<Page<ErasureReceipt>> {
    ctx.require(Scope::PrivacyManage)?;
    let mut query = receipt::Entity::find()
        .filter(receipt::Column::TenantId.eq(ctx.tenant_id().get()))
        .order_by_asc(receipt::Column::Id)
        .limit(page.first + 1);
    if let Some(after) = page.after {
        query = query.filter(receipt::Column::Id.gt(after));
    }
    let tx = services.db.begin(ctx).await?;
    let mut rows = Vec::new();
    for m in query.all(tx.conn()).await? {
        rows.push((m.id, to_receipt(&tx, m).await?));
    }
    tx.commit().await?;
    Ok(Page::from_overfetch(rows, page))
}
