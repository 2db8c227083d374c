//! Serving reads a person's newest events with their items and types on every first
//! request for them. The index on (tenant, user, time) answered which rows, but each row
//! was then fetched from the table, a random page per event; with the item and the type
//! in the index the read touches a few adjacent index pages instead.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "interactions_user";
const NEW: &str = "interactions_user_history";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NEW)
                    .table("interactions")
                    .col("tenant_id")
                    .col("user_id")
                    .col("occurred_at")
                    .col("id")
                    .col("item_id")
                    .col("event_type")
                    .to_owned(),
            )
            .await?;
        // Every query the old index served, the new one serves (it extends the same prefix).
        manager.drop_index(Index::drop().name(OLD).table("interactions").to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(OLD)
                    .table("interactions")
                    .col("tenant_id")
                    .col("user_id")
                    .col("occurred_at")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name(NEW).table("interactions").to_owned()).await
    }
}
