//! Model files in the database (issue #14), so every replica reads the same ones: the
//! `database` model store. `model_artifacts` has one row per file of a model (its
//! artifact key, the file's name, size and SHA-256); `model_artifact_chunks` holds the
//! bytes in chunks of at most 1 MiB, so no single value grows with the model and a
//! file is read chunk by chunk. Both go with their tenant; chunks go with their file.

use sea_orm_migration::{prelude::*, schema::*};

use crate::rls;

#[derive(DeriveMigrationName)]
pub struct Migration;

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
        let files = "model_artifacts";
        manager
            .create_table(
                Table::create()
                    .table(files)
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(string("artifact_key"))
                    .col(string("file_name"))
                    .col(big_integer("size"))
                    .col(string("sha256"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut tenant_fk(files))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("model_artifacts_file")
                    .table(files)
                    .col("tenant_id")
                    .col("artifact_key")
                    .col("file_name")
                    .unique()
                    .to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, files).await?;

        let chunks = "model_artifact_chunks";
        manager
            .create_table(
                Table::create()
                    .table(chunks)
                    .col(big_integer("artifact_id"))
                    .col(big_integer("tenant_id"))
                    .col(integer("chunk_index"))
                    .col(binary("bytes"))
                    .primary_key(Index::create().col("artifact_id").col("chunk_index"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(chunks, "artifact_id")
                            .to(files, "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(&mut tenant_fk(chunks))
                    .to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, chunks).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["model_artifact_chunks", "model_artifacts"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
