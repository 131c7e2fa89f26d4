//! Epochs and the epoch nonce.
//!
//! An epoch is a fixed run of `slots_per_epoch` slots (slot = consensus round). The nonce
//! that seeds an epoch's leader schedule is
//!
//! ```text
//! nonce(0) = nonce(1) = genesis nonce
//! nonce(e) = BLAKE3-derive_key(NONCE_CONTEXT, nonce(e-1) ‖ β₁ ‖ β₂ ‖ …)   for e ≥ 2
//! ```
//!
//! where `β₁, β₂, …` are the VRF outputs carried by the blocks of epoch `e-2` on the
//! chain in question, in slot order ([`crate::epoch_nonces`] keeps them and says why the
//! chain and not finality decides). Each output is fixed by its leader's key and the
//! slot (a VRF has one output per input), so a leader can only withhold its block, not
//! choose its output.

use aether_crypto::vrf::VrfOutput;
use aether_types::Hash;

/// BLAKE3 key-derivation context of the epoch nonce (the domain of the hash).
pub const NONCE_CONTEXT: &str = "aether 2026-01-01 epoch nonce";

/// How slots map to epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochSchedule {
    /// Slots in one epoch (positive).
    pub slots_per_epoch: u64,
    /// Consecutive slots one sampled leader keeps (positive).
    pub slots_per_leader_run: u64,
}

impl EpochSchedule {
    /// A schedule; panics on zero lengths (a configuration error caught at start-up).
    pub fn new(slots_per_epoch: u64, slots_per_leader_run: u64) -> EpochSchedule {
        assert!(slots_per_epoch > 0, "slots_per_epoch must be positive");
        assert!(
            slots_per_leader_run > 0,
            "slots_per_leader_run must be positive"
        );
        EpochSchedule {
            slots_per_epoch,
            slots_per_leader_run,
        }
    }

    /// The epoch containing `slot`.
    pub fn epoch_of(&self, slot: u64) -> u64 {
        slot / self.slots_per_epoch
    }

    /// The first slot of `epoch` (saturating).
    pub fn first_slot(&self, epoch: u64) -> u64 {
        epoch.saturating_mul(self.slots_per_epoch)
    }
}

/// `nonce(e)` from `nonce(e-1)` and the VRF outputs of epoch `e-2`'s blocks (on one
/// chain) in slot order (for `e ≥ 2`; epochs 0 and 1 use the genesis nonce directly).
pub fn next_epoch_nonce(previous_nonce: &Hash, vrf_outputs: &[VrfOutput]) -> Hash {
    let mut hasher = blake3::Hasher::new_derive_key(NONCE_CONTEXT);
    hasher.update(previous_nonce.as_bytes());
    for output in vrf_outputs {
        hasher.update(&output.0);
    }
    Hash(*hasher.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_changes_with_any_vrf_output_and_its_order() {
        let outputs: Vec<VrfOutput> = (0..4u8).map(|i| VrfOutput([i; 64])).collect();
        let base = next_epoch_nonce(&Hash([7; 32]), &outputs);
        assert_eq!(base, next_epoch_nonce(&Hash([7; 32]), &outputs));
        assert_ne!(base, next_epoch_nonce(&Hash([8; 32]), &outputs));
        for index in 0..outputs.len() {
            for bit in [0usize, 100, 511] {
                let mut changed = outputs.clone();
                changed[index].0[bit / 8] ^= 1 << (bit % 8);
                assert_ne!(base, next_epoch_nonce(&Hash([7; 32]), &changed));
            }
        }
        let mut swapped = outputs.clone();
        swapped.swap(0, 1);
        assert_ne!(base, next_epoch_nonce(&Hash([7; 32]), &swapped));
        assert_ne!(base, next_epoch_nonce(&Hash([7; 32]), &outputs[..3]));
    }

    #[test]
    fn epochs_partition_slots() {
        let schedule = EpochSchedule::new(10, 2);
        assert_eq!(schedule.epoch_of(0), 0);
        assert_eq!(schedule.epoch_of(9), 0);
        assert_eq!(schedule.epoch_of(10), 1);
        assert_eq!(schedule.first_slot(3), 30);
    }
}
