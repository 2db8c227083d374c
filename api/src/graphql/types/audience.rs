use async_graphql::{ComplexObject, Context, InputObject, Json, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::audience::{AgeBand, Country, EndUser, EndUserDraft, EndUserFilter, UserId};
use domain::tenants::page::PageRequest;

use super::catalog::mirror_enum;
use super::interactions::InteractionGql;
use crate::graphql::connection::{Conn, TotalCount, from_page};
use crate::graphql::context::{personal_reads, services, tenant};
use crate::graphql::error::ApiResult;

mirror_enum!(
    #[graphql(name = "AgeBand")]
    AgeBandGql mirrors AgeBand {
        #[graphql(name = "UNDER_18")]
        Under18,
        #[graphql(name = "AGE_18_24")]
        From18To24,
        #[graphql(name = "AGE_25_34")]
        From25To34,
        #[graphql(name = "AGE_35_44")]
        From35To44,
        #[graphql(name = "AGE_45_54")]
        From45To54,
        #[graphql(name = "AGE_55_64")]
        From55To64,
        #[graphql(name = "AGE_65_PLUS")]
        From65,
    }
);

/// What the end user agreed to.
#[derive(SimpleObject, Clone, Copy)]
#[graphql(name = "Consent")]
pub struct ConsentGql {
    /// Their data may shape their recommendations and train models.
    pub personalization: bool,
    /// Their data may appear in analytics.
    pub analytics: bool,
}

/// An end user of the tenant (personal data: every read is recorded).
#[derive(SimpleObject, Clone)]
#[graphql(name = "EndUser", complex)]
pub struct EndUserGql {
    /// The tenant's own id.
    pub id: String,
    pub age_band: Option<AgeBandGql>,
    pub gender: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub plan: Option<String>,
    pub signup_date: Option<NaiveDate>,
    pub attributes: Json<serde_json::Value>,
    pub consent: ConsentGql,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub user: UserId,
}

#[ComplexObject]
impl EndUserGql {
    /// The user's interactions, newest first (by time of occurrence; the read is recorded).
    #[graphql(complexity = "crate::graphql::complexity::personal_page(first, child_complexity)")]
    async fn interactions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<InteractionGql>> {
        let page = PageRequest::parse(first.map(i64::from), after.as_deref())?;
        personal_reads(ctx, 1)?;
        let (tenant, services) = (tenant(ctx)?, services(ctx)?);
        let events = domain::interactions::list_user_interactions(tenant, services, &self.user, page).await?;
        let (tenant, services, user) = (tenant.clone(), services.clone(), self.user.clone());
        let total = TotalCount::of(move || {
            let (tenant, services, user) = (tenant.clone(), services.clone(), user.clone());
            async move { domain::interactions::count_user_interactions(&tenant, &services, &user).await }
        });
        Ok(from_page(events, InteractionGql::from, total))
    }
}

impl From<EndUser> for EndUserGql {
    fn from(u: EndUser) -> Self {
        Self {
            id: u.id.as_str().to_owned(),
            age_band: u.age_band.map(Into::into),
            gender: u.gender,
            country: u.country,
            plan: u.plan,
            signup_date: u.signup_date,
            attributes: Json(serde_json::Value::Object(u.attributes)),
            consent: ConsentGql { personalization: u.consent.personalization, analytics: u.consent.analytics },
            created_at: u.created_at,
            updated_at: u.updated_at,
            user: u.id,
        }
    }
}

/// An end user to store. Profile fields replace the stored ones (a field left out is
/// cleared); consent flags change only when given (a new user gets the tenant's defaults).
#[derive(InputObject)]
pub struct EndUserInput {
    /// The tenant's own id: 1 to 256 characters, no control characters or surrounding spaces.
    pub id: String,
    pub age_band: Option<AgeBandGql>,
    /// Up to 32 characters, stored in lower case.
    pub gender: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `DE`.
    pub country: Option<String>,
    /// Up to 64 characters.
    pub plan: Option<String>,
    pub signup_date: Option<NaiveDate>,
    /// A JSON object of at most 16 KiB.
    pub attributes: Option<Json<serde_json::Value>>,
    pub consent_personalization: Option<bool>,
    pub consent_analytics: Option<bool>,
}

impl From<EndUserInput> for EndUserDraft {
    fn from(i: EndUserInput) -> Self {
        Self {
            id: i.id,
            age_band: i.age_band.map(Into::into),
            gender: i.gender,
            country: i.country,
            plan: i.plan,
            signup_date: i.signup_date,
            attributes: i.attributes.map(|j| j.0),
            consent_personalization: i.consent_personalization,
            consent_analytics: i.consent_analytics,
        }
    }
}

/// Filters of `endUsers`; every one given must hold.
#[derive(InputObject, Default)]
pub struct EndUserFilterInput {
    pub age_band: Option<AgeBandGql>,
    pub gender: Option<String>,
    pub country: Option<String>,
    pub plan: Option<String>,
    pub consent_personalization: Option<bool>,
}

impl EndUserFilterInput {
    pub fn parse(self) -> domain::error::Result<EndUserFilter> {
        Ok(EndUserFilter {
            age_band: self.age_band.map(Into::into),
            gender: self.gender,
            country: self.country.map(|c| Country::parse(&c)).transpose()?,
            plan: self.plan,
            consent_personalization: self.consent_personalization,
        })
    }
}
