//! What the store tells its caller: the last committed block, the recovery report, the
//! write path and running statistics.

use std::path::PathBuf;
use std::time::Duration;

use aether_types::Hash;

use crate::format::RecordError;

/// A finalized block as the store knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommittedBlock {
    /// The block's slot.
    pub slot: u64,
    /// The block's hash.
    pub block_hash: Hash,
    /// The state root after the block.
    pub state_root: Hash,
}

/// The write path in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePath {
    /// Linked io_uring write → fdatasync chains.
    IoUring,
    /// `pwrite` and `fdatasync` system calls.
    Positioned,
}

/// Which write path `open` should use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WritePathPreference {
    /// io_uring if a ring can be created and supports write and fsync; otherwise
    /// positioned writes (logged at `warn`).
    #[default]
    Auto,
    /// io_uring or an error ([`crate::StorageError::IoUringUnavailable`]).
    IoUring,
    /// Positioned writes (the fallback, forced).
    Positioned,
}

/// The uncommitted tail that recovery cut off the last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file.
    pub path: PathBuf,
    /// The new length of the file: the end of its last complete group.
    pub offset: u64,
    /// Bytes removed.
    pub bytes_discarded: u64,
    /// The first check that failed, or `None` when the records were whole but their
    /// commit record was missing.
    pub reason: Option<RecordError>,
}

/// What `open` found and did.
#[derive(Debug, Clone)]
pub struct RecoveryReport {
    /// The write path selected.
    pub write_path: WritePath,
    /// Segment files read.
    pub segments_scanned: usize,
    /// Records (of every kind) verified.
    pub records_scanned: u64,
    /// Committed groups replayed (blocks and compaction batches).
    pub groups_recovered: u64,
    /// Block groups among them.
    pub blocks_recovered: u64,
    /// Live keys after recovery.
    pub live_keys: usize,
    /// The last finalized block, if any.
    pub last_committed: Option<CommittedBlock>,
    /// The torn tail that was cut off, if the last writer died mid-group.
    pub torn_tail: Option<TornTail>,
    /// Segment files whose creation had not finished, removed.
    pub removed_temporary_files: Vec<PathBuf>,
    /// Whether the state root was recomputed and matched (only with
    /// [`crate::OpenOptions::state_root`] and a committed block).
    pub state_root_verified: bool,
    /// Wall time of the open.
    pub duration: Duration,
}

/// Running statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStats {
    /// The write path in use.
    pub write_path: WritePath,
    /// Segment files in use (the active one included, retired ones not).
    pub segment_count: usize,
    /// Live keys.
    pub live_keys: usize,
    /// Live keys the index holds before it next grows (a pause of the committing
    /// thread; see `OpenOptions::index_keys_reserved`).
    pub index_capacity_keys: usize,
    /// Bytes of live put records.
    pub live_bytes: u64,
    /// Bytes of all segments in use.
    pub segment_bytes: u64,
    /// Segments compacted and waiting for their last reader before deletion.
    pub retired_segments_pending: usize,
    /// Blocks committed since open.
    pub blocks_committed: u64,
    /// Segments compacted since open.
    pub segments_compacted: u64,
    /// Records copied by compaction since open.
    pub records_copied: u64,
    /// Segment files deleted since open.
    pub segments_deleted: u64,
    /// Bytes of deleted segment files since open.
    pub bytes_reclaimed: u64,
    /// Background compaction passes that failed since open.
    pub compaction_errors: u64,
}
