//! [`MemoryState`]: a [`FinalizedState`] held in memory (tests, tools, small devnets).

use std::collections::HashMap;

use aether_types::Hash;

use crate::finalized_state::{BlockId, FinalizedBlock, FinalizedState, Value};

/// Finalized state in a `HashMap`, with the chain-order checks a durable backend makes.
///
/// Its size is the ledger's (as the on-disk store's is): it holds every live key, and is
/// meant for tests, tools and small devnets, not for a long-running node. Nothing is
/// durable.
#[derive(Debug, Clone, Default)]
pub struct MemoryState {
    entries: HashMap<Hash, Value>,
    last_committed: Option<BlockId>,
    committed_block_count: u64,
}

/// Why [`MemoryState::commit_block`] refused a block. A refused block changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoryStateError {
    /// The block does not extend the last committed block (wrong parent, or a slot that
    /// is not above the last one).
    #[error(
        "block {block} (slot {slot}, parent {parent}) does not extend the last committed \
         block {last_hash} (slot {last_slot})"
    )]
    OutOfOrder {
        /// The refused block.
        block: Hash,
        /// Its slot.
        slot: u64,
        /// Its parent.
        parent: Hash,
        /// The last committed block.
        last_hash: Hash,
        /// The last committed block's slot.
        last_slot: u64,
    },
    /// The writes are not strictly ascending by key.
    #[error("block {block}: writes are not strictly ascending by key at index {index}")]
    WritesNotSorted {
        /// The refused block.
        block: Hash,
        /// The first write out of order.
        index: usize,
    },
}

impl MemoryState {
    /// An empty state that accepts any block as its first commit.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same state, with `block` as the last committed block: the next commit must
    /// be its child.
    pub fn with_last_committed(mut self, block: BlockId) -> Self {
        self.last_committed = Some(block);
        self
    }

    /// The last committed block, if any is known.
    pub fn last_committed(&self) -> Option<BlockId> {
        self.last_committed
    }

    /// Blocks committed since construction.
    pub fn committed_block_count(&self) -> u64 {
        self.committed_block_count
    }

    /// Keys present.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is present.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every present key and its value, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Hash, &Value)> {
        self.entries.iter()
    }

    fn check_commit(&self, block: &FinalizedBlock<'_>) -> Result<(), MemoryStateError> {
        if let Some(last) = self.last_committed
            && (block.parent != last.hash || block.slot <= last.slot)
        {
            return Err(MemoryStateError::OutOfOrder {
                block: block.hash,
                slot: block.slot,
                parent: block.parent,
                last_hash: last.hash,
                last_slot: last.slot,
            });
        }
        if let Some(index) = block
            .writes
            .windows(2)
            .position(|pair| pair[0].0 >= pair[1].0)
        {
            return Err(MemoryStateError::WritesNotSorted {
                block: block.hash,
                index: index + 1,
            });
        }
        Ok(())
    }
}

impl FromIterator<(Hash, Value)> for MemoryState {
    /// A state holding these entries, with no last committed block.
    fn from_iter<I: IntoIterator<Item = (Hash, Value)>>(entries: I) -> Self {
        Self {
            entries: entries.into_iter().collect(),
            ..Self::default()
        }
    }
}

impl FinalizedState for MemoryState {
    type Error = MemoryStateError;

    fn get(&self, key: &Hash) -> Result<Option<Value>, Self::Error> {
        Ok(self.entries.get(key).cloned())
    }

    fn commit_block(&mut self, block: FinalizedBlock<'_>) -> Result<(), Self::Error> {
        // Check everything before changing anything: a refused block is not applied.
        self.check_commit(&block)?;
        for (key, write) in block.writes {
            match write {
                Some(value) => self.entries.insert(*key, Value::clone(value)),
                None => self.entries.remove(key),
            };
        }
        self.last_committed = Some(block.id());
        self.committed_block_count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Hash {
        Hash([byte; 32])
    }

    fn value(bytes: &[u8]) -> Value {
        Value::from(bytes)
    }

    fn block(
        hash: u8,
        parent: u8,
        slot: u64,
        writes: &[(Hash, Option<Value>)],
    ) -> FinalizedBlock<'_> {
        FinalizedBlock {
            hash: key(hash),
            parent: key(parent),
            slot,
            state_root: key(hash ^ 0xff),
            writes,
        }
    }

    #[test]
    fn commit_applies_puts_and_deletes() {
        let mut state: MemoryState = [(key(1), value(b"one")), (key(2), value(b"two"))]
            .into_iter()
            .collect();
        let writes = [
            (key(1), None),
            (key(3), Some(value(b"three"))),
            (key(4), None),
        ];
        state.commit_block(block(10, 0, 1, &writes)).unwrap();
        assert_eq!(state.get(&key(1)).unwrap(), None);
        assert_eq!(state.get(&key(2)).unwrap(), Some(value(b"two")));
        assert_eq!(state.get(&key(3)).unwrap(), Some(value(b"three")));
        assert_eq!(state.len(), 2);
        assert_eq!(state.last_committed().unwrap().hash, key(10));
        assert_eq!(state.committed_block_count(), 1);
    }

    #[test]
    fn refuses_blocks_out_of_chain_order_and_changes_nothing() {
        let genesis = BlockId {
            hash: key(0),
            slot: 5,
            state_root: Hash::ZERO,
        };
        let mut state = MemoryState::new().with_last_committed(genesis);
        let writes = [(key(1), Some(value(b"x")))];
        let wrong_parent = state.commit_block(block(10, 9, 6, &writes));
        assert!(matches!(
            wrong_parent,
            Err(MemoryStateError::OutOfOrder { .. })
        ));
        let old_slot = state.commit_block(block(10, 0, 5, &writes));
        assert!(matches!(old_slot, Err(MemoryStateError::OutOfOrder { .. })));
        assert!(state.is_empty());
        assert_eq!(state.last_committed(), Some(genesis));
        state.commit_block(block(10, 0, 6, &writes)).unwrap();
        assert_eq!(state.len(), 1);
    }

    #[test]
    fn refuses_unsorted_or_duplicate_writes_and_changes_nothing() {
        let mut state = MemoryState::new();
        let unsorted = [(key(2), None), (key(1), Some(value(b"x")))];
        assert_eq!(
            state.commit_block(block(10, 0, 1, &unsorted)),
            Err(MemoryStateError::WritesNotSorted {
                block: key(10),
                index: 1
            })
        );
        let duplicate = [(key(1), None), (key(1), Some(value(b"x")))];
        assert!(state.commit_block(block(10, 0, 1, &duplicate)).is_err());
        assert!(state.is_empty());
        assert_eq!(state.last_committed(), None);
    }
}
