//! The tree of known, not yet final blocks above the last committed block, their
//! certificates, and the 2-chain commit rule.
//!
//! Invariants:
//! - Every stored block's parent is the root or another stored block, and its round is
//!   above its parent's (so the tree is connected to the committed chain).
//! - The root is the last committed block; committing only ever moves it to a
//!   descendant, so this validator's committed chain only grows.
//!
//! Commit rule: when block `B'` of round `r + 1` is certified and its parent `B` has
//! round `r`, then `B` and every uncommitted ancestor of it are final.

use std::collections::BTreeMap;

use aether_types::{Hash, QuorumCertificate};

use crate::message::BlockMeta;

/// Why a block could not be added to the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertError {
    /// The parent is neither the root nor a stored block (fetch it, then retry).
    UnknownParent,
    /// The block is at or below the committed round, or its parent's round does not
    /// match: it cannot extend the committed chain.
    ConflictsWithCommitted,
    /// Already stored.
    Duplicate,
}

/// Blocks above the committed root.
#[derive(Debug)]
pub struct BlockTree {
    root: BlockMeta,
    root_certificate: QuorumCertificate,
    blocks: BTreeMap<Hash, BlockMeta>,
    /// Verified QCs by the block they certify (that block may not be stored yet).
    certificates: BTreeMap<Hash, QuorumCertificate>,
}

impl BlockTree {
    /// A tree rooted at the last committed block and a QC for it.
    pub fn new(root: BlockMeta, root_certificate: QuorumCertificate) -> Self {
        assert_eq!(root_certificate.block_hash, root.hash);
        assert_eq!(root_certificate.round, root.round);
        BlockTree {
            root,
            root_certificate,
            blocks: BTreeMap::new(),
            certificates: BTreeMap::new(),
        }
    }

    /// The last committed block.
    pub fn root(&self) -> &BlockMeta {
        &self.root
    }

    /// The QC of the last committed block.
    pub fn root_certificate(&self) -> &QuorumCertificate {
        &self.root_certificate
    }

    /// True when `hash` is the root or a stored block.
    pub fn contains(&self, hash: &Hash) -> bool {
        *hash == self.root.hash || self.blocks.contains_key(hash)
    }

    /// The stored block (or root) with `hash`.
    pub fn get(&self, hash: &Hash) -> Option<&BlockMeta> {
        if *hash == self.root.hash {
            Some(&self.root)
        } else {
            self.blocks.get(hash)
        }
    }

    /// Number of stored (non-root) blocks.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// True when only the root is known.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Adds a block whose parent is known.
    pub fn insert(&mut self, block: BlockMeta) -> Result<(), InsertError> {
        if block.round <= self.root.round {
            return Err(InsertError::ConflictsWithCommitted);
        }
        if self.blocks.contains_key(&block.hash) {
            return Err(InsertError::Duplicate);
        }
        let missing = if block.parent_round < self.root.round {
            InsertError::ConflictsWithCommitted
        } else {
            InsertError::UnknownParent
        };
        let parent = self.get(&block.parent_hash).ok_or(missing)?;
        if parent.round != block.parent_round || parent.round >= block.round {
            return Err(InsertError::ConflictsWithCommitted);
        }
        self.blocks.insert(block.hash, block);
        Ok(())
    }

    /// Records a verified QC (ignored when at or below the committed round).
    pub fn add_certificate(&mut self, qc: &QuorumCertificate) {
        if qc.round > self.root.round {
            self.certificates
                .entry(qc.block_hash)
                .or_insert_with(|| qc.clone());
        }
    }

    /// True when a QC for `hash` is known.
    pub fn is_certified(&self, hash: &Hash) -> bool {
        self.certificates.contains_key(hash)
    }

