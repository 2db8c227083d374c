//! Persistence of end users. Reads that return personal data to a caller are only
//! called from [`super::personal_data`]. Only this store queries `end_users`: other
//! features call the `pub(crate)` functions here and its submodules and get domain types
//! or small structs.

mod reads;
pub(crate) mod insights;
pub(crate) mod stats;
mod subject;

pub(crate) use reads::{erased_ids, personalizable, report_profiles, serving_consent};
pub(crate) use subject::{Subject, empty_profile, find_subject, write_consent};

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use tenants::TenantTx;
use tenants::page::{Page, PageRequest};

use super::entity as end_user;
use super::types::*;
use crate::batch::RowError;
use crate::error::{DomainError, Result};
use crate::sql::rows_per_statement;
use crate::vocab::UpsertCounts;

fn date_text(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

fn to_domain(m: end_user::Model) -> Result<EndUser> {
    let signup_date = match &m.signup_date {
        None => None,
        Some(s) => Some(
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| DomainError::internal(format!("corrupt signup date {s:?}")))?,
        ),
    };
    Ok(EndUser {
        age_band: m.age_band.as_deref().map(AgeBand::from_db).transpose()?,
        id: UserId::from_db(m.external_id),
        gender: m.gender,
        country: m.country,
        plan: m.plan,
        signup_date,
        attributes: serde_json::from_str(&m.attributes).unwrap_or_default(),
        consent: Consent { personalization: m.consent_personalization, analytics: m.consent_analytics },
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The stored profile of a user, to tell an unchanged row from a changed one.
#[derive(PartialEq)]
struct Stored {
    age_band: Option<String>,
    gender: Option<String>,
    country: Option<String>,
    plan: Option<String>,
    signup_date: Option<String>,
    attributes: String,
    consent_personalization: bool,
    consent_analytics: bool,
}

impl Stored {
    fn of_new(n: &NewEndUser, consent: Consent) -> Self {
        Self {
            age_band: n.age_band.map(|a| a.as_str().to_owned()),
            gender: n.gender.clone(),
            country: n.country.as_ref().map(|c| c.as_str().to_owned()),
            plan: n.plan.clone(),
            signup_date: date_text(n.signup_date),
            attributes: serde_json::Value::Object(n.attributes.clone()).to_string(),
            consent_personalization: n.consent_personalization.unwrap_or(consent.personalization),
            consent_analytics: n.consent_analytics.unwrap_or(consent.analytics),
        }
    }

    fn of_model(m: &end_user::Model) -> Self {
        Self {
            age_band: m.age_band.clone(),
            gender: m.gender.clone(),
            country: m.country.clone(),
            plan: m.plan.clone(),
            signup_date: m.signup_date.clone(),
            attributes: m.attributes.clone(),
            consent_personalization: m.consent_personalization,
            consent_analytics: m.consent_analytics,
        }
    }

    fn into_active(self, tenant_id: i64, external_id: String, now: chrono::DateTime<Utc>) -> end_user::ActiveModel {
        end_user::ActiveModel {
            tenant_id: Set(tenant_id),
            external_id: Set(external_id),
            age_band: Set(self.age_band),
            gender: Set(self.gender),
            country: Set(self.country),
            plan: Set(self.plan),
            signup_date: Set(self.signup_date),
            attributes: Set(self.attributes),
            consent_personalization: Set(self.consent_personalization),
            consent_analytics: Set(self.consent_analytics),
            created_at: Set(now),
            updated_at: Set(now),
            erased_at: Set(None),
            ..Default::default()
        }
    }
}

async fn find_by_external_ids(tx: &TenantTx, ids: &[&str]) -> Result<HashMap<String, end_user::Model>> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        let rows = end_user::Entity::find()
            .filter(end_user::Column::TenantId.eq(tx.tenant_id().get()))
            .filter(end_user::Column::ExternalId.is_in(chunk.iter().copied()))
            .all(tx.conn())
            .await?;
        found.extend(rows.into_iter().map(|m| (m.external_id.clone(), m)));
    }
    Ok(found)
}

fn erased_error() -> DomainError {
    DomainError::Conflict("this end user was erased; their id cannot be used again".into())
}

/// Stores a batch of valid users in the caller's transaction; see [`NewEndUser`] for
/// what an upsert replaces. Erased users are refused row by row.
pub(crate) async fn upsert(
    tx: &TenantTx,
    rows: &[(usize, NewEndUser)],
    default_consent: Consent,
) -> Result<(UpsertCounts, Vec<RowError>)> {
    let tenant_id = tx.tenant_id().get();
    let mut errors = Vec::new();
    let mut seen = HashSet::with_capacity(rows.len());
    let mut unique = Vec::with_capacity(rows.len());
    for (index, row) in rows {
        if seen.insert(row.id.as_str()) {
            unique.push((*index, row));
        } else {
            let e = DomainError::invalid("id", "appears more than once in this batch");
            errors.push(RowError::new(*index, Some(row.id.to_string()), &e));
        }
    }
    let ids: Vec<&str> = unique.iter().map(|(_, r)| r.id.as_str()).collect();
    let existing = find_by_external_ids(tx, &ids).await?;
    let now = Utc::now();
    let mut counts = UpsertCounts::default();
    let mut writes = Vec::new();
    for (index, row) in unique {
        match existing.get(row.id.as_str()) {
            Some(m) if m.erased_at.is_some() => {
                errors.push(RowError::new(index, Some(row.id.to_string()), &erased_error()));
            }
            Some(m) => {
                let current = Consent { personalization: m.consent_personalization, analytics: m.consent_analytics };
                let stored = Stored::of_new(row, current);
                if stored == Stored::of_model(m) {
                    counts.unchanged += 1;
                } else {
                    counts.updated += 1;
                    writes.push(stored.into_active(tenant_id, row.id.to_string(), now));
                }
            }
            None => {
                counts.created += 1;
                writes.push(Stored::of_new(row, default_consent).into_active(tenant_id, row.id.to_string(), now));
            }
        }
    }
    let on_conflict = OnConflict::columns([end_user::Column::TenantId, end_user::Column::ExternalId])
        .update_columns([
            end_user::Column::AgeBand,
            end_user::Column::Gender,
            end_user::Column::Country,
            end_user::Column::Plan,
            end_user::Column::SignupDate,
            end_user::Column::Attributes,
            end_user::Column::ConsentPersonalization,
            end_user::Column::ConsentAnalytics,
            end_user::Column::UpdatedAt,
        ])
        .to_owned();
    for chunk in writes.chunks(rows_per_statement(13)) {
        end_user::Entity::insert_many(chunk.to_vec())
            .on_conflict(on_conflict.clone())
            .exec_without_returning(tx.conn())
            .await?;
    }
    Ok((counts, errors))
}

/// What resolving the users of an event batch found.
pub(crate) struct ResolvedUsers {
    /// Internal ids of usable users, by external id.
    pub ids: HashMap<String, i64>,
    /// Users that were erased: their events are refused.
    pub erased: HashSet<String>,
    /// Users created on their first event.
    pub created: u64,
}

/// Finds users by external id and creates the missing ones (with the tenant's default
/// consent and no profile), in a few statements.
pub(crate) async fn resolve_or_create(tx: &TenantTx, ids: &[&str], consent: Consent) -> Result<ResolvedUsers> {
    let tenant_id = tx.tenant_id().get();
    let mut out = ResolvedUsers { ids: HashMap::with_capacity(ids.len()), erased: HashSet::new(), created: 0 };
    let found = lookup(tx, ids).await?;
    for (ext, (id, erased)) in found {
        if erased {
            out.erased.insert(ext);
        } else {
            out.ids.insert(ext, id);
        }
    }
    let missing: Vec<&str> =
        ids.iter().copied().filter(|id| !out.ids.contains_key(*id) && !out.erased.contains(*id)).collect();
    if missing.is_empty() {
        return Ok(out);
    }
    let now = Utc::now();
    let empty = serde_json::Value::Object(Default::default()).to_string();
    let rows: Vec<end_user::ActiveModel> = missing
        .iter()
        .map(|ext| end_user::ActiveModel {
            tenant_id: Set(tenant_id),
            external_id: Set((*ext).to_owned()),
            age_band: Set(None),
            gender: Set(None),
            country: Set(None),
            plan: Set(None),
            signup_date: Set(None),
            attributes: Set(empty.clone()),
            consent_personalization: Set(consent.personalization),
            consent_analytics: Set(consent.analytics),
            created_at: Set(now),
            updated_at: Set(now),
            erased_at: Set(None),
            ..Default::default()
        })
        .collect();
    let on_conflict =
        OnConflict::columns([end_user::Column::TenantId, end_user::Column::ExternalId]).do_nothing().to_owned();
    for chunk in rows.chunks(rows_per_statement(13)) {
        out.created += end_user::Entity::insert_many(chunk.to_vec())
            .on_conflict(on_conflict.clone())
            .exec_without_returning(tx.conn())
            .await?;
    }
    for (ext, (id, erased)) in lookup(tx, &missing).await? {
        if erased {
            out.erased.insert(ext);
        } else {
            out.ids.insert(ext, id);
        }
    }
    Ok(out)
}

/// (internal id, erased?) by external id.
async fn lookup(tx: &TenantTx, ids: &[&str]) -> Result<HashMap<String, (i64, bool)>> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        let rows: Vec<(i64, String, Option<chrono::DateTime<Utc>>)> = end_user::Entity::find()
            .select_only()
            .column(end_user::Column::Id)
            .column(end_user::Column::ExternalId)
            .column(end_user::Column::ErasedAt)
            .filter(end_user::Column::TenantId.eq(tx.tenant_id().get()))
            .filter(end_user::Column::ExternalId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(tx.conn())
            .await?;
        found.extend(rows.into_iter().map(|(id, ext, erased)| (ext, (id, erased.is_some()))));
    }
    Ok(found)
}

