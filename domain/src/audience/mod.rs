//! The tenant's audience: end users addressed by the tenant's own ids, with optional
//! attributes and consent flags.
//!
//! Reading end users is an access to personal data: every read goes through
//! [`personal_data`], the single place the audit log hooks into. Writes need
//! `users:write`, reads `users:read`.

mod entity;
pub mod personal_data;
pub(crate) mod store;
mod types;

pub use personal_data::{PersonalDataRead, count_end_users, get_end_user, list_end_users};
pub use types::{
    AgeBand, Consent, Country, EndUser, EndUserDraft, EndUserFilter, MAX_UPSERT_BATCH, NewEndUser, UserId,
};

use tenants::{Scope, TenantCtx};

use crate::Services;
use crate::audit::{AuditEvent, Target, action};
use crate::batch::{Batch, RowError, UpsertOutcome, sorted};
use crate::error::Result;
use crate::serving_cache::Change;
use crate::vocab::UpsertCounts;

/// One event per end user whose profile the batch stored (rows refused are not).
fn upserted_events(rows: &[(usize, NewEndUser)], refused: &[RowError]) -> Vec<AuditEvent> {
    rows.iter()
        .filter(|(index, _)| !refused.iter().any(|e| e.index == *index))
        .map(|(_, user)| AuditEvent::new(action::END_USER_UPSERTED).target(Target::end_user(user.id.as_str())))
        .collect()
}

/// Upserts at most [`MAX_UPSERT_BATCH`] end users in one transaction; rows that do not
/// parse come back as row errors beside the stored ones.
pub async fn upsert_end_users(
    ctx: &TenantCtx,
    services: &Services,
    drafts: Vec<EndUserDraft>,
) -> Result<UpsertOutcome> {
    ctx.require(Scope::UsersWrite)?;
    let batch = Batch::parse(drafts, MAX_UPSERT_BATCH, "users", |d| Some(d.id.clone()), NewEndUser::parse)?;
    upsert_unbounded(ctx, services, batch).await
}

/// The bulk path shared with imports: no batch limit (statements are chunked).
pub(crate) async fn upsert_unbounded(
    ctx: &TenantCtx,
    services: &Services,
    batch: Batch<NewEndUser>,
) -> Result<UpsertOutcome> {
    ctx.require(Scope::UsersWrite)?;
    let mut errors = batch.errors;
    if batch.rows.is_empty() {
        return Ok(UpsertOutcome { counts: UpsertCounts::default(), errors: sorted(errors) });
    }
    let tx = services.db.begin_write(ctx).await?;
    let consent = crate::settings::load(&tx).await?.default_consent;
    let (counts, row_errors) = store::upsert(&tx, &batch.rows, consent).await?;
    services.audit.record_all(&tx, upserted_events(&batch.rows, &row_errors)).await?;
    tx.commit().await?;
    let people: Vec<UserId> = batch.rows.into_iter().map(|(_, r)| r.id).collect();
    services.serving_cache.announce(ctx, Change::People(people));
    errors.extend(row_errors);
    Ok(UpsertOutcome { counts, errors: sorted(errors) })
}