    /// Applies the commit rule to the certified block `certified`: if it and its parent
    /// are stored, their rounds are consecutive, and the parent is above the root, moves
    /// the root to the parent and returns the newly final blocks (oldest first) with the
    /// parent's QC and `certified`'s QC (which completed the 2-chain).
    pub fn try_commit(
        &mut self,
        certified: &Hash,
    ) -> Option<(Vec<BlockMeta>, QuorumCertificate, QuorumCertificate)> {
        let commit_certificate = self.certificates.get(certified)?.clone();
        let child = *self.blocks.get(certified)?;
        let parent = *self.blocks.get(&child.parent_hash)?;
        if parent.round + 1 != child.round || parent.round <= self.root.round {
            return None;
        }
        // The child carried (and so we verified) the QC for its parent.
        let parent_certificate = self.certificates.get(&parent.hash)?.clone();
        let mut chain = vec![parent];
        let mut cursor = parent;
        while cursor.parent_hash != self.root.hash {
            cursor = *self
                .blocks
                .get(&cursor.parent_hash)
                .expect("stored blocks are connected to the root");
            chain.push(cursor);
        }
        chain.reverse();
        self.root = parent;
        self.root_certificate = parent_certificate;
        self.prune();
        assert!(
            chain
                .windows(2)
                .all(|pair| pair[1].parent_hash == pair[0].hash)
        );
        Some((chain, self.root_certificate.clone(), commit_certificate))
    }

    /// Keeps only the descendants of the root (and certificates above it).
    fn prune(&mut self) {
        let root = self.root;
        let mut by_round: Vec<BlockMeta> = self.blocks.values().copied().collect();
        by_round.sort_by_key(|block| block.round);
        let mut kept = BTreeMap::new();
        for block in by_round {
            if block.round > root.round
                && (block.parent_hash == root.hash || kept.contains_key(&block.parent_hash))
            {
                kept.insert(block.hash, block);
            }
        }
        self.blocks = kept;
        self.certificates.retain(|_, qc| qc.round > root.round);
    }
}

#[cfg(test)]
mod tests {
    use aether_types::{SignerBitmap, ValidatorIndex};

    use super::*;

    fn block(name: u8, round: u64, parent: u8, parent_round: u64) -> BlockMeta {
        BlockMeta {
            hash: Hash([name; 32]),
            round,
            parent_hash: Hash([parent; 32]),
            parent_round,
            proposer: ValidatorIndex(0),
        }
    }

    fn qc(name: u8, round: u64) -> QuorumCertificate {
        QuorumCertificate {
            round,
            block_hash: Hash([name; 32]),
            signers: SignerBitmap::new(4).unwrap(),
            aggregate_signature: [0; 96],
        }
    }

    #[test]
    fn two_chain_commits_parent_and_ancestors_and_prunes_forks() {
        let mut tree = BlockTree::new(block(0, 0, 0, 0), qc(0, 0));
        // 0 <- 1(r1) <- 2(r3) <- 3(r4); fork 9(r2) on 1.
        tree.insert(block(1, 1, 0, 0)).unwrap();
        tree.insert(block(9, 2, 1, 1)).unwrap();
        tree.insert(block(2, 3, 1, 1)).unwrap();
        tree.insert(block(3, 4, 2, 3)).unwrap();
        assert_eq!(
            tree.insert(block(4, 6, 5, 5)),
            Err(InsertError::UnknownParent)
        );
        for (name, round) in [(1, 1), (2, 3)] {
            tree.add_certificate(&qc(name, round));
        }
        // 2 is certified but its parent 1 is round 1, not 2: no commit.
        assert!(tree.try_commit(&Hash([2; 32])).is_none());
        tree.add_certificate(&qc(3, 4));
        let (chain, certificate, commit_certificate) = tree.try_commit(&Hash([3; 32])).unwrap();
        assert_eq!(
            chain.iter().map(|b| b.round).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert_eq!(certificate.round, 3);
        assert_eq!(commit_certificate.round, 4);
        assert_eq!(commit_certificate.block_hash, Hash([3; 32]));
        assert_eq!(tree.root().round, 3);
        // The fork on 1 is gone, and nothing at or below the root can be added.
        assert!(!tree.contains(&Hash([9; 32])));
        assert_eq!(
            tree.insert(block(8, 3, 1, 1)),
            Err(InsertError::ConflictsWithCommitted)
        );
        // Committing again is a no-op.
        assert!(tree.try_commit(&Hash([3; 32])).is_none());
    }
}
