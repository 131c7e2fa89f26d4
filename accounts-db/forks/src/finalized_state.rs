//! The finalized base state under the overlay: a small trait that the node implements
//! with the durable account storage, and the types that cross it.

use std::sync::Arc;

use aether_types::Hash;

/// An account value. Shared, so a read out of the overlay is a reference-count increment,
/// not a copy.
pub type Value = Arc<[u8]>;

/// One block's identity as the overlay and the base state know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockId {
    /// The block hash.
    pub hash: Hash,
    /// The block's slot.
    pub slot: u64,
    /// The block's state root (opaque to this crate; carried to the base on commit).
    pub state_root: Hash,
}

/// One finalized block handed to [`FinalizedState::commit_block`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinalizedBlock<'a> {
    /// The block hash.
    pub hash: Hash,
    /// The parent's hash: the block committed just before this one (or the overlay's
    /// initial last finalized block, for the first commit).
    pub parent: Hash,
    /// The block's slot; strictly above the previous commit's slot.
    pub slot: u64,
    /// The block's state root.
    pub state_root: Hash,
    /// The block's writes, strictly ascending by key (so keys are unique and a backend
    /// sees a deterministic order). `None` deletes the key; deleting an absent key is
    /// not an error.
    pub writes: &'a [(Hash, Option<Value>)],
}

impl FinalizedBlock<'_> {
    /// The block's identity.
    pub fn id(&self) -> BlockId {
        BlockId {
            hash: self.hash,
            slot: self.slot,
            state_root: self.state_root,
        }
    }
}

/// The durable state of every finalized block, read under the overlay and written when a
/// block is finalized.
///
/// Contract the overlay relies on:
///
/// - [`commit_block`](Self::commit_block) is atomic and durable: on `Ok` every write of the
///   block is applied and survives a crash; on `Err` nothing of the block is applied, and
///   the overlay keeps the block (so `finalize` can be retried). A backend that cannot
///   promise "nothing applied" on an I/O error should make the node stop and recover
///   from storage rather than retry.
/// - Blocks arrive in chain order: each block's `parent` is the previous committed block,
///   slots strictly increase, one call per block.
/// - [`get`](Self::get) returns the value as of the last committed block.
pub trait FinalizedState {
    /// Why a read or a commit failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The value of `key` as of the last committed block, or `None` if absent.
    fn get(&self, key: &Hash) -> Result<Option<Value>, Self::Error>;

    /// Applies one finalized block's writes, atomically and durably (see the trait docs).
    fn commit_block(&mut self, block: FinalizedBlock<'_>) -> Result<(), Self::Error>;
}
