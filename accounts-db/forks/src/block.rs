//! One block in the overlay: the diff layer, its place in the tree, and read-only views.

use std::collections::HashMap;

use aether_types::Hash;

use crate::finalized_state::{BlockId, Value};

/// One block's diff layer: key → new value, `None` for a delete (spent).
pub type Writes = foldhash::HashMap<Hash, Option<Value>>;

/// A block to add to the overlay ([`ForkOverlay::insert_block`](crate::ForkOverlay::insert_block)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBlock<T = ()> {
    /// The parent: the last finalized block or an unfinalized block.
    pub parent: Hash,
    /// The block hash; unique in the overlay.
    pub hash: Hash,
    /// The block's slot; above the parent's.
    pub slot: u64,
    /// The block's state root (opaque here; handed to the base on finalization).
    pub state_root: Hash,
    /// What the block wrote, relative to its parent's state.
    pub writes: Writes,
    /// Anything the caller wants kept with the block (a Merkle tree version, say).
    pub payload: T,
}

/// A block held by the overlay.
pub(crate) struct BlockNode<T> {
    /// The parent's hash. Kept for the last finalized block too, but never followed from it.
    pub(crate) parent: Hash,
    pub(crate) slot: u64,
    pub(crate) state_root: Hash,
    /// Empty for the last finalized block: its writes are in the base.
    pub(crate) writes: Writes,
    /// Sum of the lengths of the values in `writes`.
    pub(crate) value_bytes: usize,
    pub(crate) payload: T,
    /// Unfinalized children, in insertion order.
    pub(crate) children: Vec<Hash>,
}

/// Sum of the lengths of the written values.
pub(crate) fn value_bytes(writes: &Writes) -> usize {
    writes.values().flatten().map(|value| value.len()).sum()
}

/// A read-only view of one block in the overlay: the last finalized block or an
/// unfinalized one.
pub struct BlockRef<'a, T> {
    pub(crate) hash: Hash,
    pub(crate) node: &'a BlockNode<T>,
    pub(crate) is_last_finalized: bool,
}

impl<'a, T> BlockRef<'a, T> {
    /// The block hash.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// The parent, or `None` for the last finalized block (the overlay does not follow
    /// links below it).
    pub fn parent(&self) -> Option<Hash> {
        (!self.is_last_finalized).then_some(self.node.parent)
    }

    /// The block's slot.
    pub fn slot(&self) -> u64 {
        self.node.slot
    }

    /// The block's state root.
    pub fn state_root(&self) -> Hash {
        self.node.state_root
    }

    /// Hash, slot and state root.
    pub fn id(&self) -> BlockId {
        BlockId {
            hash: self.hash,
            slot: self.node.slot,
            state_root: self.node.state_root,
        }
    }

    /// The caller's payload.
    pub fn payload(&self) -> &'a T {
        &self.node.payload
    }

    /// Unfinalized children, in insertion order.
    pub fn children(&self) -> &'a [Hash] {
        &self.node.children
    }

    /// The block's diff layer; empty for the last finalized block (its writes are in the
    /// base).
    pub fn writes(&self) -> &'a Writes {
        &self.node.writes
    }

    /// Whether this is the last finalized block (the root of the overlay's tree).
    pub fn is_last_finalized(&self) -> bool {
        self.is_last_finalized
    }
}

/// Walks from a block towards the last finalized block, one parent at a time, ending with
/// the last finalized block ([`ForkOverlay::ancestors`](crate::ForkOverlay::ancestors)).
pub struct Ancestors<'a, T> {
    pub(crate) blocks: &'a HashMap<Hash, BlockNode<T>>,
    pub(crate) root: Hash,
    pub(crate) next: Option<Hash>,
    /// Steps left before the walk must have reached the root: a cycle would be a bug, and
    /// this turns it into a panic instead of a hang.
    pub(crate) steps_left: usize,
}

impl<'a, T> Iterator for Ancestors<'a, T> {
    type Item = BlockRef<'a, T>;

    fn next(&mut self) -> Option<Self::Item> {
        let hash = self.next?;
        assert!(self.steps_left > 0, "ancestor walk did not reach the root");
        self.steps_left -= 1;
        let node = self
            .blocks
            .get(&hash)
            .expect("every unfinalized block's parent is in the overlay");
        let is_last_finalized = hash == self.root;
        self.next = (!is_last_finalized).then_some(node.parent);
        Some(BlockRef {
            hash,
            node,
            is_last_finalized,
        })
    }
}
