//! Model files in the database (`models.store = "database"`, the default on
//! PostgreSQL): one `model_artifacts` row per file (name, size, SHA-256) and its bytes
//! in `model_artifact_chunks` of at most [`CHUNK_BYTES`]. Tenant transactions, so
//! row-level security binds these rows as it binds every tenant table; a tenant's
//! deletion cascades to them.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use tenants::{Db, TenantCtx};

use super::{ModelStore, check_path, sha256_hex, verified};
use crate::error::{DomainError, Result};

/// Chunks stay small: PostgreSQL reads and writes a `bytea` value whole, and a
/// statement's parameters are held in memory at once.
const CHUNK_BYTES: usize = 1 << 20;

mod file {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "model_artifacts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub artifact_key: String,
        pub file_name: String,
        pub size: i64,
        pub sha256: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

mod chunk {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "model_artifact_chunks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub artifact_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub chunk_index: i32,
        pub tenant_id: i64,
        pub bytes: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub struct DatabaseStore {
    db: Db,
}

impl DatabaseStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// Removes the files (and their chunks) of `key` named in `names`, or all of them.
async fn remove(tx: &tenants::TenantTx, key: &str, names: Option<&[&str]>) -> Result<()> {
    let mut query = file::Entity::find()
        .filter(file::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(file::Column::ArtifactKey.eq(key));
    if let Some(names) = names {
        query = query.filter(file::Column::FileName.is_in(names.iter().copied()));
    }
    let ids: Vec<i64> = query.all(tx.conn()).await?.into_iter().map(|f| f.id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    // Chunks first: SQLite enforces the cascade only when foreign keys are switched on.
    chunk::Entity::delete_many().filter(chunk::Column::ArtifactId.is_in(ids.clone())).exec(tx.conn()).await?;
    file::Entity::delete_many().filter(file::Column::Id.is_in(ids)).exec(tx.conn()).await?;
    Ok(())
}

#[async_trait::async_trait]
impl ModelStore for DatabaseStore {
    async fn put(&self, ctx: &TenantCtx, key: &str, files: Vec<(&'static str, Vec<u8>)>) -> Result<()> {
        let tenant = ctx.tenant_id().get();
        let tx = self.db.begin_write(ctx).await?;
        let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
        for name in &names {
            check_path(key, name)?;
        }
        remove(&tx, key, Some(names.as_slice())).await?;
        for (name, bytes) in files {
            let size = i64::try_from(bytes.len()).map_err(|e| DomainError::internal_from("model file size", e))?;
            let row = file::ActiveModel {
                tenant_id: Set(tenant),
                artifact_key: Set(key.to_owned()),
                file_name: Set(name.to_owned()),
                size: Set(size),
                sha256: Set(sha256_hex(&bytes)),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(tx.conn())
            .await?;
            for (index, part) in bytes.chunks(CHUNK_BYTES).enumerate() {
                let index = i32::try_from(index).map_err(|e| DomainError::internal_from("model file chunks", e))?;
                chunk::ActiveModel {
                    artifact_id: Set(row.id),
                    chunk_index: Set(index),
                    tenant_id: Set(tenant),
                    bytes: Set(part.to_vec()),
                }
                .insert(tx.conn())
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get(&self, ctx: &TenantCtx, key: &str, name: &str) -> Result<Vec<u8>> {
        let tx = self.db.begin(ctx).await?;
        let found = file::Entity::find()
            .filter(file::Column::TenantId.eq(ctx.tenant_id().get()))
            .filter(file::Column::ArtifactKey.eq(key))
            .filter(file::Column::FileName.eq(name))
            .one(tx.conn())
            .await?
            .ok_or_else(|| DomainError::internal(format!("model file {key}/{name} is not stored")))?;
        let chunks = chunk::Entity::find()
            .filter(chunk::Column::ArtifactId.eq(found.id))
            .order_by_asc(chunk::Column::ChunkIndex)
            .all(tx.conn())
            .await?;
        tx.commit().await?;
        let mut bytes = Vec::with_capacity(usize::try_from(found.size).unwrap_or(0));
        for (expected, part) in chunks.into_iter().enumerate() {
            // A missing chunk would shift the rest: the checksum would refuse it too,
            // but this names the cause.
            if usize::try_from(part.chunk_index).ok() != Some(expected) {
                return Err(DomainError::ModelCorrupt(format!("the model file {name} misses a part")));
            }
            bytes.extend_from_slice(&part.bytes);
        }
        verified(key, name, bytes, &found.sha256)
    }

    async fn delete(&self, ctx: &TenantCtx, key: &str) -> Result<()> {
        let tx = self.db.begin_write(ctx).await?;
        remove(&tx, key, None).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn check(&self) -> Result<()> {
        Ok(self.db.ping().await?)
    }
}
