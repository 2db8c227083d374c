//! Tenants and access: members, API keys, refresh tokens.

use sea_orm_migration::{prelude::*, schema::*};

use crate::rls;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rls::create_app_role(manager).await?;

        manager
            .create_table(
                Table::create()
                    .table("tenants")
                    .col(big_pk_auto("id"))
                    .col(string_uniq("slug"))
                    .col(string("name"))
                    .col(text("settings").default("{}"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        rls::grant_table(manager, "tenants").await?;

        manager
            .create_table(
                Table::create()
                    .table("members")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(string_uniq("public_id"))
                    .col(string("email"))
                    .col(string_null("password_hash"))
                    .col(string("role"))
                    .col(string_null("invite_hash"))
                    .col(timestamp_with_time_zone_null("invite_expires_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("disabled_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("members", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("members_tenant_email")
                    .table("members")
                    .col("tenant_id")
                    .col("email")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("members_invite_hash").table("members").col("invite_hash").to_owned())
            .await?;
        rls::protect_tenant_table(manager, "members").await?;

        manager
            .create_table(
                Table::create()
                    .table("api_keys")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(string_uniq("public_id"))
                    .col(string("name"))
                    .col(string("environment"))
                    .col(string("display_prefix"))
                    .col(string_uniq("secret_hash"))
                    .col(text("scopes"))
                    .col(string("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("api_keys", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("api_keys_tenant").table("api_keys").col("tenant_id").col("id").to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, "api_keys").await?;

        manager
            .create_table(
                Table::create()
                    .table("refresh_tokens")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(big_integer("member_id"))
                    .col(string("family_id"))
                    .col(string_uniq("token_hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("refresh_tokens", "member_id")
                            .to("members", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("refresh_tokens_family")
                    .table("refresh_tokens")
                    .col("tenant_id")
                    .col("family_id")
                    .to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, "refresh_tokens").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["refresh_tokens", "api_keys", "members", "tenants"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
