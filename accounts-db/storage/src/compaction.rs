//! Compaction: copies the live records of mostly-dead sealed segments into the active
//! segment, then deletes the old files once no reader holds them.
//!
//! Protocol for one segment S (never the active one):
//! 1. Scan S's records with no lock held; a put is a candidate when the index still
//!    points at exactly its location; a tombstone is a candidate when its key is absent
//!    and a segment older than S still exists (it may hold a put the tombstone hides).
//!    Records are read [`SCAN_RECORDS`] at a time and their keys looked up together
//!    under one short read lock, so the index's cache misses overlap.
//! 2. Per batch of `batch_bytes`: take the appender lock (commits wait for one batch at
//!    most), re-check each candidate against the index (no commit can interleave now;
//!    the keys are again looked up together first),
//!    and append the survivors as a compaction group with its own commit record, written
//!    durably like a block. Publishing it moves the index entries to the copies.
//! 3. After the scan (always with at least one group, possibly empty, so that the newest
//!    commit record never lives in a deleted segment): S has no live bytes left; it is
//!    removed from the state and put on the retired list.
//! 4. The reaper unlinks a retired file once its `Arc` is the last (no reader or
//!    iterator holds it), fsyncs the directory, and only then forgets it; until then it
//!    still counts as an "older segment" for the tombstone rule of step 1.
//!
//! A crash at any point loses nothing: copies are ordinary records with a later group
//! sequence, so at recovery a copy and its original resolve to the same value (later
//! wins), an unfinished batch is a torn tail, and a retired file that was not yet
//! unlinked replays as older, superseded records.

use std::fs;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use aether_types::Hash;

use crate::error::{Inconsistency, Result, StorageError};
use crate::format::{
    GroupKind, MAX_GROUP_RECORDS, RECORD_HEADER_LEN, Record, SEGMENT_HEADER_LEN, decode_header,
    decode_record,
};
use crate::group::put_record_len;
use crate::index::Location;
use crate::segment::{Segment, sync_dir};
use crate::shared::Shared;

/// What one compaction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionSummary {
    /// Segments compacted (retired).
    pub segments_compacted: u64,
    /// Live records copied.
    pub records_copied: u64,
    /// Segment files deleted (possibly of earlier passes, once their readers finished).
    pub segments_deleted: u64,
    /// Bytes of those files.
    pub bytes_reclaimed: u64,
}

/// Records read from a segment before their keys are looked up together.
const SCAN_RECORDS: usize = 64;

/// A live record to copy.
#[derive(Debug)]
enum Copy {
    Put {
        key: Hash,
        value: Vec<u8>,
        from: Location,
    },
    Delete {
        key: Hash,
    },
}

/// Compacts every segment that qualifies (at most as many as exist when the pass starts),
/// then reaps retired segments. Stops between batches when `stop` is set.
pub(crate) fn run_pass(shared: &Shared, stop: &AtomicBool) -> Result<CompactionSummary> {
    let _pass = shared.compaction_lock();
    let mut summary = CompactionSummary::default();
    let limit = shared.read_state().segments.len();
    for _ in 0..limit {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let Some(segment) = pick_candidate(shared) else {
            break;
        };
        let copied = compact_segment(shared, &segment, stop)?;
        let Some(copied) = copied else {
            break;
        };
        summary.segments_compacted += 1;
        summary.records_copied += copied;
    }
    let (deleted, bytes) = reap_retired(shared)?;
    summary.segments_deleted = deleted;
    summary.bytes_reclaimed = bytes;
    let counters = &shared.counters;
    counters
        .segments_compacted
        .fetch_add(summary.segments_compacted, Ordering::Relaxed);
    counters
        .records_copied
        .fetch_add(summary.records_copied, Ordering::Relaxed);
    Ok(summary)
}

