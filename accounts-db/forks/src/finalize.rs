//! Finalization: flush a block's chain to the base, oldest first, and prune the forks that
//! no longer extend it.

use aether_types::Hash;

use crate::error::FinalizeError;
use crate::finalized_state::{FinalizedBlock, FinalizedState, Value};
use crate::overlay::ForkOverlay;

/// What one successful [`ForkOverlay::finalize`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FinalizeSummary {
    /// Blocks committed to the base (the target and its unfinalized ancestors).
    pub committed_count: usize,
    /// Unfinalized blocks dropped because they do not descend from the target.
    pub pruned_count: usize,
}

impl<S: FinalizedState, T> ForkOverlay<S, T> {
    /// Makes `block` the last finalized block.
    ///
    /// Commits each unfinalized ancestor of `block`, oldest first, then `block`, with one
    /// [`FinalizedState::commit_block`] per block. After each commit that block becomes the
    /// last finalized block: its writes leave the overlay (they are in the base now), the
    /// previous last finalized block is dropped, and so is every fork that does not extend
    /// it. At the end the overlay holds `block` and exactly its unfinalized descendants.
    ///
    /// Finalizing the last finalized block again does nothing. A block not held (never
    /// seen, pruned, or older than the last finalized block) is
    /// [`FinalizeError::UnknownBlock`], and changes nothing. If a commit fails, the blocks
    /// committed before it stay finalized, the rest stay unfinalized, and the overlay is
    /// consistent ([`FinalizeError::Base`]); calling `finalize` again resumes.
    ///
    /// Cost: one commit per block on the path, plus O(blocks pruned); the path is at most
    /// `max_unfinalized_blocks` long.
    pub fn finalize(&mut self, block: &Hash) -> Result<FinalizeSummary, FinalizeError<S::Error>> {
        let Some(chain) = self.chain(block) else {
            return Err(FinalizeError::UnknownBlock { block: *block });
        };
        // Path from the root's child down to `block`, oldest first (empty if `block` is
        // the root).
        let mut path: Vec<Hash> = chain
            .filter(|ancestor| !ancestor.is_last_finalized())
            .map(|ancestor| ancestor.hash())
            .collect();
        path.reverse();

        let mut summary = FinalizeSummary::default();
        let mut writes: Vec<(Hash, Option<Value>)> = Vec::new();
        for next in &path {
            let node = &self.blocks[next];
            assert_eq!(node.parent, self.root, "the path steps one block at a time");
            writes.clear();
            writes.extend(node.writes.iter().map(|(key, write)| (*key, write.clone())));
            writes.sort_unstable_by_key(|(key, _)| *key);
            let commit = FinalizedBlock {
                hash: *next,
                parent: node.parent,
                slot: node.slot,
                state_root: node.state_root,
                writes: &writes,
            };
            if let Err(source) = self.base.commit_block(commit) {
                return Err(FinalizeError::Base {
                    block: *next,
                    slot: node.slot,
                    committed_count: summary.committed_count,
                    pruned_count: summary.pruned_count,
                    source,
                });
            }
            summary.committed_count += 1;
            summary.pruned_count += self.advance_root(next);
        }
        assert_eq!(self.root, *block);
        assert_eq!(summary.committed_count, path.len());
        // O(blocks held): checked in debug builds only.
        #[cfg(debug_assertions)]
        self.assert_invariants();
        Ok(summary)
    }

    /// Makes `child` (a child of the root, just committed) the root: drops the old root
    /// and every other subtree under it, and `child`'s writes. Returns the unfinalized
    /// blocks dropped.
    fn advance_root(&mut self, child: &Hash) -> usize {
        let old_root = self
            .blocks
            .remove(&self.root)
            .expect("the last finalized block is in the overlay");
        assert!(
            old_root.writes.is_empty(),
            "the root's writes are in the base"
        );
        assert!(old_root.children.contains(child));
        let mut pruned_count = 0;
        for sibling in old_root.children.iter().filter(|sibling| *sibling != child) {
            pruned_count += self.remove_subtree(sibling);
        }
        let node = self
            .blocks
            .get_mut(child)
            .expect("a child of the root is in the overlay");
        self.write_count -= node.writes.len();
        self.value_bytes -= node.value_bytes;
        node.writes = Default::default();
        node.value_bytes = 0;
        self.root = *child;
        pruned_count
    }

