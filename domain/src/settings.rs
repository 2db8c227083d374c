//! The tenant settings this crate owns, kept in the `tenants.settings` JSON document
//! beside keys other modules own (which are preserved on every save):
//!
//! ```json
//! { "eventWeights": { "view": 1.0, "play": 2.0, ... },
//!   "defaultConsent": { "personalization": true, "analytics": true },
//!   "interactionRetentionDays": 365,
//!   "erasureRetrainDays": 7, "erasureRetrainActiveNow": false }
//! ```
//!
//! Reading needs no particular scope; changing needs `settings:manage`.

use tenants::store::tenants as tenant_store;
use tenants::{Scope, TenantCtx, TenantTx};

use crate::Services;
use crate::audit::{AuditEvent, action};
use crate::error::{DomainError, Result};
use crate::fairness::{FairnessThresholds, ThresholdsUpdate};
use crate::serving_cache::Change;
use crate::vocab::{Consent, EventType};

const KEY_WEIGHTS: &str = "eventWeights";
const KEY_CONSENT: &str = "defaultConsent";
const KEY_FAIRNESS: &str = "fairness";
const KEY_RETENTION: &str = "interactionRetentionDays";
const KEY_RETRAIN_DAYS: &str = "erasureRetrainDays";
const KEY_RETRAIN_NOW: &str = "erasureRetrainActiveNow";
/// The longest a model that learnt from an erased person may wait for its replacement.
pub const MAX_ERASURE_RETRAIN_DAYS: u32 = 30;
const DEFAULT_ERASURE_RETRAIN_DAYS: u32 = 7;
/// The longest retention period a tenant may set (100 years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;
/// The largest weight an event type may have.
pub const MAX_EVENT_WEIGHT: f64 = 1000.0;

/// How much each event type counts when a model is trained (its confidence in implicit
/// ALS). 0 means the type is ignored by training; it is still stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventWeights([f32; EventType::ALL.len()]);

impl EventWeights {
    pub fn get(&self, t: EventType) -> f32 {
        self.0[t.index()]
    }
    pub fn set(&mut self, t: EventType, weight: f32) {
        self.0[t.index()] = weight;
    }
    pub fn iter(&self) -> impl Iterator<Item = (EventType, f32)> + '_ {
        EventType::ALL.iter().map(|t| (*t, self.get(*t)))
    }
}

impl Default for EventWeights {
    /// Ratings count 1 whatever their value, like MovieLens baselines that treat every
    /// rating as one implicit interaction.
    fn default() -> Self {
        let mut w = Self([0.0; EventType::ALL.len()]);
        for (t, v) in [
            (EventType::View, 1.0),
            (EventType::Play, 2.0),
            (EventType::Complete, 4.0),
            (EventType::Like, 4.0),
            (EventType::Dislike, 0.0),
            (EventType::Rating, 1.0),
            (EventType::Purchase, 5.0),
            (EventType::AddToList, 3.0),
            (EventType::Skip, 0.0),
        ] {
            w.set(t, v);
        }
        w
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TenantSettings {
    pub event_weights: EventWeights,
    /// The consent a new end user gets when the tenant does not say.
    pub default_consent: Consent,
    /// Fairness report thresholds and the smallest user group a report shows.
    pub fairness: FairnessThresholds,
    /// Interactions older than this many days are deleted by the retention job
    /// (`privacy::apply_retention`); `None` keeps them.
    pub interaction_retention_days: Option<u32>,
    /// Days after an erasure by which every model that learnt from the person is
    /// retrained without them (0: at once).
    pub erasure_retrain_days: u32,
    /// Retrain the active model at once after an erasure, whatever the deadline.
    pub erasure_retrain_active_now: bool,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            event_weights: EventWeights::default(),
            default_consent: Consent { personalization: true, analytics: true },
            fairness: FairnessThresholds::default(),
            interaction_retention_days: None,
            erasure_retrain_days: DEFAULT_ERASURE_RETRAIN_DAYS,
            erasure_retrain_active_now: false,
        }
    }
}

/// A change to the settings; what is absent stays as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsUpdate {
    pub event_weights: Vec<(EventType, f64)>,
    pub default_consent_personalization: Option<bool>,
    pub default_consent_analytics: Option<bool>,
    pub fairness: ThresholdsUpdate,
    /// `Some(0)` keeps interactions forever.
    pub interaction_retention_days: Option<u32>,
    pub erasure_retrain_days: Option<u32>,
    pub erasure_retrain_active_now: Option<bool>,
}

fn from_json(doc: &serde_json::Value) -> TenantSettings {
    let mut s = TenantSettings::default();
    if let Some(weights) = doc.get(KEY_WEIGHTS).and_then(|v| v.as_object()) {
        for (name, value) in weights {
            if let (Ok(t), Some(w)) = (EventType::parse(name), value.as_f64())
                && w.is_finite()
                && (0.0..=MAX_EVENT_WEIGHT).contains(&w)
            {
                s.event_weights.set(t, w as f32);
            }
        }
    }
    s.fairness = FairnessThresholds::from_json(doc.get(KEY_FAIRNESS));
    s.interaction_retention_days = doc
        .get(KEY_RETENTION)
        .and_then(|v| v.as_u64())
        .and_then(|d| u32::try_from(d).ok())
        .filter(|d| (1..=MAX_RETENTION_DAYS).contains(d));
    if let Some(days) = doc.get(KEY_RETRAIN_DAYS).and_then(|v| v.as_u64()).and_then(|d| u32::try_from(d).ok()) {
        s.erasure_retrain_days = days.min(MAX_ERASURE_RETRAIN_DAYS);
    }
    if let Some(now) = doc.get(KEY_RETRAIN_NOW).and_then(|v| v.as_bool()) {
        s.erasure_retrain_active_now = now;
    }
    if let Some(consent) = doc.get(KEY_CONSENT) {
        if let Some(p) = consent.get("personalization").and_then(|v| v.as_bool()) {
            s.default_consent.personalization = p;
        }
        if let Some(a) = consent.get("analytics").and_then(|v| v.as_bool()) {
            s.default_consent.analytics = a;
        }
    }
    s
}

