//! State shared by the store handle, its readers and the compaction thread, and the
//! lock order that keeps them apart.
//!
//! Lock order (never take an earlier lock while holding a later one):
//! `compaction_lock` → `appender` → `state` → `retired`.
//! Readers take only `state`, for reading, and never across I/O.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::appender::Appender;
use crate::index::Index;
use crate::options::OpenOptions;
use crate::report::{CommittedBlock, WritePath};
use crate::segment::Segment;

/// What readers see: the index, the open segments and the last finalized block. All of
/// a group's effects are published under one write lock, so a reader sees a block
/// entirely or not at all.
#[derive(Debug)]
pub(crate) struct State {
    /// Key → location.
    pub(crate) index: Index,
    /// Segments in use, by id (retired ones are in `Shared::retired`).
    pub(crate) segments: BTreeMap<u32, Arc<Segment>>,
    /// The segment the appender writes to (never compacted).
    pub(crate) active: u32,
    /// The last finalized block.
    pub(crate) last_committed: Option<CommittedBlock>,
}

/// Counters since open.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) blocks_committed: AtomicU64,
    pub(crate) segments_compacted: AtomicU64,
    pub(crate) records_copied: AtomicU64,
    pub(crate) segments_deleted: AtomicU64,
    pub(crate) bytes_reclaimed: AtomicU64,
    pub(crate) compaction_errors: AtomicU64,
}

/// Everything behind the handle.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The store directory.
    pub(crate) dir: PathBuf,
    /// Validated options.
    pub(crate) options: OpenOptions,
    /// Index, segments, last block.
    pub(crate) state: RwLock<State>,
    /// The single writer: commits and compaction groups append through it.
    pub(crate) appender: Mutex<Appender>,
    /// Compacted segments waiting for their last reader; still on disk.
    pub(crate) retired: Mutex<Vec<Arc<Segment>>>,
    /// One compaction pass at a time (background thread or `compact`).
    pub(crate) compaction_lock: Mutex<()>,
    /// Counters.
    pub(crate) counters: Counters,
    /// The write path chosen at open.
    pub(crate) write_path: WritePath,
    /// Holds the directory's exclusive lock for the handle's lifetime.
    pub(crate) _lock_file: File,
}

impl Shared {
    /// Reads the state. A panic elsewhere cannot leave the state half-updated (updates
    /// are plain assignments after all I/O), so a poisoned lock is still usable.
    pub(crate) fn read_state(&self) -> RwLockReadGuard<'_, State> {
        read_state(&self.state)
    }

    /// Writes the state.
    pub(crate) fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        write_state(&self.state)
    }

    /// The appender.
    pub(crate) fn appender(&self) -> MutexGuard<'_, Appender> {
        self.appender.lock().unwrap_or_else(|poisoned| {
            // A panic mid-append leaves the file tail unknown: refuse further writes.
            let mut appender = poisoned.into_inner();
            appender.poison();
            appender
        })
    }

    /// The retired segments.
    pub(crate) fn retired(&self) -> MutexGuard<'_, Vec<Arc<Segment>>> {
        self.retired.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The compaction lock.
    pub(crate) fn compaction_lock(&self) -> MutexGuard<'_, ()> {
        self.compaction_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Reads the state (free function for the appender, which gets the lock, not `Shared`).
pub(crate) fn read_state(state: &RwLock<State>) -> RwLockReadGuard<'_, State> {
    state.read().unwrap_or_else(PoisonError::into_inner)
}

/// Writes the state (free function for the appender, which gets the lock, not `Shared`).
pub(crate) fn write_state(state: &RwLock<State>) -> RwLockWriteGuard<'_, State> {
    state.write().unwrap_or_else(PoisonError::into_inner)
}
