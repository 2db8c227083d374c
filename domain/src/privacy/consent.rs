//! Recording what a person agreed to. Without personalization consent they get
//! non-personalized answers (which say so) and their events stay out of training;
//! without analytics consent they stay out of statistics and reports.

use chrono::Utc;
use tenants::{Scope, TenantCtx};

use super::subject;
use crate::Services;
use crate::audience::{Consent, UserId};
use crate::audit::{AuditEvent, Target, action};
use crate::error::Result;
use crate::serving_cache::Change;

/// A change of consent: flags left `None` stay as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsentUpdate {
    pub personalization: Option<bool>,
    pub analytics: Option<bool>,
}

/// Sets the person's consent flags and returns them as stored. Erased people have none.
pub async fn set_consent(
    ctx: &TenantCtx,
    services: &Services,
    user: &UserId,
    update: ConsentUpdate,
) -> Result<Consent> {
    ctx.require(Scope::PrivacyManage).or_else(|_| ctx.require(Scope::UsersWrite))?;
    let tx = services.db.begin_write(ctx).await?;
    let person = subject::find_live(&tx, user).await?;
    let consent = Consent {
        personalization: update.personalization.unwrap_or(person.consent.personalization),
        analytics: update.analytics.unwrap_or(person.consent.analytics),
    };
    crate::audience::store::write_consent(&tx, person.row, consent, Utc::now()).await?;
    let event = AuditEvent::new(action::CONSENT_CHANGED)
        .target(Target::end_user(user.as_str()))
        .details(serde_json::json!({ "personalization": consent.personalization, "analytics": consent.analytics }));
    services.audit.record(&tx, event).await?;
    tx.commit().await?;
    services.serving_cache.announce(ctx, Change::People(vec![user.clone()]));
    Ok(consent)
}
