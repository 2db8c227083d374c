use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "content_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub external_id: String,
    pub kind: String,
    pub title: String,
    pub description: Option<String>,
    /// JSON array of strings.
    pub genres: String,
    /// JSON array of strings.
    pub tags: String,
    pub provider: Option<String>,
    /// JSON array of strings.
    pub creators: String,
    /// `YYYY-MM-DD`.
    pub release_date: Option<String>,
    pub duration_secs: Option<i32>,
    pub language: Option<String>,
    pub maturity_rating: Option<String>,
    /// Milliseconds since the epoch.
    pub available_from: Option<i64>,
    /// Milliseconds since the epoch.
    pub available_until: Option<i64>,
    /// JSON object.
    pub attributes: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
