//! [`ForkOverlay`]: the tree of unfinalized blocks over the base state; inserting blocks,
//! reading through the layers, and queries. Finalization is in `finalize.rs`.

use std::collections::HashMap;

use aether_types::Hash;

use crate::block::{Ancestors, BlockNode, BlockRef, NewBlock, Writes, value_bytes};
use crate::config::{ConfigError, ForkOverlayConfig};
use crate::error::{InsertError, InsertRejected, OverlayResource, ReadError};
use crate::finalized_state::{BlockId, FinalizedState, Value};

/// Unfinalized blocks as diff layers over finalized state (see the crate docs).
///
/// `S` is the finalized base state; `T` is a payload kept with each block (a Merkle tree
/// version, say), `()` if none.
pub struct ForkOverlay<S: FinalizedState, T = ()> {
    pub(crate) base: S,
    pub(crate) config: ForkOverlayConfig,
    /// The last finalized block (the root) and every unfinalized block.
    pub(crate) blocks: HashMap<Hash, BlockNode<T>>,
    /// The last finalized block's hash.
    pub(crate) root: Hash,
    /// Writes held over all unfinalized blocks.
    pub(crate) write_count: usize,
    /// Value bytes held over all unfinalized blocks.
    pub(crate) value_bytes: usize,
}

impl<S: FinalizedState, T> ForkOverlay<S, T> {
    /// An overlay with no unfinalized blocks over `base`, whose last committed block is
    /// `last_finalized` (the node reads it from storage at start-up).
    pub fn new(
        base: S,
        last_finalized: BlockId,
        payload: T,
        config: ForkOverlayConfig,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut blocks = HashMap::with_capacity(config.max_unfinalized_blocks + 1);
        let root = BlockNode {
            parent: Hash::ZERO,
            slot: last_finalized.slot,
            state_root: last_finalized.state_root,
            writes: Writes::default(),
            value_bytes: 0,
            payload,
            children: Vec::new(),
        };
        blocks.insert(last_finalized.hash, root);
        Ok(Self {
            base,
            config,
            blocks,
            root: last_finalized.hash,
            write_count: 0,
            value_bytes: 0,
        })
    }

    /// Adds an unfinalized block on `block.parent`. Refused (and handed back unchanged)
    /// if the hash is already held, the parent is not held, the slot is not above the
    /// parent's, or a bound would be passed; see [`InsertError`] for the order of checks.
    /// (Boxed: a [`NewBlock`] is large, and refusals are rare.)
    pub fn insert_block(&mut self, block: NewBlock<T>) -> Result<(), Box<InsertRejected<T>>> {
        let added_value_bytes = match self.check_insert(&block) {
            Ok(added_value_bytes) => added_value_bytes,
            Err(error) => return Err(Box::new(InsertRejected { error, block })),
        };
        let parent = self
            .blocks
            .get_mut(&block.parent)
            .expect("checked: the parent is in the overlay");
        parent.children.push(block.hash);
        self.write_count += block.writes.len();
        self.value_bytes += added_value_bytes;
        let node = BlockNode {
            parent: block.parent,
            slot: block.slot,
            state_root: block.state_root,
            writes: block.writes,
            value_bytes: added_value_bytes,
            payload: block.payload,
            children: Vec::new(),
        };
        let previous = self.blocks.insert(block.hash, node);
        assert!(previous.is_none(), "checked: the hash is new");
        assert!(self.unfinalized_count() <= self.config.max_unfinalized_blocks);
        assert!(self.write_count <= self.config.max_unfinalized_write_count);
        Ok(())
    }

