//! A compact encoding of audit events (issue #15: the log was most of the database's
//! growth under load). Events written from now on keep their hash, the hash they chain
//! from and an end user's pseudonym as 32 raw bytes (`hash_bin`, `prev_hash_bin`,
//! `target_bin`) instead of 64 hex characters each, and say so in `encoding` (2). Rows
//! written before keep `encoding` 1 and their hex text: the append-only triggers forbid
//! rewriting them, and they verify as they are. The chain itself is unchanged: it covers
//! the hex form, so checkpoints signed before still verify (docs/audit.md).
//!
//! The index on `(tenant_id, target)` held every event; lookups by target are only for
//! people (export), so old rows keep a partial index on their hex target and new rows a
//! partial one on the first 8 bytes of the raw pseudonym (keyed HMAC output: 64 bits
//! tell people apart; the lookup compares the whole value too), which holds only events
//! about a person.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m0003_audit;

#[derive(DeriveMigrationName)]
pub struct Migration;

const BINARY_COLUMNS: [&str; 3] = ["hash_bin", "prev_hash_bin", "target_bin"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        manager
            .alter_table(
                Table::alter().table("audit_events").add_column(small_integer("encoding").default(1)).to_owned(),
            )
            .await?;
        for column in BINARY_COLUMNS {
            manager
                .alter_table(Table::alter().table("audit_events").add_column(binary_null(column)).to_owned())
                .await?;
        }
        manager.drop_index(Index::drop().name("audit_events_tenant_target").table("audit_events").to_owned()).await?;
        // Partial indexes: the same statement on both databases.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX audit_events_target_v1 ON audit_events (tenant_id, target) WHERE encoding = 1;
                 CREATE INDEX audit_events_target_prefix ON audit_events (substr(target_bin, 1, 8))
                     WHERE target_bin IS NOT NULL;",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in ["audit_events_target_prefix", "audit_events_target_v1"] {
            manager.drop_index(Index::drop().name(index).table("audit_events").to_owned()).await?;
        }
        manager.create_index(m0003_audit::target_index()).await?;
        for column in BINARY_COLUMNS.into_iter().chain(["encoding"]) {
            manager.alter_table(Table::alter().table("audit_events").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