/// The internal id of a user who is not erased.
pub(crate) async fn internal_id(tx: &TenantTx, id: &UserId) -> Result<Option<i64>> {
    Ok(lookup(tx, &[id.as_str()]).await?.remove(id.as_str()).filter(|(_, erased)| !erased).map(|(id, _)| id))
}

pub(crate) async fn get(tx: &TenantTx, id: &UserId) -> Result<Option<EndUser>> {
    end_user::Entity::find()
        .filter(end_user::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(end_user::Column::ExternalId.eq(id.as_str()))
        .filter(end_user::Column::ErasedAt.is_null())
        .one(tx.conn())
        .await?
        .map(to_domain)
        .transpose()
}

/// The people a filter selects (not erased), in no order.
fn filtered(tx: &TenantTx, filter: &EndUserFilter) -> Select<end_user::Entity> {
    use end_user::Column as C;
    let mut query = end_user::Entity::find().filter(C::TenantId.eq(tx.tenant_id().get())).filter(C::ErasedAt.is_null());
    if let Some(a) = filter.age_band {
        query = query.filter(C::AgeBand.eq(a.as_str()));
    }
    if let Some(g) = &filter.gender {
        query = query.filter(C::Gender.eq(g.trim().to_lowercase()));
    }
    if let Some(c) = &filter.country {
        query = query.filter(C::Country.eq(c.as_str()));
    }
    if let Some(p) = &filter.plan {
        query = query.filter(C::Plan.eq(p.trim()));
    }
    if let Some(c) = filter.consent_personalization {
        query = query.filter(C::ConsentPersonalization.eq(c));
    }
    query
}

/// How many people [`list`] pages through.
pub(crate) async fn count(tx: &TenantTx, filter: &EndUserFilter) -> Result<u64> {
    Ok(filtered(tx, filter).count(tx.conn()).await?)
}

pub(crate) async fn list(tx: &TenantTx, filter: &EndUserFilter, page: PageRequest) -> Result<Page<EndUser>> {
    use end_user::Column as C;
    let mut query = filtered(tx, filter);
    if let Some(after) = page.after {
        query = query.filter(C::Id.gt(after));
    }
    let rows = query.order_by_asc(C::Id).limit(page.limit()).all(tx.conn()).await?;
    let rows = rows.into_iter().map(|m| Ok((m.id, to_domain(m)?))).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, page))
}
