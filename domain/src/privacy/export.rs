//! One JSON document with everything Marquee holds about a person: profile, consent,
//! every interaction, the models their data trained and the audit events about them.

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use tenants::page::{PageRequest, SortCursor};
use tenants::{Scope, TenantCtx};

use super::subject;
use crate::audience::{EndUser, UserId};
use crate::audit::{AuditEvent, Target, action};
use crate::error::{DomainError, Result};
use crate::models::ModelServices;

/// The document's format name; bumped when its shape changes.
pub const FORMAT: &str = "marquee.user-export.v1";
/// Interactions read per page while assembling the document.
const PAGE: u64 = 1_000;

/// Needs `privacy:manage`. Erased people have nothing left to export (`NOT_FOUND`).
pub async fn export_user_data(ctx: &TenantCtx, models: &ModelServices, user: &UserId) -> Result<Value> {
    ctx.require(Scope::PrivacyManage)?;
    let services = models.services();
    services.read_audit.flush().await?;
    let tx = services.db.begin_write(ctx).await?;
    let person = subject::find_live(&tx, user).await?;
    let profile = crate::audience::store::get(&tx, user)
        .await?
        .ok_or_else(|| DomainError::internal("live end user without a profile"))?;

    let mut interactions = Vec::new();
    let mut page = PageRequest::<SortCursor> { first: PAGE, after: None };
    loop {
        let batch = crate::interactions::store::list_for_user(&tx, person.row, &page).await?;
        let last = batch.items.last().map(|(cursor, _)| cursor.clone());
        interactions.extend(batch.items.into_iter().map(|(_, i)| {
            json!({
                "eventId": i.event_id.as_str(),
                "contentId": i.content_id.as_str(),
                "type": i.event_type.as_str(),
                "value": i.value,
                "occurredAt": time(i.occurred_at),
                "receivedAt": time(i.received_at),
            })
        }));
        match (batch.has_next_page, last) {
            (true, Some(cursor)) => page.after = Some(cursor),
            _ => break,
        }
    }

    let trained_on: Vec<Value> = crate::models::privacy::trained_on(models, &tx, user.as_str())
        .await?
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id.as_string(),
                "version": m.version,
                "algorithm": m.algorithm.as_str(),
                "status": m.status.as_str(),
                "trainedAt": m.finished_at.map(time),
                "active": m.active,
                "needsRetraining": m.needs_retraining,
            })
        })
        .collect();

    // Recorded before the audit events are read, so the export lists itself.
    let event = AuditEvent::new(action::END_USER_EXPORTED)
        .target(Target::end_user(user.as_str()))
        .details(json!({ "interactions": interactions.len(), "models": trained_on.len() }));
    services.audit.record(&tx, event).await?;
    let pseudonym = services.audit.end_user_pseudonym(ctx.tenant_id(), user.as_str())?;
    let audit_events: Vec<Value> = services
        .audit
        .events_about(&tx, "end_user", &pseudonym)
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "seq": e.seq,
                "occurredAt": time(e.occurred_at),
                "principal": e.principal,
                "action": e.action,
                "requestId": e.request_id,
                "outcome": e.outcome,
                "details": e.details,
                "hash": e.hash,
            })
        })
        .collect();
    tx.commit().await?;

    Ok(json!({
        "format": FORMAT,
        "exportedAt": time(Utc::now()),
        "userId": user.as_str(),
        "auditPseudonym": pseudonym,
        "profile": profile_json(&profile),
        "consent": { "personalization": profile.consent.personalization, "analytics": profile.consent.analytics },
        "interactions": interactions,
        "models": trained_on,
        "auditEvents": audit_events,
    }))
}

fn profile_json(u: &EndUser) -> Value {
    json!({
        "ageBand": u.age_band.map(|a| a.as_str()),
        "gender": u.gender,
        "country": u.country,
        "plan": u.plan,
        "signupDate": u.signup_date.map(|d| d.to_string()),
        "attributes": u.attributes,
        "createdAt": time(u.created_at),
        "updatedAt": time(u.updated_at),
    })
}

fn time(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
