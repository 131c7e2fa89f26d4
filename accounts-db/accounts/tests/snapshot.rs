//! Snapshots: round trip, and every kind of damage is a clear error that loads nothing.

use std::path::Path;
use std::sync::Arc;

use aether_accounts_db::snapshot::{
    SnapshotError, create_snapshot, load_snapshot, read_snapshot_header, verify_snapshot,
};
use aether_accounts_db::{AccountsDb, AccountsDbOptions, GENESIS_PARENT};
use aether_fork_overlay::Writes;
use aether_types::Hash;

fn key(index: u32) -> Hash {
    Hash::digest(&index.to_le_bytes())
}

/// An accounts-db in `directory` with `count` keys over two finalized blocks (one
/// deleting a few), and one unfinalized block that a snapshot must not include.
fn populated(directory: &Path, count: u32) -> AccountsDb {
    let (mut accounts, _) = AccountsDb::open(directory, AccountsDbOptions::default()).unwrap();
    let first: Writes = (0..count)
        .map(|index| {
            (
                key(index),
                Some(Arc::from(vec![index as u8; 1 + index as usize % 200])),
            )
        })
        .collect();
    let one = Hash([1; 32]);
    let two = Hash([2; 32]);
    accounts
        .apply_block(GENESIS_PARENT, one, 10, first)
        .unwrap();
    let second: Writes = (0..count.min(10)).map(|index| (key(index), None)).collect();
    accounts.apply_block(one, two, 11, second).unwrap();
    accounts.finalize(&two).unwrap();
    let unfinalized: Writes = [(key(count + 1), Some(Arc::from(&b"pending"[..])))]
        .into_iter()
        .collect();
    accounts
        .apply_block(two, Hash([3; 32]), 12, unfinalized)
        .unwrap();
    accounts
}

#[test]
fn a_snapshot_round_trips_into_an_empty_ledger() {
    let source = tempfile::tempdir().unwrap();
    let accounts = populated(source.path(), 5000);
    let file = source.path().join("state.snapshot");
    let mut reports = Vec::new();
    let header = create_snapshot(&accounts, &file, &mut |done, total| {
        reports.push((done, total))
    })
    .unwrap();
    assert_eq!(header.slot, 11);
    assert_eq!(header.block_hash, Hash([2; 32]));
    assert_eq!(header.entry_count, 4990);
    assert_eq!(reports.last(), Some(&(4990, 4990)));
    assert_eq!(read_snapshot_header(&file).unwrap(), header);

    let target = tempfile::tempdir().unwrap();
    let accounts_dir = target.path().join("accounts");
    let loaded = load_snapshot(&file, &accounts_dir, &mut |_, _| {}).unwrap();
    assert_eq!(loaded, header);
    let (restored, report) = AccountsDb::open(&accounts_dir, AccountsDbOptions::default()).unwrap();
    assert_eq!(report.last_finalized.hash, Hash([2; 32]));
    assert_eq!(report.last_finalized.slot, 11);
    assert_eq!(
        restored.last_finalized().state_root,
        accounts.last_finalized().state_root
    );
    let tip = Hash([2; 32]);
    assert_eq!(
        restored.get(&tip, &key(3)).unwrap(),
        None,
        "deleted before the snapshot"
    );
    assert_eq!(
        restored.get(&tip, &key(4321)).unwrap().unwrap().len(),
        1 + 4321 % 200
    );
    assert_eq!(
        restored.get(&tip, &key(5001)).unwrap(),
        None,
        "unfinalized writes excluded"
    );
}

/// A way to damage a snapshot file's bytes.
type Damage = Box<dyn FnOnce(&mut Vec<u8>)>;

fn damaged_copy(
    original: &Path,
    directory: &Path,
    damage: impl FnOnce(&mut Vec<u8>),
) -> std::path::PathBuf {
    let mut bytes = std::fs::read(original).unwrap();
    damage(&mut bytes);
    let path = directory.join("damaged.snapshot");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn damaged_snapshots_are_clear_errors_and_load_nothing() {
    let source = tempfile::tempdir().unwrap();
    let accounts = populated(source.path(), 3000);
    let file = source.path().join("state.snapshot");
    create_snapshot(&accounts, &file, &mut |_, _| {}).unwrap();
    let length = std::fs::metadata(&file).unwrap().len() as usize;
    let scratch = tempfile::tempdir().unwrap();

    let cases: Vec<(&str, Damage)> = vec![
        ("magic", Box::new(|bytes: &mut Vec<u8>| bytes[0] ^= 1)),
        ("version", Box::new(|bytes: &mut Vec<u8>| bytes[8] = 9)),
        (
            "header field",
            Box::new(|bytes: &mut Vec<u8>| bytes[30] ^= 1),
        ),
        (
            "truncated",
            Box::new(move |bytes: &mut Vec<u8>| bytes.truncate(length - 100)),
        ),
        (
            "truncated header",
            Box::new(|bytes: &mut Vec<u8>| bytes.truncate(50)),
        ),
        (
            "body byte",
            Box::new(move |bytes: &mut Vec<u8>| bytes[length / 2] ^= 0x20),
        ),
        (
            "appended",
            Box::new(|bytes: &mut Vec<u8>| bytes.extend_from_slice(b"junk")),
        ),
    ];
    for (name, damage) in cases {
        let damaged = damaged_copy(&file, scratch.path(), damage);
        let error = verify_snapshot(&damaged, &mut |_, _| {}).expect_err(name);
        let message = error.to_string();
        assert!(message.contains("damaged.snapshot"), "{name}: {message}");
        let expected_kind = match name {
            "magic" | "truncated header" => matches!(error, SnapshotError::NotASnapshot { .. }),
            "version" => matches!(error, SnapshotError::UnsupportedVersion { version: 9, .. }),
            "header field" => matches!(error, SnapshotError::HeaderCorrupt { .. }),
            _ => matches!(
                error,
                SnapshotError::BodyCorrupt { .. }
                    | SnapshotError::BodyDigestMismatch { .. }
                    | SnapshotError::InvalidEntry { .. }
                    | SnapshotError::RootMismatch { .. }
            ),
        };
        assert!(expected_kind, "{name}: {error:?}");
        let target = scratch
            .path()
            .join(format!("accounts-{}", name.replace(' ', "-")));
        assert!(load_snapshot(&damaged, &target, &mut |_, _| {}).is_err());
        assert!(!target.exists(), "{name}: nothing may be loaded");
    }
}

#[test]
fn a_snapshot_loads_only_into_an_empty_directory() {
    let source = tempfile::tempdir().unwrap();
    let accounts = populated(source.path(), 100);
    let file = source.path().join("state.snapshot");
    create_snapshot(&accounts, &file, &mut |_, _| {}).unwrap();
    // The source directory itself holds state.
    let error = load_snapshot(&file, source.path(), &mut |_, _| {}).unwrap_err();
    assert!(matches!(error, SnapshotError::TargetNotEmpty { .. }));
}