    /// Drops `top` and all its descendants; returns how many blocks that was.
    fn remove_subtree(&mut self, top: &Hash) -> usize {
        let mut stack = vec![*top];
        let mut removed_count = 0;
        // Each step removes one block, so this ends within `blocks.len()` steps.
        while let Some(hash) = stack.pop() {
            let node = self
                .blocks
                .remove(&hash)
                .expect("a child of a held block is held");
            self.write_count -= node.writes.len();
            self.value_bytes -= node.value_bytes;
            stack.extend(node.children);
            removed_count += 1;
        }
        removed_count
    }
}

#[cfg(test)]
mod tests {
    use super::FinalizeSummary;
    use crate::test_support::{block, hash, overlay, value};
    use crate::{FinalizeError, FinalizedState, InsertError};

    /// root 0 ─ 1 ─ 2 ─ 3
    ///          │   └── 4
    ///          └── 5 ─ 6
    /// 7 on the root.
    fn forked() -> crate::ForkOverlay<crate::test_support::FlakyState, u8> {
        let mut overlay = overlay(10);
        overlay
            .insert_block(block(0, 1, 1, &[(1, Some("one"))]))
            .unwrap();
        overlay
            .insert_block(block(1, 2, 2, &[(2, None), (3, Some("two"))]))
            .unwrap();
        overlay
            .insert_block(block(2, 3, 3, &[(3, Some("three"))]))
            .unwrap();
        overlay.insert_block(block(2, 4, 4, &[(1, None)])).unwrap();
        overlay
            .insert_block(block(1, 5, 3, &[(1, Some("five"))]))
            .unwrap();
        overlay.insert_block(block(5, 6, 4, &[])).unwrap();
        overlay
            .insert_block(block(0, 7, 2, &[(4, Some("seven"))]))
            .unwrap();
        overlay
    }

    #[test]
    fn finalize_flushes_the_chain_in_order_and_prunes_other_forks() {
        let mut overlay = forked();
        let summary = overlay.finalize(&hash(2)).unwrap();
        assert_eq!(
            summary,
            FinalizeSummary {
                committed_count: 2,
                pruned_count: 3
            }
        );
        let base = &overlay.base().inner;
        assert_eq!(base.committed_block_count(), 2);
        assert_eq!(base.last_committed().unwrap().hash, hash(2));
        assert_eq!(base.get(&hash(1)).unwrap(), Some(value(b"one")));
        assert_eq!(base.get(&hash(2)).unwrap(), None);
        assert_eq!(base.get(&hash(3)).unwrap(), Some(value(b"two")));
        assert_eq!(overlay.last_finalized().hash, hash(2));
        assert_eq!(overlay.unfinalized_count(), 2);
        for gone in [1, 5, 6, 7] {
            assert!(!overlay.contains(&hash(gone)));
            assert!(overlay.get(&hash(gone), &hash(1)).is_err());
            let rejected = overlay.insert_block(block(gone, 9, 9, &[])).unwrap_err();
            assert!(matches!(rejected.error, InsertError::UnknownParent { .. }));
        }
        assert_eq!(overlay.children(&hash(2)), Some(&[hash(3), hash(4)][..]));
        assert_eq!(overlay.block(&hash(2)).unwrap().writes().len(), 0);
        assert_eq!(overlay.unfinalized_write_count(), 2);
        assert_eq!(
            overlay.get(&hash(3), &hash(3)).unwrap(),
            Some(value(b"three"))
        );
        assert_eq!(overlay.get(&hash(4), &hash(1)).unwrap(), None);
        assert_eq!(
            overlay.get(&hash(2), &hash(1)).unwrap(),
            Some(value(b"one"))
        );
    }

