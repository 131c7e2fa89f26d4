//! The crate's error type: every error about a file names the file, and the offset where
//! one is known.

use std::io;
use std::path::PathBuf;

use aether_types::Hash;

use crate::format::{HeaderError, RecordError};

/// Result alias of this crate.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An operating-system call failed.
    #[error("{operation} {path} (offset {offset:?}): {source}")]
    Io {
        /// What was being done ("write", "fdatasync", "open", ...).
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The offset in the file, where there is one.
        offset: Option<u64>,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A segment header is not valid (bad magic, length or checksum, or truncated).
    #[error("{path} at offset 0: {reason}")]
    BadSegmentHeader {
        /// The segment file.
        path: PathBuf,
        /// What is wrong.
        reason: HeaderError,
    },
    /// A segment was written by a format version this build does not read.
    #[error(
        "{path} at offset 8: segment format version {found}, this build reads version {supported}"
    )]
    UnsupportedVersion {
        /// The segment file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A record of committed data is damaged: it is not the torn tail of the last
    /// segment (a commit record or a later segment follows it). Nothing is dropped.
    #[error("{path} at offset {offset}: corrupt committed record: {reason}")]
    CorruptRecord {
        /// The segment file.
        path: PathBuf,
        /// Where the damaged record starts.
        offset: u64,
        /// The first check that failed.
        reason: RecordError,
    },
    /// Records verify one by one but break a rule of the log.
    #[error("{path} at offset {offset}: {reason}")]
    Inconsistent {
        /// The segment file.
        path: PathBuf,
        /// Where the offending record starts.
        offset: u64,
        /// Which rule.
        reason: Inconsistency,
    },
    /// A file in the store directory has a segment-like name that does not parse.
    #[error("{path}: not a valid segment file name")]
    BadFileName {
        /// The file.
        path: PathBuf,
    },
    /// Another process (or another handle in this one) has the store open.
    #[error("{path}: the store is locked by another open handle")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The state root recomputed from the live state differs from the committed one.
    #[error("state root mismatch at slot {slot}: committed {committed}, recomputed {recomputed}")]
    StateRootMismatch {
        /// The last committed slot.
        slot: u64,
        /// The root in its commit record.
        committed: Hash,
        /// The root recomputed from every live pair.
        recomputed: Hash,
    },
    /// `commit_block` was given a slot that is not after the last committed one.
    #[error("slot {slot} is not after the last committed slot {last}")]
    SlotNotIncreasing {
        /// The slot given.
        slot: u64,
        /// The last committed slot.
        last: u64,
    },
    /// A value is larger than [`crate::MAX_VALUE_BYTES`].
    #[error("value of key {key} is {len} bytes, the maximum is {max}")]
    ValueTooLarge {
        /// The key.
        key: Hash,
        /// The value's length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A state import was asked of a store that already holds state.
    #[error("cannot import a state into {dir}: the store is not empty")]
    ImportIntoNonEmpty {
        /// The store directory.
        dir: PathBuf,
    },
    /// A block has more writes, or more bytes, than one group may hold.
    #[error(
        "block of {writes} writes encodes to {bytes} bytes; the maxima are {max_writes} writes and {max_bytes} bytes"
    )]
    BlockTooLarge {
        /// Writes in the block.
        writes: usize,
        /// Encoded bytes of the block's records (counted up to the first excess).
        bytes: usize,
        /// [`crate::MAX_GROUP_RECORDS`].
        max_writes: usize,
        /// [`crate::MAX_GROUP_BYTES`].
        max_bytes: usize,
    },
    /// An earlier write or fdatasync failed, so the file contents are unknown; writes are
    /// refused until the store is reopened (recovery then decides from the bytes).
    #[error("the store refuses writes after an earlier write failure; reopen it")]
    Poisoned,
    /// `OpenOptions` out of range.
    #[error("invalid options: {reason}")]
    InvalidOptions {
        /// What is wrong.
        reason: &'static str,
    },
    /// io_uring was required by the options but could not be set up.
    #[error("io_uring was required but is unavailable: {source}")]
    IoUringUnavailable {
        /// Why the ring could not be created or lacks an operation.
        #[source]
        source: io::Error,
    },
}

/// Rules of the log that verified records can still break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Inconsistency {
    /// The segment id in the header differs from the file name's.
    #[error("header says segment {in_header}, file name says {in_name}")]
    SegmentIdMismatch {
        /// Id in the header.
        in_header: u64,
        /// Id in the file name.
        in_name: u32,
    },
    /// A commit record's count differs from the records before it.
    #[error("commit record counts {declared} records, the group has {found}")]
    RecordCountMismatch {
        /// Count in the commit record.
        declared: u32,
        /// Records found.
        found: u32,
    },
    /// A commit record's digest differs from its group's records.
    #[error("commit record digest does not match its group's records")]
    DigestMismatch,
    /// Group sequence numbers do not increase (by one within a segment).
    #[error("group sequence {found} after {previous}")]
    SequenceOutOfOrder {
        /// The previous group's sequence.
        previous: u64,
        /// This group's sequence.
        found: u64,
    },
    /// Block slots do not increase, or a compaction group names an older block.
    #[error("slot {found} after slot {previous}")]
    SlotOutOfOrder {
        /// The previous block's slot.
        previous: u64,
        /// This commit's slot.
        found: u64,
    },
    /// A compaction commit names a different block than the log's last block commit.
    #[error(
        "compaction commit names block {found} at slot {slot}, the log's last block is {expected}"
    )]
    CompactionBlockMismatch {
        /// The slot.
        slot: u64,
        /// The block hash in the compaction commit.
        found: Hash,
        /// The block hash of the last block commit.
        expected: Hash,
    },
    /// A segment that is not the last ends inside a group (only the last may be torn).
    #[error("segment that is not the last ends inside an uncommitted group")]
    TornNonLastSegment,
    /// A group holds more records or bytes than any writer produces.
    #[error("group exceeds the maximum records or bytes of a group")]
    GroupTooLarge,
    /// An index entry points at a record that is not the expected put.
    #[error("index points at a record that is not a put of the requested key")]
    IndexMismatch,
    /// Compaction found a segment still holding live data after copying it.
    #[error("segment still has {live_bytes} live bytes after compaction")]
    LiveDataLeft {
        /// Live bytes left.
        live_bytes: u64,
    },
}

impl StorageError {
    /// An I/O error with its file and offset.
    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
        offset: Option<u64>,
        source: io::Error,
    ) -> StorageError {
        StorageError::Io {
            operation,
            path: path.into(),
            offset,
            source,
        }
    }
}
