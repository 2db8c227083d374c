//! ORM entity of `erasure_receipts`, private to `privacy`.

pub mod receipt {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "erasure_receipts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub public_id: String,
        pub subject: String,
        pub erased_at: DateTimeUtc,
        pub requested_by: String,
        pub request_id: String,
        pub interactions_deleted: i64,
        pub models_scrubbed: String,
        pub models_to_retrain: String,
        /// `pending` until every model file is verified clean, then `complete`.
        pub status: String,
        pub completed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
