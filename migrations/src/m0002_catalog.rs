//! Catalog, audience and interactions: content items (with their genres and tags in
//! side tables for indexed filters and counts), end users, interactions.
//!
//! Storage conventions, the same on both backends: dates are `YYYY-MM-DD` text (they sort
//! as text), instants that are filtered or grouped by day (availability, `occurred_at`)
//! are milliseconds since the Unix epoch in BIGINT columns, lists (genres, tags,
//! creators) and free attributes are JSON text.

use sea_orm_migration::{prelude::*, schema::*};

use crate::rls;

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn index(manager: &SchemaManager<'_>, name: &str, table: &str, cols: &[&str], unique: bool) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table.to_owned());
    for col in cols {
        stmt.col((*col).to_owned());
    }
    if unique {
        stmt.unique();
    }
    manager.create_index(stmt.to_owned()).await
}

fn tenant_fk(table: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table.to_owned(), "tenant_id")
        .to("tenants", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("content_items")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(string("external_id"))
                    .col(string("kind"))
                    .col(string("title"))
                    .col(text_null("description"))
                    .col(text("genres").default("[]"))
                    .col(text("tags").default("[]"))
                    .col(string_null("provider"))
                    .col(text("creators").default("[]"))
                    .col(string_null("release_date"))
                    .col(integer_null("duration_secs"))
                    .col(string_null("language"))
                    .col(string_null("maturity_rating"))
                    .col(big_integer_null("available_from"))
                    .col(big_integer_null("available_until"))
                    .col(text("attributes").default("{}"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("deleted_at"))
                    .foreign_key(&mut tenant_fk("content_items"))
                    .to_owned(),
            )
            .await?;
        index(manager, "content_items_external_id", "content_items", &["tenant_id", "external_id"], true).await?;
        index(manager, "content_items_kind", "content_items", &["tenant_id", "kind", "id"], false).await?;
        index(manager, "content_items_provider", "content_items", &["tenant_id", "provider", "id"], false).await?;
        index(manager, "content_items_title", "content_items", &["tenant_id", "title", "id"], false).await?;
        index(manager, "content_items_release_date", "content_items", &["tenant_id", "release_date", "id"], false)
            .await?;
        index(
            manager,
            "content_items_availability",
            "content_items",
            &["tenant_id", "available_from", "available_until"],
            false,
        )
        .await?;
        rls::protect_tenant_table(manager, "content_items").await?;

        for (table, col) in [("content_genres", "genre"), ("content_tags", "tag")] {
            manager
                .create_table(
                    Table::create()
                        .table(table.to_owned())
                        .col(big_integer("item_id"))
                        .col(string(col))
                        .col(big_integer("tenant_id"))
                        .primary_key(Index::create().col("item_id").col(col.to_owned()))
                        .foreign_key(
                            ForeignKey::create()
                                .from(table.to_owned(), "item_id")
                                .to("content_items", "id")
                                .on_delete(ForeignKeyAction::Cascade),
                        )
                        .foreign_key(&mut tenant_fk(table))
                        .to_owned(),
                )
                .await?;
            index(manager, &format!("{table}_value"), table, &["tenant_id", col, "item_id"], false).await?;
            rls::protect_tenant_table(manager, table).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("end_users")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(string("external_id"))
                    .col(string_null("age_band"))
                    .col(string_null("gender"))
                    .col(string_null("country"))
                    .col(string_null("plan"))
                    .col(string_null("signup_date"))
                    .col(text("attributes").default("{}"))
                    .col(boolean("consent_personalization"))
                    .col(boolean("consent_analytics"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("erased_at"))
                    .foreign_key(&mut tenant_fk("end_users"))
                    .to_owned(),
            )
            .await?;
        index(manager, "end_users_external_id", "end_users", &["tenant_id", "external_id"], true).await?;
        for col in ["age_band", "gender", "country", "plan"] {
            index(manager, &format!("end_users_{col}"), "end_users", &["tenant_id", col, "id"], false).await?;
        }
        rls::protect_tenant_table(manager, "end_users").await?;

        manager
            .create_table(
                Table::create()
                    .table("interactions")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(string("event_id"))
                    .col(big_integer("user_id"))
                    .col(big_integer("item_id"))
                    .col(string("event_type"))
                    .col(double_null("value"))
                    .col(big_integer("occurred_at"))
                    .col(big_integer("received_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("interactions", "user_id")
                            .to("end_users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("interactions", "item_id")
                            .to("content_items", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(&mut tenant_fk("interactions"))
                    .to_owned(),
            )
            .await?;
        index(manager, "interactions_event_id", "interactions", &["tenant_id", "event_id"], true).await?;
        index(manager, "interactions_user", "interactions", &["tenant_id", "user_id", "occurred_at", "id"], false)
            .await?;
        index(manager, "interactions_item", "interactions", &["tenant_id", "item_id"], false).await?;
        index(manager, "interactions_occurred_at", "interactions", &["tenant_id", "occurred_at"], false).await?;
        rls::protect_tenant_table(manager, "interactions").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["interactions", "end_users", "content_tags", "content_genres", "content_items"] {
            manager.drop_table(Table::drop().table(table.to_owned()).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
