//! The model registry: trained or uploaded models, training jobs, deployments.

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
                    .table("models")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(string_uniq("public_id"))
                    .col(integer("version"))
                    .col(string("algorithm"))
                    .col(string("status"))
                    .col(double("progress").default(0.0))
                    .col(text("parameters"))
                    .col(text_null("tuning"))
                    .col(text_null("data_snapshot"))
                    .col(text_null("metrics"))
                    .col(string_null("artifact_key"))
                    .col(text_null("error"))
                    .col(boolean("needs_retraining").default(false))
                    .col(string("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("models", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("models_tenant_version")
                    .table("models")
                    .col("tenant_id")
                    .col("version")
                    .unique()
                    .to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, "models").await?;

        manager
            .create_table(
                Table::create()
                    .table("jobs")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(string_uniq("public_id"))
                    .col(string("kind"))
                    .col(big_integer_null("model_id"))
                    .col(string("status"))
                    .col(double("progress").default(0.0))
                    .col(text_null("error"))
                    .col(boolean("cancel_requested").default(false))
                    .col(string("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("started_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("jobs", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("jobs_tenant").table("jobs").col("tenant_id").col("id").to_owned())
            .await?;
        manager.create_index(Index::create().name("jobs_status").table("jobs").col("status").to_owned()).await?;
        rls::protect_tenant_table(manager, "jobs").await?;

        manager
            .create_table(
                Table::create()
                    .table("deployments")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(big_integer("model_id"))
                    .col(string("action"))
                    .col(string("deployed_by"))
                    .col(timestamp_with_time_zone("deployed_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("deployments", "model_id")
                            .to("models", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("deployments_tenant").table("deployments").col("tenant_id").col("id").to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, "deployments").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["deployments", "jobs", "models"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
