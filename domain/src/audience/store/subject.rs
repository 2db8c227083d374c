//! The person a privacy request is about, and the writes privacy makes on their row.
//! The requests themselves (locks, receipts, audit events, ordering) stay in `privacy`.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, ValidatedUpdateOne};
use tenants::TenantTx;

use crate::audience::entity as end_user;
use crate::audience::types::{Consent, UserId};
use crate::error::Result;

/// An end user's row as privacy sees it, erased or not.
pub(crate) struct Subject {
    /// The row id, by which interactions name the person.
    pub row: i64,
    pub consent: Consent,
    pub erased_at: Option<DateTime<Utc>>,
    /// Whether the profile holds nothing beyond what erasure keeps.
    pub emptied: bool,
}

fn emptied(m: &end_user::Model) -> bool {
    m.age_band.is_none()
        && m.gender.is_none()
        && m.country.is_none()
        && m.plan.is_none()
        && m.signup_date.is_none()
        && m.attributes == "{}"
        && !m.consent_personalization
        && !m.consent_analytics
}

/// The end user by external id, erased or not; `None` when the tenant never had them.
pub(crate) async fn find_subject(tx: &TenantTx, id: &UserId) -> Result<Option<Subject>> {
    let row = end_user::Entity::find()
        .filter(end_user::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(end_user::Column::ExternalId.eq(id.as_str()))
        .one(tx.conn())
        .await?;
    Ok(row.map(|m| Subject {
        row: m.id,
        consent: Consent { personalization: m.consent_personalization, analytics: m.consent_analytics },
        erased_at: m.erased_at,
        emptied: emptied(&m),
    }))
}

/// Writes the set columns of one row, found by its id within the tenant.
async fn update_row(tx: &TenantTx, active: end_user::ActiveModel) -> Result<()> {
    ValidatedUpdateOne::try_from(end_user::Entity::update(active))?
        .filter(end_user::Column::TenantId.eq(tx.tenant_id().get()))
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// Keeps only what refusing later data for the id needs: the id and the erasure time.
pub(crate) async fn empty_profile(tx: &TenantTx, row: i64, erased_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    let active = end_user::ActiveModel {
        id: Unchanged(row),
        age_band: Set(None),
        gender: Set(None),
        country: Set(None),
        plan: Set(None),
        signup_date: Set(None),
        attributes: Set("{}".to_owned()),
        consent_personalization: Set(false),
        consent_analytics: Set(false),
        updated_at: Set(now),
        erased_at: Set(Some(erased_at)),
        ..Default::default()
    };
    update_row(tx, active).await
}

/// Stores the person's consent flags.
pub(crate) async fn write_consent(tx: &TenantTx, row: i64, consent: Consent, now: DateTime<Utc>) -> Result<()> {
    let active = end_user::ActiveModel {
        id: Unchanged(row),
        consent_personalization: Set(consent.personalization),
        consent_analytics: Set(consent.analytics),
        updated_at: Set(now),
        ..Default::default()
    };
    update_row(tx, active).await
}
