//! Where model files live: a small storage trait, local disk by default (object storage
//! can implement the same three calls when the service is scaled out).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Result};

pub trait ModelStore: Send + Sync {
    fn put(&self, key: &str, name: &str, bytes: &[u8]) -> Result<()>;
    fn get(&self, key: &str, name: &str) -> Result<Vec<u8>>;
    /// Removes every file of the key; removing what is already gone succeeds.
    fn delete(&self, key: &str) -> Result<()>;
    /// Readiness: the store can be written.
    fn check(&self) -> Result<()>;
}

pub struct LocalDiskStore {
    root: PathBuf,
}

impl LocalDiskStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str, name: &str) -> Result<PathBuf> {
        // Keys and names are made by this crate, but a path must never escape the root.
        let safe = |s: &str| {
            !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) && !s.contains("..")
        };
        if !safe(key) || !safe(name) || name.contains('/') {
            return Err(DomainError::internal(format!("unsafe artifact path {key:?}/{name:?}")));
        }
        Ok(self.root.join(key).join(name))
    }
}

impl ModelStore for LocalDiskStore {
    fn put(&self, key: &str, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(key, name)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        }
        // Write then rename, so a reader never sees half a file. The temporary name is
        // unique: two writers of one file (two processes scrubbing the same model) must
        // never write into each other's temporary file. The data reaches the disk before
        // the rename, and the rename before the call returns, so a scrub reported done
        // survives a crash.
        let tmp = path.with_file_name(format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple()));
        let written = write_synced(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            std::fs::remove_file(&tmp).ok();
            return Err(io_error(&path, e));
        }
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(dir, e))?;
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<()> {
        let dir = self.path(key, ONNX_FILE)?.parent().map(Path::to_path_buf).unwrap_or_default();
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(&dir, e)),
            _ => Ok(()),
        }
    }

    fn get(&self, key: &str, name: &str) -> Result<Vec<u8>> {
        let path = self.path(key, name)?;
        std::fs::read(&path).map_err(|e| io_error(&path, e))
    }

    fn check(&self) -> Result<()> {
        std::fs::create_dir_all(&self.root).map_err(|e| io_error(&self.root, e))
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn io_error(path: &Path, e: std::io::Error) -> DomainError {
    DomainError::internal_from(format!("model store {}", path.display()), e)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_store_round_trips_and_refuses_escapes() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("mq-store-{}", uuid::Uuid::new_v4().simple()));
        let store = LocalDiskStore::new(&dir);
        store.put("1/abc", "model.onnx", b"bytes")?;
        assert_eq!(store.get("1/abc", "model.onnx")?, b"bytes");
        assert!(store.put("../etc", "x", b"").is_err());
        assert!(store.get("1/abc", "../../x").is_err());
        store.delete("1/abc")?;
        assert!(store.get("1/abc", "model.onnx").is_err());
        store.delete("1/abc")?;
        assert_eq!(f32_values(&f32_bytes(&[1.5, -2.0]))?, vec![1.5, -2.0]);
        std::fs::remove_dir_all(dir).ok();
        Ok(())
    }
}
