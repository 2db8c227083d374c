//! ORM entity of stored fairness reports; private to `fairness`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "fairness_reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub public_id: String,
    pub model_id: i64,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    /// JSON of [`crate::fairness::ReportInput`].
    pub input: String,
    /// JSON of [`crate::fairness::ReportBody`].
    pub report: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
