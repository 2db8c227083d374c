//! Persistence of reports, and what a report needs of people and items, asked of the
//! audience's and the catalog's stores. Every function runs in the caller's tenant
//! transaction and filters by the context's tenant.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use tenants::db::TenantTx;
use tenants::ids::PublicId;
use tenants::page::{Page, PageRequest};

use super::entity as report_row;
use crate::error::{DomainError, Result};
use crate::fairness::report::ReportItem;
use crate::fairness::{FairnessReport, ReportBody, ReportInput, UserAttribute};

/// The attribute values of the users a report may include: those with analytics
/// consent who are not erased. Users missing from the map are left out.
pub(crate) async fn user_groups(
    tx: &TenantTx,
    user_ids: &[String],
    attributes: &[UserAttribute],
) -> Result<HashMap<String, Vec<Option<String>>>> {
    let profiles = crate::audience::store::report_profiles(tx, user_ids).await?;
    let mut out = HashMap::with_capacity(user_ids.len());
    for p in profiles {
        let values = attributes
            .iter()
            .map(|a| match a {
                UserAttribute::Gender => p.gender.clone(),
                UserAttribute::AgeBand => p.age_band.clone(),
                UserAttribute::Country => p.country.clone(),
                UserAttribute::Plan => p.plan.clone(),
                UserAttribute::Custom(key) => p.attributes.get(key).and_then(|v| match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Null => None,
                    other => Some(other.to_string()),
                }),
            })
            .collect();
        out.insert(p.id, values);
    }
    Ok(out)
}

/// The model's items as the catalog describes them now (deleted ones unknown).
pub(crate) async fn items(tx: &TenantTx, item_ids: &[String]) -> Result<Vec<ReportItem>> {
    let mut known: HashMap<String, ReportItem> = HashMap::with_capacity(item_ids.len());
    for c in crate::catalog::store::live_by_external_ids(tx, item_ids).await? {
        known.insert(
            c.id.as_str().to_owned(),
            ReportItem {
                known: true,
                kind: c.kind.as_str().to_owned(),
                genres: c.genres,
                tags: c.tags,
                provider: c.provider,
            },
        );
    }
    Ok(item_ids.iter().map(|id| known.remove(id).unwrap_or_default()).collect())
}

fn to_report(row: report_row::Model, model_public: &str) -> Result<FairnessReport> {
    let corrupt = |e: serde_json::Error| DomainError::internal_from(format!("corrupt fairness report {}", row.id), e);
    Ok(FairnessReport {
        id: PublicId::from_db(&row.public_id)?,
        model_id: PublicId::from_db(model_public)?,
        created_by: row.created_by.clone(),
        created_at: row.created_at,
        input: serde_json::from_str::<ReportInput>(&row.input).map_err(corrupt)?,
        body: serde_json::from_str::<ReportBody>(&row.report).map_err(corrupt)?,
    })
}

pub(crate) async fn insert(
    tx: &TenantTx,
    model_row: i64,
    input: &ReportInput,
    body: &ReportBody,
) -> Result<FairnessReport> {
    let json = |v: serde_json::Result<String>| v.map_err(|e| DomainError::internal_from("report serialization", e));
    let row = report_row::ActiveModel {
        tenant_id: Set(tx.tenant_id().get()),
        public_id: Set(PublicId::new().as_string()),
        model_id: Set(model_row),
        created_by: Set(tx.ctx().principal().label()),
        created_at: Set(Utc::now()),
        input: Set(json(serde_json::to_string(input))?),
        report: Set(json(serde_json::to_string(body))?),
        ..Default::default()
    }
    .insert(tx.conn())
    .await?;
    to_report(row, &input.model_id)
}

/// The stored input carries the model's public id, so no join is needed.
fn model_of(row: &report_row::Model) -> String {
    serde_json::from_str::<ReportInput>(&row.input).map(|i| i.model_id).unwrap_or_default()
}

pub(crate) async fn find(tx: &TenantTx, id: &PublicId) -> Result<FairnessReport> {
    let row = report_row::Entity::find()
        .filter(report_row::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(report_row::Column::PublicId.eq(id.as_string()))
        .one(tx.conn())
        .await?
        .ok_or_else(|| DomainError::NotFound("fairness report".into()))?;
    let model = model_of(&row);
    to_report(row, &model)
}

pub(crate) async fn count(tx: &TenantTx) -> Result<u64> {
    Ok(report_row::Entity::find()
        .filter(report_row::Column::TenantId.eq(tx.tenant_id().get()))
        .count(tx.conn())
        .await?)
}

pub(crate) async fn list(tx: &TenantTx, page: PageRequest) -> Result<Page<FairnessReport>> {
    let mut query = report_row::Entity::find()
        .filter(report_row::Column::TenantId.eq(tx.tenant_id().get()))
        .order_by_desc(report_row::Column::Id)
        .limit(page.first + 1);
    if let Some(after) = page.after {
        query = query.filter(report_row::Column::Id.lt(after));
    }
    let rows = query.all(tx.conn()).await?;
    let rows = rows
        .into_iter()
        .map(|r| {
            let model = model_of(&r);
            Ok((r.id, to_report(r, &model)?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, page))
}
