//! Compaction: correct values under concurrent readers, space reclaimed, tombstones never
//! resurrect a deleted key.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aether_account_storage::{AccountStorage, BlockCommit, WritePathPreference};
use aether_types::Hash;
use common::{BOTH_PATHS, SplitMix, apply, fast_tempdir, key, live, root_of, test_options};

const KEYS: u64 = 64;

/// A value that names its key and version, so a reader can tell a wrong or torn value.
fn versioned_value(index: u64, version: u64) -> Vec<u8> {
    let mut value = Vec::new();
    value.extend_from_slice(&index.to_le_bytes());
    value.extend_from_slice(&version.to_le_bytes());
    let filler = blake3::hash(&value);
    let len = 100 + (index * 7 + version * 13) % 300;
    while value.len() < len as usize {
        value.extend_from_slice(filler.as_bytes());
    }
    value.truncate(len as usize);
    value
}

/// The version in a value, after checking that it is exactly the value of that version.
fn version_of(index: u64, value: &[u8]) -> u64 {
    assert!(value.len() >= 16, "short value for key {index}");
    let found_index = u64::from_le_bytes(value[0..8].try_into().unwrap());
    let version = u64::from_le_bytes(value[8..16].try_into().unwrap());
    assert_eq!(found_index, index, "value of another key");
    assert_eq!(
        value,
        versioned_value(index, version).as_slice(),
        "damaged value"
    );
    version
}

fn segment_files_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("segment-"))
        .map(|entry| entry.metadata().unwrap().len())
        .sum()
}

#[test]
fn readers_see_correct_values_while_background_compaction_runs() {
    for path in BOTH_PATHS {
        let dir = fast_tempdir();
        let mut options = test_options(path);
        options.compaction.background = true;
        options.compaction.interval = Duration::from_millis(1);
        let (store, _) = AccountStorage::open(dir.path(), options).unwrap();
        let mut model = BTreeMap::new();
        let initial: Vec<_> = (0..KEYS)
            .map(|index| (key(index), Some(versioned_value(index, 0))))
            .collect();
        apply(&mut model, &initial);
        store
            .commit_block(BlockCommit {
                slot: 0,
                block_hash: Hash::ZERO,
                state_root: root_of(&model),
                writes: &initial,
            })
            .unwrap();
        let done = AtomicBool::new(false);
        let reads = AtomicU64::new(0);
        let mut written = 0u64;
        std::thread::scope(|scope| {
            for reader in 0..3u64 {
                let (store, done, reads) = (&store, &done, &reads);
                scope.spawn(move || {
                    let mut seen = vec![0u64; KEYS as usize];
                    let mut rng = SplitMix(reader);
                    while !done.load(Ordering::Relaxed) {
                        let index = rng.below(KEYS);
                        let value = store
                            .get(&key(index))
                            .unwrap()
                            .expect("keys are never deleted");
                        let version = version_of(index, &value);
                        assert!(
                            version >= seen[index as usize],
                            "key {index} went back in time"
                        );
                        seen[index as usize] = version;
                        reads.fetch_add(1, Ordering::Relaxed);
                        if rng.below(500) == 0 {
                            let count = store
                                .iter_live()
                                .collect::<Result<Vec<_>, _>>()
                                .unwrap()
                                .len();
                            assert_eq!(count, KEYS as usize);
                        }
                    }
                });
            }
            let mut rng = SplitMix(99);
            for slot in 1..=300u64 {
                let writes: Vec<_> = (0..8)
                    .map(|_| {
                        let index = rng.below(KEYS);
                        (key(index), Some(versioned_value(index, slot)))
                    })
                    .collect();
                written += writes
                    .iter()
                    .map(|(_, value)| value.as_ref().unwrap().len() as u64 + 48)
                    .sum::<u64>();
                apply(&mut model, &writes);
                let block = BlockCommit {
                    slot,
                    block_hash: Hash::ZERO,
                    state_root: root_of(&model),
                    writes: &writes,
                };
                store.commit_block(block).unwrap();
            }
            // Let the readers overlap a few more passes.
            std::thread::sleep(Duration::from_millis(50));
            done.store(true, Ordering::Relaxed);
        });
        store.compact().unwrap();
        let stats = store.stats();
        assert_eq!(live(&store), model);
        assert_eq!(stats.compaction_errors, 0);
        assert!(stats.segments_deleted >= 5, "{stats:?}");
        assert!(reads.load(Ordering::Relaxed) > 1000);
        // Sealed segments are at least 30% live after a pass, so the files are bounded by
        // about live / 0.3 plus the active segment, far below what was written.
        let on_disk = segment_files_bytes(dir.path());
        assert!(
            on_disk < written / 4,
            "{on_disk} bytes on disk after writing {written}: {stats:?}"
        );
        assert!(
            on_disk <= stats.live_bytes * 10 / 3 + 2 * 4096 + 4096,
            "{on_disk} vs {stats:?}"
        );
        store.check_invariants();
        drop(store);
        let (store, report) = AccountStorage::open(dir.path(), test_options(path)).unwrap();
        assert!(report.state_root_verified);
        assert_eq!(live(&store), model);
    }
}

