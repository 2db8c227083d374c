//! ORM entity of `interactions`. Private to `interactions`, and only its store uses it:
//! every other feature reads and deletes events through `interactions::store`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "interactions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub event_id: String,
    pub user_id: i64,
    pub item_id: i64,
    pub event_type: String,
    pub value: Option<f64>,
    /// Milliseconds since the epoch.
    pub occurred_at: i64,
    /// Milliseconds since the epoch.
    pub received_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
