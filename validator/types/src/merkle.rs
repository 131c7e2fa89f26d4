//! The binary Merkle tree over a block's transaction ids.
//!
//! - Leaf: `BLAKE3-derive-key(Domain::MerkleLeaf, transaction_id)`.
//! - Inner node: `BLAKE3-derive-key(Domain::MerkleNode, left ‖ right)`.
//! - Levels pair nodes left to right; an odd node at the end of a level is promoted
//!   unchanged to the next level (never paired with itself, so `[a, b, c]` and
//!   `[a, b, c, c]` have different roots, unlike Bitcoin's duplication rule).
//! - One transaction: the root is its leaf. No transactions: the root is [`Hash::ZERO`].
//!
//! Leaf and node domains differ, so an inner node can never pass for a leaf.

use crate::Hash;
use crate::hash::Domain;

/// The Merkle root of `transaction_ids` (in block order), by the rules above.
pub fn transactions_root(transaction_ids: &[Hash]) -> Hash {
    if transaction_ids.is_empty() {
        return Hash::ZERO;
    }
    let mut level: Vec<Hash> = transaction_ids
        .iter()
        .map(|id| Hash::digest_with_domain(Domain::MerkleLeaf, &[id.as_bytes()]))
        .collect();
    while level.len() > 1 {
        let parents = level.len().div_ceil(2);
        for index in 0..parents {
            level[index] = match level.get(2 * index + 1) {
                Some(right) => Hash::digest_with_domain(
                    Domain::MerkleNode,
                    &[level[2 * index].as_bytes(), right.as_bytes()],
                ),
                None => level[2 * index],
            };
        }
        level.truncate(parents);
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(id: Hash) -> Hash {
        Hash::digest_with_domain(Domain::MerkleLeaf, &[id.as_bytes()])
    }

    fn node(left: Hash, right: Hash) -> Hash {
        Hash::digest_with_domain(Domain::MerkleNode, &[left.as_bytes(), right.as_bytes()])
    }

    #[test]
    fn matches_the_documented_shape() {
        let ids: Vec<Hash> = (0..5u8).map(|i| Hash([i; 32])).collect();
        let [a, b, c, d, e] = [0, 1, 2, 3, 4].map(|i| leaf(ids[i]));
        assert_eq!(transactions_root(&[]), Hash::ZERO);
        assert_eq!(transactions_root(&ids[..1]), a);
        assert_eq!(transactions_root(&ids[..2]), node(a, b));
        assert_eq!(transactions_root(&ids[..3]), node(node(a, b), c));
        assert_eq!(transactions_root(&ids[..4]), node(node(a, b), node(c, d)));
        assert_eq!(
            transactions_root(&ids),
            node(node(node(a, b), node(c, d)), e)
        );
    }

    #[test]
    fn odd_node_is_not_duplicated() {
        let ids: Vec<Hash> = (0..3u8).map(|i| Hash([i; 32])).collect();
        let mut doubled = ids.clone();
        doubled.push(ids[2]);
        assert_ne!(transactions_root(&ids), transactions_root(&doubled));
    }
}
