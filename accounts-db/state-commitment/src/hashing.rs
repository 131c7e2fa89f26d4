//! The tree's hash functions and key-bit addressing (the exact rules are in the crate docs).
//!
//! Leaf and internal-node hashes are BLAKE3 in keyed mode, each with its own 32-byte key
//! derived once from a context string with BLAKE3's `derive_key` mode. Both inputs are
//! exactly 64 bytes, so each hash is one BLAKE3 compression; deriving the key per call
//! (`Hasher::new_derive_key`) would cost a second compression for the context every time.
//!
//! [`leaf_hashes`] and [`node_hashes`] compute many such hashes together, up to
//! [`HASH_LANES`](hash_lanes::HASH_LANES) per call of BLAKE3's multi-input compression
//! (one input per SIMD lane: 16 with AVX-512, 8 with AVX2; [`aether_types::hash_lanes`]),
//! which costs far less per hash than one compression at a time; a test here checks
//! every lane count against `keyed_hash`.

use std::sync::LazyLock;

use aether_types::{Hash, hash_lanes};

/// Number of bits in a key, and so the greatest depth a leaf can sit at.
pub const KEY_BITS: usize = 256;

/// The hash of an empty subtree (and the root of the empty tree): 32 zero bytes.
pub const EMPTY_HASH: Hash = Hash::ZERO;

/// BLAKE3 `derive_key` context for the leaf-hash key.
pub const LEAF_CONTEXT: &str = "aether 2026-01-01 state commitment leaf";

/// BLAKE3 `derive_key` context for the internal-node-hash key.
pub const NODE_CONTEXT: &str = "aether 2026-01-01 state commitment node";

const _: () = assert!(KEY_BITS == Hash::LEN * 8);

static LEAF_KEY: LazyLock<[u8; 32]> = LazyLock::new(|| blake3::derive_key(LEAF_CONTEXT, &[]));
static NODE_KEY: LazyLock<[u8; 32]> = LazyLock::new(|| blake3::derive_key(NODE_CONTEXT, &[]));
static LEAF_MODE: LazyLock<hash_lanes::Mode> = LazyLock::new(|| hash_lanes::Mode::keyed(&LEAF_KEY));
static NODE_MODE: LazyLock<hash_lanes::Mode> = LazyLock::new(|| hash_lanes::Mode::keyed(&NODE_KEY));

/// The value hash a leaf commits to: plain `BLAKE3(value)`.
pub fn value_hash(value: &[u8]) -> Hash {
    Hash(*blake3::hash(value).as_bytes())
}

/// [`value_hash`] of each of `values`, in order; runs of values of equal length share
/// BLAKE3's multi-input compression ([`aether_types::hash_lanes`]).
pub(crate) fn value_hashes(values: &[&[u8]]) -> Vec<Hash> {
    static PLAIN: LazyLock<hash_lanes::Mode> = LazyLock::new(hash_lanes::Mode::plain);
    hash_lanes::hash_runs(&PLAIN, values)
}

/// `BLAKE3-keyed(K_leaf, key ‖ value_hash)` with `K_leaf = derive_key(LEAF_CONTEXT, "")`.
pub fn leaf_hash(key: &Hash, value_hash: &Hash) -> Hash {
    keyed_pair(&LEAF_KEY, key, value_hash)
}

/// `BLAKE3-keyed(K_node, left ‖ right)` with `K_node = derive_key(NODE_CONTEXT, "")`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    keyed_pair(&NODE_KEY, left, right)
}

fn keyed_pair(key: &[u8; 32], first: &Hash, second: &Hash) -> Hash {
    Hash(*blake3::keyed_hash(key, &pair_block(first, second)).as_bytes())
}

/// The 64-byte input `first ‖ second` of a leaf or node hash.
pub(crate) fn pair_block(first: &Hash, second: &Hash) -> [u8; 64] {
    let mut input = [0u8; 64];
    input[..32].copy_from_slice(&first.0);
    input[32..].copy_from_slice(&second.0);
    input
}

/// `out[i] = leaf_hash` of the pair in `inputs[i]` (each a [`pair_block`]).
pub(crate) fn leaf_hashes(inputs: &[[u8; 64]], out: &mut [Hash]) {
    hash_lanes::hash_blocks(&LEAF_MODE, inputs, out);
}

