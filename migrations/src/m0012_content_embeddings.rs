//! Embeddings of the catalog (issue #13) and the queue that produces them.
//!
//! `content_embeddings` holds one vector per item: the text model's version
//! (`model_key`), its dimension, the vector as little-endian `f32` bytes, and a hash of
//! the text it was computed from. Rows go with their item: a hard delete cascades, a
//! soft delete removes them in the same statement (trigger below).
//!
//! `content_embedding_queue` is what is still to embed: one row per item, written by a
//! trigger in the very transaction that inserts an item or changes its title,
//! description, genres or tags (or brings a deleted one back), so the queue survives a
//! restart and no write path can forget it. Workers claim rows with a lease
//! (`lease_owner`, `lease_until`, `attempts`: the column names and semantics of the jobs
//! queue); a later change of the item resets its row, so a worker that embedded the old
//! text does not delete the new work.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::rls;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn item_fk(table: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table.to_owned(), "item_id")
        .to("content_items", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn tenant_fk(table: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table.to_owned(), "tenant_id")
        .to("tenants", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

const SQLITE_TRIGGERS: &str = "
CREATE TRIGGER content_embedding_enqueue_insert AFTER INSERT ON content_items
WHEN NEW.deleted_at IS NULL BEGIN
    INSERT INTO content_embedding_queue (item_id, tenant_id, enqueued_at, attempts)
        VALUES (NEW.id, NEW.tenant_id, CURRENT_TIMESTAMP, 0)
        ON CONFLICT (item_id) DO UPDATE SET enqueued_at = excluded.enqueued_at, attempts = 0,
            lease_owner = NULL, lease_until = NULL, last_error = NULL;
END;
CREATE TRIGGER content_embedding_enqueue_update AFTER UPDATE ON content_items
WHEN NEW.deleted_at IS NULL AND (OLD.deleted_at IS NOT NULL OR OLD.title IS NOT NEW.title
    OR OLD.description IS NOT NEW.description OR OLD.genres IS NOT NEW.genres OR OLD.tags IS NOT NEW.tags) BEGIN
    INSERT INTO content_embedding_queue (item_id, tenant_id, enqueued_at, attempts)
        VALUES (NEW.id, NEW.tenant_id, CURRENT_TIMESTAMP, 0)
        ON CONFLICT (item_id) DO UPDATE SET enqueued_at = excluded.enqueued_at, attempts = 0,
            lease_owner = NULL, lease_until = NULL, last_error = NULL;
END;
CREATE TRIGGER content_embedding_drop AFTER UPDATE OF deleted_at ON content_items
WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL BEGIN
    DELETE FROM content_embeddings WHERE item_id = NEW.id;
    DELETE FROM content_embedding_queue WHERE item_id = NEW.id;
END;
";

const SQLITE_DOWN: &str = "
DROP TRIGGER IF EXISTS content_embedding_drop;
DROP TRIGGER IF EXISTS content_embedding_enqueue_update;
DROP TRIGGER IF EXISTS content_embedding_enqueue_insert;
";

/// Runs as the writing role (security invoker), so row-level security checks the queue
/// row against the transaction's tenant like any other write.
const POSTGRES_TRIGGERS: &str = "
CREATE FUNCTION content_embedding_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted_at IS NOT NULL THEN
        IF TG_OP = 'UPDATE' AND OLD.deleted_at IS NULL THEN
            DELETE FROM content_embeddings WHERE item_id = NEW.id;
            DELETE FROM content_embedding_queue WHERE item_id = NEW.id;
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' OR OLD.deleted_at IS NOT NULL OR OLD.title IS DISTINCT FROM NEW.title
        OR OLD.description IS DISTINCT FROM NEW.description OR OLD.genres IS DISTINCT FROM NEW.genres
        OR OLD.tags IS DISTINCT FROM NEW.tags THEN
        INSERT INTO content_embedding_queue (item_id, tenant_id, enqueued_at, attempts)
            VALUES (NEW.id, NEW.tenant_id, now(), 0)
            ON CONFLICT (item_id) DO UPDATE SET enqueued_at = EXCLUDED.enqueued_at, attempts = 0,
                lease_owner = NULL, lease_until = NULL, last_error = NULL;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER content_items_embedding AFTER INSERT OR UPDATE ON content_items
    FOR EACH ROW EXECUTE FUNCTION content_embedding_follow();
";

const POSTGRES_DOWN: &str = "
DROP TRIGGER IF EXISTS content_items_embedding ON content_items;
DROP FUNCTION IF EXISTS content_embedding_follow();
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let embeddings = "content_embeddings";
        manager
            .create_table(
                Table::create()
                    .table(embeddings)
                    .col(big_integer("item_id").primary_key())
                    .col(big_integer("tenant_id"))
                    .col(string("model_key"))
                    .col(integer("dims"))
                    .col(binary("vector"))
                    .col(string("source_hash"))
                    .col(timestamp_with_time_zone("embedded_at"))
                    .foreign_key(&mut item_fk(embeddings))
                    .foreign_key(&mut tenant_fk(embeddings))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("content_embeddings_tenant_model")
                    .table(embeddings)
                    .col("tenant_id")
                    .col("model_key")
                    .to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, embeddings).await?;

        let queue = "content_embedding_queue";
        manager
            .create_table(
                Table::create()
                    .table(queue)
                    .col(big_integer("item_id").primary_key())
                    .col(big_integer("tenant_id"))
                    .col(timestamp_with_time_zone("enqueued_at"))
                    .col(string_null("lease_owner"))
                    .col(timestamp_with_time_zone_null("lease_until"))
                    .col(integer("attempts").default(0))
                    .col(text_null("last_error"))
                    .foreign_key(&mut item_fk(queue))
                    .foreign_key(&mut tenant_fk(queue))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("content_embedding_queue_tenant")
                    .table(queue)
                    .col("tenant_id")
                    .col("attempts")
                    .to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, queue).await?;

        let sql = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_TRIGGERS,
            _ => SQLITE_TRIGGERS,
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_DOWN,
            _ => SQLITE_DOWN,
        };
        manager.get_connection().execute_unprepared(sql).await?;
        for table in ["content_embedding_queue", "content_embeddings"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
