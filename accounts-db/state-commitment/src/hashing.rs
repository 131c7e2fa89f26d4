//! The tree's hash functions and key-bit addressing (the exact rules are in the crate docs).
//!
//! Leaf and internal-node hashes are BLAKE3 in keyed mode, each with its own 32-byte key
//! derived once from a context string with BLAKE3's `derive_key` mode. Both inputs are
//! exactly 64 bytes, so each hash is one BLAKE3 compression; deriving the key per call
//! (`Hasher::new_derive_key`) would cost a second compression for the context every time.
//!
//! [`leaf_hashes`] and [`node_hashes`] compute many such hashes together, up to
//! [`HASH_LANES`] per call of BLAKE3's multi-input compression (one input per SIMD lane:
//! 16 with AVX-512, 8 with AVX2), which costs far less per hash than one compression at a
//! time (see the crate's `hash_lanes` benchmark). That entry point, `Platform::hash_many`,
//! is public but documented by the blake3 crate as unstable, so the workspace pins blake3
//! to an exact version and a test here checks every lane count against `keyed_hash`.

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
static LEAF_KEY_WORDS: LazyLock<[u32; 8]> = LazyLock::new(|| key_words(&LEAF_KEY));
static NODE_KEY_WORDS: LazyLock<[u32; 8]> = LazyLock::new(|| key_words(&NODE_KEY));

/// The widest SIMD compression this CPU has, chosen once.
static PLATFORM: LazyLock<blake3::platform::Platform> =
    LazyLock::new(blake3::platform::Platform::detect);

/// Inputs hashed by one multi-input compression call: the widest SIMD degree BLAKE3 has.
pub(crate) const HASH_LANES: usize = 16;

// BLAKE3 domain flags (BLAKE3 specification, table 3): a one-block keyed hash is a single
// compression whose block both starts and ends chunk 0 and is the root.
const FLAG_CHUNK_START: u8 = 1;
const FLAG_CHUNK_END: u8 = 2;
const FLAG_ROOT: u8 = 8;
const FLAG_KEYED_HASH: u8 = 16;

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
    keyed_hashes(&LEAF_KEY_WORDS, inputs, out);
}

/// `out[i] = node_hash` of the pair in `inputs[i]` (each a [`pair_block`]).
pub(crate) fn node_hashes(inputs: &[[u8; 64]], out: &mut [Hash]) {
    keyed_hashes(&NODE_KEY_WORDS, inputs, out);
}

/// `out[i] = BLAKE3-keyed(key, inputs[i])`, [`HASH_LANES`] inputs per compression call.
fn keyed_hashes(key_words: &[u32; 8], inputs: &[[u8; 64]], out: &mut [Hash]) {
    assert_eq!(inputs.len(), out.len(), "one output per input");
    let platform = *PLATFORM;
    let mut digests = [0u8; 32 * HASH_LANES];
    for (input_chunk, out_chunk) in inputs.chunks(HASH_LANES).zip(out.chunks_mut(HASH_LANES)) {
        let mut lanes: [&[u8; 64]; HASH_LANES] = [&input_chunk[0]; HASH_LANES];
        for (lane, input) in lanes.iter_mut().zip(input_chunk) {
            *lane = input;
        }
        let count = input_chunk.len();
        platform.hash_many(
            &lanes[..count],
            key_words,
            0,
            blake3::IncrementCounter::No,
            FLAG_KEYED_HASH | FLAG_ROOT,
            FLAG_CHUNK_START,
            FLAG_CHUNK_END,
            &mut digests[..32 * count],
        );
        for (hash, digest) in out_chunk.iter_mut().zip(digests.chunks_exact(32)) {
            hash.0.copy_from_slice(digest);
        }
    }
}

/// A 32-byte BLAKE3 key as the eight little-endian words the compression function takes.
fn key_words(key: &[u8; 32]) -> [u32; 8] {
    let mut words = [0u32; 8];
    for (word, bytes) in words.iter_mut().zip(key.chunks_exact(4)) {
        *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    words
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
        for count in 0..=(2 * HASH_LANES + 3) {
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
