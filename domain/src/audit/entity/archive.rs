use sea_orm::entity::prelude::*;

/// One archived segment of a tenant's chain (migration m0017): its events have left
/// `audit_events` for the file at `location`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_archives")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub from_seq: i64,
    pub to_seq: i64,
    pub prev_hash: String,
    pub last_hash: String,
    pub checkpoint_seq: i64,
    pub location: String,
    pub sha256: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
