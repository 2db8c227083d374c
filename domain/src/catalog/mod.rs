//! The tenant's content catalog: items addressed by the tenant's own ids, upserted in
//! batches, soft-deleted, listed with filters and keyset pagination.
//!
//! Scopes: writes need `catalog:write`, reads `catalog:read`.

mod entity;
pub(crate) mod store;
#[cfg(test)]
mod store_tests;
mod types;

pub use crate::batch::UpsertOutcome;
pub use crate::vocab::UpsertCounts;
pub use types::{
    Content, ContentDraft, ContentFilter, ContentId, ContentKind, ContentSort, ContentSortField, DeleteOutcome,
    MAX_DELETE_BATCH, MAX_LABEL_CHARS, MAX_NAME_CHARS, MAX_UPSERT_BATCH, NewContent, SnapshotItem,
};

use tenants::page::{Page, PageRequest, SortCursor};
use tenants::{Scope, TenantCtx};

use crate::Services;
use crate::audit::{AuditEvent, action};
use crate::batch::{Batch, sorted};
use crate::error::{DomainError, Result};
use crate::serving_cache::Change;

/// Upserts at most [`MAX_UPSERT_BATCH`] items in one transaction. Each item replaces
/// every field of a stored item with the same id; rows equal to what is stored are left
/// untouched (`unchanged`), so repeating a batch changes nothing. Rows that do not parse
/// come back as row errors beside the stored ones.
pub async fn upsert_contents(ctx: &TenantCtx, services: &Services, drafts: Vec<ContentDraft>) -> Result<UpsertOutcome> {
    ctx.require(Scope::CatalogWrite)?;
    let limit = crate::limits::tenant_limits(ctx, services).await?.max_catalog_items;
    if limit > 0 {
        let tx = services.db.begin(ctx).await?;
        let held = store::stats::count_live_items(&tx).await?;
        tx.commit().await?;
        crate::limits::check_stored(crate::limits::Stored::CatalogItems, limit, held)?;
    }
    let batch = Batch::parse(drafts, MAX_UPSERT_BATCH, "contents", |d| Some(d.id.clone()), NewContent::parse)?;
    upsert_unbounded(ctx, services, batch).await
}

/// The bulk path shared with imports: no batch limit (statements are chunked).
pub(crate) async fn upsert_unbounded(
    ctx: &TenantCtx,
    services: &Services,
    batch: Batch<NewContent>,
) -> Result<UpsertOutcome> {
    ctx.require(Scope::CatalogWrite)?;
    let mut errors = batch.errors;
    if batch.rows.is_empty() {
        return Ok(UpsertOutcome { counts: UpsertCounts::default(), errors: sorted(errors) });
    }
    let tx = services.db.begin_write(ctx).await?;
    let (counts, row_errors) = store::upsert(&tx, &batch.rows).await?;
    let details = serde_json::json!({
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "refused": row_errors.len(),
    });
    services.audit.record(&tx, AuditEvent::new(action::CONTENT_UPSERTED).details(details)).await?;
    tx.commit().await?;
    errors.extend(row_errors);
    Ok(UpsertOutcome { counts, errors: sorted(errors) })
}

/// Deletes up to [`MAX_DELETE_BATCH`] items (soft: see `docs/ingestion.md`). Unknown
/// ids are reported, not refused; an id that does not parse refuses the whole call.
pub async fn delete_contents(ctx: &TenantCtx, services: &Services, ids: Vec<String>) -> Result<DeleteOutcome> {
    ctx.require(Scope::CatalogWrite)?;
    if ids.len() > MAX_DELETE_BATCH {
        return Err(DomainError::invalid("ids", format!("a batch holds at most {MAX_DELETE_BATCH} ids")));
    }
    let ids = ids.into_iter().map(|id| ContentId::parse_as("ids", id)).collect::<Result<Vec<_>>>()?;
    if ids.is_empty() {
        return Ok(DeleteOutcome::default());
    }
    let tx = services.db.begin_write(ctx).await?;
    let outcome = store::soft_delete(&tx, &ids).await?;
    let details = serde_json::json!({
        "deleted": outcome.deleted,
        "ids": ids.iter().map(ContentId::as_str).collect::<Vec<_>>(),
    });
    services.audit.record(&tx, AuditEvent::new(action::CONTENT_DELETED).details(details)).await?;
    tx.commit().await?;
    services.serving_cache.announce(ctx, Change::ItemsDeleted);
    Ok(outcome)
}

/// One live item; `NOT_FOUND` when the id names none.
pub async fn get_content(ctx: &TenantCtx, services: &Services, id: &ContentId) -> Result<Content> {
    ctx.require(Scope::CatalogRead)?;
    let tx = services.db.begin(ctx).await?;
    let item = store::get(&tx, id).await?;
    tx.commit().await?;
    item.ok_or_else(|| DomainError::NotFound(format!("content {:?}", id.as_str())))
}

/// How many live items match `filter`.
pub async fn count_contents(ctx: &TenantCtx, services: &Services, filter: ContentFilter) -> Result<u64> {
    ctx.require(Scope::CatalogRead)?;
    let filter = filter.validate()?;
    let tx = services.db.begin(ctx).await?;
    let n = store::count(&tx, &filter).await?;
    tx.commit().await?;
    Ok(n)
}

/// A page of live items matching `filter`, in `sort` order.
pub async fn list_contents(
    ctx: &TenantCtx,
    services: &Services,
    filter: ContentFilter,
    sort: ContentSort,
    page: PageRequest<SortCursor>,
) -> Result<Page<Content, SortCursor>> {
    ctx.require(Scope::CatalogRead)?;
    let filter = filter.validate()?;
    let tx = services.db.begin(ctx).await?;
    let page = store::list(&tx, &filter, sort, &page).await?;
    tx.commit().await?;
    Ok(page)
}