fn write_json(doc: &mut serde_json::Value, s: &TenantSettings) {
    if !doc.is_object() {
        *doc = serde_json::Value::Object(Default::default());
    }
    let weights: serde_json::Map<String, serde_json::Value> =
        s.event_weights.iter().map(|(t, w)| (t.as_str().to_owned(), serde_json::json!(w))).collect();
    if let Some(map) = doc.as_object_mut() {
        map.insert(KEY_WEIGHTS.to_owned(), serde_json::Value::Object(weights));
        map.insert(
            KEY_CONSENT.to_owned(),
            serde_json::json!({
                "personalization": s.default_consent.personalization,
                "analytics": s.default_consent.analytics,
            }),
        );
        map.insert(KEY_FAIRNESS.to_owned(), s.fairness.to_json());
        map.insert(KEY_RETENTION.to_owned(), serde_json::json!(s.interaction_retention_days));
        map.insert(KEY_RETRAIN_DAYS.to_owned(), serde_json::json!(s.erasure_retrain_days));
        map.insert(KEY_RETRAIN_NOW.to_owned(), serde_json::json!(s.erasure_retrain_active_now));
    }
}

/// The settings inside an open transaction.
pub(crate) async fn load(tx: &TenantTx) -> Result<TenantSettings> {
    let tenant = tenant_store::current(tx).await?;
    Ok(from_json(&tenant.settings))
}

pub async fn tenant_settings(ctx: &TenantCtx, services: &Services) -> Result<TenantSettings> {
    let tx = services.db.begin(ctx).await?;
    let settings = load(&tx).await?;
    tx.commit().await?;
    Ok(settings)
}

/// Applies a change (needs `settings:manage`). New weights apply to the next training
/// snapshot, retroactively to stored events.
pub async fn update_tenant_settings(
    ctx: &TenantCtx,
    services: &Services,
    update: SettingsUpdate,
) -> Result<TenantSettings> {
    ctx.require(Scope::SettingsManage)?;
    for (t, w) in &update.event_weights {
        if !w.is_finite() || !(0.0..=MAX_EVENT_WEIGHT).contains(w) {
            return Err(DomainError::invalid(
                "eventWeights",
                format!("{t}: use a weight from 0 to {MAX_EVENT_WEIGHT}"),
            ));
        }
    }
    if update.interaction_retention_days.is_some_and(|d| d > MAX_RETENTION_DAYS) {
        return Err(DomainError::invalid(
            "interactionRetentionDays",
            format!("use 0 (keep) to {MAX_RETENTION_DAYS} days"),
        ));
    }
    if update.erasure_retrain_days.is_some_and(|d| d > MAX_ERASURE_RETRAIN_DAYS) {
        return Err(DomainError::invalid(
            "erasureRetrainDays",
            format!("use 0 (at once) to {MAX_ERASURE_RETRAIN_DAYS} days"),
        ));
    }
    let tx = services.db.begin_write(ctx).await?;
    // Locked: two updates of different fields would otherwise both start from the same
    // document and the later commit would drop the earlier change.
    let tenant = tenant_store::current_for_update(&tx).await?;
    let fairness = from_json(&tenant.settings).fairness.apply(&update.fairness)?;
    let mut doc = tenant.settings.clone();
    let mut settings = from_json(&doc);
    for (t, w) in update.event_weights {
        settings.event_weights.set(t, w as f32);
    }
    if let Some(p) = update.default_consent_personalization {
        settings.default_consent.personalization = p;
    }
    if let Some(a) = update.default_consent_analytics {
        settings.default_consent.analytics = a;
    }
    settings.fairness = fairness;
    if let Some(days) = update.interaction_retention_days {
        settings.interaction_retention_days = Some(days).filter(|d| *d > 0);
    }
    if let Some(days) = update.erasure_retrain_days {
        settings.erasure_retrain_days = days;
    }
    if let Some(now) = update.erasure_retrain_active_now {
        settings.erasure_retrain_active_now = now;
    }
    write_json(&mut doc, &settings);
    tenant_store::save_settings(&tx, &doc).await?;
    services.audit.record(&tx, AuditEvent::new(action::SETTINGS_UPDATED).details(doc.clone())).await?;
    tx.commit().await?;
    // Announced rather than handed to the caches: concurrent updates commit in lock
    // order but could reach a cache in another, leaving an older document cached.
    services.serving_cache.announce(ctx, Change::Settings);
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_keep_foreign_keys() {
        let mut doc = serde_json::json!({ "retentionDays": 30, "eventWeights": { "like": 7.5, "bogus": 3 } });
        let mut s = from_json(&doc);
        assert_eq!(s.event_weights.get(EventType::Like), 7.5);
        assert_eq!(s.event_weights.get(EventType::View), 1.0);
        s.default_consent.analytics = false;
        write_json(&mut doc, &s);
        assert_eq!(doc["retentionDays"], 30);
        assert_eq!(from_json(&doc), s);
    }

    #[test]
    fn bad_stored_values_fall_back_to_defaults() {
        let doc = serde_json::json!({ "eventWeights": { "like": -4, "view": "x" }, "defaultConsent": 3 });
        assert_eq!(from_json(&doc), TenantSettings::default());
    }
}
