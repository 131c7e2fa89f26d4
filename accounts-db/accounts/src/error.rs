//! Accounts-db errors.

use std::path::PathBuf;

use aether_account_storage::StorageError;
use aether_fork_overlay::{ConfigError, FinalizeError, InsertError, ReadError};
use aether_types::Hash;
use thiserror::Error;

/// Why an accounts-db operation failed.
#[derive(Debug, Error)]
pub enum AccountsDbError {
    /// Storage failed to open, read or commit.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The overlay's bounds are invalid.
    #[error("invalid fork overlay configuration: {0}")]
    Config(#[from] ConfigError),
    /// The state on disk does not hash to the root stored with its last block.
    #[error(
        "state in {dir} does not match its last committed block (slot {slot}): stored root \
         {stored}, recomputed {recomputed}; the store lost or corrupted data"
    )]
    RootMismatch {
        /// Storage directory.
        dir: PathBuf,
        /// Slot of the last committed block.
        slot: u64,
        /// Root stored with that block.
        stored: Hash,
        /// Root of the state actually on disk.
        recomputed: Hash,
    },
    /// The state on disk could not be iterated in key order to rebuild the tree.
    #[error("state in {dir} is not in strictly ascending key order at entry {index}")]
    Unordered {
        /// Storage directory.
        dir: PathBuf,
        /// The entry out of order.
        index: usize,
    },
    /// A block was refused by the overlay.
    #[error("block {block} refused: {source}")]
    Insert {
        /// The refused block.
        block: Hash,
        /// Why.
        source: InsertError,
    },
    /// A read named a block that is not held.
    #[error("read failed: {0}")]
    Read(#[from] ReadError<StorageError>),
    /// Finalization failed (blocks committed before the failure stay final). Boxed:
    /// it carries a storage error and counts, and errors travel on every return path.
    #[error("finalization failed: {0}")]
    Finalize(Box<FinalizeError<StorageError>>),
    /// The block is not held (never applied, pruned, or older than the last final one).
    #[error("block {0} is not held")]
    UnknownBlock(Hash),
    /// A received block's header claims a state root its writes do not produce.
    #[error("block {block} claims state root {claimed}, its writes give {computed}")]
    StateRootMismatch {
        /// The refused block.
        block: Hash,
        /// The header's state root.
        claimed: Hash,
        /// The root of the parent state plus the block's writes.
        computed: Hash,
    },
}
