//! Durable storage of **finalized** account state: 32-byte key → value (UTxOs and program
//! state cells).
//!
//! Unfinalized blocks live in memory in the fork overlays (`aether-fork-overlay`), which
//! call [`AccountStorage::commit_block`] when a block becomes final. This crate knows a
//! block only as `(slot, block hash, state root, writes)`; it stores the root it is given
//! and never computes one (the commitment crate does; [`OpenOptions::state_root`] plugs
//! it in to verify at open). It imports neither the pipeline nor consensus.
//!
//! # Design
//!
//! - **Index** (`index.rs`): a `HashMap<Hash, Location { segment, offset, len }>` behind
//!   one `RwLock`, rebuilt at every open by scanning the segments (no checkpoint file:
//!   nothing is trusted that was not verified). Readers hold the lock only to look up a
//!   location and clone the segment's `Arc`; the read and its checksum check run
//!   without it.
//! - **Segments** (`segment.rs`, layout in `format.rs`): append-only files
//!   `segment-NNNNNN.dat`, each with a 64-byte header (magic `AETHSTOR`, format version,
//!   segment id, a random 32-byte salt, header checksum) and then records. Every record
//!   carries an 8-byte checksum over its header and payload, keyed by the segment's salt:
//!   XXH3-64 for puts and deletes, BLAKE3 for commit records (which recovery must not
//!   mistake for user bytes; see `format.rs`). Kinds: put (key, value), delete (key), commit. Values are at most
//!   [`MAX_VALUE_BYTES`] (1 MiB), so a corrupt length can never make a reader allocate
//!   more than that.
//! - **Groups**: a block's records followed by one commit record (group sequence number,
//!   slot, block hash, state root, record count, flags, keyed BLAKE3 digest of the
//!   group's record bytes). A group is visible only once its commit record is durable.
//!   Compaction writes groups of the same shape, flagged as compaction; their commit
//!   records repeat the last block's (slot, hash, root), so the newest commit record in
//!   the log always names the last finalized block.
//! - **Ordering invariant**: all groups are appended to the active (highest-id) segment by
//!   one appender, so log order — (segment id, offset) — equals group-sequence order.
//!   Later wins: replaying the log in order gives each key its newest record.
//! - **Write path** (`writer/`): io_uring when a ring can be created and supports write
//!   and fsync (checked at open, logged, reported in [`RecoveryReport::write_path`] and
//!   [`StoreStats::write_path`]); otherwise positioned writes (`pwrite`). The io_uring
//!   path submits `write(records) → fdatasync → write(commit) → fdatasync` as one linked
//!   chain; its `unsafe` is confined to `writer/uring.rs`.
//!
//! # Fsync policy
//!
//! [`AccountStorage::commit_block`] returns `Ok` only after: (1) the block's records are
//! written and **fdatasync**ed, then (2) its commit record is written right after them
//! and **fdatasync**ed. A block must not be reported final before this returns. Two
//! syncs per block make the recovery rule exact: a commit record can be on disk only if
//! every record of its group is. A new segment is created as a temporary file, fsynced,
//! renamed, and the directory fsynced, before any group is written to it; a compacted
//! segment is unlinked and the directory fsynced before it stops counting as present.
//! If a write or fdatasync fails the store refuses further writes ([`StorageError::Poisoned`])
//! and never retries the fdatasync (the kernel may have dropped the dirty pages);
//! reopening lets recovery decide from what is on disk.
//!
//! # Recovery rule (`recovery.rs`)
//!
//! Segments are scanned in id order, every record verified, every committed group
//! replayed into a new index; commit records must match their group (count and digest),
//! group sequences must increase (by one within a segment) and block slots must
//! increase. At the first record that fails its checks:
//! - in the **last** segment with **no valid commit record after it**: a torn tail (the
//!   writer died mid-group). The file is truncated to the end of the last complete group
//!   and the cut is reported in [`RecoveryReport::torn_tail`]; nothing of the torn group
//!   is visible.
//! - anywhere else: committed data is damaged: [`StorageError::CorruptRecord`] naming the
//!   file and offset. Nothing is ever silently dropped, and a store that opens is
//!   complete up to its last commit record.
//!
//! Wrong magic, an unknown format version, a bad header checksum, a malformed
//! `segment-*` file name, or records that verify but break the rules above are errors
//! naming the file (and offset); none of them panics. A stale `*.dat.tmp` (an
//! unfinished segment creation) is removed and reported. With
//! [`OpenOptions::state_root`] set, open recomputes the root from [`AccountStorage::iter_live`]
//! and refuses a mismatch ([`StorageError::StateRootMismatch`]).
//!
//! # Compaction protocol (`compaction.rs`)
//!
//! A background thread (one pass per [`CompactionOptions::interval`], stopped and joined
//! on drop) picks sealed segments whose reclaimable share is at least
//! [`CompactionOptions::reclaimable_percent_min`], copies their live puts (and the
//! tombstones that may still hide a put in an older segment) into the active segment as
//! compaction groups of at most [`CompactionOptions::batch_bytes`], each durable like a
//! block. Each batch is re-checked against the index under the appender lock, so a copy
//! is always the newest version of its key. Readers never wait for compaction I/O: the
//! index write lock is held only to publish a batch. The old file is retired, then
//! unlinked once no reader's `Arc` remains. A crash mid-compaction loses nothing: copies
//! and originals hold the same value and the later copy wins.
//!
//! # Invariants
//!
//! - Only the last segment can end inside a group; every other segment ends with a
//!   commit record (a new segment is started only between groups).
//! - Group sequence numbers increase in log order, by one within a segment; block slots
//!   strictly increase; the newest commit record names the last finalized block.
//! - Every index entry points at a verified put record of its key in a segment that is
//!   open; each segment's live-byte count equals the lengths of the entries in it
//!   (checked by `check_invariants` in the tests).
//! - Readers see a block entirely or not at all: a group's index updates and the new
//!   last block are published under one write lock, after the group is durable.
//! - A tombstone is dropped by compaction only when no older segment exists on disk.
//!
//! # Bounds
//!
//! Values ≤ [`MAX_VALUE_BYTES`] (1 MiB); a group ≤ [`MAX_GROUP_RECORDS`] records and
//! ≤ [`MAX_GROUP_BYTES`] bytes (a larger block is refused before anything is written);
//! compaction batches ≤ [`CompactionOptions::batch_bytes`]; one background thread, one
//! pass per interval; recovery reads in 1 MiB chunks and holds at most one group's index
//! updates besides the index. The index itself is O(live keys) in memory (about 48 bytes
//! of key and location per key plus hash-map overhead).
//!
//! # Limits, stated plainly
//!
//! - Damage to the **last** commit record of the log is indistinguishable from a torn
//!   write of it, so it is cut and reported as a torn tail (that block must then come
//!   from the blockstore or peers). Damage anywhere before it is a hard error.
//! - A segment file deleted by hand is not detected by the scan (compaction deletes
//!   segments too); it is caught by the state-root check at open when
//!   [`OpenOptions::state_root`] is set.
//! - The crash test kills processes (SIGKILL), which keeps the page cache; power loss is
//!   covered by the fsync policy's argument, not by a test.
//!
//! # Files
//!
//! `store.rs` (the handle), `appender.rs` (the single writer), `group.rs` (group
//! encoding), `format.rs` (byte layout), `segment.rs` (files), `index.rs`, `recovery.rs`,
//! `compaction.rs`, `writer/` (write paths), `shared.rs` (shared state and lock order),
//! `options.rs`, `report.rs`, `error.rs`.

mod appender;
mod compaction;
mod error;
mod format;
mod group;
mod index;
mod options;
mod recovery;
mod report;
mod segment;
mod shared;
mod store;
mod writer;

pub use compaction::CompactionSummary;
pub use error::{Inconsistency, Result, StorageError};
pub use format::{
    FORMAT_VERSION, HeaderError, MAX_GROUP_BYTES, MAX_GROUP_RECORDS, MAX_VALUE_BYTES, RecordError,
    RecordKind, SEGMENT_HEADER_LEN,
};
pub use options::{CompactionOptions, INDEX_KEYS_RESERVED_MAX, OpenOptions, StateRootFunction};
pub use report::{
    CommittedBlock, RecoveryReport, StoreStats, TornTail, WritePath, WritePathPreference,
};
pub use store::{AccountStorage, BlockCommit, LOCK_FILE_NAME, LiveIter};
