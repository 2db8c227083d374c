use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub seq: i64,
    pub occurred_at: DateTimeUtc,
    pub principal: String,
    pub action: String,
    pub target_kind: String,
    pub target: String,
    pub request_id: String,
    pub outcome: String,
    pub details: String,
    /// Hex on `encoding` 1; empty on 2, which keeps the raw bytes in `*_bin`.
    pub prev_hash: String,
    pub hash: String,
    /// How the row stores hashes and pseudonyms ([`crate::audit::encoding`]).
    pub encoding: i16,
    pub hash_bin: Option<Vec<u8>>,
    pub prev_hash_bin: Option<Vec<u8>>,
    /// An end user's pseudonym as 32 bytes (then `target` is empty).
    pub target_bin: Option<Vec<u8>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
