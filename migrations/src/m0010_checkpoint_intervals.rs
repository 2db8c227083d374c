//! Which checkpoints were due. A checkpoint now signs the interval in force (every how
//! many events one was due, and the event whose checkpoint opened that interval), and
//! every change of interval opens with a checkpoint, so the signed checkpoints alone say
//! which others must exist: deleting the newest ones to rewrite the events after them
//! is reported (docs/audit.md). The head keeps the interval in force for the writer.
//! Checkpoints written before this migration keep their columns empty and their
//! original signatures.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const CHECKPOINT_COLUMNS: [&str; 3] = ["interval_every", "interval_since", "previous_interval_since"];
const HEAD_COLUMNS: [&str; 2] = ["interval_every", "interval_since"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for column in CHECKPOINT_COLUMNS {
            manager
                .alter_table(Table::alter().table("audit_checkpoints").add_column(big_integer_null(column)).to_owned())
                .await?;
        }
        for column in HEAD_COLUMNS {
            manager
                .alter_table(Table::alter().table("audit_heads").add_column(big_integer_null(column)).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in HEAD_COLUMNS {
            manager.alter_table(Table::alter().table("audit_heads").drop_column(column).to_owned()).await?;
        }
        for column in CHECKPOINT_COLUMNS {
            manager.alter_table(Table::alter().table("audit_checkpoints").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
