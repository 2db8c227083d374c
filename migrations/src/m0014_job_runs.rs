//! One row per run of a job: who claimed it, when, and how the run ended (`outcome`
//! stays empty while it runs, and for ever when its process died). A job taken over
//! after its holder died has two runs; a job that ran once has one.

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
                    .table("job_runs")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(big_integer("job_id"))
                    .col(integer("attempt"))
                    .col(string("worker"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .col(string_null("outcome"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("job_runs", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("job_runs", "job_id")
                            .to("jobs", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("job_runs_job").table("job_runs").col("tenant_id").col("job_id").to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, "job_runs").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("job_runs").to_owned()).await
    }
}
