//! Where model files live. One trait, three stores: local disk (the SQLite default:
//! one process, one disk), the database itself (the PostgreSQL default: every replica
//! reads what any replica wrote, and backups hold the models with the data) and
//! S3-compatible object storage (`models.store = "s3"`). docs/operations.md, "Model
//! files".
//!
//! Every store keeps a SHA-256 of each file beside it and checks it on every read: a
//! file that does not match is refused with `MODEL_CORRUPT`, never served.

mod disk;
mod database;
mod s3;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tenants::{Db, TenantCtx};

use crate::error::{DomainError, Result};

pub use disk::LocalDiskStore;
pub use s3::S3Settings;

/// The files of one model, all under one key (`<tenant>/<uuid>`, made by this crate).
#[async_trait::async_trait]
pub trait ModelStore: Send + Sync {
    /// Writes these files of the key, replacing files of the same names (others stay).
    /// The database store writes them in one transaction.
    async fn put(&self, ctx: &TenantCtx, key: &str, files: Vec<(&'static str, Vec<u8>)>) -> Result<()>;
    /// One file, its checksum verified.
    async fn get(&self, ctx: &TenantCtx, key: &str, name: &str) -> Result<Vec<u8>>;
    /// Removes every file of the key; removing what is already gone succeeds.
    async fn delete(&self, ctx: &TenantCtx, key: &str) -> Result<()>;
    /// Readiness: the store can be reached.
    async fn check(&self) -> Result<()>;
}

/// Which store `models.store` chose.
#[derive(Debug, Clone)]
pub enum StoreChoice {
    Disk(std::path::PathBuf),
    Database,
    S3(S3Settings),
}

/// Opens the configured store.
pub fn open(choice: &StoreChoice, db: &Db) -> Result<Arc<dyn ModelStore>> {
    Ok(match choice {
        StoreChoice::Disk(dir) => Arc::new(LocalDiskStore::new(dir)),
        StoreChoice::Database => Arc::new(database::DatabaseStore::new(db.clone())),
        StoreChoice::S3(settings) => Arc::new(s3::S3Store::new(settings)?),
    })
}

/// The hex SHA-256 every store keeps beside a file.
pub(crate) use crate::durable_file::sha256_hex;

/// Refuses a file whose bytes do not match the checksum stored with it.
pub(crate) fn verified(key: &str, name: &str, bytes: Vec<u8>, expected: &str) -> Result<Vec<u8>> {
    let actual = sha256_hex(&bytes);
    if actual != expected {
        tracing::error!(key, name, expected, actual, "a model file does not match its checksum");
        return Err(DomainError::ModelCorrupt(format!(
            "the model file {name} does not match its checksum; the model is not served (deploy or train another)"
        )));
    }
    Ok(bytes)
}

pub const ONNX_FILE: &str = "model.onnx";
pub const META_FILE: &str = "meta.json";
pub const USER_FACTORS_FILE: &str = "user_factors.f32";
/// ALS: a digest of each trained person's history, in the user-factor file's row order
/// (see `history_digest`).
pub const HISTORY_DIGESTS_FILE: &str = "history_digests.bin";
/// The evaluation split's per-user detail ([`super::training::EvaluationDetail`]), with
/// user and item indices into `meta.json`'s `eval_user_ids` and `item_ids`.
pub const EVALUATION_FILE: &str = "evaluation.json";

/// What serving needs beside the ONNX graph: how model indices map to the tenant's ids.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArtifactMeta {
    pub algorithm: super::types::Algorithm,
    pub item_ids: Vec<String>,
    /// Users with trained vectors (ALS), in row order of the user-factor file.
    pub user_ids: Vec<String>,
    /// Every user of the training snapshot, in index order (the evaluation file's user
    /// indices point here).
    #[serde(default)]
    pub eval_user_ids: Vec<String>,
    pub factors: usize,
    pub als: Option<inference::als::AlsParams>,
    /// Whether [`HISTORY_DIGESTS_FILE`] exists (models trained before it did not have one).
    #[serde(default)]
    pub history_digests: bool,
    pub trained_at: chrono::DateTime<chrono::Utc>,
}

pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn f32_values(bytes: &[u8]) -> Result<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return Err(DomainError::internal("corrupt factor file"));
    }
    Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// Keys and names are made by this crate, but a path (on disk or in a bucket) must
/// never escape its root.
pub(crate) fn check_path(key: &str, name: &str) -> Result<()> {
    let safe = |s: &str| {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) && !s.contains("..")
    };
    if !safe(key) || !safe(name) || name.contains('/') {
        return Err(DomainError::internal(format!("unsafe artifact path {key:?}/{name:?}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_refuse_changed_bytes() -> Result<()> {
        let sum = sha256_hex(b"bytes");
        assert_eq!(sum.len(), 64);
        assert_eq!(verified("1/k", "model.onnx", b"bytes".to_vec(), &sum)?, b"bytes");
        let refused = verified("1/k", "model.onnx", b"bytez".to_vec(), &sum);
        assert!(matches!(refused, Err(DomainError::ModelCorrupt(_))));
        assert_eq!(f32_values(&f32_bytes(&[1.5, -2.0]))?, vec![1.5, -2.0]);
        assert!(check_path("../etc", "x").is_err());
        assert!(check_path("1/abc", "../../x").is_err());
        Ok(())
    }
}
