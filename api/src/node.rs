//! This machine's node id: which training jobs a starting server may declare dead.
//!
//! A job lives in the memory of the process that queued it. The id is kept in the data
//! directory, so a restart of the same server (a new instance) recognises the jobs its
//! predecessor left behind, while servers with other data directories, and CLI
//! processes, keep theirs. Replicas must not share a data directory's `node_id`; leases
//! that let several replicas share and take over jobs belong to the scale-out work.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};

const FILE: &str = "node_id";

/// Which kind of process owns the jobs it queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// `marquee serve`: fails its node's earlier instances' jobs at start.
    Server,
    /// Every other command: owns the jobs it runs (`marquee train`), fails none, and
    /// its jobs are never failed by a server starting beside it.
    Cli,
}

/// The node id for a process of this kind, created in `data_dir` on first use.
pub fn node_id(data_dir: &Path, process: Process) -> anyhow::Result<String> {
    let id = stored_node_id(data_dir)?;
    Ok(match process {
        Process::Server => id,
        Process::Cli => format!("{id}/cli"),
    })
}

fn stored_node_id(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join(FILE);
    if !path.exists() {
        create(data_dir, &path)?;
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let id = text.trim();
    // Replacing a damaged id would orphan the jobs of the old one: refuse instead.
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "{} does not hold a node id; restore it or delete it (running jobs of this node then stay unfinished)",
            path.display()
        );
    }
    Ok(id.to_owned())
}

/// Writes the id to a private temporary file and links it into place, so concurrent
/// first starts agree on one id and nobody reads a half-written file.
fn create(data_dir: &Path, path: &Path) -> anyhow::Result<()> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let tmp = data_dir.join(format!(".{FILE}.{id}"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut f| f.write_all(id.as_bytes()).and_then(|()| f.sync_all()));
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_created_once_privately_and_kept() {
        let dir = std::env::temp_dir().join(format!("marquee-node-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = node_id(&dir, Process::Server).unwrap();
        assert_eq!(node_id(&dir, Process::Server).unwrap(), first);
        assert_eq!(node_id(&dir, Process::Cli).unwrap(), format!("{first}/cli"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.join(FILE), "garbage").unwrap();
        assert!(node_id(&dir, Process::Server).is_err(), "a damaged id is refused, not replaced");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
