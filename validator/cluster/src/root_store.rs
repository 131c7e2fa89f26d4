//! The durable record of the last committed roots (a block and the QC certifying it):
//! where a restarted validator's consensus core resumes ([`aether_consensus::Root`]).
//!
//! The record holds the newest root and the one before it. The driver saves a new root
//! *before* the accounts-db finalizes its block, so whichever moment a crash hits, one
//! of the two names the accounts-db's last final block: before the finalize the older
//! one does (the blocks above it are still kept by `PendingBlocks` and are committed
//! again after the restart), after it the newer one. At start the node resumes from
//! the one that matches ([`RootStore::load_matching`]).
//!
//! Same durable format as the safety state: payload, BLAKE3 checksum, atomic replace.
//! Version 1 records (one root) are still read.

use std::path::{Path, PathBuf};

use aether_consensus::{BlockMeta, Root};
use aether_types::codec::{Decode, Encode, Reader, encode};
use aether_types::{Hash, QuorumCertificate, ValidatorIndex};

use crate::safety_store::{SafetyStoreError, load_checked, save_checked};

/// Format version of a record with one root.
const ONE_ROOT_VERSION: u8 = 1;
/// Format version of a record with the newest root and the one before it.
const TWO_ROOTS_VERSION: u8 = 2;

/// Where the last committed roots live.
#[derive(Debug, Clone)]
pub struct RootStore {
    path: PathBuf,
}

impl RootStore {
    /// The store at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The newest saved root, or `None` when nothing was committed yet.
    pub fn load(&self) -> Result<Option<Root>, SafetyStoreError> {
        Ok(self.load_both()?.pop())
    }

    /// The saved root whose block is `hash` (the accounts-db's last final block), if
    /// either of the two kept is.
    pub fn load_matching(&self, hash: &Hash) -> Result<Option<Root>, SafetyStoreError> {
        Ok(self
            .load_both()?
            .into_iter()
            .rev()
            .find(|root| root.block.hash == *hash))
    }

    /// The saved roots, oldest first (none, one or two).
    fn load_both(&self) -> Result<Vec<Root>, SafetyStoreError> {
        let Some(bytes) = load_checked(&self.path)? else {
            return Ok(Vec::new());
        };
        decode_roots(&bytes).ok_or_else(|| SafetyStoreError::Damaged {
            path: self.path.clone(),
            reason: "not a root record".into(),
        })
    }

    /// Makes `root` durable as the newest root; the previous newest stays as the older
    /// one (unless it is the same block).
    pub fn save(&self, root: &Root) -> Result<(), SafetyStoreError> {
        let previous = self
            .load()?
            .filter(|previous| previous.block.hash != root.block.hash);
        let mut bytes = vec![TWO_ROOTS_VERSION];
        let roots: Vec<&Root> = previous.iter().chain([root]).collect();
        bytes.push(roots.len() as u8);
        for root in roots {
            encode_root(root, &mut bytes);
        }
        save_checked(&self.path, &bytes)
    }
}

fn encode_root(root: &Root, bytes: &mut Vec<u8>) {
    let block = &root.block;
    block.hash.encode_to(bytes);
    block.round.encode_to(bytes);
    block.parent_hash.encode_to(bytes);
    block.parent_round.encode_to(bytes);
    block.proposer.encode_to(bytes);
    bytes.extend_from_slice(&encode(&root.certificate));
}

fn decode_root(reader: &mut Reader<'_>) -> Option<Root> {
    let block = BlockMeta {
        hash: Hash::decode_from(reader).ok()?,
        round: reader.read_u64().ok()?,
        parent_hash: Hash::decode_from(reader).ok()?,
        parent_round: reader.read_u64().ok()?,
        proposer: ValidatorIndex::decode_from(reader).ok()?,
    };
    let certificate = QuorumCertificate::decode_from(reader).ok()?;
    Some(Root { block, certificate })
}

fn decode_roots(bytes: &[u8]) -> Option<Vec<Root>> {
    let mut reader = Reader::new(bytes);
    let count = match reader.read_u8().ok()? {
        ONE_ROOT_VERSION => 1,
        TWO_ROOTS_VERSION => reader.read_u8().ok()?,
        _ => return None,
    };
    if !(1..=2).contains(&count) {
        return None;
    }
    let roots = (0..count)
        .map(|_| decode_root(&mut reader))
        .collect::<Option<Vec<Root>>>()?;
    reader.finish().ok()?;
    Some(roots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::SignerBitmap;

    fn root(byte: u8, round: u64) -> Root {
        Root {
            block: BlockMeta {
                hash: Hash([byte; 32]),
                round,
                parent_hash: Hash([byte.wrapping_add(1); 32]),
                parent_round: round - 1,
                proposer: ValidatorIndex(3),
            },
            certificate: QuorumCertificate {
                round,
                block_hash: Hash([byte; 32]),
                signers: SignerBitmap::from_signers(4, [ValidatorIndex(0), ValidatorIndex(2)])
                    .unwrap(),
                aggregate_signature: [byte; 96],
            },
        }
    }

    #[test]
    fn the_newest_two_roots_are_kept_and_damage_is_an_error() {
        let directory = tempfile::tempdir().unwrap();
        let store = RootStore::new(directory.path().join("root.bin"));
        assert_eq!(store.load().unwrap(), None);
        assert_eq!(store.load_matching(&Hash([1; 32])).unwrap(), None);
        store.save(&root(1, 9)).unwrap();
        assert_eq!(store.load().unwrap(), Some(root(1, 9)));
        // Saving the same root again keeps one copy, not two.
        store.save(&root(1, 9)).unwrap();
        store.save(&root(2, 11)).unwrap();
        assert_eq!(store.load().unwrap(), Some(root(2, 11)));
        assert_eq!(
            store.load_matching(&Hash([1; 32])).unwrap(),
            Some(root(1, 9)),
            "a crash before the accounts-db finalized slot 11 resumes from slot 9"
        );
        store.save(&root(3, 12)).unwrap();
        assert_eq!(store.load_matching(&Hash([1; 32])).unwrap(), None);
        assert_eq!(
            store.load_matching(&Hash([2; 32])).unwrap(),
            Some(root(2, 11))
        );
        assert_eq!(
            store.load_matching(&Hash([3; 32])).unwrap(),
            Some(root(3, 12))
        );

        let mut bytes = std::fs::read(store.path()).unwrap();
        bytes[10] ^= 1;
        std::fs::write(store.path(), &bytes).unwrap();
        assert!(matches!(
            store.load(),
            Err(SafetyStoreError::Damaged { .. })
        ));
    }

    #[test]
    fn a_version_one_record_is_read_as_one_root() {
        let directory = tempfile::tempdir().unwrap();
        let store = RootStore::new(directory.path().join("root.bin"));
        let mut bytes = vec![ONE_ROOT_VERSION];
        encode_root(&root(4, 20), &mut bytes);
        save_checked(store.path(), &bytes).unwrap();
        assert_eq!(store.load().unwrap(), Some(root(4, 20)));
        store.save(&root(5, 21)).unwrap();
        assert_eq!(
            store.load_matching(&Hash([4; 32])).unwrap(),
            Some(root(4, 20))
        );
    }
}
