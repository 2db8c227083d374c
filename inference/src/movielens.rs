//! Reader for MovieLens rating files, used by tests and benchmarks.
//!
//! MovieLens is under a research-only licence and is never part of the repository; it is
//! read from `shared/datasets` beside the repository when present.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{InferenceError, Result};
use crate::matrix::Interactions;

/// One rating with dense indices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rating {
    /// Dense user index (raw ids in ascending order).
    pub user: u32,
    /// Dense item index (raw ids in ascending order).
    pub item: u32,
    /// The star rating.
    pub rating: f32,
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
}

/// A loaded rating file.
#[derive(Debug, Clone)]
pub struct MovieLens {
    /// Distinct users.
    pub n_users: usize,
    /// Distinct rated items.
    pub n_items: usize,
    /// All ratings, in file order.
    pub ratings: Vec<Rating>,
}

impl MovieLens {
    /// Loads `u.data` (ml-100k, tab separated) or `ratings.dat` (ml-1m, `::` separated)
    /// from `dir`, re-indexing users and items densely in ascending raw-id order.
    pub fn load(dir: &Path) -> Result<Self> {
        let (path, sep) = [("u.data", "\t"), ("ratings.dat", "::")]
            .iter()
            .map(|(name, sep)| (dir.join(name), *sep))
            .find(|(p, _)| p.exists())
            .ok_or_else(|| InferenceError::Io {
                path: dir.join("u.data"),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no u.data or ratings.dat"),
            })?;
        let bytes = std::fs::read(&path).map_err(|source| InferenceError::Io { path: path.clone(), source })?;
        // The files are Latin-1; only ASCII digits matter here.
        let text = String::from_utf8_lossy(&bytes);
        let mut raw = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let bad =
                |reason: &str| InferenceError::Parse { path: path.clone(), line: n + 1, reason: reason.to_string() };
            let mut parts = line.split(sep);
            let mut field = |name: &str| parts.next().ok_or_else(|| bad(&format!("missing {name}")));
            let user: u64 = field("user")?.trim().parse().map_err(|_| bad("bad user id"))?;
            let item: u64 = field("item")?.trim().parse().map_err(|_| bad("bad item id"))?;
            let rating: f32 = field("rating")?.trim().parse().map_err(|_| bad("bad rating"))?;
            let timestamp: i64 = field("timestamp")?.trim().parse().map_err(|_| bad("bad timestamp"))?;
            raw.push((user, item, rating, timestamp));
        }
        let users = dense_ids(raw.iter().map(|r| r.0));
        let items = dense_ids(raw.iter().map(|r| r.1));
        let ratings = raw
            .iter()
            .map(|&(u, i, rating, timestamp)| Rating { user: users[&u], item: items[&i], rating, timestamp })
            .collect();
        Ok(Self { n_users: users.len(), n_items: items.len(), ratings })
    }

    /// Every rating as one implicit interaction of weight 1 (the protocol's `all` variant).
    pub fn all_as_interactions(&self) -> Result<Interactions> {
        let t: Vec<(u32, u32, f32)> = self.ratings.iter().map(|r| (r.user, r.item, 1.0)).collect();
        Interactions::from_triplets(self.n_users, self.n_items, &t)
    }
}

fn dense_ids(ids: impl Iterator<Item = u64>) -> BTreeMap<u64, u32> {
    let mut map: BTreeMap<u64, u32> = ids.map(|id| (id, 0)).collect();
    for (n, v) in map.values_mut().enumerate() {
        *v = n as u32;
    }
    map
}

/// `<repo>/../shared/datasets/<name>`, where the workplace keeps datasets that must not be
/// committed. `manifest_dir` is a crate's `CARGO_MANIFEST_DIR`.
pub fn shared_dataset_dir(manifest_dir: &Path, name: &str) -> PathBuf {
    manifest_dir.join("..").join("..").join("shared").join("datasets").join(name)
}
