//! The handle's API: commits, reads, reopen, bad input, locking, write-path selection.

mod common;

use std::collections::BTreeMap;

use aether_account_storage::{
    AccountStorage, BlockCommit, CommittedBlock, MAX_VALUE_BYTES, StorageError, WritePath,
    WritePathPreference,
};
use aether_types::Hash;
use common::{BOTH_PATHS, apply, fast_tempdir, key, live, root_of, test_options};

fn commit(
    store: &AccountStorage,
    model: &mut BTreeMap<Hash, Vec<u8>>,
    slot: u64,
    writes: &[(Hash, Option<Vec<u8>>)],
) {
    apply(model, writes);
    store
        .commit_block(BlockCommit {
            slot,
            block_hash: Hash::digest(&slot.to_le_bytes()),
            state_root: root_of(model),
            writes,
        })
        .unwrap();
}

#[test]
fn commits_are_visible_and_survive_reopen_on_both_paths() {
    for path in BOTH_PATHS {
        let dir = fast_tempdir();
        let mut model = BTreeMap::new();
        {
            let (store, report) = AccountStorage::open(dir.path(), test_options(path)).unwrap();
            assert_eq!(report.last_committed, None);
            assert_eq!(store.get(&key(1)).unwrap(), None);
            for slot in 1..=40u64 {
                let writes: Vec<_> = (0..5)
                    .map(|i| {
                        let index = (slot * 3 + i) % 17;
                        let write = (index % 5 != 0 || slot % 2 == 0)
                            .then(|| vec![slot as u8; (index * 40) as usize]);
                        (key(index), write)
                    })
                    .collect();
                commit(&store, &mut model, slot, &writes);
                for index in 0..17 {
                    assert_eq!(
                        store.get(&key(index)).unwrap().as_ref(),
                        model.get(&key(index))
                    );
                }
            }
            assert_eq!(live(&store), model);
            assert!(store.stats().segment_count > 1, "small segments roll over");
            store.check_invariants();
        }
        let (store, report) = AccountStorage::open(dir.path(), test_options(path)).unwrap();
        assert_eq!(report.last_committed.map(|block| block.slot), Some(40));
        assert!(report.state_root_verified);
        assert_eq!(report.torn_tail, None);
        assert_eq!(report.live_keys, model.len());
        assert_eq!(live(&store), model);
        assert_eq!(store.last_committed().unwrap().state_root, root_of(&model));
        store.check_invariants();
    }
}

/// The benchmark's operation at full size (10,000 keys in one block), as a smoke test.
#[test]
fn a_ten_thousand_key_block_round_trips_on_both_paths() {
    for path in BOTH_PATHS {
        let dir = fast_tempdir();
        let mut model = BTreeMap::new();
        let writes: Vec<_> = (0..10_000)
            .map(|index| (key(index), Some(vec![index as u8; 100])))
            .collect();
        {
            let (store, _) = AccountStorage::open(dir.path(), test_options(path)).unwrap();
            commit(&store, &mut model, 1, &writes);
            assert_eq!(
                store.get(&key(9_999)).unwrap(),
                Some(vec![9_999u64 as u8; 100])
            );
        }
        let (store, report) = AccountStorage::open(dir.path(), test_options(path)).unwrap();
        assert!(report.state_root_verified);
        assert_eq!(report.live_keys, 10_000);
        assert_eq!(live(&store), model);
    }
}

