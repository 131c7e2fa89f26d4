//! Stake-weighted leader sampling per slot, and the leader's VRF proof check.
//!
//! Leader of `slot` (in epoch `e` with nonce `n`):
//!
//! ```text
//! run   = slot / slots_per_leader_run
//! x     = first 16 bytes (LE) of BLAKE3-derive_key(SAMPLE_CONTEXT, n ‖ run (u64 LE))
//! point = (x · total_stake) >> 128                 -- in [0, total_stake)
//! leader = the validator whose cumulative-stake interval holds `point`
//! ```
//!
//! The 128-bit multiply-shift reduction has a bias below `total_stake / 2^128` (no
//! modulo bias to speak of). A zero-stake validator owns an empty interval and never
//! leads. The leader proves its slot with a VRF over [`vrf_input`]; the outputs feed the
//! nonce of a later epoch along the block's chain ([`crate::epoch_nonces`]).

use std::sync::{Arc, LazyLock};

use aether_crypto::vrf::{self, VrfOutput, VrfProof};
use aether_types::{BlockHeader, Hash, ValidatorIndex};
use blake3::hazmat::{ContextKey, HasherExt, hash_derive_key_context};

use crate::epoch::EpochSchedule;
use crate::epoch_nonces::EpochNonces;
use crate::error::LeaderError;
use crate::validator_set::ValidatorSet;

/// BLAKE3 key-derivation context of the per-run leader sample.
pub const SAMPLE_CONTEXT: &str = "aether 2026-01-01 leader sample";
/// Domain tag at the start of a slot's VRF input.
pub const VRF_INPUT_DOMAIN: &[u8] = b"aether.leader-vrf.v1";
/// Length of a slot's VRF input.
pub const VRF_INPUT_BYTES: usize = VRF_INPUT_DOMAIN.len() + Hash::LEN + 8;

/// The VRF input of `slot` in an epoch with `nonce`: `domain ‖ nonce ‖ slot (u64 LE)`.
pub fn vrf_input(nonce: &Hash, slot: u64) -> [u8; VRF_INPUT_BYTES] {
    let mut input = [0u8; VRF_INPUT_BYTES];
    let domain = VRF_INPUT_DOMAIN.len();
    input[..domain].copy_from_slice(VRF_INPUT_DOMAIN);
    input[domain..domain + Hash::LEN].copy_from_slice(nonce.as_bytes());
    input[domain + Hash::LEN..].copy_from_slice(&slot.to_le_bytes());
    input
}

/// The stake point of leader run `run` under `nonce` (see the module docs).
pub fn stake_point(nonce: &Hash, run: u64, total_stake: u64) -> u64 {
    assert!(total_stake > 0);
    // The context's hash once, not per call: leaders are looked up per shred and vote.
    static CONTEXT_KEY: LazyLock<ContextKey> =
        LazyLock::new(|| hash_derive_key_context(SAMPLE_CONTEXT));
    let mut hasher = blake3::Hasher::new_from_context_key(&CONTEXT_KEY);
    hasher.update(nonce.as_bytes());
    hasher.update(&run.to_le_bytes());
    let digest = hasher.finalize();
    let mut low = [0u8; 8];
    let mut high = [0u8; 8];
    low.copy_from_slice(&digest.as_bytes()[..8]);
    high.copy_from_slice(&digest.as_bytes()[8..16]);
    let (low, high) = (u64::from_le_bytes(low), u64::from_le_bytes(high));
    // (x · total) >> 128 with x = high·2^64 + low, in u128 without overflow:
    // high·total < 2^128 − 2^65 + 1 and (low·total) >> 64 < 2^64.
    let total = u128::from(total_stake);
    let sum = u128::from(high) * total + ((u128::from(low) * total) >> 64);
    let point = (sum >> 64) as u64;
    assert!(point < total_stake);
    point
}

/// Leaders of every slot: the stake-weighted sample under an epoch's nonce, the nonces
/// kept in [`EpochNonces`] (final ones, and derived along a chain).
#[derive(Debug, Clone)]
pub struct LeaderSchedule {
    validators: Arc<ValidatorSet>,
    nonces: EpochNonces,
}

impl LeaderSchedule {
    /// A schedule where epochs 0 and 1 use `genesis_nonce`.
    pub fn new(
        validators: Arc<ValidatorSet>,
        epochs: EpochSchedule,
        genesis_nonce: Hash,
    ) -> LeaderSchedule {
        LeaderSchedule {
            validators,
            nonces: EpochNonces::new(epochs, genesis_nonce),
        }
    }

    /// Takes the nonce of `epoch` from a trusted source (a checked snapshot bundle, the
    /// node's log); a nonce once set is never replaced.
    pub fn add_epoch_nonce(&mut self, epoch: u64, nonce: Hash) {
        self.nonces.insert(epoch, nonce);
    }

    /// The epoch nonces (to record final blocks, derive along a chain, and log).
    pub fn nonces(&self) -> &EpochNonces {
        &self.nonces
    }

    /// The epoch nonces, to record final blocks or resume (see [`EpochNonces`]).
    pub fn nonces_mut(&mut self) -> &mut EpochNonces {
        &mut self.nonces
    }

    /// The validator set.
    pub fn validators(&self) -> &Arc<ValidatorSet> {
        &self.validators
    }

    /// The epoch lengths.
    pub fn epochs(&self) -> EpochSchedule {
        self.nonces.epochs()
    }

    /// The nonce of the epoch containing `slot`, when the final chain determines it.
    pub fn nonce_for_slot(&self, slot: u64) -> Option<&Hash> {
        self.nonces.final_nonce(self.epochs().epoch_of(slot))
    }

    /// The leader of `slot` in an epoch whose nonce is `nonce`.
    pub fn leader_with_nonce(&self, slot: u64, nonce: &Hash) -> ValidatorIndex {
        let run = slot / self.epochs().slots_per_leader_run;
        let point = stake_point(nonce, run, self.validators.total_stake());
        self.validators.by_stake_point(point)
    }

    /// The leader of `slot` when the final chain determines its epoch's nonce.
    pub fn leader(&self, slot: u64) -> Option<ValidatorIndex> {
        let nonce = self.nonce_for_slot(slot)?;
        Some(self.leader_with_nonce(slot, nonce))
    }

    /// Checks that `header.leader` leads `header.slot` in an epoch whose nonce is
    /// `nonce` (the nonce along the header's parent chain) and that its VRF proof
    /// verifies for that leader's key over [`vrf_input`]; returns the VRF output.
    pub fn verify_header_vrf(
        &self,
        header: &BlockHeader,
        nonce: &Hash,
    ) -> Result<VrfOutput, LeaderError> {
        let slot = header.slot;
        let expected = self.leader_with_nonce(slot, nonce);
        if expected != header.leader {
            return Err(LeaderError::WrongLeader {
                slot,
                expected,
                actual: header.leader,
            });
        }
        let validator = self
            .validators
            .get(header.leader)
            .ok_or(LeaderError::UnknownValidator(header.leader))?;
        let output = vrf::verify(
            &validator.vrf_public_key,
            &vrf_input(nonce, slot),
            &VrfProof(header.vrf_proof),
        )?;
        Ok(output)
    }
}

#[cfg(test)]
mod tests;
