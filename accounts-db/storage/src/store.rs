//! The public handle: open (recovery, root check, compaction thread), reads, block
//! commits, iteration, statistics.

use std::collections::BTreeMap;
use std::fs::{self, File, TryLockError};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use aether_types::Hash;

use crate::appender::{Appender, LogPosition};
use crate::compaction::{CompactionSummary, CompactionThread, reap_retired, run_pass};
use crate::error::{Result, StorageError};
use crate::format::{
    GroupKind, KEY_LEN, MAX_GROUP_BYTES, MAX_GROUP_RECORDS, MAX_VALUE_BYTES, RECORD_HEADER_LEN,
};
use crate::group::put_record_len;
use crate::index::Location;
use crate::options::OpenOptions;
use crate::recovery::recover;
use crate::report::{CommittedBlock, RecoveryReport, StoreStats};
use crate::segment::Segment;
use crate::shared::{Counters, Shared, State};
use crate::writer::Backend;

/// Name of the lock file in the store directory.
pub const LOCK_FILE_NAME: &str = "LOCK";

/// A finalized block's effect on the state.
///
/// Values are anything that derefs to bytes (`V`), so a caller holding them in shared
/// buffers lends them rather than copying each into a `Vec` for the call.
#[derive(Debug, Clone, Copy)]
pub struct BlockCommit<'a, V: AsRef<[u8]> = Vec<u8>> {
    /// The block's slot; must be after the last committed slot.
    pub slot: u64,
    /// The block's hash.
    pub block_hash: Hash,
    /// The state root after the block (stored, not computed, by this crate).
    pub state_root: Hash,
    /// Writes in order: `Some(value)` sets a key, `None` deletes it. A key written twice
    /// takes its last write.
    pub writes: &'a [(Hash, Option<V>)],
}

/// The durable store of finalized state. `Send + Sync`: share it by reference or `Arc`;
/// reads run concurrently with each other, with a commit and with compaction.
pub struct AccountStorage {
    shared: Arc<Shared>,
    compaction: Option<CompactionThread>,
}

impl std::fmt::Debug for AccountStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountStorage")
            .field("dir", &self.shared.dir)
            .field("write_path", &self.shared.write_path)
            .field("last_committed", &self.last_committed())
            .finish_non_exhaustive()
    }
}

