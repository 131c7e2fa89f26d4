//! The blockstore on a real RocksDB in a temporary directory.

use aether_blockstore::{
    BlockMeta, Blockstore, BlockstoreError, BlockstoreOptions, ShredWrite, SlotWrite,
    TransactionOutcome, TransactionStatus,
};
use aether_types::Hash;
use aether_types::shred::ShredKind;

fn shred_bytes(slot: u64, kind: ShredKind, index: u32) -> Vec<u8> {
    let mut bytes = vec![0u8; 100 + index as usize % 50];
    bytes[..8].copy_from_slice(&slot.to_le_bytes());
    bytes[8] = kind as u8;
    bytes[9..13].copy_from_slice(&index.to_le_bytes());
    bytes
}

fn transaction_id(slot: u64, index: u64) -> Hash {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&slot.to_le_bytes());
    bytes[8..16].copy_from_slice(&index.to_le_bytes());
    Hash(bytes)
}

fn block_meta(slot: u64, transaction_count: u64) -> BlockMeta {
    BlockMeta {
        slot,
        hash: Hash([slot as u8; 32]),
        parent_slot: slot.saturating_sub(1),
        parent_hash: Hash([slot.saturating_sub(1) as u8; 32]),
        state_root: Hash([0xee; 32]),
        transaction_ids: (0..transaction_count)
            .map(|index| transaction_id(slot, index))
            .collect(),
    }
}

/// Writes a complete slot: `data` data shreds (the last flagged), `coding` coding
/// shreds, block metadata and one status per transaction.
fn write_complete_slot(
    blockstore: &Blockstore,
    slot: u64,
    data: u32,
    coding: u32,
    finalized: bool,
) -> aether_blockstore::PurgeReport {
    let bytes: Vec<(ShredKind, u32, Vec<u8>)> = (0..data)
        .map(|index| {
            (
                ShredKind::Data,
                index,
                shred_bytes(slot, ShredKind::Data, index),
            )
        })
        .chain((0..coding).map(|index| {
            (
                ShredKind::Coding,
                index,
                shred_bytes(slot, ShredKind::Coding, index),
            )
        }))
        .collect();
    let shreds: Vec<ShredWrite<'_>> = bytes
        .iter()
        .map(|(kind, index, bytes)| ShredWrite {
            kind: *kind,
            index: *index,
            bytes,
            last_in_slot: *kind == ShredKind::Data && *index + 1 == data,
        })
        .collect();
    let block = block_meta(slot, 3);
    let statuses: Vec<(Hash, TransactionStatus)> = block
        .transaction_ids
        .iter()
        .map(|id| {
            (
                *id,
                TransactionStatus {
                    slot,
                    outcome: TransactionOutcome::Succeeded,
                },
            )
        })
        .collect();
    blockstore
        .write_slot(&SlotWrite {
            slot,
            parent_slot: slot.checked_sub(1),
            shreds: &shreds,
            block: Some(&block),
            transaction_statuses: &statuses,
            finalized,
        })
        .expect("write slot")
}

