//! Open-time recovery: scan every segment in id order, verify every record, replay every
//! committed group into a fresh index, and cut off the torn tail of the last segment.
//!
//! The rule (see the crate docs): a record that fails its checks is
//! - a **torn tail** when it is in the last segment and no valid commit record follows it
//!   there: the file is truncated to the end of the last complete group, reported in
//!   [`TornTail`];
//! - **corruption** otherwise (a later segment or a later commit record exists, so the
//!   damaged bytes were once committed): a hard error naming the file and the offset.
//!
//! This is exact because of the write order: a commit record is written only after the
//! group's records are durable, and a group is written only after the previous group's
//! commit record is durable, so after a crash only the group being written can be
//! incomplete, and it has no valid commit record yet.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Inconsistency, Result, StorageError};
use crate::format::{
    COMMIT_RECORD_LEN, CommitRecord, GroupKind, MAX_GROUP_BYTES, MAX_GROUP_RECORDS,
    RECORD_HEADER_LEN, Record, RecordError, SEGMENT_HEADER_LEN, decode_header, decode_record,
    is_commit_record,
};
use crate::index::{Index, Location, Update};
use crate::report::{CommittedBlock, TornTail};
use crate::segment::{FileKind, Segment, classify, sync_dir};

/// Bytes read per step by the scanners.
const READ_CHUNK_BYTES: usize = 1 << 20;

/// The store as recovery rebuilt it.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// Every segment, by id; the last one is the active segment.
    pub(crate) segments: BTreeMap<u32, Arc<Segment>>,
    /// The rebuilt index.
    pub(crate) index: Index,
    /// The last finalized block.
    pub(crate) last_committed: Option<CommittedBlock>,
    /// The last group's sequence number (0: no group yet).
    pub(crate) last_seq: u64,
    /// Length of the active (last) segment after any truncation.
    pub(crate) active_len: u64,
    /// Counts for the report.
    pub(crate) segments_scanned: usize,
    /// Records verified.
    pub(crate) records_scanned: u64,
    /// Groups replayed.
    pub(crate) groups_recovered: u64,
    /// Block groups replayed.
    pub(crate) blocks_recovered: u64,
    /// The cut-off tail, if any.
    pub(crate) torn_tail: Option<TornTail>,
    /// Unfinished segment creations removed.
    pub(crate) removed_temporary_files: Vec<PathBuf>,
}

/// The log state carried from one segment to the next.
#[derive(Debug, Default)]
struct Replay {
    index: Index,
    last_seq: Option<u64>,
    last_block: Option<CommittedBlock>,
    records: u64,
    groups: u64,
    blocks: u64,
}

/// Recovers the store in `dir` (which exists); creates segment 1 in an empty store.
/// The rebuilt index has room for at least `index_keys_reserved` keys.
pub(crate) fn recover(dir: &Path, index_keys_reserved: usize) -> Result<Recovered> {
    let (ids, removed_temporary_files) = list_segments(dir)?;
    let mut replay = Replay::default();
    replay.index.reserve(index_keys_reserved);
    let mut segments = BTreeMap::new();
    let mut torn_tail = None;
    let mut active_len = SEGMENT_HEADER_LEN as u64;
    for (position, id) in ids.iter().enumerate() {
        let is_last = position + 1 == ids.len();
        let (segment, file_len) = Segment::open(dir, *id)?;
        let scanned = scan_segment(&segment, file_len, is_last, &mut replay)?;
        if is_last {
            active_len = scanned.committed_len;
            torn_tail = scanned.torn_tail;
        }
        segments.insert(*id, Arc::new(segment));
    }
    if segments.is_empty() {
        let segment = Segment::create(dir, 1)?;
        replay.index.add_segment(1, SEGMENT_HEADER_LEN as u64);
        segments.insert(1, Arc::new(segment));
    }
    Ok(Recovered {
        segments_scanned: ids.len(),
        segments,
        index: replay.index,
        last_committed: replay.last_block,
        last_seq: replay.last_seq.unwrap_or(0),
        active_len,
        records_scanned: replay.records,
        groups_recovered: replay.groups,
        blocks_recovered: replay.blocks,
        torn_tail,
        removed_temporary_files,
    })
}

/// Segment ids in ascending order; removes unfinished creations (`*.dat.tmp`).
fn list_segments(dir: &Path) -> Result<(Vec<u32>, Vec<PathBuf>)> {
    let entries =
        fs::read_dir(dir).map_err(|source| StorageError::io("list", dir, None, source))?;
    let mut ids = Vec::new();
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| StorageError::io("list", dir, None, source))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        match classify(&name) {
            FileKind::Segment(id) => ids.push(id),
            FileKind::Temporary => {
                fs::remove_file(&path)
                    .map_err(|source| StorageError::io("remove", &path, None, source))?;
                tracing::warn!(path = %path.display(), "removed unfinished segment creation");
                removed.push(path);
            }
            FileKind::Malformed => return Err(StorageError::BadFileName { path }),
            FileKind::Other => {}
        }
    }
    if !removed.is_empty() {
        sync_dir(dir)?;
    }
    ids.sort_unstable();
    Ok((ids, removed))
}

