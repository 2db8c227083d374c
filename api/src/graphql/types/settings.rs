use async_graphql::{InputObject, SimpleObject};
use domain::settings::{SettingsUpdate, TenantSettings};

use super::interactions::EventTypeGql;

/// How much one event type counts in training.
#[derive(SimpleObject, InputObject, Clone, Copy)]
#[graphql(name = "EventWeight", input_name = "EventWeightInput")]
pub struct EventWeightGql {
    #[graphql(name = "type")]
    pub event_type: EventTypeGql,
    /// 0 to 1000; 0 leaves the type out of training (events are still stored).
    pub weight: f64,
}

#[derive(SimpleObject)]
#[graphql(name = "TenantSettings")]
pub struct TenantSettingsGql {
    /// One entry per event type.
    pub event_weights: Vec<EventWeightGql>,
    /// Consent a new end user gets when the upsert or event does not say.
    pub default_consent_personalization: bool,
    pub default_consent_analytics: bool,
    /// Thresholds that mark fairness report figures PASS or WARN.
    pub fairness: super::fairness::ThresholdsGql,
    /// Interactions older than this many days are deleted by the retention job; null
    /// keeps them.
    pub interaction_retention_days: Option<i32>,
    /// Days after an erasure by which every model that learnt from the person is
    /// retrained without them and its files deleted (0: at once).
    pub erasure_retrain_days: i32,
    /// Retrain the active model at once after an erasure, whatever the deadline.
    pub erasure_retrain_active_now: bool,
}

impl From<TenantSettings> for TenantSettingsGql {
    fn from(s: TenantSettings) -> Self {
        Self {
            event_weights: s
                .event_weights
                .iter()
                .map(|(t, w)| EventWeightGql { event_type: t.into(), weight: f64::from(w) })
                .collect(),
            default_consent_personalization: s.default_consent.personalization,
            default_consent_analytics: s.default_consent.analytics,
            fairness: s.fairness.into(),
            interaction_retention_days: s.interaction_retention_days.and_then(|d| i32::try_from(d).ok()),
            erasure_retrain_days: i32::try_from(s.erasure_retrain_days).unwrap_or(i32::MAX),
            erasure_retrain_active_now: s.erasure_retrain_active_now,
        }
    }
}

/// A change to the settings; what is left out stays as it is.
#[derive(InputObject)]
pub struct UpdateTenantSettingsInput {
    /// Weights to change; other types keep theirs.
    #[graphql(default)]
    pub event_weights: Vec<EventWeightGql>,
    pub default_consent_personalization: Option<bool>,
    pub default_consent_analytics: Option<bool>,
    /// Fairness thresholds to change.
    pub fairness: Option<super::fairness::FairnessThresholdsInput>,
    /// Days to keep interactions (1 to 36500); 0 keeps them forever.
    pub interaction_retention_days: Option<i32>,
    /// Days (0 to 30) after an erasure by which models that learnt from the person are
    /// retrained without them.
    pub erasure_retrain_days: Option<i32>,
    /// Retrain the active model at once after an erasure.
    pub erasure_retrain_active_now: Option<bool>,
}

impl From<UpdateTenantSettingsInput> for SettingsUpdate {
    fn from(i: UpdateTenantSettingsInput) -> Self {
        Self {
            event_weights: i.event_weights.into_iter().map(|w| (w.event_type.into(), w.weight)).collect(),
            default_consent_personalization: i.default_consent_personalization,
            default_consent_analytics: i.default_consent_analytics,
            fairness: i.fairness.unwrap_or_default().into(),
            // A negative number becomes too large to accept, so it is refused with the rest.
            interaction_retention_days: i.interaction_retention_days.map(|d| u32::try_from(d).unwrap_or(u32::MAX)),
            erasure_retrain_days: i.erasure_retrain_days.map(|d| u32::try_from(d).unwrap_or(u32::MAX)),
            erasure_retrain_active_now: i.erasure_retrain_active_now,
        }
    }
}

/// A tenant's use of its plan and the plan's limits; a limit of 0 is no limit. Request
/// rates are token buckets: the rate refills them, the burst is their size.
#[derive(SimpleObject)]
#[graphql(name = "Usage")]
pub struct UsageGql {
    pub tenant_requests_per_second: f64,
    pub tenant_burst: i64,
    pub key_requests_per_second: f64,
    pub key_burst: i64,
    /// Training jobs queued in the last 24 hours, and how many the plan allows.
    pub training_jobs_last_24h: i64,
    pub training_jobs_per_day: i64,
    pub interactions: i64,
    pub max_interactions: i64,
    pub catalog_items: i64,
    pub max_catalog_items: i64,
}

impl From<domain::limits::Usage> for UsageGql {
    fn from(u: domain::limits::Usage) -> Self {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Self {
            tenant_requests_per_second: u.limits.tenant_requests_per_sec,
            tenant_burst: i64::from(u.limits.tenant_burst),
            key_requests_per_second: u.limits.key_requests_per_sec,
            key_burst: i64::from(u.limits.key_burst),
            training_jobs_last_24h: n(u.training_jobs_last_24h),
            training_jobs_per_day: i64::from(u.limits.training_jobs_per_day),
            interactions: n(u.interactions),
            max_interactions: n(u.limits.max_interactions),
            catalog_items: n(u.catalog_items),
            max_catalog_items: n(u.limits.max_catalog_items),
        }
    }
}