/// `index_keys_reserved` gives the index its room at open, fresh or recovered, and
/// changes no answer; without it the index holds only about what it needs.
#[test]
fn the_index_has_its_reserved_room_from_open() {
    const RESERVED: usize = 50_000;
    let dir = fast_tempdir();
    let mut model = BTreeMap::new();
    let reserved = || {
        let mut options = test_options(WritePathPreference::Auto);
        options.index_keys_reserved = RESERVED;
        options
    };
    let writes: Vec<_> = (0..3_000)
        .map(|index| (key(index), Some(vec![index as u8; 20])))
        .collect();
    {
        let (store, _) = AccountStorage::open(dir.path(), reserved()).unwrap();
        assert!(store.stats().index_capacity_keys >= RESERVED);
        commit(&store, &mut model, 1, &writes);
        assert!(store.stats().index_capacity_keys >= RESERVED);
    }
    let (store, report) = AccountStorage::open(dir.path(), reserved()).unwrap();
    assert_eq!(report.live_keys, 3_000);
    assert!(store.stats().index_capacity_keys >= RESERVED);
    assert_eq!(live(&store), model);
    store.check_invariants();
    drop(store);
    let (store, _) =
        AccountStorage::open(dir.path(), test_options(WritePathPreference::Auto)).unwrap();
    let capacity = store.stats().index_capacity_keys;
    assert!((3_000..RESERVED).contains(&capacity), "{capacity}");
    assert_eq!(live(&store), model);
}

#[test]
fn bad_blocks_are_refused_and_change_nothing() {
    let dir = fast_tempdir();
    let (store, _) =
        AccountStorage::open(dir.path(), test_options(WritePathPreference::Auto)).unwrap();
    let mut model = BTreeMap::new();
    commit(&store, &mut model, 5, &[(key(1), Some(b"one".to_vec()))]);
    fn block(slot: u64, writes: &[(Hash, Option<Vec<u8>>)]) -> BlockCommit<'_> {
        BlockCommit {
            slot,
            block_hash: Hash::ZERO,
            state_root: Hash::ZERO,
            writes,
        }
    }
    let error = store
        .commit_block(block(5, &[(key(2), Some(vec![1]))]))
        .unwrap_err();
    assert!(
        matches!(error, StorageError::SlotNotIncreasing { slot: 5, last: 5 }),
        "{error}"
    );
    let error = store.commit_block(block(4, &[])).unwrap_err();
    assert!(
        matches!(error, StorageError::SlotNotIncreasing { .. }),
        "{error}"
    );
    let huge = vec![(key(3), Some(vec![0u8; MAX_VALUE_BYTES + 1]))];
    let error = store.commit_block(block(6, &huge)).unwrap_err();
    assert!(
        matches!(error, StorageError::ValueTooLarge { len, .. } if len == MAX_VALUE_BYTES + 1),
        "{error}"
    );
    assert_eq!(store.last_committed().unwrap().slot, 5);
    assert_eq!(live(&store), model);
    // The largest value is accepted, and an empty block is a block.
    commit(
        &store,
        &mut model,
        6,
        &[(key(3), Some(vec![7u8; MAX_VALUE_BYTES]))],
    );
    commit(&store, &mut model, 9, &[]);
    assert_eq!(
        store.get(&key(3)).unwrap().map(|value| value.len()),
        Some(MAX_VALUE_BYTES)
    );
    assert_eq!(store.last_committed().unwrap().slot, 9);
}

#[test]
fn a_key_written_twice_in_a_block_takes_its_last_write() {
    let dir = fast_tempdir();
    let mut model = BTreeMap::new();
    {
        let (store, _) =
            AccountStorage::open(dir.path(), test_options(WritePathPreference::Auto)).unwrap();
        let writes = vec![
            (key(1), Some(b"a".to_vec())),
            (key(1), None),
            (key(2), None),
            (key(2), Some(b"b".to_vec())),
        ];
        commit(&store, &mut model, 1, &writes);
        assert_eq!(store.get(&key(1)).unwrap(), None);
        assert_eq!(store.get(&key(2)).unwrap(), Some(b"b".to_vec()));
    }
    let (store, _) =
        AccountStorage::open(dir.path(), test_options(WritePathPreference::Auto)).unwrap();
    assert_eq!(live(&store), model);
}

#[test]
fn a_second_handle_on_the_same_directory_is_refused() {
    let dir = fast_tempdir();
    let (_store, _) =
        AccountStorage::open(dir.path(), test_options(WritePathPreference::Auto)).unwrap();
    let error =
        AccountStorage::open(dir.path(), test_options(WritePathPreference::Auto)).unwrap_err();
    assert!(
        matches!(&error, StorageError::Locked { path } if path.ends_with("LOCK")),
        "{error}"
    );
}

