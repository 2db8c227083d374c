//! PostgreSQL row-level security. A no-op on SQLite, where the service is the only
//! client of its own file.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub const APP_ROLE: &str = "marquee_app";

fn is_postgres(manager: &SchemaManager) -> bool {
    manager.get_database_backend() == DbBackend::Postgres
}

/// Creates the application role (once per cluster; concurrent creators tolerated) and
/// grants it data access to the tables this schema will ever hold.
pub async fn create_app_role(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    if !is_postgres(manager) {
        return Ok(());
    }
    let sql = format!(
        "DO $$ BEGIN
            CREATE ROLE {APP_ROLE} NOLOGIN;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
         END $$;
         GRANT USAGE ON SCHEMA public TO {APP_ROLE};
         ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};
         ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE};"
    );
    manager.get_connection().execute_unprepared(&sql).await?;
    Ok(())
}

/// Turns on (and forces, so the table owner is bound too) row-level security with one
/// policy: a row is visible and writable only when its `tenant_id` equals the
/// transaction's `marquee.tenant_id`, or inside an explicit system transaction.
pub async fn protect_tenant_table(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    if !is_postgres(manager) {
        return Ok(());
    }
    let sql = format!(
        "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
         ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
         CREATE POLICY tenant_isolation ON {table}
            USING (tenant_id = NULLIF(current_setting('marquee.tenant_id', true), '')::bigint
                   OR current_setting('marquee.system', true) = 'on')
            WITH CHECK (tenant_id = NULLIF(current_setting('marquee.tenant_id', true), '')::bigint
                   OR current_setting('marquee.system', true) = 'on');
         GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE};"
    );
    manager.get_connection().execute_unprepared(&sql).await?;
    Ok(())
}

/// Grants the application role access to a table that is not tenant-scoped.
pub async fn grant_table(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    if !is_postgres(manager) {
        return Ok(());
    }
    let sql = format!("GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE};");
    manager.get_connection().execute_unprepared(&sql).await?;
    Ok(())
}
