//! Deterministic keys and validator sets for tests and the simulator (never for a real
//! node: the keys are derived from public seeds).

use std::sync::Arc;

use aether_crypto::bls::BlsSecretKey;
use aether_crypto::vrf::VrfSecretKey;

use crate::validator_set::{ValidatorInfo, ValidatorSet};

/// The BLS and VRF secret keys of validator `index` under `seed`.
pub fn validator_keys(seed: u64, index: usize) -> (BlsSecretKey, VrfSecretKey) {
    let mut hasher = blake3::Hasher::new_derive_key("aether 2026-01-01 consensus test keys");
    hasher.update(&seed.to_le_bytes());
    hasher.update(&(index as u64).to_le_bytes());
    let mut bls_bytes = *hasher.finalize().as_bytes();
    // Big-endian scalar: clearing the top bits keeps it below the group order; the low
    // byte is forced non-zero so it is never zero.
    bls_bytes[0] &= 0x3f;
    bls_bytes[31] |= 1;
    let bls = BlsSecretKey::from_bytes(&bls_bytes).expect("a scalar below 2^254 is valid");
    hasher.update(b"vrf");
    let vrf = VrfSecretKey::from_seed(hasher.finalize().as_bytes());
    (bls, vrf)
}

/// A validator set with `stakes` and the keys of [`validator_keys`] under `seed`.
pub fn validator_set(seed: u64, stakes: &[u64]) -> Arc<ValidatorSet> {
    let validators = stakes
        .iter()
        .enumerate()
        .map(|(index, &stake)| {
            let (bls, vrf) = validator_keys(seed, index);
            ValidatorInfo {
                bls_public_key: bls.public_key(),
                bls_possession_proof: bls.prove_possession(),
                vrf_public_key: vrf.public_key(),
                stake,
            }
        })
        .collect();
    Arc::new(ValidatorSet::new(validators).expect("test validator set is valid"))
}