#[test]
fn iter_live_is_sorted_and_a_snapshot() {
    let dir = fast_tempdir();
    let (store, _) =
        AccountStorage::open(dir.path(), test_options(WritePathPreference::Auto)).unwrap();
    let mut model = BTreeMap::new();
    let writes: Vec<_> = (0..50)
        .map(|index| (key(index), Some(vec![index as u8; 10])))
        .collect();
    commit(&store, &mut model, 1, &writes);
    let iterator = store.iter_live();
    commit(
        &store,
        &mut model,
        2,
        &[(key(0), None), (key(100), Some(vec![1]))],
    );
    let snapshot: Vec<Hash> = iterator.map(|item| item.unwrap().0).collect();
    assert_eq!(snapshot.len(), 50);
    assert!(snapshot.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(live(&store), model);
}

/// io_uring is allowed on this project's machines (BUILD-NOTES); on a machine where it is
/// not, set AETHER_ALLOW_NO_IO_URING=1 to turn this assertion into a notice.
#[test]
fn write_path_is_detected_and_reported() {
    let dir = fast_tempdir();
    let (store, report) =
        AccountStorage::open(dir.path(), test_options(WritePathPreference::Auto)).unwrap();
    eprintln!(
        "write path selected on this machine: {:?}",
        report.write_path
    );
    assert_eq!(store.stats().write_path, report.write_path);
    if cfg!(target_os = "linux") && std::env::var_os("AETHER_ALLOW_NO_IO_URING").is_none() {
        assert_eq!(report.write_path, WritePath::IoUring);
        drop(store);
        let (store, report) =
            AccountStorage::open(dir.path(), test_options(WritePathPreference::IoUring)).unwrap();
        assert_eq!(report.write_path, WritePath::IoUring);
        drop(store);
    } else {
        drop(store);
    }
    let (store, report) =
        AccountStorage::open(dir.path(), test_options(WritePathPreference::Positioned)).unwrap();
    assert_eq!(report.write_path, WritePath::Positioned);
    assert_eq!(store.stats().write_path, WritePath::Positioned);
}

#[test]
fn invalid_options_are_refused_before_touching_the_directory() {
    let dir = fast_tempdir();
    let target = dir.path().join("store");
    let mut options = test_options(WritePathPreference::Auto);
    options.segment_bytes_target = 10;
    let error = AccountStorage::open(&target, options).unwrap_err();
    assert!(
        matches!(error, StorageError::InvalidOptions { .. }),
        "{error}"
    );
    assert!(!target.exists());
}

#[test]
fn an_imported_state_reads_back_survives_reopen_and_continues_with_blocks() {
    for write_path in BOTH_PATHS {
        let directory = fast_tempdir();
        let mut model = BTreeMap::new();
        for index in 0..5000u64 {
            model.insert(key(index), vec![index as u8; 1 + (index % 40) as usize]);
        }
        let imported_block = CommittedBlock {
            slot: 77,
            block_hash: Hash::digest(b"snapshot block"),
            state_root: root_of(&model),
        };
        {
            let (store, _) =
                AccountStorage::open(directory.path(), test_options(write_path)).unwrap();
            let written = store
                .import_state(
                    imported_block,
                    model.iter().map(|(key, value)| (*key, value.clone())),
                )
                .unwrap();
            assert_eq!(written, 5000);
            assert_eq!(store.last_committed(), Some(imported_block));
            assert_eq!(live(&store), model);
            // A second import is refused and changes nothing.
            assert!(matches!(
                store.import_state(imported_block, [(key(1), vec![9])]),
                Err(StorageError::ImportIntoNonEmpty { .. })
            ));
            assert_eq!(live(&store), model);
        }
        let (store, report) =
            AccountStorage::open(directory.path(), test_options(write_path)).unwrap();
        assert_eq!(report.last_committed, Some(imported_block));
        assert_eq!(live(&store), model);
        commit(
            &store,
            &mut model,
            78,
            &[(key(3), None), (key(9000), Some(vec![1, 2, 3]))],
        );
        drop(store);
        let (store, _) = AccountStorage::open(directory.path(), test_options(write_path)).unwrap();
        assert_eq!(live(&store), model);
        assert_eq!(store.last_committed().unwrap().slot, 78);
    }
}

#[test]
fn importing_an_empty_state_still_records_its_block() {
    let directory = fast_tempdir();
    let block = CommittedBlock {
        slot: 5,
        block_hash: Hash([5; 32]),
        state_root: root_of(&BTreeMap::new()),
    };
    {
        let (store, _) =
            AccountStorage::open(directory.path(), test_options(BOTH_PATHS[0])).unwrap();
        assert_eq!(store.import_state(block, std::iter::empty()).unwrap(), 0);
    }
    let (store, _) = AccountStorage::open(directory.path(), test_options(BOTH_PATHS[0])).unwrap();
    assert_eq!(store.last_committed(), Some(block));
    assert!(store.is_empty());
}

/// A block whose values are borrowed slices stores exactly what the same block with owned
/// values stores, and a borrowed value over the limit is refused the same way.
#[test]
fn borrowed_values_commit_like_owned_ones() {
    let owned_dir = fast_tempdir();
    let borrowed_dir = fast_tempdir();
    let path = BOTH_PATHS[0];
    let (owned, _) = AccountStorage::open(owned_dir.path(), test_options(path)).unwrap();
    let (borrowed, _) = AccountStorage::open(borrowed_dir.path(), test_options(path)).unwrap();
    let mut model = BTreeMap::new();
    for slot in 1..=12u64 {
        let writes: Vec<(Hash, Option<Vec<u8>>)> = (0..6)
            .map(|i| {
                let index = (slot * 5 + i) % 11;
                (
                    key(index),
                    (index % 4 != 0).then(|| vec![(slot + i) as u8; 3 + index as usize * 9]),
                )
            })
            .collect();
        let lent: Vec<(Hash, Option<&[u8]>)> = writes
            .iter()
            .map(|(key, value)| (*key, value.as_deref()))
            .collect();
        commit(&owned, &mut model, slot, &writes);
        borrowed
            .commit_block(BlockCommit {
                slot,
                block_hash: Hash::digest(&slot.to_le_bytes()),
                state_root: root_of(&model),
                writes: &lent,
            })
            .unwrap();
        assert_eq!(live(&borrowed), live(&owned));
    }
    assert_eq!(live(&borrowed), model);
    assert_eq!(borrowed.last_committed(), owned.last_committed());
    let oversize = vec![0u8; MAX_VALUE_BYTES + 1];
    let refused = borrowed.commit_block(BlockCommit {
        slot: 13,
        block_hash: Hash::digest(b"13"),
        state_root: Hash::ZERO,
        writes: &[(key(1), Some(oversize.as_slice()))],
    });
    assert!(
        matches!(refused, Err(StorageError::ValueTooLarge { .. })),
        "{refused:?}"
    );
    assert_eq!(live(&borrowed), model, "a refused block changes nothing");
}

#[test]
fn warming_keys_changes_no_read() {
    let dir = fast_tempdir();
    let (store, _) = AccountStorage::open(dir.path(), test_options(BOTH_PATHS[0])).unwrap();
    let mut model = BTreeMap::new();
    let writes: Vec<_> = (0..300)
        .map(|index| (key(index), Some(vec![index as u8; 1 + index as usize % 50])))
        .collect();
    commit(&store, &mut model, 1, &writes);
    let deletes: Vec<_> = (0..100).map(|index| (key(index * 3), None)).collect();
    commit(&store, &mut model, 2, &deletes);
    // Live, deleted and never-written keys, some twice.
    let keys: Vec<Hash> = (0..400).chain(0..10).map(key).collect();
    store.warm(&keys);
    store.warm(&[]);
    for index in 0..400 {
        assert_eq!(
            store.get(&key(index)).unwrap(),
            model.get(&key(index)).cloned()
        );
    }
    assert_eq!(live(&store), model);
}