/// `out[i] = node_hash` of the pair in `inputs[i]` (each a [`pair_block`]).
pub(crate) fn node_hashes(inputs: &[[u8; 64]], out: &mut [Hash]) {
    hash_lanes::hash_blocks(&NODE_MODE, inputs, out);
}

/// Bit `depth` of `key`, most significant bit of byte 0 first: `false` is left, `true` right.
///
/// Panics when `depth >= KEY_BITS` (a caller bug: distinct keys differ before bit 256).
#[inline]
pub fn key_bit(key: &Hash, depth: usize) -> bool {
    assert!(depth < KEY_BITS, "key bit {depth} out of range");
    key.0[depth / 8] & (0x80 >> (depth % 8)) != 0
}

/// How many leading bits `a` and `b` share (256 when they are equal).
pub fn common_prefix_bits(a: &Hash, b: &Hash) -> usize {
    for (index, (x, y)) in a.0.iter().zip(b.0.iter()).enumerate() {
        let diff = x ^ y;
        if diff != 0 {
            return index * 8 + diff.leading_zeros() as usize;
        }
    }
    KEY_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_bits_are_msb_first() {
        let mut key = Hash::ZERO;
        key.0[0] = 0b1000_0001;
        key.0[31] = 0b0000_0001;
        assert!(key_bit(&key, 0));
        assert!(!key_bit(&key, 1));
        assert!(key_bit(&key, 7));
        assert!(!key_bit(&key, 8));
        assert!(key_bit(&key, 255));
        assert!(!key_bit(&key, 254));
    }

    #[test]
    fn common_prefix_counts_leading_equal_bits() {
        let a = Hash([0u8; 32]);
        let mut b = a;
        assert_eq!(common_prefix_bits(&a, &b), 256);
        b.0[31] = 1;
        assert_eq!(common_prefix_bits(&a, &b), 255);
        b.0[2] = 0b0010_0000;
        assert_eq!(common_prefix_bits(&a, &b), 18);
        b.0[0] = 0x80;
        assert_eq!(common_prefix_bits(&a, &b), 0);
    }

    #[test]
    fn hashes_match_the_documented_blake3_construction() {
        let key = Hash([7; 32]);
        let value = Hash([9; 32]);
        let mut input = Vec::new();
        input.extend_from_slice(&key.0);
        input.extend_from_slice(&value.0);
        let leaf_key = blake3::derive_key("aether 2026-01-01 state commitment leaf", b"");
        let node_key = blake3::derive_key("aether 2026-01-01 state commitment node", b"");
        assert_eq!(
            leaf_hash(&key, &value).0,
            *blake3::keyed_hash(&leaf_key, &input).as_bytes()
        );
        assert_eq!(
            node_hash(&key, &value).0,
            *blake3::keyed_hash(&node_key, &input).as_bytes()
        );
        assert_eq!(value_hash(b"abc").0, *blake3::hash(b"abc").as_bytes());
        // Domain separation: the same 64 bytes give unrelated leaf and node hashes.
        assert_ne!(leaf_hash(&key, &value), node_hash(&key, &value));
    }

    #[test]
    fn many_at_once_equal_one_at_a_time_for_every_count() {
        // Every count from none to more than two full calls, so partial last calls and
        // each lane position are covered.
        for count in 0..=(2 * hash_lanes::HASH_LANES + 3) {
            let pairs: Vec<(Hash, Hash)> = (0..count as u32)
                .map(|i| {
                    (
                        Hash::digest(&i.to_le_bytes()),
                        Hash::digest(&(i + 1000).to_le_bytes()),
                    )
                })
                .collect();
            let inputs: Vec<[u8; 64]> = pairs.iter().map(|(a, b)| pair_block(a, b)).collect();
            let mut leaves = vec![Hash::ZERO; count];
            let mut nodes = vec![Hash::ZERO; count];
            leaf_hashes(&inputs, &mut leaves);
            node_hashes(&inputs, &mut nodes);
            for (index, (a, b)) in pairs.iter().enumerate() {
                assert_eq!(leaves[index], leaf_hash(a, b), "leaf {index} of {count}");
                assert_eq!(nodes[index], node_hash(a, b), "node {index} of {count}");
            }
        }
    }
}