#[test]
fn a_slot_round_trips_and_survives_reopen() {
    let directory = tempfile::tempdir().unwrap();
    {
        let blockstore = Blockstore::open(directory.path(), BlockstoreOptions::default()).unwrap();
        write_complete_slot(&blockstore, 5, 4, 2, true);
        assert_eq!(blockstore.shred_count(), 6);
    }
    let blockstore = Blockstore::open(directory.path(), BlockstoreOptions::default()).unwrap();
    assert_eq!(blockstore.shred_count(), 6, "counter rebuilt at open");
    assert_eq!(blockstore.newest_finalized_slot(), Some(5));
    let data = blockstore.slot_shreds(5, ShredKind::Data).unwrap();
    assert_eq!(
        data.iter().map(|(index, _)| *index).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    for (index, bytes) in &data {
        assert_eq!(*bytes, shred_bytes(5, ShredKind::Data, *index));
    }
    assert_eq!(
        blockstore.slot_shreds(5, ShredKind::Coding).unwrap().len(),
        2
    );
    assert_eq!(blockstore.slot_shreds(6, ShredKind::Data).unwrap(), vec![]);
    assert_eq!(
        blockstore.shred(5, ShredKind::Coding, 1).unwrap(),
        Some(shred_bytes(5, ShredKind::Coding, 1))
    );
    assert_eq!(blockstore.block_meta(5).unwrap(), Some(block_meta(5, 3)));
    let meta = blockstore.slot_meta(5).unwrap().unwrap();
    assert_eq!((meta.data_shred_count, meta.coding_shred_count), (4, 2));
    assert_eq!(meta.last_data_index, Some(3));
    assert!(meta.block_complete && meta.finalized);
    assert_eq!(
        blockstore
            .transaction_status(&transaction_id(5, 2))
            .unwrap(),
        Some(TransactionStatus {
            slot: 5,
            outcome: TransactionOutcome::Succeeded
        })
    );
    assert_eq!(blockstore.slot_range().unwrap(), Some((5, 5)));
}

/// Statuses of different lengths, given out of id order, each read back under its own
/// id (the write sorts them and encodes them into one shared buffer).
#[test]
fn statuses_of_every_length_read_back_under_their_own_ids() {
    let directory = tempfile::tempdir().unwrap();
    let blockstore = Blockstore::open(directory.path(), BlockstoreOptions::default()).unwrap();
    let statuses: Vec<(Hash, TransactionStatus)> = (0..200u64)
        .rev()
        .map(|index| {
            let outcome = match index % 3 {
                0 => TransactionOutcome::Succeeded,
                _ => TransactionOutcome::Failed {
                    reason: "x".repeat(index as usize),
                },
            };
            (
                transaction_id(9, index * 7919 % 200),
                TransactionStatus { slot: 9, outcome },
            )
        })
        .collect();
    blockstore
        .write_slot(&SlotWrite {
            slot: 9,
            parent_slot: Some(8),
            shreds: &[],
            block: Some(&block_meta(9, 0)),
            transaction_statuses: &statuses,
            finalized: true,
        })
        .unwrap();
    for (id, status) in &statuses {
        assert_eq!(
            blockstore.transaction_status(id).unwrap().as_ref(),
            Some(status)
        );
    }
}

#[test]
fn shreds_arriving_twice_are_stored_and_counted_once() {
    let directory = tempfile::tempdir().unwrap();
    let blockstore = Blockstore::open(directory.path(), BlockstoreOptions::default()).unwrap();
    let bytes = shred_bytes(3, ShredKind::Data, 0);
    let shred = ShredWrite {
        kind: ShredKind::Data,
        index: 0,
        bytes: &bytes,
        last_in_slot: false,
    };
    // Twice within the first write (no lookup is needed there), then in two more.
    for shreds in [&[shred, shred][..], &[shred], &[shred]] {
        blockstore
            .write_slot(&SlotWrite {
                slot: 3,
                parent_slot: Some(2),
                shreds,
                block: None,
                transaction_statuses: &[],
                finalized: false,
            })
            .unwrap();
    }
    assert_eq!(blockstore.shred_count(), 1);
    assert_eq!(
        blockstore.slot_meta(3).unwrap().unwrap().data_shred_count,
        1
    );
}

#[test]
fn the_size_limit_purges_oldest_slots_below_the_newest_finalized_one() {
    let directory = tempfile::tempdir().unwrap();
    let options = BlockstoreOptions {
        limit_ledger_size: Some(100),
        ..BlockstoreOptions::default()
    };
    let blockstore = Blockstore::open(directory.path(), options).unwrap();
    let mut purged_slots = 0;
    for slot in 1..=20 {
        purged_slots += write_complete_slot(&blockstore, slot, 8, 2, slot <= 15).slots_purged;
    }
    // Slots 16..=20 are not final: they are never purged, and 15 is the newest final.
    assert!(
        blockstore.shred_count() <= 100 + 5 * 10,
        "count {}",
        blockstore.shred_count()
    );
    let (oldest, newest) = blockstore.slot_range().unwrap().unwrap();
    assert_eq!(newest, 20);
    assert!(oldest > 1 && oldest <= 15, "oldest kept {oldest}");
    assert_eq!(purged_slots, oldest - 1);
    for slot in 1..oldest {
        assert_eq!(blockstore.slot_meta(slot).unwrap(), None, "slot {slot}");
        assert_eq!(blockstore.block_meta(slot).unwrap(), None);
        assert_eq!(
            blockstore.slot_shreds(slot, ShredKind::Data).unwrap(),
            vec![]
        );
        assert_eq!(
            blockstore
                .transaction_status(&transaction_id(slot, 0))
                .unwrap(),
            None
        );
    }
    for slot in oldest..=20 {
        assert_eq!(
            blockstore.slot_shreds(slot, ShredKind::Data).unwrap().len(),
            8
        );
        assert!(
            blockstore
                .transaction_status(&transaction_id(slot, 0))
                .unwrap()
                .is_some()
        );
    }
    let counted: u64 = (oldest..=20)
        .map(|slot| blockstore.slot_meta(slot).unwrap().unwrap().shred_count())
        .sum();
    assert_eq!(blockstore.shred_count(), counted);
}

#[test]
fn purging_keeps_a_newer_status_of_the_same_transaction() {
    let directory = tempfile::tempdir().unwrap();
    let blockstore = Blockstore::open(directory.path(), BlockstoreOptions::default()).unwrap();
    let shared = transaction_id(99, 99);
    for slot in [4u64, 6] {
        let status = TransactionStatus {
            slot,
            outcome: TransactionOutcome::Succeeded,
        };
        blockstore
            .write_slot(&SlotWrite {
                slot,
                parent_slot: None,
                shreds: &[],
                block: None,
                transaction_statuses: &[(shared, status)],
                finalized: true,
            })
            .unwrap();
    }
    let report = blockstore.purge_slots_before(5).unwrap();
    assert_eq!(report.slots_purged, 1);
    assert_eq!(
        report.statuses_purged, 0,
        "the status now belongs to slot 6"
    );
    assert_eq!(
        blockstore
            .transaction_status(&shared)
            .unwrap()
            .unwrap()
            .slot,
        6
    );
}

#[test]
fn invalid_writes_are_rejected_and_change_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let blockstore = Blockstore::open(directory.path(), BlockstoreOptions::default()).unwrap();
    let oversized = vec![0u8; 2000];
    let too_big = ShredWrite {
        kind: ShredKind::Data,
        index: 0,
        bytes: &oversized,
        last_in_slot: false,
    };
    let wrong_block = block_meta(8, 0);
    let attempts = [
        SlotWrite {
            slot: 7,
            parent_slot: None,
            shreds: &[too_big],
            block: None,
            transaction_statuses: &[],
            finalized: false,
        },
        SlotWrite {
            slot: 7,
            parent_slot: Some(7),
            shreds: &[],
            block: None,
            transaction_statuses: &[],
            finalized: false,
        },
        SlotWrite {
            slot: 7,
            parent_slot: None,
            shreds: &[],
            block: Some(&wrong_block),
            transaction_statuses: &[],
            finalized: false,
        },
    ];
    for attempt in &attempts {
        assert!(matches!(
            blockstore.write_slot(attempt),
            Err(BlockstoreError::InvalidWrite { slot: 7, .. })
        ));
    }
    assert_eq!(blockstore.slot_range().unwrap(), None);
    assert_eq!(blockstore.shred_count(), 0);
}

#[test]
fn a_corrupt_record_is_an_error_naming_family_and_key() {
    let directory = tempfile::tempdir().unwrap();
    {
        let blockstore = Blockstore::open(directory.path(), BlockstoreOptions::default()).unwrap();
        write_complete_slot(&blockstore, 2, 1, 0, true);
    }
    {
        let names = [
            "shreds",
            "blocks",
            "slot_meta",
            "transaction_status",
            "transaction_index",
        ];
        let database =
            rocksdb::DB::open_cf(&rocksdb::Options::default(), directory.path(), names).unwrap();
        let blocks = database.cf_handle("blocks").unwrap();
        database
            .put_cf(blocks, 2u64.to_be_bytes(), b"not a block")
            .unwrap();
    }
    let blockstore = Blockstore::open(directory.path(), BlockstoreOptions::default()).unwrap();
    let error = blockstore.block_meta(2).unwrap_err();
    assert!(matches!(
        error,
        BlockstoreError::CorruptRecord {
            family: "blocks",
            ..
        }
    ));
    assert!(error.to_string().contains("0000000000000002"), "{error}");
}
