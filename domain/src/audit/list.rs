//! Reading the log: a tenant's events, oldest first, filtered and paged by sequence number.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use tenants::TenantTx;
use tenants::page::{Page, PageRequest};

use super::entity::event as row;
use super::{chain, encoding};
use crate::error::{DomainError, Result};

/// A validated filter; every part is optional and they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    /// A principal label as events show it, e.g. `member:<id>` or `api_key:<id>`.
    pub principal: Option<String>,
    /// Occurred at or after.
    pub from: Option<DateTime<Utc>>,
    /// Occurred before.
    pub to: Option<DateTime<Utc>>,
}

impl AuditFilter {
    pub fn parse(
        action: Option<&str>,
        principal: Option<&str>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Self> {
        let text = |field: &str, raw: Option<&str>| -> Result<Option<String>> {
            match raw.map(str::trim) {
                None => Ok(None),
                Some(s) if !s.is_empty() && s.len() <= 200 => Ok(Some(s.to_owned())),
                Some(_) => Err(DomainError::invalid(format!("filter.{field}"), "use 1 to 200 characters")),
            }
        };
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            return Err(DomainError::invalid("filter.to", "must be after `from`"));
        }
        Ok(Self { action: text("action", action)?, principal: text("principal", principal)?, from, to })
    }
}

/// An event as stored, with the hashes an outside verifier needs.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub principal: String,
    pub action: String,
    pub target_kind: Option<String>,
    pub target: Option<String>,
    pub request_id: String,
    pub outcome: String,
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

impl From<row::Model> for AuditRecord {
    fn from(m: row::Model) -> Self {
        let m = encoding::decoded(m);
        let non_empty = |s: String| if s.is_empty() { None } else { Some(s) };
        Self {
            seq: m.seq,
            occurred_at: m.occurred_at,
            principal: m.principal,
            action: m.action,
            target_kind: non_empty(m.target_kind),
            target: non_empty(m.target),
            request_id: m.request_id,
            outcome: m.outcome,
            // Stored by us as canonical JSON; shown as text if someone broke it.
            details: serde_json::from_str(&m.details).unwrap_or(serde_json::Value::String(m.details)),
            prev_hash: m.prev_hash,
            hash: m.hash,
        }
    }
}

/// A page of the tenant's events, oldest first, inside the caller's transaction.
/// The events a filter selects, in no order.
fn filtered(tx: &TenantTx, filter: &AuditFilter) -> Select<row::Entity> {
    let mut query = row::Entity::find().filter(row::Column::TenantId.eq(tx.tenant_id().get()));
    if let Some(action) = &filter.action {
        query = query.filter(row::Column::Action.eq(action.as_str()));
    }
    if let Some(principal) = &filter.principal {
        query = query.filter(row::Column::Principal.eq(principal.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(row::Column::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(row::Column::OccurredAt.lt(to));
    }
    query
}

/// How many events [`page_of_events`] pages through.
pub(crate) async fn count_events(tx: &TenantTx, filter: &AuditFilter) -> Result<u64> {
    Ok(filtered(tx, filter).count(tx.conn()).await?)
}

pub(crate) async fn page_of_events(
    tx: &TenantTx,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditRecord>> {
    let mut query = filtered(tx, filter).order_by_asc(row::Column::Seq).limit(page.first + 1);
    if let Some(after) = page.after {
        query = query.filter(row::Column::Seq.gt(after));
    }
    let rows = query.all(tx.conn()).await?;
    let rows = rows.into_iter().map(|m| (m.seq, AuditRecord::from(m))).collect();
    Ok(Page::from_overfetch(rows, page))
}

/// Every event about one target (an end user's pseudonym, say), oldest first, inside
/// the caller's transaction. For data export: the caller checks the rights.
/// Hot events only: [`super::Auditor::events_about`] adds the archived ones.
pub(crate) async fn hot_events_about(tx: &TenantTx, kind: &str, target: &str) -> Result<Vec<AuditRecord>> {
    // Two lookups, each matching a partial index: v1 rows by hex text, v2 rows by bytes.
    let by = |query: Select<row::Entity>| {
        query
            .filter(row::Column::TenantId.eq(tx.tenant_id().get()))
            .filter(row::Column::TargetKind.eq(kind))
            .order_by_asc(row::Column::Seq)
            .all(tx.conn())
    };
    let mut rows =
        by(row::Entity::find().filter(row::Column::Encoding.eq(encoding::V1)).filter(row::Column::Target.eq(target)))
            .await?;
    if let Some(bytes) = chain::from_hex(target) {
        // The index holds the pseudonym's first 8 bytes (migration m0016); the planner
        // uses it only for this very expression.
        let prefix = match tx.conn().get_database_backend() {
            DbBackend::Postgres => "substr(target_bin, 1, 8) = $1",
            _ => "substr(target_bin, 1, 8) = ?",
        };
        let query = row::Entity::find()
            .filter(Expr::cust_with_values(prefix, [bytes[..8].to_vec()]))
            .filter(row::Column::TargetBin.eq(bytes.to_vec()));
        rows.extend(by(query).await?);
    }
    // v1 rows all precede v2 rows, so the concatenation is in chain order.
    Ok(rows.into_iter().map(AuditRecord::from).collect())
}
