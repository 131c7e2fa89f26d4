//! Why an overlay operation was refused. Every refusal changes nothing, except a base
//! failure part-way through `finalize` (see [`FinalizeError::Base`]).

use core::fmt;

use aether_types::Hash;

use crate::block::NewBlock;

/// Which bound a full overlay hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlayResource {
    /// [`max_unfinalized_blocks`](crate::ForkOverlayConfig::max_unfinalized_blocks).
    Blocks,
    /// [`max_unfinalized_write_count`](crate::ForkOverlayConfig::max_unfinalized_write_count).
    Writes,
    /// [`max_unfinalized_value_bytes`](crate::ForkOverlayConfig::max_unfinalized_value_bytes).
    ValueBytes,
}

/// Why [`ForkOverlay::insert_block`](crate::ForkOverlay::insert_block) refused a block.
/// Checked in this order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsertError {
    /// The hash is already the last finalized block or an unfinalized block.
    #[error("block {block} is already in the overlay")]
    DuplicateBlock {
        /// The refused block.
        block: Hash,
    },
    /// The parent is neither the last finalized block nor an unfinalized block (never
    /// seen, pruned, or finalized before the last finalized block).
    #[error("parent {parent} of block {block} is not in the overlay")]
    UnknownParent {
        /// The refused block.
        block: Hash,
        /// Its parent.
        parent: Hash,
    },
    /// The slot is not above the parent's.
    #[error("block {block} has slot {slot}, not above its parent's slot {parent_slot}")]
    SlotNotIncreasing {
        /// The refused block.
        block: Hash,
        /// Its slot.
        slot: u64,
        /// Its parent's slot.
        parent_slot: u64,
    },
    /// Holding the block would pass a configured bound: backpressure. Finalize (or
    /// wait for finality) and retry.
    #[error("overlay full: {resource:?} held {held} + adding {adding} > maximum {max}")]
    OverlayFull {
        /// The bound hit.
        resource: OverlayResource,
        /// Amount held now.
        held: usize,
        /// Amount the block would add.
        adding: usize,
        /// The bound.
        max: usize,
    },
}

/// A refused [`NewBlock`], handed back with the reason so the caller can retry it (after
/// a finalization frees room, say) without re-executing it.
pub struct InsertRejected<T> {
    /// Why the block was refused.
    pub error: InsertError,
    /// The block, unchanged.
    pub block: NewBlock<T>,
}

impl<T> fmt::Debug for InsertRejected<T> {
    // The block's writes and payload are left out: they can be large, and `T` need not be
    // `Debug`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("InsertRejected")
            .field("error", &self.error)
            .field("block", &self.block.hash)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for InsertRejected<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, formatter)
    }
}

impl<T> std::error::Error for InsertRejected<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Why [`ForkOverlay::get`](crate::ForkOverlay::get) failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E> {
    /// The block is neither the last finalized block nor an unfinalized block.
    #[error("block {block} is not in the overlay")]
    UnknownBlock {
        /// The block asked for.
        block: Hash,
    },
    /// The key is not written in the overlay and the base state failed to read it.
    #[error("base state read failed")]
    Base {
        /// The base state's error.
        #[source]
        source: E,
    },
}

/// Why [`ForkOverlay::finalize`](crate::ForkOverlay::finalize) failed.
#[derive(Debug, thiserror::Error)]
pub enum FinalizeError<E> {
    /// The block is neither the last finalized block nor an unfinalized block. Nothing
    /// changed.
    #[error("block {block} is not in the overlay")]
    UnknownBlock {
        /// The block asked for.
        block: Hash,
    },
    /// The base state refused to commit `block`. The `committed_count` blocks before it
    /// on the path are finalized (committed, out of the overlay, their sibling forks
    /// pruned, the last of them the new last finalized block); `block` and the rest of
    /// the path are still unfinalized, so `finalize` can be retried.
    #[error(
        "base state failed to commit block {block} (slot {slot}) after {committed_count} \
         blocks of this finalization were committed"
    )]
    Base {
        /// The block whose commit failed.
        block: Hash,
        /// Its slot.
        slot: u64,
        /// Blocks committed by this call before the failure.
        committed_count: usize,
        /// Blocks pruned by this call before the failure.
        pruned_count: usize,
        /// The base state's error.
        #[source]
        source: E,
    },
}
