//! Recovery from torn tails and from damaged files: a clear error naming the file and
//! offset, or a reported cut of an uncommitted tail; never a panic, never a silent
//! partial load.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aether_account_storage::{
    AccountStorage, BlockCommit, HeaderError, OpenOptions, SEGMENT_HEADER_LEN, StorageError,
    WritePathPreference,
};
use aether_types::Hash;
use common::{apply, fast_tempdir, key, live, root_of, test_options};

const COMMIT_RECORD_LEN: u64 = 136;

/// A one-segment store of `blocks` blocks: its segment bytes, the segment length after
/// each block (`lengths[0]` is the empty segment) and the model after each block.
struct Fixture {
    segment: Vec<u8>,
    lengths: Vec<u64>,
    models: Vec<BTreeMap<Hash, Vec<u8>>>,
}

fn options() -> OpenOptions {
    let mut options = test_options(WritePathPreference::Positioned);
    options.segment_bytes_target = 1 << 20;
    options
}

fn segment_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("segment-{id:06}.dat"))
}

/// Overwrites and deletes among 7 keys, plus one key per slot that is never touched again.
fn block_writes(slot: u64) -> Vec<(Hash, Option<Vec<u8>>)> {
    let mut writes: Vec<_> = (0..4)
        .map(|i| {
            let index = (slot * 5 + i) % 7;
            let write = (i != 3).then(|| vec![(slot * 10 + i) as u8; 20 + 30 * i as usize]);
            (key(index), write)
        })
        .collect();
    writes.push((key(1000 + slot), Some(slot.to_le_bytes().to_vec())));
    writes
}

fn commit_blocks(
    store: &AccountStorage,
    model: &mut BTreeMap<Hash, Vec<u8>>,
    slots: std::ops::RangeInclusive<u64>,
) {
    for slot in slots {
        let writes = block_writes(slot);
        apply(model, &writes);
        let block = BlockCommit {
            slot,
            block_hash: Hash::digest(&slot.to_le_bytes()),
            state_root: root_of(model),
            writes: &writes,
        };
        store.commit_block(block).unwrap();
    }
}

fn fixture(blocks: u64) -> Fixture {
    let dir = fast_tempdir();
    let path = segment_path(dir.path(), 1);
    let (store, _) = AccountStorage::open(dir.path(), options()).unwrap();
    let mut model = BTreeMap::new();
    let mut lengths = vec![fs::metadata(&path).unwrap().len()];
    let mut models = vec![model.clone()];
    for slot in 1..=blocks {
        commit_blocks(&store, &mut model, slot..=slot);
        lengths.push(fs::metadata(&path).unwrap().len());
        models.push(model.clone());
    }
    drop(store);
    Fixture {
        segment: fs::read(&path).unwrap(),
        lengths,
        models,
    }
}

/// Opens a fresh store whose only segment holds `bytes`.
fn open_with(
    bytes: &[u8],
) -> (
    tempfile::TempDir,
    Result<(AccountStorage, aether_account_storage::RecoveryReport), StorageError>,
) {
    let dir = fast_tempdir();
    fs::write(segment_path(dir.path(), 1), bytes).unwrap();
    let result = AccountStorage::open(dir.path(), options());
    (dir, result)
}

#[test]
fn a_tail_cut_at_every_byte_of_the_last_group_is_dropped_and_reported() {
    let fixture = fixture(3);
    let (start, end) = (fixture.lengths[2], fixture.lengths[3]);
    for cut in start..=end {
        let (dir, result) = open_with(&fixture.segment[..cut as usize]);
        let (store, report) = result.unwrap_or_else(|error| panic!("cut at {cut}: {error}"));
        let slot = if cut == end { 3 } else { 2 };
        assert_eq!(
            store.last_committed().map(|block| block.slot),
            Some(slot),
            "cut at {cut}"
        );
        assert_eq!(live(&store), fixture.models[slot as usize], "cut at {cut}");
        match report.torn_tail {
            None => assert!(cut == start || cut == end, "cut at {cut} not reported"),
            Some(torn) => {
                assert_eq!((torn.offset, torn.bytes_discarded), (start, cut - start));
                assert_eq!(torn.path, segment_path(dir.path(), 1));
            }
        }
        drop(store);
        let expected_len = if cut == end { end } else { start };
        assert_eq!(
            fs::metadata(segment_path(dir.path(), 1)).unwrap().len(),
            expected_len
        );
    }
}