    #[test]
    fn finalizing_the_last_finalized_block_does_nothing_and_unknown_blocks_fail() {
        let mut overlay = forked();
        assert_eq!(
            overlay.finalize(&hash(0)).unwrap(),
            FinalizeSummary::default()
        );
        assert_eq!(overlay.unfinalized_count(), 7);
        assert!(matches!(
            overlay.finalize(&hash(42)),
            Err(FinalizeError::UnknownBlock { block }) if block == hash(42)
        ));
        overlay.finalize(&hash(5)).unwrap();
        // Pruned, and finalized-then-dropped blocks are unknown now.
        for gone in [0, 1, 2, 3] {
            assert!(matches!(
                overlay.finalize(&hash(gone)),
                Err(FinalizeError::UnknownBlock { .. })
            ));
        }
        assert_eq!(overlay.unfinalized_count(), 1);
        overlay.assert_invariants();
    }

    #[test]
    fn a_failed_commit_keeps_the_committed_prefix_and_the_rest() {
        let mut overlay = forked();
        // The first commit (block 1) succeeds, the second (block 2) fails.
        overlay.base.commits_before_failure = Some(1);
        let error = overlay.finalize(&hash(3)).unwrap_err();
        let FinalizeError::Base {
            block,
            slot,
            committed_count,
            pruned_count,
            ..
        } = error
        else {
            panic!("expected a base failure, got {error:?}");
        };
        assert_eq!(
            (block, slot, committed_count, pruned_count),
            (hash(2), 2, 1, 1)
        );
        overlay.assert_invariants();
        // Block 1 is finalized (7, its sibling, pruned); 2 and everything under 1 remain.
        assert_eq!(overlay.last_finalized().hash, hash(1));
        assert_eq!(overlay.base().inner.last_committed().unwrap().hash, hash(1));
        assert_eq!(
            overlay.base().inner.get(&hash(1)).unwrap(),
            Some(value(b"one"))
        );
        assert!(!overlay.contains(&hash(0)) && !overlay.contains(&hash(7)));
        for kept in [2, 3, 4, 5, 6] {
            assert!(overlay.contains(&hash(kept)));
        }
        assert_eq!(
            overlay.get(&hash(3), &hash(3)).unwrap(),
            Some(value(b"three"))
        );
        assert_eq!(
            overlay.get(&hash(6), &hash(1)).unwrap(),
            Some(value(b"five"))
        );
        // Once the base recovers, retrying resumes where it stopped.
        overlay.base.commits_before_failure = None;
        let summary = overlay.finalize(&hash(3)).unwrap();
        assert_eq!(
            summary,
            FinalizeSummary {
                committed_count: 2,
                pruned_count: 3
            }
        );
        assert_eq!(overlay.base().inner.committed_block_count(), 3);
        assert_eq!(
            overlay.base().inner.get(&hash(3)).unwrap(),
            Some(value(b"three"))
        );
        assert_eq!(overlay.unfinalized_count(), 0);
    }

    #[test]
    fn a_failed_first_commit_changes_nothing() {
        let mut overlay = forked();
        overlay.base.commits_before_failure = Some(0);
        let error = overlay.finalize(&hash(6)).unwrap_err();
        assert!(matches!(
            error,
            FinalizeError::Base { committed_count: 0, pruned_count: 0, block, .. } if block == hash(1)
        ));
        assert_eq!(overlay.unfinalized_count(), 7);
        assert_eq!(overlay.last_finalized().hash, hash(0));
        assert_eq!(overlay.base().inner.committed_block_count(), 0);
        assert_eq!(
            overlay.get(&hash(1), &hash(1)).unwrap(),
            Some(value(b"one"))
        );
        overlay.assert_invariants();
    }

    #[test]
    fn commits_carry_sorted_writes_and_block_metadata() {
        let mut overlay = overlay(10);
        let writes: Vec<(u8, Option<&str>)> = (1..=20).rev().map(|k| (k, Some("v"))).collect();
        overlay.insert_block(block(0, 1, 7, &writes)).unwrap();
        overlay.finalize(&hash(1)).unwrap();
        // MemoryState refuses unsorted writes and blocks that do not extend the last one.
        let last = overlay.base().inner.last_committed().unwrap();
        assert_eq!(
            (last.hash, last.slot, last.state_root),
            (hash(1), 7, hash(1 ^ 0x80))
        );
        assert_eq!(overlay.base().inner.len(), 2 + 18);
    }
}
