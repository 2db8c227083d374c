//! What erasure needs to finish its work after the request that asked for it:
//!
//! - receipts carry a state (`pending` from the database commit until every model file
//!   is verified clean, then `complete`), so a failure between the two leaves a receipt
//!   that says so and a retry that knows what is left;
//! - models carry a retraining deadline, the retraining job queued for them, the model
//!   they retrain, and when their files were deleted, so the scheduler can replace a
//!   model that still learnt from an erased person and a receipt can say when the
//!   person left every model.
//!
//! The tables already have row-level security (m0004, m0006); new columns inherit it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// SQLite takes one column per `ALTER TABLE`.
async fn add(manager: &SchemaManager<'_>, table: &'static str, column: ColumnDef) -> Result<(), DbErr> {
    manager.alter_table(Table::alter().table(table).add_column(column).to_owned()).await
}

async fn drop(manager: &SchemaManager<'_>, table: &'static str, column: &'static str) -> Result<(), DbErr> {
    manager.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Receipts written before this migration were written in one transaction with
        // their scrub: complete.
        add(manager, "erasure_receipts", string("status").default("complete").to_owned()).await?;
        add(manager, "erasure_receipts", timestamp_with_time_zone_null("completed_at").to_owned()).await?;
        add(manager, "models", timestamp_with_time_zone_null("retrain_due_at").to_owned()).await?;
        add(manager, "models", big_integer_null("retrain_model_id").to_owned()).await?;
        add(manager, "models", big_integer_null("retrain_of").to_owned()).await?;
        add(manager, "models", timestamp_with_time_zone_null("files_deleted_at").to_owned()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["files_deleted_at", "retrain_of", "retrain_model_id", "retrain_due_at"] {
            drop(manager, "models", column).await?;
        }
        drop(manager, "erasure_receipts", "completed_at").await?;
        drop(manager, "erasure_receipts", "status").await
    }
}
