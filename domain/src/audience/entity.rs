//! ORM entity of `end_users`. Private to `audience`, and only its store uses it: every
//! other feature reads and changes people through `audience::store`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "end_users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub external_id: String,
    pub age_band: Option<String>,
    pub gender: Option<String>,
    pub country: Option<String>,
    pub plan: Option<String>,
    /// `YYYY-MM-DD`.
    pub signup_date: Option<String>,
    /// JSON object.
    pub attributes: String,
    pub consent_personalization: bool,
    pub consent_analytics: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub erased_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
