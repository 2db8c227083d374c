//! Receipts of end-user erasures: proof that a person's data was removed, when, at whose
//! request and what it touched. The person appears only by keyed pseudonym.

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
                    .table("erasure_receipts")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(string_uniq("public_id"))
                    // The end user's audit pseudonym, so the receipt joins their audit events.
                    .col(string_len("subject", 64))
                    .col(timestamp_with_time_zone("erased_at"))
                    .col(string("requested_by"))
                    .col(string("request_id"))
                    .col(big_integer("interactions_deleted"))
                    // JSON arrays of model ids.
                    .col(text("models_scrubbed"))
                    .col(text("models_to_retrain"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("erasure_receipts", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("erasure_receipts_tenant_subject")
                    .table("erasure_receipts")
                    .col("tenant_id")
                    .col("subject")
                    .unique()
                    .to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, "erasure_receipts").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("erasure_receipts").if_exists().to_owned()).await
    }
}