/// The smallest segment id still on disk (in use or retired).
fn oldest_on_disk(shared: &Shared) -> Option<u32> {
    let retired_min = shared.retired().iter().map(|segment| segment.id()).min();
    let in_use_min = shared.read_state().segments.keys().next().copied();
    match (retired_min, in_use_min) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The sealed segment with the highest reclaimable share at or above the threshold.
fn pick_candidate(shared: &Shared) -> Option<Arc<Segment>> {
    let oldest = oldest_on_disk(shared);
    let threshold = u64::from(shared.options.compaction.reclaimable_percent_min);
    let state = shared.read_state();
    state.last_committed?;
    let mut best: Option<(u32, u64, u64)> = None;
    for (id, usage) in state.index.usages() {
        if id == state.active || usage.total_bytes == 0 {
            continue;
        }
        let reclaimable = usage.reclaimable_bytes(Some(id) == oldest);
        if reclaimable == 0 || reclaimable * 100 < threshold * usage.total_bytes {
            continue;
        }
        // Compare reclaimable / total without division.
        let better = match best {
            None => true,
            Some((_, best_reclaimable, best_total)) => {
                u128::from(reclaimable) * u128::from(best_total)
                    > u128::from(best_reclaimable) * u128::from(usage.total_bytes)
            }
        };
        if better {
            best = Some((id, reclaimable, usage.total_bytes));
        }
    }
    best.and_then(|(id, _, _)| state.segments.get(&id).cloned())
}

/// Compacts one segment; returns the records copied, or `None` if stopped midway (the
/// segment stays in use; copies already made are harmless duplicates).
fn compact_segment(
    shared: &Shared,
    segment: &Arc<Segment>,
    stop: &AtomicBool,
) -> Result<Option<u64>> {
    let id = segment.id();
    let committed_len = match shared.read_state().index.usage(id) {
        Some(usage) => usage.total_bytes,
        None => return Ok(None),
    };
    let is_oldest = oldest_on_disk(shared) == Some(id);
    let mut reader = BufReader::with_capacity(1 << 20, segment.file());
    let header_len = SEGMENT_HEADER_LEN as u64;
    reader
        .seek(SeekFrom::Start(header_len))
        .map_err(|source| StorageError::io("seek", segment.path(), Some(header_len), source))?;
    let mut position = header_len;
    let mut batch: Vec<Copy> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut copied = 0u64;
    let mut groups_written = 0u64;
    // Records are read a few at a time into `scanned` (their bytes end to end), then
    // their keys are looked up together under one read lock: each lookup is a cache
    // miss in a large index, and independent lookups in a row overlap (`Index::warm`).
    let mut scanned: Vec<u8> = Vec::new();
    let mut scanned_records: Vec<(Location, usize)> = Vec::with_capacity(SCAN_RECORDS);
    while position < committed_len {
        scanned.clear();
        scanned_records.clear();
        // No more than the batch may still take, so a batch overshoots its bounds by at
        // most one record, as when records were taken one at a time.
        let records_room = SCAN_RECORDS.min(MAX_GROUP_RECORDS - batch.len());
        while position < committed_len
            && scanned_records.len() < records_room
            && batch_bytes + scanned.len() < shared.options.compaction.batch_bytes
        {
            let start = scanned.len();
            let len = read_verified(&mut reader, segment, position, &mut scanned)?;
            let from = Location {
                segment: id,
                offset: position,
                len: len as u32,
            };
            scanned_records.push((from, start));
            position += len as u64;
        }
        let mut records = Vec::with_capacity(scanned_records.len());
        for &(from, start) in &scanned_records {
            let bytes = &scanned[start..start + from.len as usize];
            let (record, _) = decode_record(segment.salt(), bytes).map_err(|reason| {
                StorageError::CorruptRecord {
                    path: segment.path().to_path_buf(),
                    offset: from.offset,
                    reason,
                }
            })?;
            records.push((record, from));
        }
        {
            let state = shared.read_state();
            state
                .index
                .warm(records.iter().filter_map(|(record, _)| match record {
                    Record::Put { key, .. } | Record::Delete { key } => Some(key),
                    Record::Commit(_) => None,
                }));
            for (record, from) in records {
                match record {
                    Record::Put { key, value } => {
                        if state.index.get(&key) == Some(from) {
                            batch_bytes += put_record_len(value.len());
                            batch.push(Copy::Put {
                                key,
                                value: value.to_vec(),
                                from,
                            });
                        }
                    }
                    Record::Delete { key } => {
                        if !is_oldest && state.index.get(&key).is_none() {
                            batch_bytes += from.len as usize;
                            batch.push(Copy::Delete { key });
                        }
                    }
                    Record::Commit(_) => {}
                }
            }
        }
        if batch_bytes >= shared.options.compaction.batch_bytes || batch.len() >= MAX_GROUP_RECORDS
        {
            if let Some(count) = write_batch(shared, std::mem::take(&mut batch), false)? {
                copied += count;
                groups_written += 1;
            }
            batch_bytes = 0;
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
        }
    }
    if !batch.is_empty() || groups_written == 0 {
        copied += write_batch(shared, batch, groups_written == 0)?.unwrap_or(0);
    }
    retire(shared, segment)?;
    tracing::debug!(segment = id, copied, "compacted segment");
    Ok(Some(copied))
}

/// Reads the record at `position` (a committed region: any failure is corruption) onto
/// the end of `out`; returns its length.
fn read_verified(
    reader: &mut BufReader<&fs::File>,
    segment: &Segment,
    position: u64,
    out: &mut Vec<u8>,
) -> Result<usize> {
    let corrupt = |reason| StorageError::CorruptRecord {
        path: segment.path().to_path_buf(),
        offset: position,
        reason,
    };
    let io = |source| StorageError::io("read", segment.path(), Some(position), source);
    let start = out.len();
    out.resize(start + RECORD_HEADER_LEN, 0);
    reader.read_exact(&mut out[start..]).map_err(io)?;
    let header = decode_header(&out[start..]).map_err(corrupt)?;
    let len = header.record_len();
    out.resize(start + len, 0);
    reader
        .read_exact(&mut out[start + RECORD_HEADER_LEN..])
        .map_err(io)?;
    Ok(len)
}

/// Appends the still-live copies of `batch` as one compaction group and returns how
/// many; with none left, writes an empty group only if `always` (else returns `None`).
fn write_batch(shared: &Shared, batch: Vec<Copy>, always: bool) -> Result<Option<u64>> {
    let mut appender = shared.appender();
    // With the appender held no commit can interleave, so this check stays true until
    // the group is published.
    let (survivors, block) = {
        let state = shared.read_state();
        state.index.warm(batch.iter().map(|copy| match copy {
            Copy::Put { key, .. } | Copy::Delete { key } => key,
        }));
        let survivors: Vec<Copy> = batch
            .into_iter()
            .filter(|copy| match copy {
                Copy::Put { key, from, .. } => state.index.get(key) == Some(*from),
                Copy::Delete { key } => state.index.get(key).is_none(),
            })
            .collect();
        let Some(block) = state.last_committed else {
            return Ok(None);
        };
        (survivors, block)
    };
    if survivors.is_empty() && !always {
        return Ok(None);
    }
    let count = survivors.len() as u64;
    appender.append(&shared.state, GroupKind::Compaction, &block, |group| {
        for copy in &survivors {
            match copy {
                Copy::Put { key, value, .. } => group.put(key, value),
                Copy::Delete { key } => group.delete(key),
            }
        }
    })?;
    Ok(Some(count))
}

/// Moves a fully copied segment from the state to the retired list.
fn retire(shared: &Shared, segment: &Arc<Segment>) -> Result<()> {
    let id = segment.id();
    let mut state = shared.write_state();
    let usage = state.index.usage(id).unwrap_or_default();
    if usage.live_bytes != 0 {
        return Err(StorageError::Inconsistent {
            path: segment.path().to_path_buf(),
            offset: 0,
            reason: Inconsistency::LiveDataLeft {
                live_bytes: usage.live_bytes,
            },
        });
    }
    assert_ne!(state.active, id, "the active segment is never compacted");
    state.index.remove_segment(id);
    let removed = state.segments.remove(&id);
    drop(state);
    if let Some(removed) = removed {
        shared.retired().push(removed);
    }
    Ok(())
}

/// Unlinks retired segments that no reader holds any more, fsyncs the directory, and
/// only then forgets them. Returns files deleted and their bytes.
pub(crate) fn reap_retired(shared: &Shared) -> Result<(u64, u64)> {
    let mut retired = shared.retired();
    let mut unlinked = Vec::new();
    let mut bytes = 0u64;
    for (position, segment) in retired.iter().enumerate() {
        if Arc::strong_count(segment) != 1 {
            continue;
        }
        let size = segment
            .file()
            .metadata()
            .map(|metadata| metadata.len())
            .unwrap_or(0);
        match fs::remove_file(segment.path()) {
            Ok(()) => {}
            // Removed by an earlier attempt whose directory fsync failed.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(StorageError::io("remove", segment.path(), None, source)),
        }
        bytes += size;
        unlinked.push(position);
    }
    if unlinked.is_empty() {
        return Ok((0, 0));
    }
    sync_dir(&shared.dir)?;
    for position in unlinked.iter().rev() {
        let segment = retired.remove(*position);
        tracing::debug!(segment = segment.id(), "deleted compacted segment");
    }
    let deleted = unlinked.len() as u64;
    shared
        .counters
        .segments_deleted
        .fetch_add(deleted, Ordering::Relaxed);
    shared
        .counters
        .bytes_reclaimed
        .fetch_add(bytes, Ordering::Relaxed);
    Ok((deleted, bytes))
}

/// The background compaction thread: one pass per interval, stopped and joined on drop.
#[derive(Debug)]
pub(crate) struct CompactionThread {
    signal: Arc<StopSignal>,
    handle: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct StopSignal {
    stopped: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl CompactionThread {
    /// Starts the thread (named `storage-compaction:0`).
    pub(crate) fn spawn(shared: Arc<Shared>, interval: Duration) -> Result<CompactionThread> {
        let signal = Arc::new(StopSignal::default());
        let thread_signal = Arc::clone(&signal);
        let dir = shared.dir.clone();
        let handle = std::thread::Builder::new()
            .name("storage-compaction:0".to_owned())
            .spawn(move || run(&shared, &thread_signal, interval))
            .map_err(|source| StorageError::io("spawn compaction thread for", dir, None, source))?;
        Ok(CompactionThread {
            signal,
            handle: Some(handle),
        })
    }

    /// Stops the thread after its current batch and joins it.
    pub(crate) fn stop(&mut self) {
        {
            let _guard = self
                .signal
                .lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            self.signal.stopped.store(true, Ordering::Relaxed);
        }
        self.signal.wake.notify_all();
        if let Some(handle) = self.handle.take()
            && handle.join().is_err()
        {
            tracing::error!("compaction thread panicked");
        }
    }
}

impl Drop for CompactionThread {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(shared: &Shared, signal: &StopSignal, interval: Duration) {
    loop {
        {
            let guard = signal.lock.lock().unwrap_or_else(PoisonError::into_inner);
            if signal.stopped.load(Ordering::Relaxed) {
                return;
            }
            let (_guard, _) = signal
                .wake
                .wait_timeout_while(guard, interval, |_| !signal.stopped.load(Ordering::Relaxed))
                .unwrap_or_else(PoisonError::into_inner);
        }
        if signal.stopped.load(Ordering::Relaxed) {
            return;
        }
        match run_pass(shared, &signal.stopped) {
            Ok(_) => {}
            Err(StorageError::Poisoned) => {
                // Writes are refused until reopen; passes would only fail again.
                tracing::warn!("background compaction stops: the store refuses writes");
                return;
            }
            Err(error) => {
                shared
                    .counters
                    .compaction_errors
                    .fetch_add(1, Ordering::Relaxed);
                tracing::error!(%error, "background compaction pass failed");
            }
        }
    }
}