impl AccountStorage {
    /// Opens (creating if needed) the store in `dir`: takes the directory's lock,
    /// selects the write path, recovers (see the crate docs), verifies the state root
    /// when [`OpenOptions::state_root`] is set, and starts background compaction.
    pub fn open(
        dir: impl AsRef<Path>,
        options: OpenOptions,
    ) -> Result<(AccountStorage, RecoveryReport)> {
        let started = Instant::now();
        options.validate()?;
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir)
            .map_err(|source| StorageError::io("create directory", &dir, None, source))?;
        let lock_file = lock_directory(&dir)?;
        let backend = Backend::select(options.write_path)?;
        let write_path = backend.path();
        let recovered = recover(&dir, options.index_keys_reserved)?;
        let (&active_id, active) = recovered
            .segments
            .last_key_value()
            .expect("recovery leaves at least one segment");
        let position = LogPosition {
            active: Arc::clone(active),
            active_len: recovered.active_len,
            last_seq: recovered.last_seq,
        };
        let appender = Appender::new(dir.clone(), position, options.segment_bytes_target, backend);
        let live_keys = recovered.index.len();
        let state = State {
            index: recovered.index,
            segments: recovered.segments,
            active: active_id,
            last_committed: recovered.last_committed,
        };
        let shared = Arc::new(Shared {
            dir,
            options,
            state: RwLock::new(state),
            appender: Mutex::new(appender),
            retired: Mutex::new(Vec::new()),
            compaction_lock: Mutex::new(()),
            counters: Counters::default(),
            write_path,
            _lock_file: lock_file,
        });
        let mut store = AccountStorage {
            shared,
            compaction: None,
        };
        let state_root_verified = store.verify_state_root()?;
        let compaction = &store.shared.options.compaction;
        if compaction.background {
            let interval = compaction.interval;
            store.compaction = Some(CompactionThread::spawn(
                Arc::clone(&store.shared),
                interval,
            )?);
        }
        let report = RecoveryReport {
            write_path,
            segments_scanned: recovered.segments_scanned,
            records_scanned: recovered.records_scanned,
            groups_recovered: recovered.groups_recovered,
            blocks_recovered: recovered.blocks_recovered,
            live_keys,
            last_committed: recovered.last_committed,
            torn_tail: recovered.torn_tail,
            removed_temporary_files: recovered.removed_temporary_files,
            state_root_verified,
            duration: started.elapsed(),
        };
        tracing::info!(
            dir = %store.shared.dir.display(),
            write_path = ?report.write_path,
            segments = report.segments_scanned,
            groups = report.groups_recovered,
            live_keys = report.live_keys,
            last_slot = ?report.last_committed.map(|block| block.slot),
            torn_tail = report.torn_tail.is_some(),
            state_root_verified,
            duration_ms = report.duration.as_millis() as u64,
            "account storage opened"
        );
        Ok((store, report))
    }

    /// The value of `key` in the last committed state. Takes the index lock only to find
    /// the record; the read and its checksum verification happen without it.
    pub fn get(&self, key: &Hash) -> Result<Option<Vec<u8>>> {
        let (location, segment) = {
            let state = self.shared.read_state();
            let Some(location) = state.index.get(key) else {
                return Ok(None);
            };
            (location, segment_of(&state.segments, location))
        };
        segment.read_value(location, key).map(Some)
    }

    /// Loads the index entries and records of `keys` into the CPU caches, so that
    /// [`AccountStorage::get`]s of them soon after hit cache. No effect on the store.
    ///
    /// In a state of millions of keys each `get` pays about three dependent cache misses
    /// (the index's control bytes, its entry, the mapped record), and a `get` after a
    /// `get` pays them one after another. Here all index lookups run first, then all
    /// record loads: the loads of different keys are independent, so the CPU keeps many
    /// misses in flight. Callers warm a batch they are about to read (the inputs of the
    /// transactions the banking stage executes next). Absent keys cost a lookup.
    pub fn warm(&self, keys: &[Hash]) {
        /// Keys looked up before their records are touched: enough misses in flight for a
        /// core, and a stack array instead of an allocation per call.
        const LANES: usize = 32;
        let state = self.shared.read_state();
        let mut checksum = 0u8;
        for chunk in keys.chunks(LANES) {
            let mut locations = [None; LANES];
            for (location, key) in locations.iter_mut().zip(chunk) {
                *location = state.index.get(key);
            }
            for location in locations.into_iter().flatten() {
                if let Some(segment) = state.segments.get(&location.segment) {
                    checksum ^= segment.touch_record(location);
                }
            }
        }
        std::hint::black_box(checksum);
    }

    /// Makes a finalized block durable and visible. Returns only after the block's
    /// records and then its commit record were each followed by a successful fdatasync
    /// (see the crate's fsync policy); readers then see all of the block's writes at
    /// once. Bad input (an old slot, a value over [`MAX_VALUE_BYTES`], a block over the
    /// group bounds) is refused and changes nothing.
    pub fn commit_block<V: AsRef<[u8]>>(&self, block: BlockCommit<'_, V>) -> Result<()> {
        let records_bytes = check_block_size(block.writes)?;
        let mut appender = self.shared.appender();
        if let Some(last) = self.last_committed()
            && block.slot <= last.slot
        {
            return Err(StorageError::SlotNotIncreasing {
                slot: block.slot,
                last: last.slot,
            });
        }
        let committed = CommittedBlock {
            slot: block.slot,
            block_hash: block.block_hash,
            state_root: block.state_root,
        };
        appender.append(&self.shared.state, GroupKind::Block, &committed, |group| {
            // One allocation of the final size: growing a multi-megabyte buffer by
            // doubling copies it and faults in fresh pages at every step.
            group.reserve(records_bytes, block.writes.len());
            for (key, write) in block.writes {
                match write {
                    Some(value) => group.put(key, value.as_ref()),
                    None => group.delete(key),
                }
            }
        })?;
        self.shared
            .counters
            .blocks_committed
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Fills an empty store with a complete state that ends at `block` (a snapshot being
    /// loaded): `entries` are written as compaction-kind groups naming `block`, each
    /// durable (fdatasynced) before the next and none larger than a block group may be,
    /// so recovery reads them exactly like a compacted store whose last block is `block`.
    /// A crash midway leaves a store whose state does not hash to `block`'s root, which
    /// the accounts-db refuses to open; load into a scratch directory and rename it into
    /// place once this returns. Returns the number of entries written.
    pub fn import_state(
        &self,
        block: CommittedBlock,
        entries: impl IntoIterator<Item = (Hash, Vec<u8>)>,
    ) -> Result<u64> {
        if self.last_committed().is_some() || !self.is_empty() {
            return Err(StorageError::ImportIntoNonEmpty {
                dir: self.dir().to_path_buf(),
            });
        }
        let mut written = 0u64;
        let mut chunk: Vec<(Hash, Vec<u8>)> = Vec::new();
        let mut chunk_bytes = 0usize;
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() || !chunk.is_empty() {
            // Fill a chunk to half the group byte bound (whole records only).
            while let Some((key, value)) = entries.next_if(|(_, value)| {
                chunk.len() < MAX_GROUP_RECORDS
                    && chunk_bytes + put_record_len(value.len()) <= MAX_GROUP_BYTES / 2
            }) {
                if value.len() > MAX_VALUE_BYTES {
                    return Err(StorageError::ValueTooLarge {
                        key,
                        len: value.len(),
                        max: MAX_VALUE_BYTES,
                    });
                }
                chunk_bytes += put_record_len(value.len());
                chunk.push((key, value));
            }
            if chunk.is_empty() {
                // The next value alone exceeds the chunk bound: it is over MAX_VALUE_BYTES.
                let (key, value) = entries.next().expect("peeked");
                return Err(StorageError::ValueTooLarge {
                    key,
                    len: value.len(),
                    max: MAX_VALUE_BYTES,
                });
            }
            let mut appender = self.shared.appender();
            appender.append(&self.shared.state, GroupKind::Compaction, &block, |group| {
                for (key, value) in &chunk {
                    group.put(key, value);
                }
            })?;
            written += chunk.len() as u64;
            chunk.clear();
            chunk_bytes = 0;
        }
        if written == 0 {
            // An empty state still names its block, so the store knows where it stands.
            let mut appender = self.shared.appender();
            appender.append(&self.shared.state, GroupKind::Compaction, &block, |_| {})?;
        }
        Ok(written)
    }

    /// The last finalized block (slot, hash, state root), if any.
    pub fn last_committed(&self) -> Option<CommittedBlock> {
        self.shared.read_state().last_committed
    }

    /// Live keys.
    pub fn len(&self) -> usize {
        self.shared.read_state().index.len()
    }

    /// Whether no key is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every live `(key, value)` pair in ascending key order, as of this call (a
    /// snapshot of the index; later commits are not seen). Holds the snapshot's segments
    /// open, so compaction cannot delete them under the iterator. Memory: 48 bytes per
    /// live key for the snapshot, plus one value at a time.
    pub fn iter_live(&self) -> LiveIter<'_> {
        let state = self.shared.read_state();
        LiveIter {
            entries: state.index.sorted_entries().into_iter(),
            segments: state.segments.clone(),
            _store: PhantomData,
        }
    }

    /// Runs one compaction pass now (in the caller's thread; waits for a background pass
    /// in progress): every qualifying segment is compacted and deletable files deleted.
    pub fn compact(&self) -> Result<CompactionSummary> {
        run_pass(&self.shared, &AtomicBool::new(false))
    }

    /// Running statistics.
    pub fn stats(&self) -> StoreStats {
        let (segment_count, live_keys, index_capacity_keys, live_bytes, segment_bytes) = {
            let state = self.shared.read_state();
            let (live, total) = state
                .index
                .usages()
                .fold((0, 0), |(live, total), (_, usage)| {
                    (live + usage.live_bytes, total + usage.total_bytes)
                });
            (
                state.segments.len(),
                state.index.len(),
                state.index.capacity(),
                live,
                total,
            )
        };
        let counters = &self.shared.counters;
        let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        StoreStats {
            write_path: self.shared.write_path,
            segment_count,
            live_keys,
            index_capacity_keys,
            live_bytes,
            segment_bytes,
            retired_segments_pending: self.shared.retired().len(),
            blocks_committed: load(&counters.blocks_committed),
            segments_compacted: load(&counters.segments_compacted),
            records_copied: load(&counters.records_copied),
            segments_deleted: load(&counters.segments_deleted),
            bytes_reclaimed: load(&counters.bytes_reclaimed),
            compaction_errors: load(&counters.compaction_errors),
        }
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Recomputes the root over the live state and compares it with the last block's.
    fn verify_state_root(&self) -> Result<bool> {
        let (Some(function), Some(last)) = (
            self.shared.options.state_root.clone(),
            self.last_committed(),
        ) else {
            return Ok(false);
        };
        let mut failure = None;
        let recomputed = {
            let mut live = self.iter_live().map_while(|item| match item {
                Ok(pair) => Some(pair),
                Err(error) => {
                    failure = Some(error);
                    None
                }
            });
            function.state_root(&mut live)
        };
        if let Some(error) = failure {
            return Err(error);
        }
        if recomputed != last.state_root {
            return Err(StorageError::StateRootMismatch {
                slot: last.slot,
                committed: last.state_root,
                recomputed,
            });
        }
        Ok(true)
    }

    /// Checks the index invariants (O(keys); for tests).
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        self.shared.read_state().index.check_invariants();
    }
}

