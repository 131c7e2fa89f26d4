//! What travels with a state snapshot so that a validator booting from a peer's
//! snapshot can resume consensus trusting only the cluster's signatures: the
//! [`FinalityProof`] of the snapshot's block `B`, the nonce of `B`'s epoch `e`, and the
//! headers of the final chain from the start of epoch `e − 1` up to `B`.
//!
//! [`SnapshotBundle::verify`] checks, against the validator set and the leaders' keys:
//! - the finality proof (both QCs; the child extends `B` in the next round);
//! - the headers form one chain (each names the previous as parent, by hash and slot)
//!   ending at `B` and reaching back past the start of epoch `e − 1` (or to genesis):
//!   every one of them is an ancestor of a final block, so final;
//! - the nonce: with it, the schedule names `B`'s leader for `B`'s slot, and `B`'s VRF
//!   proof verifies for that slot under it (a VRF proof verifies for one input only).
//!
//! It returns what the consensus driver needs to resume at `B`: the root, the nonce of
//! epoch `e` and the VRF outputs of the final blocks of epochs `e − 1` and `e` (from
//! which the nonces of epochs `e + 1` and `e + 2` follow).
//!
//! Encoding: `FinalityProof ‖ nonce ‖ seq<SignedBlockHeader>` (aether-types codec).

use aether_consensus::certificate_verifier::CertificateVerifier;
use aether_consensus::{LeaderSchedule, Root, vrf_input};
use aether_crypto::vrf::{self, VrfOutput, VrfProof};
use aether_pipeline::replay::LeaderPublicKeys;
use aether_types::codec::{Decode, DecodeError, Encode, Reader, decode_seq, encode_seq};
use aether_types::{Hash, SignedBlockHeader};

use crate::finality_proof::{FinalityProof, FinalityProofError};

/// Most headers in a bundle (two epochs of the longest supported length).
pub const BUNDLE_HEADERS_MAX: usize = 1 << 20;

/// See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotBundle {
    /// Proof that the snapshot's block is final.
    pub proof: FinalityProof,
    /// The nonce of the block's epoch.
    pub epoch_nonce: Hash,
    /// Final headers from the start of the previous epoch up to the block, oldest first.
    pub headers: Vec<SignedBlockHeader>,
}

/// What a checked bundle gives a validator resuming at its block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBundle {
    /// Where consensus resumes.
    pub root: Root,
    /// The epoch of the root block and its nonce.
    pub epoch: u64,
    /// Nonce of `epoch`.
    pub epoch_nonce: Hash,
    /// VRF outputs of the final blocks in `headers`, by slot.
    pub vrf_outputs: Vec<(u64, VrfOutput)>,
}

/// Why a bundle does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The finality proof fails.
    #[error(transparent)]
    Finality(#[from] FinalityProofError),
    /// The headers are not one chain ending at the block.
    #[error("the headers are not one chain ending at the final block")]
    BrokenChain,
    /// The headers do not reach back to the start of the previous epoch.
    #[error("the headers start at slot {first}, after the previous epoch's start {needed}")]
    TooShort {
        /// The oldest header's slot.
        first: u64,
        /// The first slot of the previous epoch.
        needed: u64,
    },
    /// The nonce does not give the block's leader, or its VRF proof does not verify.
    #[error("the epoch nonce does not match the block's leader and VRF proof")]
    WrongNonce,
    /// A header's VRF proof cannot be hashed.
    #[error("the header of slot {0} has a malformed VRF proof")]
    BadVrfProof(u64),
}

impl SnapshotBundle {
    /// Checks the bundle (see the module docs). `schedule` is the genesis schedule (its
    /// validator set and epochs), `leaders` every validator's public leader keys,
    /// `genesis` the genesis block's hash.
    pub fn verify(
        &self,
        verifier: &mut CertificateVerifier,
        schedule: &LeaderSchedule,
        leaders: &[LeaderPublicKeys],
        genesis: &Hash,
    ) -> Result<VerifiedBundle, BundleError> {
        let block = self.proof.verify(verifier)?;
        let Some(last) = self.headers.last() else {
            return Err(BundleError::BrokenChain);
        };
        if last.hash() != block.hash
            || self.headers.windows(2).any(|pair| {
                pair[1].header.parent_hash != pair[0].hash()
                    || pair[1].header.parent_slot != pair[0].header.slot
            })
        {
            return Err(BundleError::BrokenChain);
        }
        let epochs = schedule.epochs();
        let epoch = epochs.epoch_of(block.round);
        let needed = epochs.first_slot(epoch.saturating_sub(1));
        let first = &self.headers[0].header;
        // The chain reaches back past the window when the oldest header's parent is
        // before it (or is genesis).
        if first.parent_slot >= needed && first.parent_hash != *genesis {
            return Err(BundleError::TooShort {
                first: first.slot,
                needed,
            });
        }
        let mut with_nonce = schedule.clone();
        with_nonce.add_epoch_nonce(epoch, self.epoch_nonce);
        let header = &self.proof.block.header;
        let leader = leaders.get(header.leader.0 as usize);
        let nonce_holds = with_nonce.nonce_for_slot(header.slot) == Some(&self.epoch_nonce)
            && with_nonce.leader(header.slot) == Some(header.leader)
            && leader.is_some_and(|leader| {
                vrf::verify(
                    &leader.vrf,
                    &vrf_input(&self.epoch_nonce, header.slot),
                    &VrfProof(header.vrf_proof),
                )
                .is_ok()
            });
        if !nonce_holds {
            return Err(BundleError::WrongNonce);
        }
        let vrf_outputs = self
            .headers
            .iter()
            .map(|header| {
                let slot = header.header.slot;
                vrf::proof_to_hash(&VrfProof(header.header.vrf_proof))
                    .map(|output| (slot, output))
                    .map_err(|_| BundleError::BadVrfProof(slot))
            })
            .collect::<Result<_, _>>()?;
        Ok(VerifiedBundle {
            root: self.proof.root(),
            epoch,
            epoch_nonce: self.epoch_nonce,
            vrf_outputs,
        })
    }
}

impl Encode for SnapshotBundle {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.proof.encode_to(out);
        self.epoch_nonce.encode_to(out);
        encode_seq(out, &self.headers, BUNDLE_HEADERS_MAX);
    }
}

impl Decode for SnapshotBundle {
    const MIN_ENCODED_LEN: usize = FinalityProof::MIN_ENCODED_LEN + Hash::LEN + 1;

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SnapshotBundle {
            proof: FinalityProof::decode_from(reader)?,
            epoch_nonce: Hash::decode_from(reader)?,
            headers: decode_seq(reader, "snapshot_bundle.headers", BUNDLE_HEADERS_MAX)?,
        })
    }
}