    /// Checks `block` can be inserted; returns its value bytes.
    fn check_insert(&self, block: &NewBlock<T>) -> Result<usize, InsertError> {
        if self.blocks.contains_key(&block.hash) {
            return Err(InsertError::DuplicateBlock { block: block.hash });
        }
        let Some(parent) = self.blocks.get(&block.parent) else {
            return Err(InsertError::UnknownParent {
                block: block.hash,
                parent: block.parent,
            });
        };
        if block.slot <= parent.slot {
            return Err(InsertError::SlotNotIncreasing {
                block: block.hash,
                slot: block.slot,
                parent_slot: parent.slot,
            });
        }
        let added_value_bytes = value_bytes(&block.writes);
        let bounds = [
            (
                OverlayResource::Blocks,
                self.unfinalized_count(),
                1,
                self.config.max_unfinalized_blocks,
            ),
            (
                OverlayResource::Writes,
                self.write_count,
                block.writes.len(),
                self.config.max_unfinalized_write_count,
            ),
            (
                OverlayResource::ValueBytes,
                self.value_bytes,
                added_value_bytes,
                self.config.max_unfinalized_value_bytes,
            ),
        ];
        for (resource, held, adding, max) in bounds {
            // `held <= max` always, so `max - held` cannot underflow (and `held + adding`
            // could overflow for a huge `adding`).
            if adding > max - held {
                return Err(InsertError::OverlayFull {
                    resource,
                    held,
                    adding,
                    max,
                });
            }
        }
        Ok(added_value_bytes)
    }

    /// The value of `key` in the state after block `at`: the newest write to `key` on the
    /// chain from `at` up to the last finalized block, else the base's value. Visits at
    /// most depth(`at`) + 1 layers (depth ≤ `max_unfinalized_blocks`), then reads the base.
    pub fn get(&self, at: &Hash, key: &Hash) -> Result<Option<Value>, ReadError<S::Error>> {
        let chain = self
            .chain(at)
            .ok_or(ReadError::UnknownBlock { block: *at })?;
        for block in chain {
            if let Some(write) = block.node.writes.get(key) {
                return Ok(write.clone());
            }
        }
        self.base
            .get(key)
            .map_err(|source| ReadError::Base { source })
    }

