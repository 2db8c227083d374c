use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_checkpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub seq: i64,
    pub hash: String,
    pub signed_at: DateTimeUtc,
    pub key_id: String,
    pub signature: String,
    /// Empty on checkpoints signed before intervals were recorded (m0009).
    pub interval_every: Option<i64>,
    pub interval_since: Option<i64>,
    pub previous_interval_since: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