/// Segment 1 keeps a put of K (it is mostly live, so it is not compacted); a later
/// segment holds K's tombstone and is compacted. The tombstone must survive the copy, or
/// K would come back at the next open.
#[test]
fn a_tombstone_outlives_the_puts_it_hides() {
    let dir = fast_tempdir();
    let options = test_options(WritePathPreference::Auto);
    let victim = key(1_000_000);
    let mut model = BTreeMap::new();
    let mut slot = 0;
    let mut commit = |store: &AccountStorage,
                      model: &mut BTreeMap<Hash, Vec<u8>>,
                      writes: Vec<(Hash, Option<Vec<u8>>)>| {
        slot += 1;
        apply(model, &writes);
        store
            .commit_block(BlockCommit {
                slot,
                block_hash: Hash::ZERO,
                state_root: root_of(model),
                writes: &writes,
            })
            .unwrap();
    };
    {
        let (store, _) = AccountStorage::open(dir.path(), options.clone()).unwrap();
        let mut first: Vec<_> = (0..40)
            .map(|index| (key(index), Some(vec![index as u8; 100])))
            .collect();
        first.push((victim, Some(b"deleted later".to_vec())));
        commit(&store, &mut model, first);
        commit(
            &store,
            &mut model,
            vec![(victim, None), (key(500), Some(vec![0; 3000]))],
        );
        for round in 0..6u8 {
            commit(
                &store,
                &mut model,
                vec![(key(500), Some(vec![round; 3000]))],
            );
        }
        let summary = store.compact().unwrap();
        assert!(summary.segments_compacted >= 1, "{summary:?}");
        assert!(
            dir.path().join("segment-000001.dat").exists(),
            "segment 1 is mostly live"
        );
        assert!(
            !dir.path().join("segment-000002.dat").exists(),
            "segment 2 was compacted"
        );
        assert_eq!(store.get(&victim).unwrap(), None);
    }
    let (store, report) = AccountStorage::open(dir.path(), options.clone()).unwrap();
    assert!(report.state_root_verified);
    assert_eq!(store.get(&victim).unwrap(), None, "a deleted key came back");
    assert_eq!(live(&store), model);
    // Now make segment 1 mostly dead: once it is compacted away, the tombstone may go too,
    // and the key must still be absent.
    let overwrite: Vec<_> = (0..40).map(|index| (key(index), None)).collect();
    commit(&store, &mut model, overwrite);
    for round in 0..6u8 {
        commit(
            &store,
            &mut model,
            vec![(key(500), Some(vec![round; 3000]))],
        );
    }
    for _ in 0..4 {
        store.compact().unwrap();
    }
    assert!(!dir.path().join("segment-000001.dat").exists());
    drop(store);
    let (store, _) = AccountStorage::open(dir.path(), options).unwrap();
    assert_eq!(store.get(&victim).unwrap(), None);
    assert_eq!(live(&store), model);
}

#[test]
fn an_iterator_keeps_a_compacted_segment_readable() {
    let dir = fast_tempdir();
    let (store, _) =
        AccountStorage::open(dir.path(), test_options(WritePathPreference::Auto)).unwrap();
    let mut model = BTreeMap::new();
    for slot in 1..=30u64 {
        let writes: Vec<_> = (0..6)
            .map(|i| (key((slot + i) % 10), Some(vec![slot as u8; 200])))
            .collect();
        apply(&mut model, &writes);
        store
            .commit_block(BlockCommit {
                slot,
                block_hash: Hash::ZERO,
                state_root: root_of(&model),
                writes: &writes,
            })
            .unwrap();
    }
    let iterator = store.iter_live();
    let summary = store.compact().unwrap();
    assert!(summary.segments_compacted > 0);
    let pending = store.stats().retired_segments_pending;
    assert!(pending > 0, "the iterator holds the retired segments");
    let pairs: BTreeMap<_, _> = iterator.map(|item| item.unwrap()).collect();
    assert_eq!(pairs, model);
    let summary = store.compact().unwrap();
    assert_eq!(summary.segments_deleted as usize, pending);
    assert_eq!(store.stats().retired_segments_pending, 0);
}
