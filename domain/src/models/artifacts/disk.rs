//! Model files on local disk: `<root>/<key>/<name>`, each with its checksum in
//! `.<name>.sha256` beside it. Files written before checksums were kept have none and
//! are read as they are.

use std::path::{Path, PathBuf};

use tenants::TenantCtx;

use super::{ModelStore, check_path, sha256_hex, verified};
use crate::error::{DomainError, Result};

pub struct LocalDiskStore {
    root: PathBuf,
}

impl LocalDiskStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str, name: &str) -> Result<PathBuf> {
        check_path(key, name)?;
        Ok(self.root.join(key).join(name))
    }

    fn put_file(&self, key: &str, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(key, name)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        }
        // The checksum first: a crash between the two leaves a stale checksum, which
        // refuses the file, rather than an unchecked new file.
        write_replacing(&checksum_path(&path), sha256_hex(bytes).as_bytes())?;
        write_replacing(&path, bytes)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(dir, e))?;
        }
        Ok(())
    }

    fn get_file(&self, key: &str, name: &str) -> Result<Vec<u8>> {
        let path = self.path(key, name)?;
        let bytes = std::fs::read(&path).map_err(|e| io_error(&path, e))?;
        match std::fs::read_to_string(checksum_path(&path)) {
            Ok(expected) => verified(key, name, bytes, expected.trim()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(bytes),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    fn delete_key(&self, key: &str) -> Result<()> {
        let dir = self.path(key, super::ONNX_FILE)?.parent().map(Path::to_path_buf).unwrap_or_default();
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(&dir, e)),
            _ => Ok(()),
        }
    }
}

/// Disk I/O blocks: it runs off the executor.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| DomainError::internal_from("model store thread", e))?
}

#[async_trait::async_trait]
impl ModelStore for LocalDiskStore {
    async fn put(&self, _ctx: &TenantCtx, key: &str, files: Vec<(&'static str, Vec<u8>)>) -> Result<()> {
        let store = Self { root: self.root.clone() };
        let key = key.to_owned();
        blocking(move || files.iter().try_for_each(|(name, bytes)| store.put_file(&key, name, bytes))).await
    }

    async fn get(&self, _ctx: &TenantCtx, key: &str, name: &str) -> Result<Vec<u8>> {
        let store = Self { root: self.root.clone() };
        let (key, name) = (key.to_owned(), name.to_owned());
        blocking(move || store.get_file(&key, &name)).await
    }

    async fn delete(&self, _ctx: &TenantCtx, key: &str) -> Result<()> {
        let store = Self { root: self.root.clone() };
        let key = key.to_owned();
        blocking(move || store.delete_key(&key)).await
    }

    async fn check(&self) -> Result<()> {
        let root = self.root.clone();
        blocking(move || std::fs::create_dir_all(&root).map_err(|e| io_error(&root, e))).await
    }
}

fn checksum_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.sha256"))
}

fn write_replacing(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::durable_file::write_replacing(path, bytes).map_err(|e| io_error(path, e))
}

fn io_error(path: &Path, e: std::io::Error) -> DomainError {
    DomainError::internal_from(format!("model store {}", path.display()), e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> TenantCtx {
        TenantCtx::operator(tenants::TenantId::from_db(1), tenants::RequestId::new())
    }

    #[tokio::test]
    async fn disk_store_round_trips_checks_and_refuses_escapes() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("mq-store-{}", uuid::Uuid::new_v4().simple()));
        let store = LocalDiskStore::new(&dir);
        let ctx = ctx();
        store.put(&ctx, "1/abc", vec![("model.onnx", b"bytes".to_vec())]).await?;
        assert_eq!(store.get(&ctx, "1/abc", "model.onnx").await?, b"bytes");
        assert!(store.put(&ctx, "../etc", vec![("x", Vec::new())]).await.is_err());
        assert!(store.get(&ctx, "1/abc", "../../x").await.is_err());
        // A changed byte on disk is refused; a file without a checksum (older) is read.
        std::fs::write(dir.join("1/abc/model.onnx"), b"bytez").map_err(|e| io_error(&dir, e))?;
        assert!(matches!(store.get(&ctx, "1/abc", "model.onnx").await, Err(DomainError::ModelCorrupt(_))));
        std::fs::remove_file(dir.join("1/abc/.model.onnx.sha256")).map_err(|e| io_error(&dir, e))?;
        assert_eq!(store.get(&ctx, "1/abc", "model.onnx").await?, b"bytez");
        store.delete(&ctx, "1/abc").await?;
        assert!(store.get(&ctx, "1/abc", "model.onnx").await.is_err());
        store.delete(&ctx, "1/abc").await?;
        std::fs::remove_dir_all(dir).ok();
        Ok(())
    }
}
