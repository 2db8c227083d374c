//! Serving reads a person's newest events with their items and types on every first
//! request for them. The index on (tenant, user, time) answered which rows, but each row
//! was then fetched from the table, a random page per event; with the item and the type
//! in the index the read touches a few adjacent index pages instead.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "interactions_user";
const NEW: &str = "interactions_user_history";
const OLD_COLUMNS: &[&str] = &["tenant_id", "user_id", "occurred_at", "id"];
const NEW_COLUMNS: &[&str] = &["tenant_id", "user_id", "occurred_at", "id", "item_id", "event_type"];

fn interactions_index(name: &str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table("interactions");
    for column in columns {
        index.col(*column);
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(interactions_index(NEW, NEW_COLUMNS)).await?;
        // Every query the old index served, the new one serves (it extends the same prefix).
        manager.drop_index(Index::drop().name(OLD).table("interactions").to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(interactions_index(OLD, OLD_COLUMNS)).await?;
        manager.drop_index(Index::drop().name(NEW).table("interactions").to_owned()).await
    }
}