impl Drop for AccountStorage {
    /// Stops and joins the compaction thread, then deletes retired segments no reader
    /// holds (others stay on disk and replay as superseded records at the next open).
    fn drop(&mut self) {
        if let Some(mut thread) = self.compaction.take() {
            thread.stop();
        }
        if let Err(error) = reap_retired(&self.shared) {
            tracing::warn!(%error, "could not delete compacted segments at close");
        }
    }
}

/// Live pairs of a snapshot, in ascending key order; see [`AccountStorage::iter_live`].
#[derive(Debug)]
pub struct LiveIter<'a> {
    entries: std::vec::IntoIter<(Hash, Location)>,
    segments: BTreeMap<u32, Arc<Segment>>,
    _store: PhantomData<&'a AccountStorage>,
}

impl Iterator for LiveIter<'_> {
    type Item = Result<(Hash, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let (key, location) = self.entries.next()?;
        let segment = segment_of(&self.segments, location);
        Some(segment.read_value(location, &key).map(|value| (key, value)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

fn segment_of(segments: &BTreeMap<u32, Arc<Segment>>, location: Location) -> Arc<Segment> {
    // Invariant: a location's segment stays in the state until no location points there.
    Arc::clone(
        segments
            .get(&location.segment)
            .expect("an indexed location's segment is open"),
    )
}

/// Refuses blocks that no group may hold, before anything is written.
/// Checks a block's writes against the group limits; returns the bytes of their records.
fn check_block_size<V: AsRef<[u8]>>(writes: &[(Hash, Option<V>)]) -> Result<usize> {
    let mut bytes = 0usize;
    let too_large = |bytes| StorageError::BlockTooLarge {
        writes: writes.len(),
        bytes,
        max_writes: MAX_GROUP_RECORDS,
        max_bytes: MAX_GROUP_BYTES,
    };
    if writes.len() > MAX_GROUP_RECORDS {
        return Err(too_large(0));
    }
    for (key, write) in writes {
        bytes += match write.as_ref().map(AsRef::as_ref) {
            Some(value) if value.len() > MAX_VALUE_BYTES => {
                return Err(StorageError::ValueTooLarge {
                    key: *key,
                    len: value.len(),
                    max: MAX_VALUE_BYTES,
                });
            }
            Some(value) => put_record_len(value.len()),
            None => RECORD_HEADER_LEN + KEY_LEN,
        };
        if bytes > MAX_GROUP_BYTES {
            return Err(too_large(bytes));
        }
    }
    Ok(bytes)
}

/// Takes the exclusive lock on `dir/LOCK` (released by the OS when the process dies).
fn lock_directory(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE_NAME);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StorageError::io("open", &path, None, source))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StorageError::Locked { path }),
        Err(TryLockError::Error(source)) => Err(StorageError::io("lock", &path, None, source)),
    }
}
