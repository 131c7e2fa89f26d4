//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use aether_account_storage::{AccountStorage, CompactionOptions, OpenOptions, WritePathPreference};
use aether_types::Hash;

/// Both write paths: io_uring where available (Auto), and the forced fallback.
pub const BOTH_PATHS: [WritePathPreference; 2] =
    [WritePathPreference::Auto, WritePathPreference::Positioned];

/// The state root the tests use: BLAKE3 over `key ‖ BLAKE3(value)` in key order. (The
/// real Merkle root comes from the commitment crate.)
pub fn test_root(live: &mut dyn Iterator<Item = (Hash, Vec<u8>)>) -> Hash {
    let mut hasher = blake3::Hasher::new();
    for (key, value) in live {
        hasher.update(key.as_bytes());
        hasher.update(blake3::hash(&value).as_bytes());
    }
    Hash(*hasher.finalize().as_bytes())
}

/// [`test_root`] of a model.
pub fn root_of(model: &BTreeMap<Hash, Vec<u8>>) -> Hash {
    test_root(&mut model.iter().map(|(key, value)| (*key, value.clone())))
}

/// Key number `index`.
pub fn key(index: u64) -> Hash {
    Hash::digest(&index.to_le_bytes())
}

/// Small segments, manual compaction, root verified at open.
pub fn test_options(write_path: WritePathPreference) -> OpenOptions {
    OpenOptions {
        write_path,
        segment_bytes_target: 4096,
        compaction: CompactionOptions {
            background: false,
            reclaimable_percent_min: 30,
            batch_bytes: 4096,
            ..CompactionOptions::default()
        },
        state_root: Some(Arc::new(test_root)),
        index_keys_reserved: 0,
    }
}

/// Every live pair, via `iter_live`.
pub fn live(store: &AccountStorage) -> BTreeMap<Hash, Vec<u8>> {
    store
        .iter_live()
        .map(|item| item.expect("readable"))
        .collect()
}

/// A temporary directory in memory where available (the model tests exercise logic, not
/// the disk; the crash test uses the real disk).
pub fn fast_tempdir() -> tempfile::TempDir {
    if Path::new("/dev/shm").is_dir()
        && let Ok(dir) = tempfile::tempdir_in("/dev/shm")
    {
        return dir;
    }
    tempfile::tempdir().expect("temporary directory")
}

/// Applies writes to a model.
pub fn apply(model: &mut BTreeMap<Hash, Vec<u8>>, writes: &[(Hash, Option<Vec<u8>>)]) {
    for (key, write) in writes {
        match write {
            Some(value) => model.insert(*key, value.clone()),
            None => model.remove(key),
        };
    }
}

/// splitmix64: a tiny deterministic generator for test data.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}
