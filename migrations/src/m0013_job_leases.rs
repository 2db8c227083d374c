//! Jobs claimed from the database (issue 14): any process that runs workers takes a
//! queued job, or one whose holder stopped renewing its lease, in one write transaction;
//! the holder renews `lease_until` while it works. `request` keeps what the job was
//! asked to do, so another process can run it; `attempts` counts the claims.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        let mut attempts = integer("attempts");
        attempts.default(0);
        let columns =
            [string_null("lease_owner"), timestamp_with_time_zone_null("lease_until"), attempts, text_null("request")];
        for mut column in columns {
            manager.alter_table(Table::alter().table("jobs").add_column(&mut column).to_owned()).await?;
        }
        // Workers look for unfinished jobs, oldest first.
        manager.create_index(Index::create().name("jobs_claim").table("jobs").col("status").col("id").to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("jobs_claim").table("jobs").to_owned()).await?;
        for column in ["request", "attempts", "lease_until", "lease_owner"] {
            manager.alter_table(Table::alter().table("jobs").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