/// What scanning one segment found.
#[derive(Debug)]
struct Scanned {
    committed_len: u64,
    torn_tail: Option<TornTail>,
}

/// The group being read: records seen since the last commit record.
#[derive(Debug)]
struct OpenGroup {
    start: u64,
    updates: Vec<Update>,
    hasher: blake3::Hasher,
}

fn scan_segment(
    segment: &Segment,
    file_len: u64,
    is_last: bool,
    replay: &mut Replay,
) -> Result<Scanned> {
    let id = segment.id();
    let path = segment.path();
    replay.index.add_segment(id, SEGMENT_HEADER_LEN as u64);
    let mut reader = BufReader::with_capacity(READ_CHUNK_BYTES, segment.file());
    let start = SEGMENT_HEADER_LEN as u64;
    reader
        .seek(SeekFrom::Start(start))
        .map_err(|source| StorageError::io("seek", path, Some(start), source))?;
    let mut position = start;
    let mut group = OpenGroup {
        start,
        updates: Vec::new(),
        hasher: blake3::Hasher::new_keyed(segment.salt()),
    };
    let mut groups_in_segment = 0u64;
    let mut buf = Vec::new();
    loop {
        if position == file_len {
            if group.start == file_len {
                return Ok(Scanned {
                    committed_len: file_len,
                    torn_tail: None,
                });
            }
            if !is_last {
                return Err(inconsistent(
                    path,
                    group.start,
                    Inconsistency::TornNonLastSegment,
                ));
            }
            return cut_tail(segment, group.start, file_len, None);
        }
        let decoded = match read_record(&mut reader, segment, position, file_len, &mut buf)? {
            Ok(()) => decode_record(segment.salt(), &buf),
            Err(reason) => Err(reason),
        };
        let (record, record_len) = match decoded {
            Ok(decoded) => decoded,
            Err(reason) => {
                return torn_or_corrupt(segment, position, group.start, file_len, is_last, reason);
            }
        };
        let bytes = &buf[..record_len];
        replay.records += 1;
        let location = Location {
            segment: id,
            offset: position,
            len: record_len as u32,
        };
        match record {
            Record::Put { key, .. } => group.updates.push(Update::Put { key, location }),
            Record::Delete { key } => group.updates.push(Update::Delete { key, location }),
            Record::Commit(commit) => {
                check_commit(path, position, &commit, &group, groups_in_segment, replay)?;
                let end = position + record_len as u64;
                for update in group.updates.drain(..) {
                    replay.index.apply(update);
                }
                replay.index.grow(id, end - group.start);
                replay.groups += 1;
                groups_in_segment += 1;
                group.start = end;
                group.hasher = blake3::Hasher::new_keyed(segment.salt());
                position = end;
                continue;
            }
        }
        group.hasher.update(bytes);
        position += record_len as u64;
        if group.updates.len() > MAX_GROUP_RECORDS
            || position - group.start > MAX_GROUP_BYTES as u64
        {
            return Err(inconsistent(
                path,
                group.start,
                Inconsistency::GroupTooLarge,
            ));
        }
    }
}

/// Checks a commit record against its group and the log so far, and advances the log's
/// sequence and last block.
fn check_commit(
    path: &Path,
    offset: u64,
    commit: &CommitRecord,
    group: &OpenGroup,
    groups_in_segment: u64,
    replay: &mut Replay,
) -> Result<()> {
    let found = group.updates.len() as u32;
    if commit.record_count != found || group.updates.len() > MAX_GROUP_RECORDS {
        let reason = Inconsistency::RecordCountMismatch {
            declared: commit.record_count,
            found,
        };
        return Err(inconsistent(path, offset, reason));
    }
    if *group.hasher.finalize().as_bytes() != commit.records_digest {
        return Err(inconsistent(path, offset, Inconsistency::DigestMismatch));
    }
    if let Some(previous) = replay.last_seq {
        // Within a segment groups are consecutive; across segments compaction may have
        // deleted segments in between, so only the order is checked.
        let in_order = if groups_in_segment > 0 {
            commit.seq == previous + 1
        } else {
            commit.seq > previous
        };
        if !in_order {
            let reason = Inconsistency::SequenceOutOfOrder {
                previous,
                found: commit.seq,
            };
            return Err(inconsistent(path, offset, reason));
        }
    }
    let block = CommittedBlock {
        slot: commit.slot,
        block_hash: commit.block_hash,
        state_root: commit.state_root,
    };
    match (commit.kind, replay.last_block) {
        (GroupKind::Block, Some(last)) if commit.slot <= last.slot => {
            let reason = Inconsistency::SlotOutOfOrder {
                previous: last.slot,
                found: commit.slot,
            };
            return Err(inconsistent(path, offset, reason));
        }
        (GroupKind::Compaction, Some(last)) if commit.slot < last.slot => {
            let reason = Inconsistency::SlotOutOfOrder {
                previous: last.slot,
                found: commit.slot,
            };
            return Err(inconsistent(path, offset, reason));
        }
        (GroupKind::Compaction, Some(last)) if commit.slot == last.slot && block != last => {
            let reason = Inconsistency::CompactionBlockMismatch {
                slot: commit.slot,
                found: commit.block_hash,
                expected: last.block_hash,
            };
            return Err(inconsistent(path, offset, reason));
        }
        _ => {}
    }
    // A compaction commit naming a newer block than any block commit seen means that
    // block's own commit record was in a segment compaction has since deleted.
    replay.last_block = Some(block);
    if commit.kind == GroupKind::Block {
        replay.blocks += 1;
    }
    replay.last_seq = Some(commit.seq);
    Ok(())
}

