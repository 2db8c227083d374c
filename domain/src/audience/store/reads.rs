//! What other features read of end users: serving's consent check, the people a model
//! may learn from, the erased, and the attributes fairness reports group by.

use std::collections::HashSet;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tenants::TenantTx;

use crate::audience::entity as end_user;
use crate::audience::types::UserId;
use crate::error::Result;

/// What serving needs to know of a person before it looks at their history.
pub(crate) struct ServingConsent {
    pub row: i64,
    pub personalization: bool,
    pub erased: bool,
}

/// The person's row id, personalization consent and erasure, in one small query;
/// `None` for someone the tenant has not stored yet.
pub(crate) async fn serving_consent(tx: &TenantTx, id: &UserId) -> Result<Option<ServingConsent>> {
    let row = end_user::Entity::find()
        .select_only()
        .columns([end_user::Column::Id, end_user::Column::ConsentPersonalization])
        .column_as(end_user::Column::ErasedAt.is_not_null(), "erased")
        .filter(end_user::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(end_user::Column::ExternalId.eq(id.as_str()))
        .into_tuple::<(i64, bool, bool)>()
        .one(tx.conn())
        .await?;
    Ok(row.map(|(row, personalization, erased)| ServingConsent { row, personalization, erased }))
}

/// Row ids and ids of the people a model may learn from (personalization consent, not
/// erased), in the order first stored.
pub(crate) async fn personalizable(tx: &TenantTx) -> Result<Vec<(i64, UserId)>> {
    let rows: Vec<(i64, String)> = end_user::Entity::find()
        .select_only()
        .columns([end_user::Column::Id, end_user::Column::ExternalId])
        .filter(end_user::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(end_user::Column::ConsentPersonalization.eq(true))
        .filter(end_user::Column::ErasedAt.is_null())
        .order_by_asc(end_user::Column::Id)
        .into_tuple()
        .all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(|(row, ext)| (row, UserId::from_db(ext))).collect())
}

/// The external ids of everyone erased.
pub(crate) async fn erased_ids(tx: &TenantTx) -> Result<HashSet<String>> {
    Ok(end_user::Entity::find()
        .select_only()
        .column(end_user::Column::ExternalId)
        .filter(end_user::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(end_user::Column::ErasedAt.is_not_null())
        .into_tuple::<String>()
        .all(tx.conn())
        .await?
        .into_iter()
        .collect())
}

/// The attributes a fairness report may group a person by, as stored.
pub(crate) struct ReportProfile {
    pub id: String,
    pub age_band: Option<String>,
    pub gender: Option<String>,
    pub country: Option<String>,
    pub plan: Option<String>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// The profiles of the listed people who consent to analytics and are not erased, in
/// chunks of 500 ids; the others are left out.
pub(crate) async fn report_profiles(tx: &TenantTx, ids: &[String]) -> Result<Vec<ReportProfile>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows = end_user::Entity::find()
            .filter(end_user::Column::TenantId.eq(tx.tenant_id().get()))
            .filter(end_user::Column::ExternalId.is_in(chunk.iter().cloned()))
            .filter(end_user::Column::ErasedAt.is_null())
            .filter(end_user::Column::ConsentAnalytics.eq(true))
            .all(tx.conn())
            .await?;
        out.extend(rows.into_iter().map(|m| ReportProfile {
            attributes: serde_json::from_str(&m.attributes).unwrap_or_default(),
            id: m.external_id,
            age_band: m.age_band,
            gender: m.gender,
            country: m.country,
            plan: m.plan,
        }));
    }
    Ok(out)
}
