//! Interactions: what end users did with content, ingested in idempotent batches, and
//! the training snapshot models are built from.
//!
//! Policies (also in `docs/ingestion.md`): an event names its content and user by the
//! tenant's ids. Unknown content is a row error (`NOT_FOUND`); an unknown user is
//! created on their first event with the tenant's default consent; an erased user's
//! events are refused (`CONFLICT`). The event id is the idempotency key: an event whose
//! id is already stored is counted as a duplicate and not stored again, whatever its
//! content. Scopes: `events:write` to record.

mod entity;
mod snapshot;
pub(crate) mod store;
#[cfg(test)]
mod store_tests;
mod types;

mod personal_data;

pub use personal_data::{count_user_interactions, list_user_interactions};
pub use snapshot::{SnapshotEvent, SnapshotItem, TrainingSnapshot, training_snapshot};
pub use types::{
    EventId, EventType, IngestCounts, IngestOutcome, Interaction, InteractionDraft, MAX_FUTURE_SKEW_HOURS,
    MAX_RECORD_BATCH, NewInteraction,
};

use chrono::Utc;
use tenants::{Scope, TenantCtx};

use crate::Services;
use crate::audit::{AuditEvent, action};
use crate::batch::{Batch, sorted};
use crate::error::Result;
use crate::serving_cache::Change;
use crate::vocab::UserId;

/// Records at most [`MAX_RECORD_BATCH`] events in one transaction; rows that do not
/// parse come back as row errors, and good rows are kept whatever happens to the others.
pub async fn record_interactions(
    ctx: &TenantCtx,
    services: &Services,
    drafts: Vec<InteractionDraft>,
) -> Result<IngestOutcome> {
    ctx.require(Scope::EventsWrite)?;
    let limit = crate::limits::tenant_limits(ctx, services).await?.max_interactions;
    if limit > 0 {
        let tx = services.db.begin(ctx).await?;
        let held = store::stats::count_stored(&tx).await?;
        tx.commit().await?;
        crate::limits::check_stored(crate::limits::Stored::Interactions, limit, held)?;
    }
    let received_at = Utc::now();
    let batch = Batch::parse(
        drafts,
        MAX_RECORD_BATCH,
        "events",
        |d| Some(d.event_id.clone()),
        |d| NewInteraction::parse(d, received_at),
    )?;
    record_unbounded(ctx, services, batch).await
}

/// The bulk path shared with imports: no batch limit (statements are chunked).
pub(crate) async fn record_unbounded(
    ctx: &TenantCtx,
    services: &Services,
    batch: Batch<NewInteraction>,
) -> Result<IngestOutcome> {
    ctx.require(Scope::EventsWrite)?;
    let mut errors = batch.errors;
    if batch.rows.is_empty() {
        return Ok(IngestOutcome { counts: IngestCounts::default(), errors: sorted(errors) });
    }
    let tx = services.db.begin_write(ctx).await?;
    let consent = crate::settings::load(&tx).await?.default_consent;
    let (counts, row_errors) = store::ingest(&tx, &batch.rows, consent).await?;
    let details = serde_json::json!({
        "accepted": counts.accepted,
        "duplicates": counts.duplicates,
        "usersCreated": counts.users_created,
        "refused": row_errors.len(),
    });
    services.audit.record(&tx, AuditEvent::new(action::INTERACTIONS_RECORDED).details(details)).await?;
    tx.commit().await?;
    let mut people: Vec<UserId> = batch.rows.into_iter().map(|(_, r)| r.user).collect();
    people.sort_unstable();
    people.dedup();
    services.serving_cache.announce(ctx, Change::People(people));
    errors.extend(row_errors);
    Ok(IngestOutcome { counts, errors: sorted(errors) })
}
