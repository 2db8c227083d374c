use sea_orm::entity::prelude::*;

/// One row per tenant: the end of its chain. Appends lock it, which serialises them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_heads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: i64,
    pub last_seq: i64,
    pub last_hash: String,
    /// The checkpoint interval in force and the event whose checkpoint opened it (the
    /// writer's note; verification trusts only what checkpoints sign).
    pub interval_every: Option<i64>,
    pub interval_since: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
