//! Files that must be whole or absent after a crash (model files, audit archives), and
//! the checksum they are recorded with. Below every feature: the model store and the
//! audit log's archival both write through it.

use std::path::Path;

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Write then rename, so a reader never sees half a file. The temporary name is unique:
/// two writers of one file (two processes scrubbing the same model) must never write
/// into each other's temporary file. The data reaches the disk before the rename, so a
/// write reported done survives a crash.
pub(crate) fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple()));
    let written = write_synced(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        std::fs::remove_file(&tmp).ok();
    }
    written
}

/// Creates `path`'s folder when needed, writes it whole, and makes the rename durable.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_replacing(path, bytes)?;
    match path.parent() {
        Some(dir) => std::fs::File::open(dir).and_then(|d| d.sync_all()),
        None => Ok(()),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
