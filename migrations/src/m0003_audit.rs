//! The tamper-evident audit log: events chained by hash per tenant, the head of each
//! tenant's chain (the lock that serialises appends), and signed checkpoints.
//!
//! The database itself keeps the log append-only, in two layers:
//! - the application role `marquee_app` has no UPDATE, DELETE or TRUNCATE privilege on
//!   `audit_events` and `audit_checkpoints`, so no bug or injection in the service can
//!   change history;
//! - triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) for every role,
//!   including the owner, unless the session says `marquee.audit_maintenance = 'on'`.
//!   The service never sets it (and, lacking the privileges, could do nothing with it);
//!   it exists for the owner's deliberate maintenance and for the tamper tests. On
//!   SQLite, where there are no roles or session settings, the triggers refuse always:
//!   whoever holds the file can drop them, which is what the hash chain is for.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::rls::{self, APP_ROLE};

#[derive(DeriveMigrationName)]
pub struct Migration;

const APPEND_ONLY: [&str; 2] = ["audit_events", "audit_checkpoints"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("audit_events")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(big_integer("seq"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(string("principal"))
                    .col(string("action"))
                    // Empty when the event has no target; end users by keyed pseudonym only.
                    .col(string("target_kind"))
                    .col(string("target"))
                    .col(string("request_id"))
                    .col(string("outcome"))
                    // Canonical JSON text, hashed as stored (jsonb would reorder it).
                    .col(text("details"))
                    .col(string_len("prev_hash", 64))
                    .col(string_len("hash", 64))
                    .foreign_key(ForeignKey::create().from("audit_events", "tenant_id").to("tenants", "id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_events_tenant_seq")
                    .table("audit_events")
                    .col("tenant_id")
                    .col("seq")
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Export and erasure look events up by their (pseudonymous) target.
        manager.create_index(target_index()).await?;
        rls::protect_tenant_table(manager, "audit_events").await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_heads")
                    .col(big_integer("tenant_id").primary_key().take())
                    .col(big_integer("last_seq"))
                    .col(string_len("last_hash", 64))
                    .foreign_key(ForeignKey::create().from("audit_heads", "tenant_id").to("tenants", "id"))
                    .to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, "audit_heads").await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_checkpoints")
                    .col(big_pk_auto("id"))
                    .col(big_integer("tenant_id"))
                    .col(big_integer("seq"))
                    .col(string_len("hash", 64))
                    .col(timestamp_with_time_zone("signed_at"))
                    // Which key signed it (a fingerprint, not the key).
                    .col(string("key_id"))
                    .col(string_len("signature", 64))
                    .foreign_key(ForeignKey::create().from("audit_checkpoints", "tenant_id").to("tenants", "id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_checkpoints_tenant_seq")
                    .table("audit_checkpoints")
                    .col("tenant_id")
                    .col("seq")
                    .unique()
                    .to_owned(),
            )
            .await?;
        rls::protect_tenant_table(manager, "audit_checkpoints").await?;

        for table in APPEND_ONLY {
            make_append_only(manager, table).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["audit_checkpoints", "audit_heads", "audit_events"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared("DROP FUNCTION IF EXISTS marquee_audit_append_only()").await?;
        }
        Ok(())
    }
}

async fn make_append_only(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let sql = match manager.get_database_backend() {
        DbBackend::Postgres => format!(
            "REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {APP_ROLE};
             {}
             CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                 FOR EACH ROW EXECUTE FUNCTION marquee_audit_append_only();
             CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                 FOR EACH STATEMENT EXECUTE FUNCTION marquee_audit_append_only();",
            append_only_function("")
        ),
        _ => format!(
            "CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
                 BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
             CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
                 BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
        ),
    };
    manager.get_connection().execute_unprepared(&sql).await?;
    Ok(())
}

/// The index on every event's target (replaced by partial ones in m0016).
pub(crate) fn target_index() -> IndexCreateStatement {
    Index::create().name("audit_events_tenant_target").table("audit_events").col("tenant_id").col("target").to_owned()
}

/// The PostgreSQL trigger function behind every append-only audit table: it refuses
/// UPDATE, DELETE and TRUNCATE unless the session set the owner's maintenance switch, or
/// `exception` (PL/pgSQL that may `RETURN OLD`; m0017 lets archived events go) allows it.
pub(crate) fn append_only_function(exception: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION marquee_audit_append_only() RETURNS trigger
         LANGUAGE plpgsql AS $$
         BEGIN
             IF current_setting('marquee.audit_maintenance', true) = 'on' THEN
                 IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                 RETURN NEW;
             END IF;
             {exception}
             RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                 USING ERRCODE = 'insufficient_privilege';
         END $$;"
    )
}
