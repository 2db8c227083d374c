//! A tenant's plan: request rates per tenant and per API key, and what it may store and
//! train. Defaults come from the operator's configuration; the operator sets a tenant's
//! own (`marquee tenant limits`), kept in the tenant's settings document under
//! [`SETTINGS_KEY`]. Enforced in `domain::limits`.

use serde::{Deserialize, Serialize};

use crate::error::{Result, TenantsError};

/// The key of the tenant's settings document that holds its own limits.
pub const SETTINGS_KEY: &str = "limits";

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Requests per second of the whole tenant (token bucket refill); 0: no limit.
    pub tenant_requests_per_sec: f64,
    /// Requests the tenant may make at once after a quiet spell.
    pub tenant_burst: u32,
    /// Requests per second of one API key; 0: no limit.
    pub key_requests_per_sec: f64,
    pub key_burst: u32,
    /// Training jobs queued in any 24 hours; 0: no limit.
    pub training_jobs_per_day: u32,
    /// Stored interactions; 0: no limit.
    pub max_interactions: u64,
    /// Content items in the catalog; 0: no limit.
    pub max_catalog_items: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            tenant_requests_per_sec: 200.0,
            tenant_burst: 400,
            key_requests_per_sec: 100.0,
            key_burst: 200,
            training_jobs_per_day: 100,
            max_interactions: 0,
            max_catalog_items: 0,
        }
    }
}

/// The operator's change to a tenant's limits: what is `None` stays.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LimitsUpdate {
    pub tenant_requests_per_sec: Option<f64>,
    pub tenant_burst: Option<u32>,
    pub key_requests_per_sec: Option<f64>,
    pub key_burst: Option<u32>,
    pub training_jobs_per_day: Option<u32>,
    pub max_interactions: Option<u64>,
    pub max_catalog_items: Option<u64>,
}

impl Limits {
    /// The tenant's limits: its own from its settings document over `defaults`.
    pub fn from_settings(settings: &serde_json::Value, defaults: Limits) -> Limits {
        let Some(own) = settings.get(SETTINGS_KEY) else { return defaults };
        let mut merged = serde_json::to_value(defaults).unwrap_or_default();
        if let (Some(merged), Some(own)) = (merged.as_object_mut(), own.as_object()) {
            for (k, v) in own {
                merged.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(merged).unwrap_or(defaults)
    }

    /// Applies an update; rates must be finite and not negative.
    pub fn apply(self, update: &LimitsUpdate) -> Result<Limits> {
        for (field, rate) in [
            ("tenantRequestsPerSec", update.tenant_requests_per_sec),
            ("keyRequestsPerSec", update.key_requests_per_sec),
        ] {
            if rate.is_some_and(|r| !r.is_finite() || r < 0.0) {
                return Err(TenantsError::invalid(field, "use a rate of 0 (no limit) or more"));
            }
        }
        Ok(Limits {
            tenant_requests_per_sec: update.tenant_requests_per_sec.unwrap_or(self.tenant_requests_per_sec),
            tenant_burst: update.tenant_burst.unwrap_or(self.tenant_burst),
            key_requests_per_sec: update.key_requests_per_sec.unwrap_or(self.key_requests_per_sec),
            key_burst: update.key_burst.unwrap_or(self.key_burst),
            training_jobs_per_day: update.training_jobs_per_day.unwrap_or(self.training_jobs_per_day),
            max_interactions: update.max_interactions.unwrap_or(self.max_interactions),
            max_catalog_items: update.max_catalog_items.unwrap_or(self.max_catalog_items),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_limits_override_the_defaults_key_by_key() {
        let doc = serde_json::json!({ "limits": { "keyBurst": 3, "maxInteractions": 10 }, "other": 1 });
        let limits = Limits::from_settings(&doc, Limits::default());
        assert_eq!((limits.key_burst, limits.max_interactions), (3, 10));
        assert_eq!(limits.tenant_burst, Limits::default().tenant_burst);
        assert_eq!(Limits::from_settings(&serde_json::json!({}), Limits::default()), Limits::default());
        let bad = LimitsUpdate { key_requests_per_sec: Some(f64::NAN), ..Default::default() };
        assert!(Limits::default().apply(&bad).is_err());
    }
}
