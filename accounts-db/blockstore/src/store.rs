//! The [`Blockstore`]: opening, the per-slot atomic write, reads and purging.

use std::path::Path;
use std::sync::Mutex;

use aether_types::Hash;
use aether_types::codec::{Decode, Encode, decode_exact, encode};
use aether_types::shred::{SHRED_BYTES_MAX, ShredKind};
use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType, Direction, IteratorMode, Options,
    WriteBatch, WriteOptions,
};

use crate::columns::{self, hex};
use crate::{BlockMeta, BlockstoreError, SlotMeta, TransactionStatus};

/// RocksDB's write batch header: sequence number (8) and count (4).
const BATCH_HEADER_BYTES: usize = 12;

/// The most a write batch adds to one put beside its key and value: a type tag, the
/// column family id and the two lengths (varint32s of at most 5 bytes each).
const BATCH_PUT_OVERHEAD_BYTES_MAX: usize = 16;

/// A successful transaction's encoded status (version, slot, outcome); failures are
/// longer, so this only sizes the first allocation.
const STATUS_BYTES_TYPICAL: usize = 10;

/// Room for the encoded [`SlotMeta`] when a batch is sized (it is encoded last, after
/// the shreds have updated it; a larger one only grows the batch once).
const SLOT_META_BYTES_TYPICAL: usize = 64;

/// The most one put of `key_bytes` and `value_bytes` adds to a write batch.
fn put_bytes_max(key_bytes: usize, value_bytes: usize) -> usize {
    BATCH_PUT_OVERHEAD_BYTES_MAX + key_bytes + value_bytes
}

/// How the blockstore behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockstoreOptions {
    /// Keep at most this many shreds: after each write the oldest slots below the newest
    /// finalized slot are purged, whole, until the count fits. `None` keeps everything.
    pub limit_ledger_size: Option<u64>,
    /// Sync the write-ahead log before [`Blockstore::write_slot`] returns (default on).
    /// Off trades the last writes before a power loss for throughput.
    pub sync_writes: bool,
}

impl Default for BlockstoreOptions {
    fn default() -> Self {
        Self {
            limit_ledger_size: None,
            sync_writes: true,
        }
    }
}

/// One shred to store.
#[derive(Debug, Clone, Copy)]
pub struct ShredWrite<'a> {
    /// Data or coding.
    pub kind: ShredKind,
    /// Index among the slot's shreds of its kind.
    pub index: u32,
    /// The shred's bytes (at most [`SHRED_BYTES_MAX`]).
    pub bytes: &'a [u8],
    /// This is the slot's last data shred.
    pub last_in_slot: bool,
}

/// Everything written for one slot in one atomic batch.
#[derive(Debug, Clone, Copy)]
pub struct SlotWrite<'a> {
    /// The slot.
    pub slot: u64,
    /// The parent slot, when known.
    pub parent_slot: Option<u64>,
    /// Shreds to add (ones already stored are kept as they are).
    pub shreds: &'a [ShredWrite<'a>],
    /// The executed block's metadata, once the block is complete.
    pub block: Option<&'a BlockMeta>,
    /// Statuses of the block's transactions (each for this slot).
    pub transaction_statuses: &'a [(Hash, TransactionStatus)],
    /// Mark the slot final.
    pub finalized: bool,
}

/// What a purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Slots removed.
    pub slots_purged: u64,
    /// Shreds removed.
    pub shreds_purged: u64,
    /// Transaction statuses removed.
    pub statuses_purged: u64,
}

/// Counters the single writer keeps, rebuilt from `slot_meta` at open.
#[derive(Debug, Default)]
struct WriterState {
    shred_count: u64,
    newest_finalized_slot: Option<u64>,
}

/// The ledger's blocks on RocksDB (see the crate docs for layout and invariants).
pub struct Blockstore {
    db: DB,
    options: BlockstoreOptions,
    writer: Mutex<WriterState>,
}

