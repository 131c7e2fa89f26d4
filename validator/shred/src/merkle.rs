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

use aether_types::Hash;

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
/// each, computed [`HASH_LANES`] leaves at a time where they allow it.
///
/// A leaf is at most one BLAKE3 chunk (1024 bytes) of up to 16 blocks, and the shreds
/// of one kind in a set all have the same length. Runs of equal-length leaves go
/// through BLAKE3's multi-input compression (`Platform::hash_many`, one leaf per SIMD
/// lane) for every block but the last, which ends the chunk and the root and is
/// compressed one leaf at a time with its true length. One compression per block of
/// each leaf, one leaf after another, was the largest part of the shred stage's hashing.
/// `hash_many` is public but documented as unstable, so the workspace pins blake3 to an
/// exact version, and a test checks every length and lane count against [`leaf_hash`].
pub fn leaf_hashes(leaves: &[&[u8]]) -> Vec<Hash> {
    let mut hashes = Vec::with_capacity(leaves.len());
    let mut start = 0;
    while start < leaves.len() {
        let len = leaves[start].len();
        let run = leaves[start..]
            .iter()
            .take(HASH_LANES)
            .take_while(|leaf| leaf.len() == len)
            .count();
        let group = &leaves[start..start + run];
        if (1..=CHUNK_BYTES).contains(&len) && run > 1 {
            hash_equal_leaves(group, &mut hashes);
        } else {
            hashes.extend(group.iter().map(|leaf| leaf_hash(leaf)));
        }
        start += run;
    }
    hashes
}

/// Leaves hashed by one multi-input compression call: the widest SIMD degree BLAKE3
/// has (AVX-512).
const HASH_LANES: usize = 16;

/// BLAKE3's block and chunk sizes.
const BLOCK_BYTES: usize = 64;
const CHUNK_BYTES: usize = 1024;

// BLAKE3 domain flags (specification, table 3).
const FLAG_CHUNK_START: u8 = 1;
const FLAG_CHUNK_END: u8 = 2;
const FLAG_ROOT: u8 = 8;
const FLAG_DERIVE_KEY_MATERIAL: u8 = 64;

static PLATFORM: LazyLock<blake3::platform::Platform> =
    LazyLock::new(blake3::platform::Platform::detect);

/// The leaf key: `derive_key`'s context key for [`LEAF_CONTEXT`], as compression words.
static LEAF_KEY_WORDS: LazyLock<[u32; 8]> = LazyLock::new(|| {
    blake3::platform::words_from_le_bytes_32(&blake3::hazmat::hash_derive_key_context(LEAF_CONTEXT))
});

/// Appends the leaf hashes of `leaves` (2 to [`HASH_LANES`], all of the same length,
/// 1 to 1024 bytes) to `out`.
fn hash_equal_leaves(leaves: &[&[u8]], out: &mut Vec<Hash>) {
    let len = leaves[0].len();
    assert!(leaves.len() <= HASH_LANES && leaves.iter().all(|leaf| leaf.len() == len));
    // Every block but the last goes through the lanes; the last (1 to 64 bytes) ends
    // the chunk and is the root.
    let leading_blocks = (len - 1) / BLOCK_BYTES;
    let mut chaining = [*LEAF_KEY_WORDS; HASH_LANES];
    if leading_blocks > 0 {
        let mut digests = [0u8; 32 * HASH_LANES];
        let digests = &mut digests[..32 * leaves.len()];
        hash_leading_blocks(leaves, leading_blocks, digests);
        for (words, digest) in chaining.iter_mut().zip(digests.chunks_exact(32)) {
            *words = blake3::platform::words_from_le_bytes_32(
                digest.try_into().expect("32-byte digest"),
            );
        }
    }
    let tail_start = leading_blocks * BLOCK_BYTES;
    let tail_len = len - tail_start;
    let flags = FLAG_DERIVE_KEY_MATERIAL
        | FLAG_CHUNK_END
        | FLAG_ROOT
        | if leading_blocks == 0 {
            FLAG_CHUNK_START
        } else {
            0
        };
    for (leaf, mut words) in leaves.iter().zip(chaining) {
        let mut block = [0u8; BLOCK_BYTES];
        block[..tail_len].copy_from_slice(&leaf[tail_start..]);
        PLATFORM.compress_in_place(&mut words, &block, tail_len as u8, 0, flags);
        out.push(Hash(blake3::platform::le_bytes_from_words_32(&words)));
    }
}

/// The chaining value of each leaf after its first `blocks` blocks (1 to 15), into
/// `digests` (32 bytes per leaf).
fn hash_leading_blocks(leaves: &[&[u8]], blocks: usize, digests: &mut [u8]) {
    fn lanes<const N: usize>(leaves: &[&[u8]], digests: &mut [u8]) {
        fn prefix<const N: usize>(leaf: &[u8]) -> &[u8; N] {
            leaf[..N].try_into().expect("the leaf holds N bytes")
        }
        let mut inputs = [prefix::<N>(leaves[0]); HASH_LANES];
        for (input, leaf) in inputs.iter_mut().zip(leaves) {
            *input = prefix(leaf);
        }
        PLATFORM.hash_many(
            &inputs[..leaves.len()],
            &LEAF_KEY_WORDS,
            0,
            blake3::IncrementCounter::No,
            FLAG_DERIVE_KEY_MATERIAL,
            FLAG_CHUNK_START,
            0,
            digests,
        );
    }
    match blocks {
        1 => lanes::<64>(leaves, digests),
        2 => lanes::<128>(leaves, digests),
        3 => lanes::<192>(leaves, digests),
        4 => lanes::<256>(leaves, digests),
        5 => lanes::<320>(leaves, digests),
        6 => lanes::<384>(leaves, digests),
        7 => lanes::<448>(leaves, digests),
        8 => lanes::<512>(leaves, digests),
        9 => lanes::<576>(leaves, digests),
        10 => lanes::<640>(leaves, digests),
        11 => lanes::<704>(leaves, digests),
        12 => lanes::<768>(leaves, digests),
        13 => lanes::<832>(leaves, digests),
        14 => lanes::<896>(leaves, digests),
        15 => lanes::<960>(leaves, digests),
        other => unreachable!("a leaf of one chunk has 1 to 15 leading blocks, not {other}"),
    }
}

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

    /// Batched leaf hashes equal one-at-a-time ones for every length a chunk allows
    /// (and past it), every lane count, and runs of mixed lengths.
    #[test]
    fn batched_leaf_hashes_equal_single_ones() {
        let bytes: Vec<u8> = (0..2100u32).map(|i| (i * 31 + 7) as u8).collect();
        for len in (0..=1100)
            .step_by(7)
            .chain([63, 64, 65, 128, 1023, 1024, 1025])
        {
            for count in [1, 2, 15, 16, 17, 33] {
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
