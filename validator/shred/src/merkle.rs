//! The Merkle tree over one FEC set's shreds.
//!
//! - Leaf: `BLAKE3-derive-key(LEAF_CONTEXT, header ‖ body)`: everything in the shred
//!   before its proof.
//! - Inner node: `BLAKE3-derive-key(NODE_CONTEXT, left ‖ right)`.
//! - Leaves are ordered data shreds by position, then coding shreds by position, and
//!   padded with [`Hash::ZERO`] up to the next power of two, so every proof of a set has
//!   the same depth, `ceil(log2(leaf_count))`. (A padding leaf cannot be forged: that
//!   would need a shred whose leaf hash is all zero.)
//!
//! Leaf and node contexts differ from each other and from the transactions tree's
//! (`aether_types::merkle`), so a node can never pass for a leaf, nor a shred tree node for
//! a transactions tree node.

use std::sync::LazyLock;

use aether_types::{Hash, hash_lanes};

use crate::layout::proof_depth;

/// BLAKE3 `derive_key` context of a shred leaf.
pub const LEAF_CONTEXT: &str = "aether 2026-01-01 shred merkle leaf";
/// BLAKE3 `derive_key` context of an inner node.
pub const NODE_CONTEXT: &str = "aether 2026-01-01 shred merkle node";

// Deriving the context key costs one compression; do it once and clone the state.
static LEAF_HASHER: LazyLock<blake3::Hasher> =
    LazyLock::new(|| blake3::Hasher::new_derive_key(LEAF_CONTEXT));
static NODE_HASHER: LazyLock<blake3::Hasher> =
    LazyLock::new(|| blake3::Hasher::new_derive_key(NODE_CONTEXT));

/// The leaf hash of a shred's `header ‖ body` bytes.
pub fn leaf_hash(leaf_bytes: &[u8]) -> Hash {
    leaf_hash_parts(&[leaf_bytes])
}

/// The leaf hash of `header ‖ body` given in pieces (their concatenation is hashed).
pub fn leaf_hash_parts(parts: &[&[u8]]) -> Hash {
    let mut hasher = LEAF_HASHER.clone();
    for part in parts {
        hasher.update(part);
    }
    Hash(*hasher.finalize().as_bytes())
}

/// The leaf hashes of many shreds' `header ‖ body` bytes: equal to [`leaf_hash`] of
/// each. A set's leaves of one kind all have the same length (at most one BLAKE3 chunk),
/// so they go through the multi-input compression of [`aether_types::hash_lanes`]: one
/// compression per block of each leaf, one leaf after another, was the largest part of
/// the shred stage's hashing.
pub fn leaf_hashes(leaves: &[&[u8]]) -> Vec<Hash> {
    hash_lanes::hash_runs(&LEAF_MODE, leaves)
}

static LEAF_MODE: LazyLock<hash_lanes::Mode> =
    LazyLock::new(|| hash_lanes::Mode::derive_key(LEAF_CONTEXT));

/// The parent of two nodes.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = NODE_HASHER.clone();
    hasher.update(left.as_bytes());
    hasher.update(right.as_bytes());
    Hash(*hasher.finalize().as_bytes())
}

/// The root reached from `leaf` at `leaf_index` by hashing up through `proof` (siblings
/// from the leaf's level up).
pub fn root_from_proof(leaf: Hash, leaf_index: usize, proof: impl Iterator<Item = Hash>) -> Hash {
    let mut node = leaf;
    let mut index = leaf_index;
    for sibling in proof {
        node = if index.is_multiple_of(2) {
            node_hash(&node, &sibling)
        } else {
            node_hash(&sibling, &node)
        };
        index /= 2;
    }
    node
}

