//! The overlay's structural invariants, checked in one O(blocks held) pass.

use crate::block::value_bytes;
use crate::finalized_state::FinalizedState;
use crate::overlay::ForkOverlay;

impl<S: FinalizedState, T> ForkOverlay<S, T> {
    /// Panics unless every invariant in the crate docs holds. O(blocks + writes held):
    /// for tests, and run after each `finalize` in debug builds.
    pub fn assert_invariants(&self) {
        let root = self
            .blocks
            .get(&self.root)
            .expect("the last finalized block is held");
        assert!(root.writes.is_empty(), "the root's writes are in the base");
        assert_eq!(root.value_bytes, 0);

        let mut write_count = 0;
        let mut value_byte_count = 0;
        for (hash, node) in &self.blocks {
            assert_eq!(node.value_bytes, value_bytes(&node.writes), "block {hash}");
            write_count += node.writes.len();
            value_byte_count += node.value_bytes;
            for child in &node.children {
                let child_node = self.blocks.get(child).expect("children are held");
                assert_eq!(child_node.parent, *hash, "child {child} of {hash}");
                assert!(child_node.slot > node.slot, "slots increase at {child}");
            }
            if *hash != self.root {
                let parent = self.blocks.get(&node.parent).expect("parents are held");
                let listed = parent
                    .children
                    .iter()
                    .filter(|child| *child == hash)
                    .count();
                assert_eq!(listed, 1, "block {hash} is listed once by its parent");
            }
        }
        assert_eq!(write_count, self.write_count);
        assert_eq!(value_byte_count, self.value_bytes);

        // Every block is reached from the root exactly once: a tree, no cycles, nothing
        // orphaned. The walk is bounded, so a cycle fails the count instead of hanging.
        let mut reached_count = 0;
        let mut stack = vec![self.root];
        while let Some(hash) = stack.pop() {
            reached_count += 1;
            assert!(
                reached_count <= self.blocks.len(),
                "a block is reached twice"
            );
            stack.extend(self.blocks[&hash].children.iter().copied());
        }
        assert_eq!(
            reached_count,
            self.blocks.len(),
            "every block descends from the root"
        );

        assert!(self.unfinalized_count() <= self.config.max_unfinalized_blocks);
        assert!(self.write_count <= self.config.max_unfinalized_write_count);
        assert!(self.value_bytes <= self.config.max_unfinalized_value_bytes);
    }
}
