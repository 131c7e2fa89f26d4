//! The durable record of the last committed block and the QC certifying it: where a
//! restarted validator's consensus core resumes ([`aether_consensus::Root`]).
//!
//! Written after the accounts-db finalized the block (same durable format as the
//! safety state: payload, BLAKE3 checksum, atomic replace). At start the node checks
//! that it names the accounts-db's last finalized block.

use std::path::{Path, PathBuf};

use aether_consensus::{BlockMeta, Root};
use aether_types::codec::{Decode, Encode, Reader, encode};
use aether_types::{Hash, QuorumCertificate, ValidatorIndex};

use crate::safety_store::{SafetyStoreError, load_checked, save_checked};

/// Format version of the root record.
const ROOT_RECORD_VERSION: u8 = 1;

/// Where the last committed root lives.
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

    /// The last saved root, or `None` when nothing was committed yet.
    pub fn load(&self) -> Result<Option<Root>, SafetyStoreError> {
        let Some(bytes) = load_checked(&self.path)? else {
            return Ok(None);
        };
        decode_root(&bytes)
            .map(Some)
            .ok_or_else(|| SafetyStoreError::Damaged {
                path: self.path.clone(),
                reason: "not a root record".into(),
            })
    }

    /// Makes `root` durable.
    pub fn save(&self, root: &Root) -> Result<(), SafetyStoreError> {
        let block = &root.block;
        let mut bytes = vec![ROOT_RECORD_VERSION];
        block.hash.encode_to(&mut bytes);
        block.round.encode_to(&mut bytes);
        block.parent_hash.encode_to(&mut bytes);
        block.parent_round.encode_to(&mut bytes);
        block.proposer.encode_to(&mut bytes);
        bytes.extend_from_slice(&encode(&root.certificate));
        save_checked(&self.path, &bytes)
    }
}

fn decode_root(bytes: &[u8]) -> Option<Root> {
    let mut reader = Reader::new(bytes);
    if reader.read_u8().ok()? != ROOT_RECORD_VERSION {
        return None;
    }
    let block = BlockMeta {
        hash: Hash::decode_from(&mut reader).ok()?,
        round: reader.read_u64().ok()?,
        parent_hash: Hash::decode_from(&mut reader).ok()?,
        parent_round: reader.read_u64().ok()?,
        proposer: ValidatorIndex::decode_from(&mut reader).ok()?,
    };
    let certificate = QuorumCertificate::decode_from(&mut reader).ok()?;
    reader.finish().ok()?;
    Some(Root { block, certificate })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::SignerBitmap;

    #[test]
    fn roots_round_trip_and_damage_is_an_error() {
        let directory = tempfile::tempdir().unwrap();
        let store = RootStore::new(directory.path().join("root.bin"));
        assert_eq!(store.load().unwrap(), None);
        let root = Root {
            block: BlockMeta {
                hash: Hash([1; 32]),
                round: 9,
                parent_hash: Hash([2; 32]),
                parent_round: 8,
                proposer: ValidatorIndex(3),
            },
            certificate: QuorumCertificate {
                round: 9,
                block_hash: Hash([1; 32]),
                signers: SignerBitmap::from_signers(4, [ValidatorIndex(0), ValidatorIndex(2)])
                    .unwrap(),
                aggregate_signature: [5; 96],
            },
        };
        store.save(&root).unwrap();
        assert_eq!(store.load().unwrap(), Some(root));
        let mut bytes = std::fs::read(store.path()).unwrap();
        bytes[10] ^= 1;
        std::fs::write(store.path(), &bytes).unwrap();
        assert!(matches!(
            store.load(),
            Err(SafetyStoreError::Damaged { .. })
        ));
    }
}