impl Blockstore {
    /// Opens (or creates) the blockstore in `path`.
    pub fn open(path: &Path, options: BlockstoreOptions) -> Result<Self, BlockstoreError> {
        let mut database_options = Options::default();
        database_options.create_if_missing(true);
        database_options.create_missing_column_families(true);
        // Flush all families together so a crash never leaves one ahead of another.
        database_options.set_atomic_flush(true);
        database_options.set_paranoid_checks(true);
        let families = columns::ALL.iter().map(|name| {
            let mut family_options = Options::default();
            // Every family holds erasure-coded block bytes, or records keyed and filled
            // by hashes (transaction ids, block hashes): none compresses, and LZ4 cost
            // the flush thread CPU for nothing. Older files written with LZ4 stay
            // readable (the compression is recorded per block).
            family_options.set_compression_type(DBCompressionType::None);
            ColumnFamilyDescriptor::new(*name, family_options)
        });
        let db = DB::open_cf_descriptors(&database_options, path, families).map_err(|source| {
            BlockstoreError::Open {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let blockstore = Self {
            db,
            options,
            writer: Mutex::new(WriterState::default()),
        };
        let state = blockstore.scan_writer_state()?;
        *blockstore.writer.lock().expect("writer lock") = state;
        Ok(blockstore)
    }

    fn family(&self, name: &'static str) -> &ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every family is created at open")
    }

    fn write_options(&self) -> WriteOptions {
        let mut write_options = WriteOptions::default();
        write_options.set_sync(self.options.sync_writes);
        write_options
    }

    fn read<T: Decode>(
        &self,
        family: &'static str,
        key: &[u8],
    ) -> Result<Option<T>, BlockstoreError> {
        let value = self
            .db
            .get_pinned_cf(self.family(family), key)
            .map_err(|source| BlockstoreError::Database {
                operation: "read",
                source,
            })?;
        value
            .map(|bytes| decode_record(family, key, &bytes))
            .transpose()
    }

    fn scan_writer_state(&self) -> Result<WriterState, BlockstoreError> {
        let mut state = WriterState::default();
        for entry in self
            .db
            .iterator_cf(self.family(columns::SLOT_META), IteratorMode::Start)
        {
            let (key, value) = entry.map_err(|source| BlockstoreError::Database {
                operation: "scan",
                source,
            })?;
            let meta: SlotMeta = decode_record(columns::SLOT_META, &key, &value)?;
            state.shred_count += meta.shred_count();
            if meta.finalized {
                state.newest_finalized_slot = Some(meta.slot);
            }
        }
        Ok(state)
    }

    /// Writes everything about one slot in one atomic batch, then applies the size
    /// limit. Returns what the limit purged.
    pub fn write_slot(&self, write: &SlotWrite<'_>) -> Result<PurgeReport, BlockstoreError> {
        validate(write)?;
        let mut writer = self.writer.lock().expect("writer lock");
        let slot_key = columns::slot_key(write.slot);
        let mut meta: SlotMeta = self
            .read(columns::SLOT_META, &slot_key)?
            .unwrap_or(SlotMeta {
                slot: write.slot,
                ..SlotMeta::default()
            });
        if let Some(parent) = write.parent_slot {
            if meta.parent_slot.is_some_and(|known| known != parent) {
                return Err(BlockstoreError::InvalidWrite {
                    slot: write.slot,
                    reason: format!(
                        "parent slot {parent} differs from stored {:?}",
                        meta.parent_slot
                    ),
                });
            }
            meta.parent_slot = Some(parent);
        }

        // In id order: each column family's memtable then takes these inserts in key
        // order, and its skiplist starts each search from the previous insert's place
        // instead of from the top (random-order ids were the stage's largest cost).
        let mut statuses: Vec<&(Hash, TransactionStatus)> =
            write.transaction_statuses.iter().collect();
        statuses.sort_by_key(|status| status.0);
        // All statuses encoded into one buffer, each ending at its `status_ends` entry.
        let mut status_bytes = Vec::with_capacity(statuses.len() * STATUS_BYTES_TYPICAL);
        let mut status_ends = Vec::with_capacity(statuses.len());
        for (_, status) in &statuses {
            status.encode_to(&mut status_bytes);
            status_ends.push(status_bytes.len());
        }
        let block_bytes = write.block.map(encode);
        // Sized for the whole slot up front: grown by doubling, a leader's batch (tens
        // of MiB) was copied several times and faulted in fresh pages at each step.
        let capacity_bytes = BATCH_HEADER_BYTES
            + write
                .shreds
                .iter()
                .map(|shred| put_bytes_max(columns::SHRED_KEY_BYTES, shred.bytes.len()))
                .sum::<usize>()
            + block_bytes
                .as_ref()
                .map_or(0, |bytes| put_bytes_max(slot_key.len(), bytes.len()))
            + statuses.len()
                * (put_bytes_max(Hash::LEN, 0)
                    + put_bytes_max(columns::TRANSACTION_INDEX_KEY_BYTES, 0))
            + status_bytes.len()
            + put_bytes_max(slot_key.len(), SLOT_META_BYTES_TYPICAL);
        let mut batch = WriteBatch::with_capacity_bytes(capacity_bytes);
        let shreds_family = self.family(columns::SHREDS);
        let mut added = 0u64;
        // A slot with no stored shreds (a leader storing its own block, the common case)
        // needs no point lookups; a repeat within this write is caught by the set.
        let slot_has_shreds = meta.shred_count() > 0;
        let mut in_this_write = std::collections::HashSet::with_capacity(write.shreds.len());
        for shred in write.shreds {
            let key = columns::shred_key(write.slot, shred.kind, shred.index);
            let present = !in_this_write.insert(key)
                || (slot_has_shreds
                    && self
                        .db
                        .get_pinned_cf(shreds_family, key)
                        .map_err(|source| BlockstoreError::Database {
                            operation: "read",
                            source,
                        })?
                        .is_some());
            if shred.kind == ShredKind::Data && shred.last_in_slot {
                meta.last_data_index = Some(shred.index);
            }
            if present {
                continue;
            }
            batch.put_cf(shreds_family, key, shred.bytes);
            added += 1;
            match shred.kind {
                ShredKind::Data => meta.data_shred_count += 1,
                ShredKind::Coding => meta.coding_shred_count += 1,
            }
        }
        if let Some(bytes) = block_bytes {
            batch.put_cf(self.family(columns::BLOCKS), slot_key, bytes);
            meta.block_complete = true;
        }
        let mut status_start = 0;
        for ((transaction_id, _), status_end) in statuses.into_iter().zip(status_ends) {
            batch.put_cf(
                self.family(columns::TRANSACTION_STATUS),
                transaction_id.as_bytes(),
                &status_bytes[status_start..status_end],
            );
            status_start = status_end;
            batch.put_cf(
                self.family(columns::TRANSACTION_INDEX),
                columns::transaction_index_key(write.slot, transaction_id),
                [],
            );
        }
        meta.finalized |= write.finalized;
        batch.put_cf(self.family(columns::SLOT_META), slot_key, encode(&meta));
        self.db
            .write_opt(batch, &self.write_options())
            .map_err(|source| BlockstoreError::Database {
                operation: "write",
                source,
            })?;

        writer.shred_count += added;
        if meta.finalized {
            writer.newest_finalized_slot = Some(
                writer
                    .newest_finalized_slot
                    .map_or(write.slot, |newest| newest.max(write.slot)),
            );
        }
        self.enforce_limit(&mut writer)
    }

    fn enforce_limit(&self, writer: &mut WriterState) -> Result<PurgeReport, BlockstoreError> {
        let (Some(limit), Some(newest_finalized)) =
            (self.options.limit_ledger_size, writer.newest_finalized_slot)
        else {
            return Ok(PurgeReport::default());
        };
        if writer.shred_count <= limit {
            return Ok(PurgeReport::default());
        }
        // Oldest first, strictly below the newest finalized slot: those are either final
        // or on forks that can no longer become final.
        let mut excess = writer.shred_count - limit;
        let mut last_purged = None;
        for entry in self
            .db
            .iterator_cf(self.family(columns::SLOT_META), IteratorMode::Start)
        {
            if excess == 0 {
                break;
            }
            let (key, value) = entry.map_err(|source| BlockstoreError::Database {
                operation: "scan",
                source,
            })?;
            let slot = columns::decode_slot_key(columns::SLOT_META, &key)?;
            if slot >= newest_finalized {
                break;
            }
            let meta: SlotMeta = decode_record(columns::SLOT_META, &key, &value)?;
            excess = excess.saturating_sub(meta.shred_count());
            last_purged = Some(slot);
        }
        match last_purged {
            Some(slot) => self.purge_through(writer, slot),
            None => Ok(PurgeReport::default()),
        }
    }

    /// Removes every slot below `slot` (shreds, metadata, blocks, statuses) in one
    /// atomic batch.
    pub fn purge_slots_before(&self, slot: u64) -> Result<PurgeReport, BlockstoreError> {
        let mut writer = self.writer.lock().expect("writer lock");
        match slot.checked_sub(1) {
            Some(last) => self.purge_through(&mut writer, last),
            None => Ok(PurgeReport::default()),
        }
    }

    fn purge_through(
        &self,
        writer: &mut WriterState,
        last_slot: u64,
    ) -> Result<PurgeReport, BlockstoreError> {
        let end_slot_key = columns::slot_key(last_slot.saturating_add(1));
        let mut report = PurgeReport::default();
        let mut batch = WriteBatch::default();
        let end = IteratorMode::Start;
        for entry in self.db.iterator_cf(self.family(columns::SLOT_META), end) {
            let (key, value) = entry.map_err(|source| BlockstoreError::Database {
                operation: "scan",
                source,
            })?;
            if *key >= end_slot_key[..] {
                break;
            }
            let meta: SlotMeta = decode_record(columns::SLOT_META, &key, &value)?;
            report.slots_purged += 1;
            report.shreds_purged += meta.shred_count();
        }
        for entry in self
            .db
            .iterator_cf(self.family(columns::TRANSACTION_INDEX), IteratorMode::Start)
        {
            let (key, _) = entry.map_err(|source| BlockstoreError::Database {
                operation: "scan",
                source,
            })?;
            if *key >= end_slot_key[..] {
                break;
            }
            let slot = columns::decode_slot_key(columns::TRANSACTION_INDEX, &key)?;
            let transaction_id = columns::decode_transaction_index_key(&key)?;
            // The same transaction may have a newer status from another fork's block:
            // only the status this slot wrote goes.
            let status: Option<TransactionStatus> =
                self.read(columns::TRANSACTION_STATUS, transaction_id.as_bytes())?;
            if status.is_some_and(|status| status.slot == slot) {
                batch.delete_cf(
                    self.family(columns::TRANSACTION_STATUS),
                    transaction_id.as_bytes(),
                );
                report.statuses_purged += 1;
            }
        }
        let start_slot_key = columns::slot_key(0);
        let start_shred_key = columns::shred_key(0, ShredKind::Data, 0);
        let end_shred_key = columns::shred_key(last_slot.saturating_add(1), ShredKind::Data, 0);
        batch.delete_range_cf(self.family(columns::SHREDS), start_shred_key, end_shred_key);
        for family in [
            columns::BLOCKS,
            columns::SLOT_META,
            columns::TRANSACTION_INDEX,
        ] {
            batch.delete_range_cf(self.family(family), start_slot_key, end_slot_key);
        }
        self.db
            .write_opt(batch, &self.write_options())
            .map_err(|source| BlockstoreError::Database {
                operation: "purge",
                source,
            })?;
        writer.shred_count -= report.shreds_purged;
        Ok(report)
    }

    /// One shred's bytes.
    pub fn shred(
        &self,
        slot: u64,
        kind: ShredKind,
        index: u32,
    ) -> Result<Option<Vec<u8>>, BlockstoreError> {
        self.db
            .get_cf(
                self.family(columns::SHREDS),
                columns::shred_key(slot, kind, index),
            )
            .map_err(|source| BlockstoreError::Database {
                operation: "read",
                source,
            })
    }

    /// Every stored shred of `kind` in `slot`, by index.
    pub fn slot_shreds(
        &self,
        slot: u64,
        kind: ShredKind,
    ) -> Result<Vec<(u32, Vec<u8>)>, BlockstoreError> {
        let start = columns::shred_key(slot, kind, 0);
        let mut shreds = Vec::new();
        let mode = IteratorMode::From(&start, Direction::Forward);
        for entry in self.db.iterator_cf(self.family(columns::SHREDS), mode) {
            let (key, value) = entry.map_err(|source| BlockstoreError::Database {
                operation: "scan",
                source,
            })?;
            let (key_slot, key_kind, index) = columns::decode_shred_key(&key)?;
            if key_slot != slot || key_kind != kind {
                break;
            }
            shreds.push((index, value.into_vec()));
        }
        Ok(shreds)
    }

    /// The block metadata of `slot`, once its block is complete.
    pub fn block_meta(&self, slot: u64) -> Result<Option<BlockMeta>, BlockstoreError> {
        self.read(columns::BLOCKS, &columns::slot_key(slot))
    }

    /// The bookkeeping of `slot`.
    pub fn slot_meta(&self, slot: u64) -> Result<Option<SlotMeta>, BlockstoreError> {
        self.read(columns::SLOT_META, &columns::slot_key(slot))
    }

    /// The status of a transaction.
    pub fn transaction_status(
        &self,
        transaction_id: &Hash,
    ) -> Result<Option<TransactionStatus>, BlockstoreError> {
        self.read(columns::TRANSACTION_STATUS, transaction_id.as_bytes())
    }

    /// The oldest and newest stored slots.
    pub fn slot_range(&self) -> Result<Option<(u64, u64)>, BlockstoreError> {
        let family = self.family(columns::SLOT_META);
        let mut first = self.db.iterator_cf(family, IteratorMode::Start);
        let mut last = self.db.iterator_cf(family, IteratorMode::End);
        match (first.next(), last.next()) {
            (Some(first), Some(last)) => {
                let (first_key, _) = first.map_err(|source| BlockstoreError::Database {
                    operation: "scan",
                    source,
                })?;
                let (last_key, _) = last.map_err(|source| BlockstoreError::Database {
                    operation: "scan",
                    source,
                })?;
                Ok(Some((
                    columns::decode_slot_key(columns::SLOT_META, &first_key)?,
                    columns::decode_slot_key(columns::SLOT_META, &last_key)?,
                )))
            }
            _ => Ok(None),
        }
    }

    /// Shreds stored, all slots.
    pub fn shred_count(&self) -> u64 {
        self.writer.lock().expect("writer lock").shred_count
    }

    /// The newest finalized slot stored.
    pub fn newest_finalized_slot(&self) -> Option<u64> {
        self.writer
            .lock()
            .expect("writer lock")
            .newest_finalized_slot
    }
}

fn validate(write: &SlotWrite<'_>) -> Result<(), BlockstoreError> {
    let invalid = |reason: String| {
        Err(BlockstoreError::InvalidWrite {
            slot: write.slot,
            reason,
        })
    };
    if let Some(parent) = write.parent_slot
        && parent >= write.slot
    {
        return invalid(format!("parent slot {parent} is not below the slot"));
    }
    for shred in write.shreds {
        if shred.bytes.is_empty() || shred.bytes.len() > SHRED_BYTES_MAX {
            return invalid(format!(
                "shred {:?} {} has {} bytes (1..={SHRED_BYTES_MAX})",
                shred.kind,
                shred.index,
                shred.bytes.len()
            ));
        }
    }
    if let Some(block) = write.block
        && block.slot != write.slot
    {
        return invalid(format!("block metadata is for slot {}", block.slot));
    }
    if let Some((_, status)) = write
        .transaction_statuses
        .iter()
        .find(|(_, status)| status.slot != write.slot)
    {
        return invalid(format!("a transaction status is for slot {}", status.slot));
    }
    Ok(())
}

/// Decodes a stored record; a failure names the column family and key.
fn decode_record<T: Decode>(
    family: &'static str,
    key: &[u8],
    value: &[u8],
) -> Result<T, BlockstoreError> {
    decode_exact::<T>(value).map_err(|source| BlockstoreError::CorruptRecord {
        family,
        key_hex: hex(key),
        source,
    })
}
