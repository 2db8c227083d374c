//! Archival of sealed audit segments (issue #15). A segment, the events from the end of
//! the previous archive up to a signed checkpoint, is written to a file with that
//! checkpoint; `audit_archives` records it (range, the hashes it chains from and to,
//! where the file is and its SHA-256), and then its events leave `audit_events`.
//!
//! The log stays append-only for everyone but a dedicated role, and even that role can
//! remove only what an archive already holds:
//! - PostgreSQL: `marquee_archiver` (NOLOGIN; the service switches to it with `SET LOCAL
//!   ROLE` for the archiving transaction, so its login role must be a member of it) alone
//!   has DELETE on `audit_events` and INSERT on `audit_archives`; `marquee_app` keeps
//!   neither. The append-only trigger lets that role's DELETE through only for events at
//!   or below the tenant's archived end.
//! - SQLite has no roles: the DELETE trigger refuses any event above the tenant's
//!   archived end, for everyone.
//!
//! `audit_archives` is itself append-only, like the other audit tables.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::m0003_audit::append_only_function;
use crate::rls::{self, APP_ROLE};

#[derive(DeriveMigrationName)]
pub struct Migration;

pub const ARCHIVER_ROLE: &str = "marquee_archiver";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = "audit_archives";
        manager
            .create_table(
                Table::create()
                    .table(table)
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(big_integer("from_seq"))
                    .col(big_integer("to_seq"))
                    // The hash of the event before `from_seq` (zeros for the first segment).
                    .col(string_len("prev_hash", 64))
                    .col(string_len("last_hash", 64))
                    .col(big_integer("checkpoint_seq"))
                    // Where the file is, relative to `audit.archive_dir`.
                    .col(string("location"))
                    .col(string_len("sha256", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(ForeignKey::create().from(table, "tenant_id").to("tenants", "id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_archives_tenant_from")
                    .table(table)
                    .col("tenant_id")
                    .col("from_seq")
                    .unique()
                    .to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, table).await?;
        let sql = match manager.get_database_backend() {
            DbBackend::Postgres => postgres_guards(),
            _ => sqlite_guards(),
        };
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                conn.execute_unprepared(&format!(
                    "REVOKE ALL ON audit_events FROM {ARCHIVER_ROLE};
                     {}",
                    append_only_function("")
                ))
                .await?;
            }
            _ => {
                conn.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS audit_events_no_delete;
                     CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
                         BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END;"
                ))
                .await?;
            }
        }
        manager.drop_table(Table::drop().table("audit_archives").if_exists().to_owned()).await
    }
}

const REFUSAL: &str = "the audit log is append-only";

fn postgres_guards() -> String {
    format!(
        "DO $$ BEGIN
            CREATE ROLE {ARCHIVER_ROLE} NOLOGIN;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
         END $$;
         GRANT USAGE ON SCHEMA public TO {ARCHIVER_ROLE};
         REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_archives FROM {APP_ROLE};
         GRANT SELECT, INSERT ON audit_archives TO {ARCHIVER_ROLE};
         GRANT USAGE, SELECT ON SEQUENCE audit_archives_id_seq TO {ARCHIVER_ROLE};
         GRANT SELECT, DELETE ON audit_events TO {ARCHIVER_ROLE};
         {}
         CREATE TRIGGER audit_archives_append_only BEFORE UPDATE OR DELETE ON audit_archives
             FOR EACH ROW EXECUTE FUNCTION marquee_audit_append_only();
         CREATE TRIGGER audit_archives_no_truncate BEFORE TRUNCATE ON audit_archives
             FOR EACH STATEMENT EXECUTE FUNCTION marquee_audit_append_only();",
        append_only_function(&format!(
            // Archival: only the archiver, only what an archive already holds.
            "IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_events' AND current_user = '{ARCHIVER_ROLE}'
                AND OLD.seq <= COALESCE((SELECT max(a.to_seq) FROM audit_archives a
                                         WHERE a.tenant_id = OLD.tenant_id), 0) THEN
                 RETURN OLD;
             END IF;"
        ))
    )
}

fn sqlite_guards() -> String {
    format!(
        "DROP TRIGGER audit_events_no_delete;
         CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
             WHEN OLD.seq > COALESCE((SELECT max(a.to_seq) FROM audit_archives a
                                      WHERE a.tenant_id = OLD.tenant_id), 0)
             BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END;
         CREATE TRIGGER audit_archives_no_update BEFORE UPDATE ON audit_archives
             BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END;
         CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives
             BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END;"
    )
}
