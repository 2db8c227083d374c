//! Who runs a training job. A job lives in the memory of the process that queued it, so
//! only that process's node may declare it dead, and only when that node starts again
//! as a new instance (docs/models.md, "Jobs and their owners"). Jobs written before this
//! migration have no owner; a starting server treats them as interrupted, as before.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for column in ["owner_node", "owner_instance"] {
            manager.alter_table(Table::alter().table("jobs").add_column(string_null(column)).to_owned()).await?;
        }
        // A starting server looks for the unfinished jobs of its node.
        manager
            .create_index(
                Index::create().name("jobs_owner_status").table("jobs").col("owner_node").col("status").to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("jobs_owner_status").table("jobs").to_owned()).await?;
        for column in ["owner_instance", "owner_node"] {
            manager.alter_table(Table::alter().table("jobs").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
