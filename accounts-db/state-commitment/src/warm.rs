//! Cache warming for batch updates: overlap the cache misses of many key paths.
//!
//! In a 1M-key tree nearly every node below the top levels is a cache miss, and an update
//! takes two per level: the node on the path (read) and the sibling it keeps (an atomic
//! reference-count increment, which x86 cannot overlap with other misses). Walking one
//! path is a chain of dependent loads, so the update recursion pays those misses one after
//! another. Before the recursion enters a small sub-batch, [`warm`] walks up to [`LANES`]
//! of its keys in lock step, one level per round: the loads of different keys are
//! independent, so the CPU keeps many misses in flight, and the recursion that follows
//! finds its nodes and siblings' counts in cache. (A prefetch instruction would do the
//! same without the loads, but needs `unsafe`, which this workspace denies.) An update in
//! place (a tree that owns its nodes alone, as the single-leader chain's does) gives
//! siblings no new owner, so their counts are loaded only below a shared node
//! ([`Update`]): one miss per level instead of two.
//!
//! Dropping a version has the same shape (one atomic decrement per kept sibling), and
//! [`release`](crate::node::release) uses [`touch_all`] the same way.

use std::hint::black_box;
use std::sync::Arc;

use aether_types::Hash;

use crate::hashing::{KEY_BITS, key_bit};
use crate::node::{Child, Node};

/// Keys walked in lock step, and reference counts loaded together: a core keeps 10 to 20
/// misses in flight; 32 measured slightly better than 16 and 8 (1M keys, 10k updates).
pub(crate) const LANES: usize = 32;

/// Sub-batches of at most this many operations are warmed before they are applied; their
/// paths (about 64 × 10 levels × 3 lines, ~120 KiB) fit in a core's L2. 256 and 1024
/// measured no better.
pub(crate) const WARM_OPERATIONS_MAX: usize = 64;

/// How the update that follows a [`warm`] treats the nodes on its paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Update {
    /// Path copying: every sibling beside a path gains an owner (its reference count is
    /// loaded).
    Copy,
    /// In place where the tree owns its nodes alone: siblings are left untouched, so only
    /// below a node with other owners (where the update switches to copying) are their
    /// reference counts loaded. Each sibling skipped is a cache miss saved.
    InPlace,
}

/// Loads every node on the paths of `operations` below `child` (at `depth`), each leaf
/// reached, and the reference count of each sibling that `update` will give a new owner.
/// No effect but on caches.
pub(crate) fn warm(
    child: &Child,
    operations: &[(Hash, Option<Hash>)],
    depth: usize,
    update: Update,
) {
    let mut checksum = 0usize;
    for chunk in operations.chunks(LANES) {
        let mut cursors: [Option<(&Child, Update)>; LANES] = [None; LANES];
        for cursor in cursors.iter_mut().take(chunk.len()) {
            *cursor = Some((child, update));
        }
        let mut level = depth;
        let mut active = chunk.len();
        while active > 0 && level < KEY_BITS {
            active = 0;
            for (cursor, (key, _)) in cursors.iter_mut().zip(chunk) {
                let Some((current, mut update)) = *cursor else {
                    continue;
                };
                match &current.node {
                    Node::Internal(internal) => {
                        let side = usize::from(key_bit(key, level));
                        // The count sits beside the node's children: in cache once read.
                        if Arc::strong_count(internal) > 1 {
                            update = Update::Copy;
                        }
                        if update == Update::Copy {
                            checksum = checksum
                                .wrapping_add(reference_count(&internal.children[1 - side]));
                        }
                        *cursor = Some((&internal.children[side], update));
                        active += 1;
                    }
                    Node::Leaf(leaf) => {
                        checksum = checksum.wrapping_add(usize::from(leaf.key.0[0]));
                        *cursor = None;
                    }
                    Node::Empty => *cursor = None,
                }
            }
            level += 1;
        }
    }
    black_box(checksum);
}

/// Reads the reference count of every node in `children`, and for internal nodes this
/// is the last owner of, the far end of the node (its right child slot, which a release
/// moves out): the cache misses overlap, and the atomic decrements and moves that follow
/// hit cache.
pub(crate) fn touch_all(children: &[Child]) {
    let mut checksum = 0usize;
    for child in children {
        if let Node::Internal(internal) = &child.node {
            let count = Arc::strong_count(internal);
            if count == 1 {
                checksum = checksum.wrapping_add(usize::from(internal.children[1].hash.0[31]));
            }
            checksum = checksum.wrapping_add(count);
        } else {
            checksum = checksum.wrapping_add(reference_count(child));
        }
    }
    black_box(checksum);
}

fn reference_count(child: &Child) -> usize {
    match &child.node {
        Node::Empty => 0,
        Node::Leaf(leaf) => Arc::strong_count(leaf),
        Node::Internal(internal) => Arc::strong_count(internal),
    }
}
