//! Deferred hashing: a group's new nodes are hashed level by level, many at a time.
//!
//! A batch update is applied in groups of at most
//! [`WARM_OPERATIONS_MAX`](crate::warm::WARM_OPERATIONS_MAX) operations (the same
//! sub-batches that are cache-warmed). Inside a group the update builds the new shape
//! without hashing: every leaf it creates and every internal node it creates or changes
//! gets [`PENDING_HASH`] in its slot. When the group's update returns, [`finish`] walks
//! the pending slots down from the group's root, one tree level per step, and hashes them
//! deepest level first: every slot of a level depends only on the level below, so a
//! level's hashes are independent and go to BLAKE3 [`HASH_LANES`] at a time
//! ([`leaf_hashes`], [`node_hashes`]). A group of 64 paths ten levels deep has about 64
//! pending nodes per level, so most calls are full; hashing one node at a time is a chain
//! of dependent single compressions.
//!
//! Invariants:
//! - A slot outside a group is never pending after the group's `finish`: the update
//!   outside groups hashes at once, from children a finished group returned.
//! - A pending internal node is owned by its slot alone (it was just created or changed
//!   in place), so `finish` can reach its children through `Arc::get_mut`.
//! - A slot that is not pending has no pending slot below it (a changed child makes its
//!   parent pending, up to the group's root).
//!
//! `PENDING_HASH` is a marker, not a flag. A real hash equal to it (probability 2^-256)
//! would make `finish` recompute that hash from the same inputs, which gives the same
//! value; `finish` asserts that every node it hashes has final children, so a marker left
//! in place by a bug stops the node instead of producing a wrong root.
//!
//! [`HASH_LANES`]: aether_types::hash_lanes::HASH_LANES

use std::sync::Arc;

use aether_types::Hash;

use crate::hashing::{EMPTY_HASH, leaf_hashes, node_hashes, pair_block};
use crate::node::{Child, Node};

/// The hash slot value of a node whose hash [`finish`] has yet to compute.
pub(crate) const PENDING_HASH: Hash = Hash([0xA5; 32]);

// An empty slot's hash must never read as pending.
const _: () = assert!(PENDING_HASH.0[0] != EMPTY_HASH.0[0]);

/// Computes the hash of `root` and of every pending slot below it, deepest level first.
pub(crate) fn finish(root: &mut Child) {
    if root.hash == PENDING_HASH {
        hash_level_and_below(&mut [root]);
    }
}

/// Hashes the pending slots under `level` (all at one depth), then `level` itself.
fn hash_level_and_below(level: &mut [&mut Child]) {
    let mut below: Vec<&mut Child> = Vec::new();
    for child in level.iter_mut() {
        if let Node::Internal(internal) = &mut child.node
            && let Some(internal) = Arc::get_mut(internal)
        {
            below.extend(
                internal
                    .children
                    .iter_mut()
                    .filter(|grandchild| grandchild.hash == PENDING_HASH),
            );
        }
    }
    if !below.is_empty() {
        hash_level_and_below(&mut below);
    }
    drop(below);

    let mut leaf_inputs = Vec::new();
    let mut leaf_slots = Vec::new();
    let mut node_inputs = Vec::with_capacity(level.len());
    let mut node_slots = Vec::with_capacity(level.len());
    for child in level.iter_mut() {
        let Child { hash, node } = &mut **child;
        match node {
            Node::Empty => *hash = EMPTY_HASH,
            Node::Leaf(leaf) => {
                leaf_inputs.push(pair_block(&leaf.key, &leaf.value_hash));
                leaf_slots.push(hash);
            }
            Node::Internal(internal) => {
                // Both children are final: the level below was hashed first. (A pending
                // node that was not uniquely owned would break this; so would a real hash
                // equal to the marker, with probability 2^-256.)
                let [left, right] = &internal.children;
                assert!(
                    left.hash != PENDING_HASH && right.hash != PENDING_HASH,
                    "a node is hashed before its children"
                );
                node_inputs.push(pair_block(&left.hash, &right.hash));
                node_slots.push(hash);
            }
        }
    }
    let mut hashes = vec![Hash::ZERO; leaf_inputs.len().max(node_inputs.len())];
    leaf_hashes(&leaf_inputs, &mut hashes[..leaf_inputs.len()]);
    for (slot, hash) in leaf_slots.into_iter().zip(&hashes) {
        *slot = *hash;
    }
    node_hashes(&node_inputs, &mut hashes[..node_inputs.len()]);
    for (slot, hash) in node_slots.into_iter().zip(&hashes) {
        *slot = *hash;
    }
}
