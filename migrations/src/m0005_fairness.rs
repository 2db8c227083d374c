//! Fairness reports: computed once on a model's evaluation split and kept, so a tenant
//! can show a regulator the report as it was.

use sea_orm_migration::{prelude::*, schema::*};

use crate::rls;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("fairness_reports")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(string_uniq("public_id"))
                    .col(big_integer("model_id"))
                    .col(string("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(text("input"))
                    .col(text("report"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("fairness_reports", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("fairness_reports", "model_id")
                            .to("models", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("fairness_reports_tenant")
                    .table("fairness_reports")
                    .col("tenant_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, "fairness_reports").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("fairness_reports").if_exists().to_owned()).await
    }
}
