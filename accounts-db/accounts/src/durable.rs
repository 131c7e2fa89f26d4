//! Storage as the fork overlay's finalized base.

use std::sync::Arc;

use aether_account_storage::{AccountStorage, BlockCommit, StorageError};
use aether_fork_overlay::{FinalizedBlock, FinalizedState, Value};
use aether_types::Hash;

/// [`AccountStorage`] seen through the overlay's [`FinalizedState`] trait.
pub(crate) struct DurableState {
    pub(crate) storage: AccountStorage,
}

impl FinalizedState for DurableState {
    type Error = StorageError;

    fn get(&self, key: &Hash) -> Result<Option<Value>, Self::Error> {
        Ok(self.storage.get(key)?.map(Arc::from))
    }

    fn commit_block(&mut self, block: FinalizedBlock<'_>) -> Result<(), Self::Error> {
        // The values are lent, not copied: storage encodes them straight into its group.
        let writes: Vec<(Hash, Option<&[u8]>)> = block
            .writes
            .iter()
            .map(|(key, value)| (*key, value.as_deref()))
            .collect();
        self.storage.commit_block(BlockCommit {
            slot: block.slot,
            block_hash: block.hash,
            state_root: block.state_root,
            writes: &writes,
        })
    }
}