    /// `at` and then its ancestors, ending with the last finalized block; `None` if `at`
    /// is not held.
    pub(crate) fn chain(&self, at: &Hash) -> Option<Ancestors<'_, T>> {
        self.blocks.contains_key(at).then_some(Ancestors {
            blocks: &self.blocks,
            root: self.root,
            next: Some(*at),
            steps_left: self.blocks.len(),
        })
    }

    /// The ancestors of `block`, parent first, ending with the last finalized block (empty
    /// for the last finalized block itself); `None` if `block` is not held.
    pub fn ancestors(&self, block: &Hash) -> Option<Ancestors<'_, T>> {
        let mut chain = self.chain(block)?;
        chain.next();
        Some(chain)
    }

    /// The last finalized block: the root of the tree, whose state is the base's.
    pub fn last_finalized(&self) -> BlockId {
        self.root_ref().id()
    }

    /// Whether `block` is the last finalized block or an unfinalized block.
    pub fn contains(&self, block: &Hash) -> bool {
        self.blocks.contains_key(block)
    }

    /// A view of `block` (the last finalized block or an unfinalized one).
    pub fn block(&self, block: &Hash) -> Option<BlockRef<'_, T>> {
        let node = self.blocks.get(block)?;
        Some(BlockRef {
            hash: *block,
            node,
            is_last_finalized: *block == self.root,
        })
    }

    /// The unfinalized children of `block`, in insertion order.
    pub fn children(&self, block: &Hash) -> Option<&[Hash]> {
        self.blocks.get(block).map(|node| node.children.as_slice())
    }

    /// The payload of `block`, to change it.
    pub fn payload_mut(&mut self, block: &Hash) -> Option<&mut T> {
        self.blocks.get_mut(block).map(|node| &mut node.payload)
    }

    /// Unfinalized blocks held, over all forks.
    pub fn unfinalized_count(&self) -> usize {
        self.blocks.len() - 1
    }

    /// Writes held, over all unfinalized blocks.
    pub fn unfinalized_write_count(&self) -> usize {
        self.write_count
    }

    /// Value bytes held, over all unfinalized blocks.
    pub fn unfinalized_value_bytes(&self) -> usize {
        self.value_bytes
    }

    /// The bounds.
    pub fn config(&self) -> &ForkOverlayConfig {
        &self.config
    }

    /// The finalized base state.
    pub fn base(&self) -> &S {
        &self.base
    }

    /// Gives back the base state, dropping every unfinalized block.
    pub fn into_base(self) -> S {
        self.base
    }

    pub(crate) fn root_ref(&self) -> BlockRef<'_, T> {
        self.block(&self.root)
            .expect("the last finalized block is in the overlay")
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{block, hash, overlay, value};
    use crate::{InsertError, OverlayResource, ReadError};

    #[test]
    fn reads_walk_the_chain_then_the_base() {
        let mut overlay = overlay(10);
        // base: k1 = genesis, k2 = genesis.  A(1): k1 = a.  B(2) on A: delete k2.
        // C(2) on A: k2 = c (a sibling fork of B).
        overlay
            .insert_block(block(0, 1, 1, &[(1, Some("a"))]))
            .unwrap();
        overlay.insert_block(block(1, 2, 2, &[(2, None)])).unwrap();
        overlay
            .insert_block(block(1, 3, 2, &[(2, Some("c"))]))
            .unwrap();
        let read = |at: u8, key: u8| overlay.get(&hash(at), &hash(key)).unwrap();
        assert_eq!(read(0, 1), Some(value(b"genesis")));
        assert_eq!(read(0, 2), Some(value(b"genesis")));
        assert_eq!(read(1, 1), Some(value(b"a")));
        assert_eq!(read(2, 1), Some(value(b"a")));
        assert_eq!(read(2, 2), None);
        assert_eq!(read(3, 2), Some(value(b"c")));
        assert_eq!(read(3, 9), None);
        assert!(matches!(
            overlay.get(&hash(7), &hash(1)),
            Err(ReadError::UnknownBlock { block }) if block == hash(7)
        ));
    }

    #[test]
    fn queries_describe_the_tree() {
        let mut overlay = overlay(10);
        overlay.insert_block(block(0, 1, 1, &[])).unwrap();
        overlay
            .insert_block(block(1, 2, 3, &[(4, Some("x"))]))
            .unwrap();
        overlay.insert_block(block(1, 3, 2, &[])).unwrap();
        assert_eq!(overlay.unfinalized_count(), 3);
        assert_eq!(overlay.unfinalized_write_count(), 1);
        assert_eq!(overlay.unfinalized_value_bytes(), 1);
        assert_eq!(overlay.last_finalized().hash, hash(0));
        assert!(overlay.contains(&hash(0)) && overlay.contains(&hash(3)));
        assert!(!overlay.contains(&hash(9)));
        assert_eq!(overlay.children(&hash(1)), Some(&[hash(2), hash(3)][..]));
        assert_eq!(overlay.children(&hash(9)), None);
        let ancestors: Vec<_> = overlay
            .ancestors(&hash(2))
            .unwrap()
            .map(|b| b.hash())
            .collect();
        assert_eq!(ancestors, [hash(1), hash(0)]);
        assert_eq!(overlay.ancestors(&hash(0)).unwrap().count(), 0);
        assert!(overlay.ancestors(&hash(9)).is_none());
        let two = overlay.block(&hash(2)).unwrap();
        assert_eq!(two.parent(), Some(hash(1)));
        assert_eq!(two.slot(), 3);
        assert_eq!(two.state_root(), hash(2 ^ 0x80));
        assert_eq!(*two.payload(), 2);
        assert_eq!(two.writes().len(), 1);
        assert!(!two.is_last_finalized());
        let root = overlay.block(&hash(0)).unwrap();
        assert!(root.is_last_finalized());
        assert_eq!(root.parent(), None);
        *overlay.payload_mut(&hash(3)).unwrap() = 33;
        assert_eq!(*overlay.block(&hash(3)).unwrap().payload(), 33);
        overlay.assert_invariants();
    }

    #[test]
    fn insert_refuses_bad_blocks_and_changes_nothing() {
        let mut overlay = overlay(10);
        overlay
            .insert_block(block(0, 1, 5, &[(1, Some("a"))]))
            .unwrap();
        let cases = [
            (
                block(0, 1, 6, &[]),
                InsertError::DuplicateBlock { block: hash(1) },
            ),
            (
                block(0, 0, 6, &[]),
                InsertError::DuplicateBlock { block: hash(0) },
            ),
            (
                block(9, 2, 6, &[]),
                InsertError::UnknownParent {
                    block: hash(2),
                    parent: hash(9),
                },
            ),
            (
                block(1, 2, 5, &[]),
                InsertError::SlotNotIncreasing {
                    block: hash(2),
                    slot: 5,
                    parent_slot: 5,
                },
            ),
            (
                block(0, 2, 0, &[]),
                InsertError::SlotNotIncreasing {
                    block: hash(2),
                    slot: 0,
                    parent_slot: 0,
                },
            ),
        ];
        for (bad, expected) in cases {
            let rejected = overlay.insert_block(bad.clone()).unwrap_err();
            assert_eq!(rejected.error, expected);
            assert_eq!(rejected.block, bad, "the block is handed back unchanged");
            assert_eq!(overlay.unfinalized_count(), 1);
            assert_eq!(overlay.unfinalized_write_count(), 1);
            assert_eq!(overlay.children(&hash(1)), Some(&[][..]));
            overlay.assert_invariants();
        }
    }

    #[test]
    fn a_full_overlay_refuses_blocks_until_finality_frees_room() {
        let mut overlay = overlay(2);
        overlay.insert_block(block(0, 1, 1, &[])).unwrap();
        overlay.insert_block(block(1, 2, 2, &[])).unwrap();
        let rejected = overlay.insert_block(block(2, 3, 3, &[])).unwrap_err();
        assert_eq!(
            rejected.error,
            InsertError::OverlayFull {
                resource: OverlayResource::Blocks,
                held: 2,
                adding: 1,
                max: 2
            }
        );
        overlay.finalize(&hash(1)).unwrap();
        overlay.insert_block(rejected.block).unwrap();
        assert_eq!(overlay.unfinalized_count(), 2);
        overlay.assert_invariants();
    }

    #[test]
    fn write_and_value_byte_bounds_are_backpressure_too() {
        let mut overlay = overlay(10);
        overlay.config.max_unfinalized_write_count = 3;
        overlay.config.max_unfinalized_value_bytes = 4;
        overlay
            .insert_block(block(0, 1, 1, &[(1, Some("ab")), (2, None)]))
            .unwrap();
        let too_many = overlay.insert_block(block(1, 2, 2, &[(3, None), (4, None)]));
        assert_eq!(
            too_many.unwrap_err().error,
            InsertError::OverlayFull {
                resource: OverlayResource::Writes,
                held: 2,
                adding: 2,
                max: 3
            }
        );
        let too_big = overlay.insert_block(block(1, 2, 2, &[(3, Some("xyz"))]));
        assert_eq!(
            too_big.unwrap_err().error,
            InsertError::OverlayFull {
                resource: OverlayResource::ValueBytes,
                held: 2,
                adding: 3,
                max: 4
            }
        );
        overlay
            .insert_block(block(1, 2, 2, &[(3, Some("xy"))]))
            .unwrap();
        assert_eq!(overlay.unfinalized_write_count(), 3);
        assert_eq!(overlay.unfinalized_value_bytes(), 4);
        // Pruning the fork that held them frees the room.
        overlay.insert_block(block(0, 5, 1, &[])).unwrap();
        overlay.finalize(&hash(5)).unwrap();
        assert_eq!(overlay.unfinalized_write_count(), 0);
        assert_eq!(overlay.unfinalized_value_bytes(), 0);
        overlay.assert_invariants();
    }
}
