//! Keyword search over the catalog through a real full-text index (issue #13): title,
//! description, genres and tags. SQLite keeps an FTS5 index over `content_items` as its
//! external content, maintained by triggers in the writing transaction; PostgreSQL keeps
//! a generated `tsvector` column with a GIN index. Both weigh the title above the
//! description above the labels. Soft-deleted items stay indexed: queries join the live
//! rows, and upserting the id again brings the item back without re-indexing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The index is the item's own columns, so FTS5 stores no second copy of the text.
const SQLITE_UP: &str = "
CREATE VIRTUAL TABLE content_search USING fts5(
    title, description, genres, tags,
    content = 'content_items', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO content_search (rowid, title, description, genres, tags)
    SELECT id, title, coalesce(description, ''), genres, tags FROM content_items;
CREATE TRIGGER content_search_insert AFTER INSERT ON content_items BEGIN
    INSERT INTO content_search (rowid, title, description, genres, tags)
        VALUES (NEW.id, NEW.title, coalesce(NEW.description, ''), NEW.genres, NEW.tags);
END;
CREATE TRIGGER content_search_delete AFTER DELETE ON content_items BEGIN
    INSERT INTO content_search (content_search, rowid, title, description, genres, tags)
        VALUES ('delete', OLD.id, OLD.title, coalesce(OLD.description, ''), OLD.genres, OLD.tags);
END;
CREATE TRIGGER content_search_update AFTER UPDATE OF title, description, genres, tags ON content_items BEGIN
    INSERT INTO content_search (content_search, rowid, title, description, genres, tags)
        VALUES ('delete', OLD.id, OLD.title, coalesce(OLD.description, ''), OLD.genres, OLD.tags);
    INSERT INTO content_search (rowid, title, description, genres, tags)
        VALUES (NEW.id, NEW.title, coalesce(NEW.description, ''), NEW.genres, NEW.tags);
END;
";

const SQLITE_DOWN: &str = "
DROP TRIGGER IF EXISTS content_search_update;
DROP TRIGGER IF EXISTS content_search_delete;
DROP TRIGGER IF EXISTS content_search_insert;
DROP TABLE IF EXISTS content_search;
";

/// `english` stems as FTS5's porter tokenizer does. Genres and tags are JSON text: the
/// parser reads their words and skips the punctuation.
const POSTGRES_UP: &str = "
ALTER TABLE content_items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', coalesce(title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(description, '')), 'B')
    || setweight(to_tsvector('english', genres || ' ' || tags), 'C')
) STORED;
CREATE INDEX content_items_search ON content_items USING GIN (search_vector);
";

const POSTGRES_DOWN: &str = "
DROP INDEX IF EXISTS content_items_search;
ALTER TABLE content_items DROP COLUMN IF EXISTS search_vector;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_UP,
            _ => SQLITE_UP,
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
        Ok(())
    }
}