#[test]
fn garbage_after_the_last_commit_is_a_torn_tail() {
    let fixture = fixture(2);
    let mut rng = common::SplitMix(7);
    for garbage_len in [1usize, 15, 16, 17, 100, 135, 136, 137, 5000] {
        let mut bytes = fixture.segment.clone();
        bytes.extend((0..garbage_len).map(|_| rng.next_u64() as u8));
        let (_dir, result) = open_with(&bytes);
        let (store, report) = result.unwrap();
        assert_eq!(store.last_committed().unwrap().slot, 2);
        assert_eq!(
            report.torn_tail.unwrap().bytes_discarded,
            garbage_len as u64
        );
    }
}

/// Flips one bit at every byte of a three-block segment. Before the last commit record
/// the result must be an error naming the file and an offset at or before the byte; in
/// the last commit record it is indistinguishable from a torn write and must be cut and
/// reported. Never a silent partial load.
#[test]
fn a_bit_flip_anywhere_is_an_error_or_a_reported_torn_tail() {
    let fixture = fixture(3);
    let last_commit = fixture.lengths[3] - COMMIT_RECORD_LEN;
    for byte in 0..fixture.segment.len() {
        let mut bytes = fixture.segment.clone();
        bytes[byte] ^= 0x20;
        let (dir, result) = open_with(&bytes);
        let path = segment_path(dir.path(), 1);
        let byte = byte as u64;
        match result {
            Ok((store, report)) => {
                assert!(byte >= last_commit, "flip at {byte} was loaded silently");
                assert_eq!(store.last_committed().unwrap().slot, 2);
                assert_eq!(live(&store), fixture.models[2]);
                assert_eq!(report.torn_tail.unwrap().offset, fixture.lengths[2]);
            }
            Err(error) => {
                assert!(byte < last_commit, "flip at {byte}: {error}");
                assert!(
                    error.to_string().contains(&path.display().to_string()),
                    "{error}"
                );
                match error {
                    StorageError::CorruptRecord {
                        path: in_error,
                        offset,
                        ..
                    } => {
                        assert_eq!(in_error, path);
                        assert!(
                            offset <= byte && byte - offset < 300,
                            "flip at {byte}, error at {offset}"
                        );
                    }
                    StorageError::BadSegmentHeader { .. }
                    | StorageError::UnsupportedVersion { .. } => {
                        assert!(byte < SEGMENT_HEADER_LEN as u64)
                    }
                    StorageError::Inconsistent { .. } => {
                        assert!((16..24).contains(&byte), "{error}")
                    }
                    other => panic!("flip at {byte}: unexpected {other}"),
                }
            }
        }
    }
}

#[test]
fn damage_in_a_segment_that_is_not_the_last_is_an_error_even_at_its_end() {
    let dir = fast_tempdir();
    let mut options = options();
    options.segment_bytes_target = 4096;
    {
        let (store, _) = AccountStorage::open(dir.path(), options.clone()).unwrap();
        commit_blocks(&store, &mut BTreeMap::new(), 1..=40);
        assert!(store.stats().segment_count >= 3);
    }
    let first = segment_path(dir.path(), 1);
    let mut bytes = fs::read(&first).unwrap();
    let at = bytes.len() - 10; // inside the segment's last commit record
    bytes[at] ^= 1;
    fs::write(&first, &bytes).unwrap();
    let error = AccountStorage::open(dir.path(), options.clone()).unwrap_err();
    assert!(
        matches!(&error, StorageError::CorruptRecord { path, offset, .. } if *path == first && *offset == (bytes.len() as u64 - COMMIT_RECORD_LEN)),
        "{error}"
    );
    // A truncated non-last segment is refused too.
    bytes[at] ^= 1;
    fs::write(&first, &bytes[..bytes.len() - 1]).unwrap();
    let error = AccountStorage::open(dir.path(), options).unwrap_err();
    assert!(
        matches!(&error, StorageError::CorruptRecord { path, .. } if *path == first),
        "{error}"
    );
}

