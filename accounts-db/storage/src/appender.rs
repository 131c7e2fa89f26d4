//! The single appender: every group (a block or a compaction batch) is encoded for the
//! active segment, written durably through the write backend, then published in the
//! state. New segments are started here when the active one is full.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::error::{Result, StorageError};
use crate::format::{GroupKind, SEGMENT_HEADER_LEN};
use crate::group::GroupBuilder;
use crate::index::Update;
use crate::report::CommittedBlock;
use crate::segment::Segment;
use crate::shared::{State, read_state, write_state};
use crate::writer::Backend;

/// The writer's position and its write path.
#[derive(Debug)]
pub(crate) struct Appender {
    dir: PathBuf,
    active: Arc<Segment>,
    active_len: u64,
    last_seq: u64,
    next_segment_id: u32,
    segment_bytes_target: u64,
    backend: Backend,
    poisoned: bool,
}

/// Where recovery left the log.
#[derive(Debug)]
pub(crate) struct LogPosition {
    /// The last segment.
    pub(crate) active: Arc<Segment>,
    /// Its committed length.
    pub(crate) active_len: u64,
    /// The last group's sequence (0: none).
    pub(crate) last_seq: u64,
}

impl Appender {
    /// An appender continuing the log at `position`.
    pub(crate) fn new(
        dir: PathBuf,
        position: LogPosition,
        segment_bytes_target: u64,
        backend: Backend,
    ) -> Appender {
        let next_segment_id = position.active.id() + 1;
        Appender {
            dir,
            active: position.active,
            active_len: position.active_len,
            last_seq: position.last_seq,
            next_segment_id,
            segment_bytes_target,
            backend,
            poisoned: false,
        }
    }

    /// Refuses further writes (after a failed write, or a panic while appending).
    pub(crate) fn poison(&mut self) {
        self.poisoned = true;
    }

    /// Encodes a group with `fill`, writes it durably (records, fdatasync, commit record,
    /// fdatasync), then publishes its index updates and, for a block, the new last block,
    /// under one state write lock. Returns the group's bytes.
    pub(crate) fn append(
        &mut self,
        state: &RwLock<State>,
        kind: GroupKind,
        block: &CommittedBlock,
        fill: impl FnOnce(&mut GroupBuilder<'_>),
    ) -> Result<u64> {
        if self.poisoned {
            return Err(StorageError::Poisoned);
        }
        self.roll_if_full(state)?;
        let mut builder = GroupBuilder::new(self.active.salt());
        fill(&mut builder);
        let group = builder.finish(self.last_seq + 1, kind, block);
        let offset = self.active_len;
        let len = group.len();
        let segment_id = self.active.id();
        let updates: Vec<_> = group.updates(segment_id, offset).collect();
        let records = group.records;
        let commit = group.commit;
        if let Err(error) = self
            .backend
            .append_group(&self.active, offset, records, commit)
        {
            self.poisoned = true;
            tracing::error!(%error, "group write failed; the store refuses writes until reopened");
            return Err(error);
        }
        // Overlap the index's cache misses under a read lock (readers keep going) before
        // taking the write lock for the updates.
        read_state(state)
            .index
            .warm(updates.iter().map(Update::key));
        let mut state = write_state(state);
        assert_eq!(
            state.active, segment_id,
            "the active segment changed under the appender"
        );
        for update in updates {
            state.index.apply(update);
        }
        state.index.grow(segment_id, len);
        // Compaction groups repeat the last block (a no-op here); an imported state's
        // groups name the snapshot's block. Either way the newest commit names the last
        // finalized block, exactly as recovery reads it back.
        state.last_committed = Some(*block);
        drop(state);
        self.active_len += len;
        self.last_seq += 1;
        Ok(len)
    }

    /// Starts a new segment when the active one holds at least the target and at least
    /// one group (so that no segment is ever empty and sealed by the appender).
    fn roll_if_full(&mut self, state: &RwLock<State>) -> Result<()> {
        let has_groups = self.active_len > SEGMENT_HEADER_LEN as u64;
        if self.active_len < self.segment_bytes_target || !has_groups {
            return Ok(());
        }
        let id = self.next_segment_id;
        let Some(next) = id.checked_add(1) else {
            return Err(StorageError::InvalidOptions {
                reason: "segment ids exhausted",
            });
        };
        let segment = Arc::new(Segment::create(&self.dir, id)?);
        let mut state = write_state(state);
        state.segments.insert(id, Arc::clone(&segment));
        state.index.add_segment(id, SEGMENT_HEADER_LEN as u64);
        state.active = id;
        drop(state);
        tracing::debug!(segment = id, "started a new segment");
        self.active = segment;
        self.active_len = SEGMENT_HEADER_LEN as u64;
        self.next_segment_id = next;
        Ok(())
    }
}