/// A whole tree, kept level by level so every leaf's proof can be read out.
#[derive(Debug, Clone)]
pub struct MerkleTree {
    /// `levels[0]` are the padded leaves, the last level is the root alone.
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// The tree over `leaves` (at least one), padded with [`Hash::ZERO`].
    pub fn new(mut leaves: Vec<Hash>) -> MerkleTree {
        assert!(!leaves.is_empty(), "a Merkle tree needs at least one leaf");
        let depth = proof_depth(leaves.len());
        leaves.resize(1 << depth, Hash::ZERO);
        let mut levels = Vec::with_capacity(depth as usize + 1);
        levels.push(leaves);
        while levels.last().expect("at least the leaves").len() > 1 {
            let below = levels.last().expect("at least the leaves");
            let above = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        assert_eq!(levels.len(), depth as usize + 1);
        MerkleTree { levels }
    }

    /// The root.
    pub fn root(&self) -> Hash {
        self.levels.last().expect("at least the leaves")[0]
    }

    /// Proof entries per leaf.
    pub fn depth(&self) -> usize {
        self.levels.len() - 1
    }

    /// The proof of leaf `leaf_index`: its sibling on every level below the root.
    pub fn proof(&self, leaf_index: usize) -> impl Iterator<Item = &Hash> + '_ {
        assert!(leaf_index < self.levels[0].len());
        self.levels[..self.depth()]
            .iter()
            .enumerate()
            .map(move |(level, nodes)| &nodes[(leaf_index >> level) ^ 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(count: u8) -> Vec<Hash> {
        (0..count).map(|i| leaf_hash(&[i])).collect()
    }

    /// Batched leaf hashes equal one-at-a-time ones (the lanes themselves are tested
    /// in `aether_types::hash_lanes`; this checks the leaf mode).
    #[test]
    fn batched_leaf_hashes_equal_single_ones() {
        let bytes: Vec<u8> = (0..2100u32).map(|i| (i * 31 + 7) as u8).collect();
        for len in [1, 63, 64, 65, 940, 1000, 1024, 1025] {
            for count in [1, 2, 16, 17] {
                let leaves: Vec<&[u8]> = (0..count)
                    .map(|index| &bytes[index * 29 % 900..][..len])
                    .collect();
                let expected: Vec<Hash> = leaves.iter().map(|leaf| leaf_hash(leaf)).collect();
                assert_eq!(
                    leaf_hashes(&leaves),
                    expected,
                    "{count} leaves of {len} bytes"
                );
            }
        }
        let mixed: Vec<&[u8]> = [940, 940, 1000, 1000, 1000, 5, 940]
            .iter()
            .map(|&len| &bytes[..len])
            .collect();
        let expected: Vec<Hash> = mixed.iter().map(|leaf| leaf_hash(leaf)).collect();
        assert_eq!(leaf_hashes(&mixed), expected);
    }

    #[test]
    fn shape_matches_the_docs() {
        let [a, b, c] = [0, 1, 2].map(|i| leaf_hash(&[i]));
        assert_eq!(MerkleTree::new(vec![a]).root(), a);
        assert_eq!(MerkleTree::new(vec![a, b]).root(), node_hash(&a, &b));
        assert_eq!(
            MerkleTree::new(vec![a, b, c]).root(),
            node_hash(&node_hash(&a, &b), &node_hash(&c, &Hash::ZERO))
        );
        assert_ne!(
            leaf_hash(&[1; 64]),
            node_hash(&Hash([1; 32]), &Hash([1; 32]))
        );
    }

    #[test]
    fn every_proof_reaches_the_root_and_only_at_its_index() {
        for count in [1u8, 2, 3, 33, 64, 65, 128] {
            let leaves = leaves(count);
            let tree = MerkleTree::new(leaves.clone());
            for (index, leaf) in leaves.iter().enumerate() {
                let proof: Vec<Hash> = tree.proof(index).copied().collect();
                assert_eq!(proof.len(), proof_depth(count.into()) as usize);
                assert_eq!(
                    root_from_proof(*leaf, index, proof.iter().copied()),
                    tree.root()
                );
                if count > 1 {
                    let other = index ^ 1;
                    assert_ne!(
                        root_from_proof(*leaf, other, proof.into_iter()),
                        tree.root()
                    );
                }
            }
        }
    }
}
