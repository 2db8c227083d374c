//! Erasing an end user, at once and in one transaction: their interactions are deleted,
//! their profile emptied, their vectors and evaluation entries removed from every
//! model's files (and from the models in memory), the models that learnt from them
//! marked for retraining, and a receipt kept.
//!
//! Policy for later data under the same id: the emptied row stays as a marker holding
//! only the tenant's id and the erasure time, so later events and profile upserts for
//! that id are refused (`CONFLICT` row errors) instead of silently rebuilding the
//! person. Audit events stay, naming the person by pseudonym only.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};
use tenants::ids::PublicId;
use tenants::page::{Page, PageRequest};
use tenants::{Scope, TenantCtx, TenantTx};

use super::entity::receipt;
use super::subject;
use crate::Services;
use crate::audience::UserId;
use crate::audit::{AuditEvent, Target, action};
use crate::entity::{end_user, interaction};
use crate::error::{DomainError, Result};

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
}

fn to_receipt(m: receipt::Model) -> Result<ErasureReceipt> {
    let ids = |raw: &str| -> Result<Vec<String>> {
        serde_json::from_str(raw).map_err(|e| DomainError::Internal(format!("corrupt receipt: {e}")))
    };
    Ok(ErasureReceipt {
        id: PublicId::from_db(&m.public_id)?,
        subject: m.subject,
        erased_at: m.erased_at,
        requested_by: m.requested_by,
        request_id: m.request_id,
        interactions_deleted: u64::try_from(m.interactions_deleted).unwrap_or(0),
        models_scrubbed: ids(&m.models_scrubbed)?,
        models_to_retrain: ids(&m.models_to_retrain)?,
    })
}

/// Needs `privacy:manage`. Erasing someone already erased returns the first receipt.
pub async fn erase_user(ctx: &TenantCtx, services: &Services, user: &UserId) -> Result<ErasureReceipt> {
    ctx.require(Scope::PrivacyManage)?;
    let subject_pseudonym = services.audit.end_user_pseudonym(ctx.tenant_id(), user.as_str())?;
    let tx = services.db.begin_write(ctx).await?;
    let row = subject::find(ctx, &tx, user).await?;
    if row.erased_at.is_some() {
        let existing = find_receipt(ctx, &tx, &subject_pseudonym).await?;
        tx.commit().await?;
        return existing.ok_or_else(|| DomainError::Internal("erased end user without a receipt".into()));
    }
    let now = Utc::now();
    let deleted = interaction::Entity::delete_many()
        .filter(interaction::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(interaction::Column::UserId.eq(row.id))
        .exec(tx.conn())
        .await?
        .rows_affected;
    empty_profile(&tx, row, now).await?;
    let forgotten = crate::models::privacy::forget_user(ctx, services, &tx, user.as_str()).await?;
    let ids = |models: &[crate::models::Model]| models.iter().map(|m| m.id.as_string()).collect::<Vec<_>>();
    let receipt = ErasureReceipt {
        id: PublicId::new(),
        subject: subject_pseudonym,
        erased_at: now,
        requested_by: ctx.principal().label(),
        request_id: ctx.request_id().to_string(),
        interactions_deleted: deleted,
        models_scrubbed: ids(&forgotten.scrubbed),
        models_to_retrain: ids(&forgotten.to_retrain),
    };
    store_receipt(ctx, &tx, &receipt).await?;
    let event = AuditEvent::new(action::END_USER_ERASED).target(Target::end_user(user.as_str())).details(serde_json::json!({
        "receipt": receipt.id.as_string(),
        "interactionsDeleted": receipt.interactions_deleted,
        "modelsScrubbed": receipt.models_scrubbed,
        "modelsToRetrain": receipt.models_to_retrain,
    }));
    services.audit.record(ctx, &tx, event).await?;
    tx.commit().await?;
    crate::models::data::forget_people(ctx, services, [user.as_str()]);
    Ok(receipt)
}

/// Keeps only what refusing later data for the id needs: the id and the erasure time.
async fn empty_profile(tx: &TenantTx, row: end_user::Model, now: DateTime<Utc>) -> Result<()> {
    let mut active = row.into_active_model();
    active.age_band = Set(None);
    active.gender = Set(None);
    active.country = Set(None);
    active.plan = Set(None);
    active.signup_date = Set(None);
    active.attributes = Set("{}".to_owned());
    active.consent_personalization = Set(false);
    active.consent_analytics = Set(false);
    active.updated_at = Set(now);
    active.erased_at = Set(Some(now));
    active.update(tx.conn()).await?;
    Ok(())
}

async fn store_receipt(ctx: &TenantCtx, tx: &TenantTx, r: &ErasureReceipt) -> Result<()> {
    let json = |ids: &[String]| serde_json::to_string(ids).map_err(|e| DomainError::Internal(e.to_string()));
    receipt::Entity::insert(receipt::ActiveModel {
        tenant_id: Set(ctx.tenant_id().get()),
        public_id: Set(r.id.as_string()),
        subject: Set(r.subject.clone()),
        erased_at: Set(r.erased_at),
        requested_by: Set(r.requested_by.clone()),
        request_id: Set(r.request_id.clone()),
        interactions_deleted: Set(i64::try_from(r.interactions_deleted).unwrap_or(i64::MAX)),
        models_scrubbed: Set(json(&r.models_scrubbed)?),
        models_to_retrain: Set(json(&r.models_to_retrain)?),
        ..Default::default()
    })
    .exec_without_returning(tx.conn())
    .await?;
    Ok(())
}

async fn find_receipt(ctx: &TenantCtx, tx: &TenantTx, subject: &str) -> Result<Option<ErasureReceipt>> {
    receipt::Entity::find()
        .filter(receipt::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(receipt::Column::Subject.eq(subject))
        .one(tx.conn())
        .await?
        .map(to_receipt)
        .transpose()
}

/// The tenant's erasure receipts, oldest first (needs `privacy:manage`).
pub async fn list_erasure_receipts(ctx: &TenantCtx, services: &Services, page: PageRequest) -> Result<Page<ErasureReceipt>> {
    ctx.require(Scope::PrivacyManage)?;
    let mut query = receipt::Entity::find()
        .filter(receipt::Column::TenantId.eq(ctx.tenant_id().get()))
        .order_by_asc(receipt::Column::Id)
        .limit(page.first + 1);
    if let Some(after) = page.after {
        query = query.filter(receipt::Column::Id.gt(after));
    }
    let tx = services.db.begin(ctx).await?;
    let rows = query.all(tx.conn()).await?;
    tx.commit().await?;
    let rows = rows.into_iter().map(|m| Ok((m.id, to_receipt(m)?))).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, page))
}
