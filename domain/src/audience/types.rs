use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{DomainError, Result};
use crate::validate;
pub use crate::vocab::{AgeBand, Consent, UserId};

/// Most users one `upsertEndUsers` call may carry.
pub const MAX_UPSERT_BATCH: usize = 1000;
pub const MAX_GENDER_CHARS: usize = 32;
pub const MAX_PLAN_CHARS: usize = 64;

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Country(String);

impl Country {
    pub fn parse(raw: &str) -> Result<Self> {
        let c = raw.trim().to_ascii_uppercase();
        if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase()) {
            Ok(Self(c))
        } else {
            Err(DomainError::invalid("country", "use an ISO 3166-1 alpha-2 code such as DE or US"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An end user as a client sends it, before validation.
#[derive(Debug, Clone, Default)]
pub struct EndUserDraft {
    pub id: String,
    pub age_band: Option<AgeBand>,
    pub gender: Option<String>,
    pub country: Option<String>,
    pub plan: Option<String>,
    pub signup_date: Option<NaiveDate>,
    pub attributes: Option<serde_json::Value>,
    pub consent_personalization: Option<bool>,
    pub consent_analytics: Option<bool>,
}

/// A validated end user. Profile fields replace the stored ones (absent clears);
/// consent flags are only changed when given (a new user gets the tenant's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEndUser {
    pub id: UserId,
    pub age_band: Option<AgeBand>,
    /// Lower case, as the tenant names it (`female`, `male`, `non_binary`, ...).
    pub gender: Option<String>,
    pub country: Option<Country>,
    pub plan: Option<String>,
    pub signup_date: Option<NaiveDate>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub consent_personalization: Option<bool>,
    pub consent_analytics: Option<bool>,
}

impl NewEndUser {
    pub fn parse(d: EndUserDraft) -> Result<Self> {
        let id = UserId::parse(d.id)?;
        let gender = validate::optional("gender", d.gender, MAX_GENDER_CHARS)?.map(|g| g.to_lowercase());
        let country = d.country.filter(|c| !c.trim().is_empty()).map(|c| Country::parse(&c)).transpose()?;
        if let Some(date) = d.signup_date {
            use chrono::Datelike;
            if !(1970..=2200).contains(&date.year()) {
                return Err(DomainError::invalid("signupDate", "use a year between 1970 and 2200"));
            }
        }
        Ok(Self {
            id,
            age_band: d.age_band,
            gender,
            country,
            plan: validate::optional("plan", d.plan, MAX_PLAN_CHARS)?,
            signup_date: d.signup_date,
            attributes: validate::attributes("attributes", d.attributes)?,
            consent_personalization: d.consent_personalization,
            consent_analytics: d.consent_analytics,
        })
    }
}

/// A stored end user: personal data. Read it only through [`super::personal_data`].
#[derive(Debug, Clone, PartialEq)]
pub struct EndUser {
    pub id: UserId,
    pub age_band: Option<AgeBand>,
    pub gender: Option<String>,
    pub country: Option<String>,
    pub plan: Option<String>,
    pub signup_date: Option<NaiveDate>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub consent: Consent,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Filters of `endUsers`; all given ones must hold.
#[derive(Debug, Clone, Default)]
pub struct EndUserFilter {
    pub age_band: Option<AgeBand>,
    pub gender: Option<String>,
    pub country: Option<Country>,
    pub plan: Option<String>,
    pub consent_personalization: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_alpha_2() {
        assert_eq!(Country::parse(" de ").ok().map(|c| c.0), Some("DE".to_owned()));
        assert!(Country::parse("DEU").is_err());
        assert!(Country::parse("D1").is_err());
    }
}
