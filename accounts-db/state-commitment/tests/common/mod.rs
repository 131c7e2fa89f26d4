//! Shared test support: an independent reference evaluation of the tree definition, and key
//! pools that force long shared prefixes.

#![allow(dead_code)] // Each test binary uses a different part.

use std::collections::BTreeMap;

use aether_state_commitment::Hash;

/// The root of `set` evaluated straight from the crate docs' definition: recursive over the
/// whole set, filtering by key bit at each depth, hashing with BLAKE3 written out here
/// (not the crate's hash functions), no sharing, no sorting tricks. Slow; small sets only.
pub fn reference_root(set: &BTreeMap<Hash, Hash>) -> Hash {
    let entries: Vec<(Hash, Hash)> = set.iter().map(|(key, value)| (*key, *value)).collect();
    subtree_hash(&entries, 0)
}

fn subtree_hash(entries: &[(Hash, Hash)], depth: usize) -> Hash {
    match entries {
        [] => Hash([0; 32]),
        [(key, value_hash)] => keyed("aether 2026-01-01 state commitment leaf", key, value_hash),
        _ => {
            assert!(depth < 256);
            let bit = |key: &Hash| (key.0[depth / 8] >> (7 - depth % 8)) & 1;
            let left: Vec<_> = entries
                .iter()
                .copied()
                .filter(|(k, _)| bit(k) == 0)
                .collect();
            let right: Vec<_> = entries
                .iter()
                .copied()
                .filter(|(k, _)| bit(k) == 1)
                .collect();
            keyed(
                "aether 2026-01-01 state commitment node",
                &subtree_hash(&left, depth + 1),
                &subtree_hash(&right, depth + 1),
            )
        }
    }
}

fn keyed(context: &str, first: &Hash, second: &Hash) -> Hash {
    let key = blake3::derive_key(context, b"");
    let mut hasher = blake3::Hasher::new_keyed(&key);
    hasher.update(&first.0);
    hasher.update(&second.0);
    Hash(*hasher.finalize().as_bytes())
}

/// The value hash of a one-byte test value.
pub fn value_hash_of(value: u8) -> Hash {
    Hash(*blake3::hash(&[value]).as_bytes())
}

/// 64 keys that share most bits and differ only at bits 0, 3, 100, 200, 254 and 255, so
/// trees over them have long internal-node chains and leaves down to depth 256.
pub fn structured_keys() -> Vec<Hash> {
    const POSITIONS: [usize; 6] = [0, 3, 100, 200, 254, 255];
    (0u8..64)
        .map(|index| {
            let mut key = Hash([0xa5; 32]);
            for (bit, position) in POSITIONS.iter().enumerate() {
                let mask = 0x80 >> (position % 8);
                if index >> bit & 1 == 1 {
                    key.0[position / 8] |= mask;
                } else {
                    key.0[position / 8] &= !mask;
                }
            }
            key
        })
        .collect()
}

/// A deterministic pseudo-random key (BLAKE3 of a seed and an index).
pub fn random_key(seed: u64, index: u64) -> Hash {
    let mut input = [0u8; 16];
    input[..8].copy_from_slice(&seed.to_le_bytes());
    input[8..].copy_from_slice(&index.to_le_bytes());
    Hash(*blake3::hash(&input).as_bytes())
}
