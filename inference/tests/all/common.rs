//! Shared fixtures: MovieLens 100K when present, ONNX Runtime when installed, and small
//! synthetic data.

use std::path::Path;
use std::sync::OnceLock;

use inference::InferenceError;
use inference::eval::{Split, SplitRule, split_per_user};
use inference::matrix::Interactions;
use inference::movielens::{MovieLens, shared_dataset_dir};
use inference::rng::SplitMix64;
use inference::runtime::{OrtRuntime, locate_dylib};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// This crate's folder as cargo names it when it runs the tests; the folder baked in at
/// compile time only when run by hand (a shared build cache may hold a binary built in
/// another checkout).
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf(), std::path::PathBuf::from)
}

/// The ml-100k training/test split (seed 42), or `None` (with a message) when the
/// dataset is absent outside CI. Under CI=true its absence fails the test.
pub fn ml100k_split() -> Option<&'static Split> {
    static SPLIT: OnceLock<Option<Split>> = OnceLock::new();
    SPLIT
        .get_or_init(|| {
            let dir = shared_dataset_dir(&manifest_dir(), "ml-100k");
            if !dir.join("u.data").is_file() {
                assert!(!in_ci(), "CI=true but MovieLens 100K is missing at {}", dir.display());
                eprintln!(
                    "SKIPPED: MovieLens 100K not found at {} (never committed: research-only licence)",
                    dir.display()
                );
                return None;
            }
            let ml = MovieLens::load(&dir).expect("ml-100k loads");
            let data = ml.all_as_interactions().unwrap();
            Some(split_per_user(&data, 42, SplitRule::default()).unwrap())
        })
        .as_ref()
}

/// ONNX Runtime, or `None` (with a message) when the library is not installed outside
/// CI. Under CI=true its absence fails the test.
pub fn runtime() -> Option<&'static OrtRuntime> {
    let path = locate_dylib();
    match OrtRuntime::init(&path) {
        Ok(rt) => Some(rt),
        Err(e @ InferenceError::RuntimeLibraryMissing { .. }) if !in_ci() => {
            eprintln!("SKIPPED: {e}");
            None
        }
        Err(e) => panic!("ONNX Runtime unavailable: {e}"),
    }
}

/// Users with latent tastes: each user likes items of one of `groups` item groups, plus
/// a little noise, so models have structure to find.
pub fn synthetic(n_users: usize, n_items: usize, groups: usize, per_user: usize, seed: u64) -> Interactions {
    let mut rng = SplitMix64::new(seed);
    let mut t = Vec::new();
    for u in 0..n_users {
        let g = u % groups;
        for _ in 0..per_user {
            let item = if rng.below(10) < 8 {
                let in_group = n_items / groups;
                g * in_group + rng.below(in_group)
            } else {
                rng.below(n_items)
            };
            t.push((u as u32, item as u32, 1.0 + rng.below(3) as f32));
        }
    }
    Interactions::from_triplets(n_users, n_items, &t).unwrap()
}

/// One user's history as `(item, weight)` pairs.
pub fn history(m: &Interactions, user: u32) -> Vec<(u32, f32)> {
    m.row(user).unwrap().iter().collect()
}

/// Held by tests that measure this process's resident memory and by tests that allocate
/// hundreds of megabytes, so the first never see the second's allocations (the tests of
/// this binary run on parallel threads of one process).
pub fn resident_memory_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
