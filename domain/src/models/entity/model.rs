use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "models")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub public_id: String,
    pub version: i32,
    pub algorithm: String,
    pub status: String,
    pub progress: f64,
    pub parameters: String,
    pub tuning: Option<String>,
    pub data_snapshot: Option<String>,
    pub metrics: Option<String>,
    pub artifact_key: Option<String>,
    pub error: Option<String>,
    pub needs_retraining: bool,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// When a model that learnt from an erased person must be replaced by.
    pub retrain_due_at: Option<DateTimeUtc>,
    /// The model queued to replace this one after an erasure.
    pub retrain_model_id: Option<i64>,
    /// The model this one was trained to replace after an erasure.
    pub retrain_of: Option<i64>,
    /// When this model's files were deleted (it was retired).
    pub files_deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
