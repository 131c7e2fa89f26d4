//! A self-contained proof that a block is final, checkable by anyone who holds the
//! validator set: what a snapshot of the state at that block travels with, so a
//! validator booting from a peer's snapshot trusts the cluster's signatures, not the
//! peer.
//!
//! The proof is the 2-chain that committed block `B`: `B`'s signed header and its QC,
//! and the signed header of `B`'s child `C` in the next round with `C`'s QC. Checks:
//! both QCs verify (BLS aggregate of more than two thirds of the stake); each certifies
//! its header's hash; `C`'s parent is `B` and `C`'s slot is `B`'s plus one. Honest
//! validators vote for `C` only if it carries `B`'s QC and extends it, so a QC for `C`
//! makes `B` final by the commit rule.
//!
//! Encoding: `B header ‖ QC(B) ‖ C header ‖ QC(C)` (aether-types codec).

use aether_consensus::certificate_verifier::CertificateVerifier;
use aether_consensus::{BlockMeta, Root};
use aether_types::codec::{Decode, DecodeError, Encode, Reader};
use aether_types::{QuorumCertificate, SignedBlockHeader};

/// See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalityProof {
    /// The final block's header.
    pub block: SignedBlockHeader,
    /// A QC for it.
    pub certificate: QuorumCertificate,
    /// Its child's header (next round).
    pub child: SignedBlockHeader,
    /// A QC for the child.
    pub child_certificate: QuorumCertificate,
}

/// Why a finality proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FinalityProofError {
    /// A QC does not verify against the validator set.
    #[error("the {which} certificate does not verify: {reason}")]
    Certificate {
        /// "block" or "child".
        which: &'static str,
        /// The verifier's reason.
        reason: String,
    },
    /// A QC certifies another block or round than its header.
    #[error("the {which} certificate is for another block")]
    WrongBlock {
        /// "block" or "child".
        which: &'static str,
    },
    /// The child does not extend the block in the next round.
    #[error("the child does not extend the block in the next round")]
    NotAChild,
}

impl FinalityProof {
    /// Checks the proof (see the module docs); the final block on success.
    pub fn verify(
        &self,
        verifier: &mut CertificateVerifier,
    ) -> Result<BlockMeta, FinalityProofError> {
        for (which, header, certificate) in [
            ("block", &self.block, &self.certificate),
            ("child", &self.child, &self.child_certificate),
        ] {
            if certificate.block_hash != header.hash() || certificate.round != header.header.slot {
                return Err(FinalityProofError::WrongBlock { which });
            }
            verifier
                .verify_qc(certificate)
                .map_err(|error| FinalityProofError::Certificate {
                    which,
                    reason: error.to_string(),
                })?;
        }
        let child = &self.child.header;
        if child.parent_hash != self.block.hash()
            || child.parent_slot != self.block.header.slot
            || child.slot != self.block.header.slot + 1
        {
            return Err(FinalityProofError::NotAChild);
        }
        Ok(self.block_meta())
    }

    /// The final block as the consensus core sees it.
    pub fn block_meta(&self) -> BlockMeta {
        let header = &self.block.header;
        BlockMeta {
            hash: self.block.hash(),
            round: header.slot,
            parent_hash: header.parent_hash,
            parent_round: header.parent_slot,
            proposer: header.leader,
        }
    }

    /// Where a validator booting from this block resumes consensus.
    pub fn root(&self) -> Root {
        Root {
            block: self.block_meta(),
            certificate: self.certificate.clone(),
        }
    }
}

impl Encode for FinalityProof {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.block.encode_to(out);
        self.certificate.encode_to(out);
        self.child.encode_to(out);
        self.child_certificate.encode_to(out);
    }
}

impl Decode for FinalityProof {
    const MIN_ENCODED_LEN: usize =
        2 * (SignedBlockHeader::MIN_ENCODED_LEN + QuorumCertificate::MIN_ENCODED_LEN);

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(FinalityProof {
            block: SignedBlockHeader::decode_from(reader)?,
            certificate: QuorumCertificate::decode_from(reader)?,
            child: SignedBlockHeader::decode_from(reader)?,
            child_certificate: QuorumCertificate::decode_from(reader)?,
        })
    }
}
