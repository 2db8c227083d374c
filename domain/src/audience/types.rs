use chrono::{DateTime, NaiveDate, Utc};

use crate::catalog::string_enum;
use crate::error::{DomainError, Result};
use crate::validate;

/// Most users one `upsertEndUsers` call may carry.
pub const MAX_UPSERT_BATCH: usize = 1000;
pub const MAX_GENDER_CHARS: usize = 32;
pub const MAX_PLAN_CHARS: usize = 64;

/// An end user's id in the tenant's own id space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: impl Into<String>) -> Result<Self> {
        validate::external_id("id", raw.into()).map(Self)
    }
    /// Parses an id for an argument or input field other than `id`.
    pub fn parse_as(field: &str, raw: impl Into<String>) -> Result<Self> {
        validate::external_id(field, raw.into()).map(Self)
    }
    pub(crate) fn from_db(raw: String) -> Self {
        Self(raw)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

string_enum!(
    /// An age band: what Marquee keeps instead of an age or a birth date.
    AgeBand, "ageBand", {
        Under18 => "under_18",
        From18To24 => "18_24",
        From25To34 => "25_34",
        From35To44 => "35_44",
        From45To54 => "45_54",
        From55To64 => "55_64",
        From65 => "65_plus",
    }
);

impl AgeBand {
    pub fn from_age(age: u32) -> Self {
        match age {
            0..=17 => AgeBand::Under18,
            18..=24 => AgeBand::From18To24,
            25..=34 => AgeBand::From25To34,
            35..=44 => AgeBand::From35To44,
            45..=54 => AgeBand::From45To54,
            55..=64 => AgeBand::From55To64,
            _ => AgeBand::From65,
        }
    }
}

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

/// What an end user agreed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consent {
    /// Their data may shape their recommendations and train models.
    pub personalization: bool,
    /// Their data may appear in analytics (insights, reports).
    pub analytics: bool,
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
    fn ages_fall_into_bands() {
        assert_eq!(AgeBand::from_age(7), AgeBand::Under18);
        assert_eq!(AgeBand::from_age(18), AgeBand::From18To24);
        assert_eq!(AgeBand::from_age(34), AgeBand::From25To34);
        assert_eq!(AgeBand::from_age(73), AgeBand::From65);
        assert_eq!(AgeBand::parse("65_PLUS").ok(), Some(AgeBand::From65));
    }

    #[test]
    fn countries_are_alpha_2() {
        assert_eq!(Country::parse(" de ").ok().map(|c| c.0), Some("DE".to_owned()));
        assert!(Country::parse("DEU").is_err());
        assert!(Country::parse("D1").is_err());
    }
}