/// Reads the record at `position` into `buf` (exactly its bytes, header checked; the
/// caller verifies the checksum), or says why the bytes there cannot be a record. Only
/// an OS error is an `Err` of the outer result.
fn read_record(
    reader: &mut BufReader<&std::fs::File>,
    segment: &Segment,
    position: u64,
    file_len: u64,
    buf: &mut Vec<u8>,
) -> Result<Result<(), RecordError>> {
    let available = (file_len - position).min(usize::MAX as u64) as usize;
    if available < RECORD_HEADER_LEN {
        return Ok(Err(RecordError::Truncated {
            needed: RECORD_HEADER_LEN,
            available,
        }));
    }
    buf.resize(RECORD_HEADER_LEN, 0);
    read_exact(reader, segment, position, buf)?;
    let header = match decode_header(buf) {
        Ok(header) => header,
        Err(reason) => return Ok(Err(reason)),
    };
    // Bounded by the header check: at most one maximal put record is allocated.
    let len = header.record_len();
    if available < len {
        return Ok(Err(RecordError::Truncated {
            needed: len,
            available,
        }));
    }
    buf.resize(len, 0);
    read_exact(reader, segment, position, &mut buf[RECORD_HEADER_LEN..])?;
    Ok(Ok(()))
}

fn read_exact(
    reader: &mut BufReader<&std::fs::File>,
    segment: &Segment,
    position: u64,
    buf: &mut [u8],
) -> Result<()> {
    reader
        .read_exact(buf)
        .map_err(|source| StorageError::io("read", segment.path(), Some(position), source))
}

/// Applies the recovery rule to a record that failed its checks at `offset`.
fn torn_or_corrupt(
    segment: &Segment,
    offset: u64,
    group_start: u64,
    file_len: u64,
    is_last: bool,
    reason: RecordError,
) -> Result<Scanned> {
    let path = segment.path().to_path_buf();
    if !is_last {
        return Err(StorageError::CorruptRecord {
            path,
            offset,
            reason,
        });
    }
    if let Some(commit_offset) = find_commit_after(segment, offset + 1, file_len)? {
        tracing::error!(path = %path.display(), offset, commit_offset, %reason, "damaged record before a commit record");
        return Err(StorageError::CorruptRecord {
            path,
            offset,
            reason,
        });
    }
    cut_tail(segment, group_start, file_len, Some(reason))
}

/// Truncates the last segment to `offset` (the end of its last complete group).
fn cut_tail(
    segment: &Segment,
    offset: u64,
    file_len: u64,
    reason: Option<RecordError>,
) -> Result<Scanned> {
    assert!(offset < file_len && offset >= SEGMENT_HEADER_LEN as u64);
    segment.truncate(offset)?;
    let torn = TornTail {
        path: segment.path().to_path_buf(),
        offset,
        bytes_discarded: file_len - offset,
        reason,
    };
    tracing::warn!(path = %torn.path.display(), offset, bytes = torn.bytes_discarded, reason = ?torn.reason, "cut torn tail (uncommitted group)");
    Ok(Scanned {
        committed_len: offset,
        torn_tail: Some(torn),
    })
}

/// The offset of the first valid commit record at or after `from`, if any. Checksums are
/// keyed by the segment's salt, so bytes inside a value cannot pass for a record.
fn find_commit_after(segment: &Segment, from: u64, file_len: u64) -> Result<Option<u64>> {
    let mut offset = from;
    let mut buf = Vec::new();
    while offset + COMMIT_RECORD_LEN as u64 <= file_len {
        let end = file_len.min(offset + (READ_CHUNK_BYTES + COMMIT_RECORD_LEN - 1) as u64);
        buf.resize((end - offset) as usize, 0);
        segment.read_exact_at(&mut buf, offset)?;
        let starts = buf.len() - COMMIT_RECORD_LEN + 1;
        if let Some(found) = (0..starts).find(|at| is_commit_record(segment.salt(), &buf[*at..])) {
            return Ok(Some(offset + found as u64));
        }
        offset += starts as u64;
    }
    Ok(None)
}

fn inconsistent(path: &Path, offset: u64, reason: Inconsistency) -> StorageError {
    StorageError::Inconsistent {
        path: path.to_path_buf(),
        offset,
        reason,
    }
}