#[test]
fn wrong_version_bad_magic_and_short_headers_name_the_file() {
    let fixture = fixture(1);
    let mut bytes = fixture.segment.clone();
    // A segment of format version 1 (keyed BLAKE3 on every record).
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    let (dir, result) = open_with(&bytes);
    let error = result.unwrap_err();
    assert!(
        matches!(&error, StorageError::UnsupportedVersion { found: 1, supported: 2, path } if *path == segment_path(dir.path(), 1)),
        "{error}"
    );
    assert!(
        error.to_string().contains("segment-000001.dat at offset 8"),
        "{error}"
    );

    let mut bytes = fixture.segment.clone();
    bytes[..8].copy_from_slice(b"NOTASEGM");
    let (_dir, result) = open_with(&bytes);
    assert!(matches!(
        result.unwrap_err(),
        StorageError::BadSegmentHeader {
            reason: HeaderError::BadMagic,
            ..
        }
    ));

    let (_dir, result) = open_with(&fixture.segment[..10]);
    assert!(matches!(
        result.unwrap_err(),
        StorageError::BadSegmentHeader {
            reason: HeaderError::Truncated { available: 10 },
            ..
        }
    ));
}

#[test]
fn file_names_are_checked_and_unfinished_creations_removed() {
    let fixture = fixture(1);
    let (dir, result) = open_with(&fixture.segment);
    drop(result.unwrap());
    let temporary = dir.path().join("segment-000002.dat.tmp");
    fs::write(&temporary, b"half a header").unwrap();
    fs::write(dir.path().join("README"), b"other files are left alone").unwrap();
    let (store, report) = AccountStorage::open(dir.path(), options()).unwrap();
    assert_eq!(report.removed_temporary_files, vec![temporary.clone()]);
    assert!(!temporary.exists());
    assert_eq!(live(&store), fixture.models[1]);
    drop(store);
    let malformed = dir.path().join("segment-2.dat");
    fs::write(&malformed, b"").unwrap();
    let error = AccountStorage::open(dir.path(), options()).unwrap_err();
    assert!(
        matches!(&error, StorageError::BadFileName { path } if *path == malformed),
        "{error}"
    );
}

#[test]
fn a_state_root_mismatch_refuses_to_open() {
    let fixture = fixture(2);
    let (dir, result) = open_with(&fixture.segment);
    drop(result.unwrap());
    let mut options = options();
    options.state_root = Some(Arc::new(
        |live: &mut dyn Iterator<Item = (Hash, Vec<u8>)>| {
            Hash::digest(&(live.count() as u64).to_le_bytes())
        },
    ));
    let error = AccountStorage::open(dir.path(), options).unwrap_err();
    assert!(
        matches!(error, StorageError::StateRootMismatch { slot: 2, .. }),
        "{error}"
    );
}

#[test]
fn a_segment_removed_by_hand_is_caught_by_the_state_root() {
    let dir = fast_tempdir();
    let mut options = options();
    options.segment_bytes_target = 4096;
    {
        let (store, _) = AccountStorage::open(dir.path(), options.clone()).unwrap();
        commit_blocks(&store, &mut BTreeMap::new(), 1..=40);
    }
    fs::remove_file(segment_path(dir.path(), 2)).unwrap();
    let error = AccountStorage::open(dir.path(), options).unwrap_err();
    assert!(
        matches!(error, StorageError::StateRootMismatch { slot: 40, .. }),
        "{error}"
    );
}
