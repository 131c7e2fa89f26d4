//! Immutable tree nodes shared between versions through `Arc`, and the one rule that keeps
//! the tree canonical ([`Child::combine`]).
//!
//! A node's hash is stored in its parent's [`Child`] slot, not in the node: rehashing a
//! parent reads both child hashes from the parent alone, without touching the children's
//! memory (in a 1M-key tree most nodes are cache misses).

use std::sync::Arc;

use aether_types::Hash;

use crate::hashing::{EMPTY_HASH, KEY_BITS, common_prefix_bits, key_bit, leaf_hash, node_hash};
use crate::pending::PENDING_HASH;
use crate::warm::{LANES, touch_all};

/// One key and the hash of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Leaf {
    pub(crate) key: Hash,
    pub(crate) value_hash: Hash,
}

/// A node with at least two leaves below it: `children[0]` is the 0-bit (left) side.
#[derive(Debug)]
pub(crate) struct Internal {
    pub(crate) children: [Child; 2],
}

/// What a slot points at.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Empty,
    Leaf(Arc<Leaf>),
    Internal(Arc<Internal>),
}

/// A slot in the tree: a subtree and its hash.
#[derive(Debug, Clone)]
pub(crate) struct Child {
    pub(crate) hash: Hash,
    pub(crate) node: Node,
}

// Two 48-byte slots make a 96-byte node (112 with the Arc counts): the path walk reads
// both child hashes and pointers from two cache lines. Growing these is a measured cost.
const _: () = assert!(size_of::<Child>() == 48);
const _: () = assert!(size_of::<Internal>() == 96);

/// A shared empty slot, so code can hand out `&Child` for "nothing here".
pub(crate) static EMPTY_CHILD: Child = Child::EMPTY;

impl Child {
    /// The empty subtree.
    pub(crate) const EMPTY: Child = Child {
        hash: EMPTY_HASH,
        node: Node::Empty,
    };

    /// A subtree holding exactly one leaf.
    pub(crate) fn leaf(key: Hash, value_hash: Hash) -> Child {
        Child {
            hash: leaf_hash(&key, &value_hash),
            node: Node::Leaf(Arc::new(Leaf { key, value_hash })),
        }
    }

    /// [`Child::leaf`] with its hash left for [`pending::finish`](crate::pending::finish).
    pub(crate) fn pending_leaf(key: Hash, value_hash: Hash) -> Child {
        Child {
            hash: PENDING_HASH,
            node: Node::Leaf(Arc::new(Leaf { key, value_hash })),
        }
    }

    /// The subtree whose two halves are `left` and `right`, in canonical form: nothing
    /// stays nothing, a lone leaf moves up to this position, anything else becomes an
    /// internal node hashed as `node_hash(left, right)`.
    pub(crate) fn combine(left: Child, right: Child) -> Child {
        Child::combine_hashed_by(left, right, node_hash)
    }

    /// [`Child::combine`] with a new internal node's hash left for
    /// [`pending::finish`](crate::pending::finish).
    pub(crate) fn combine_pending(left: Child, right: Child) -> Child {
        Child::combine_hashed_by(left, right, |_, _| PENDING_HASH)
    }

    fn combine_hashed_by(left: Child, right: Child, hash: fn(&Hash, &Hash) -> Hash) -> Child {
        match (&left.node, &right.node) {
            (Node::Empty, Node::Empty) => Child::EMPTY,
            (Node::Empty, Node::Leaf(_)) => right,
            (Node::Leaf(_), Node::Empty) => left,
            _ => Child {
                hash: hash(&left.hash, &right.hash),
                node: Node::Internal(Arc::new(Internal {
                    children: [left, right],
                })),
            },
        }
    }

    /// True when both slots point at the same shared node (or both are empty).
    pub(crate) fn same_node(&self, other: &Child) -> bool {
        match (&self.node, &other.node) {
            (Node::Empty, Node::Empty) => true,
            (Node::Leaf(a), Node::Leaf(b)) => Arc::ptr_eq(a, b),
            (Node::Internal(a), Node::Internal(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Walks the subtree at `depth` whose position is the first `depth` bits of `prefix`,
    /// checking every structural invariant; returns its leaf count. O(size): tests only.
    pub(crate) fn check(&self, prefix: &Hash, depth: usize) -> Result<u64, String> {
        match &self.node {
            Node::Empty => {
                if self.hash != EMPTY_HASH {
                    return Err(format!("empty slot at depth {depth} has a non-empty hash"));
                }
                Ok(0)
            }
            Node::Leaf(leaf) => {
                if common_prefix_bits(&leaf.key, prefix) < depth {
                    return Err(format!(
                        "leaf {} is off its path at depth {depth}",
                        leaf.key
                    ));
                }
                if self.hash != leaf_hash(&leaf.key, &leaf.value_hash) {
                    return Err(format!("leaf {} has a stale hash", leaf.key));
                }
                Ok(1)
            }
            Node::Internal(internal) => {
                if depth >= KEY_BITS {
                    return Err("internal node below the last key bit".to_string());
                }
                let [left, right] = &internal.children;
                let mut right_prefix = *prefix;
                right_prefix.0[depth / 8] |= 0x80 >> (depth % 8);
                let mut left_prefix = *prefix;
                left_prefix.0[depth / 8] &= !(0x80 >> (depth % 8));
                let count =
                    left.check(&left_prefix, depth + 1)? + right.check(&right_prefix, depth + 1)?;
                if count < 2 {
                    return Err(format!(
                        "internal node at depth {depth} holds {count} leaves"
                    ));
                }
                if self.hash != node_hash(&left.hash, &right.hash) {
                    return Err(format!("internal node at depth {depth} has a stale hash"));
                }
                Ok(count)
            }
        }
    }
}

/// The left and right halves of `child` (a subtree at `depth`) one level down. A lone
/// leaf is pushed down to the side its key's bit `depth` names.
pub(crate) fn split(child: &Child, depth: usize) -> [&Child; 2] {
    match &child.node {
        Node::Empty => [&EMPTY_CHILD, &EMPTY_CHILD],
        Node::Leaf(leaf) => {
            if key_bit(&leaf.key, depth) {
                [&EMPTY_CHILD, child]
            } else {
                [child, &EMPTY_CHILD]
            }
        }
        Node::Internal(internal) => [&internal.children[0], &internal.children[1]],
    }
}

/// Drops the subtree `root`, freeing the nodes no other version shares. Equivalent to
/// `drop(root)`, but breadth-first without recursion, and in chunks whose reference
/// counts are loaded together before they are decremented (see `warm`): dropping the
/// Arc-shared nodes one by one pays a serialized cache miss for every kept sibling.
pub(crate) fn release(root: Child) {
    let mut level = vec![root];
    let mut next_level = Vec::new();
    while !level.is_empty() {
        for chunk in level.chunks_mut(LANES) {
            touch_all(chunk);
            for child in chunk {
                match std::mem::replace(&mut child.node, Node::Empty) {
                    Node::Internal(internal) => {
                        // `into_inner` decrements; it returns the node only to its last owner.
                        if let Some(Internal {
                            children: [left, right],
                        }) = Arc::into_inner(internal)
                        {
                            for grandchild in [left, right] {
                                if !matches!(grandchild.node, Node::Empty) {
                                    next_level.push(grandchild);
                                }
                            }
                        }
                    }
                    Node::Leaf(leaf) => drop(leaf),
                    Node::Empty => {}
                }
            }
        }
        level.clear();
        std::mem::swap(&mut level, &mut next_level);
    }
}
