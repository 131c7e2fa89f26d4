//! What a node derives from a validated genesis: the genesis hash, the initial state,
//! the validator set and the leaders' public keys. The encodings are specified in the
//! crate docs.

use std::sync::Arc;

use aether_consensus::certificate_verifier::{CertificateVerifier, genesis_qc};
use aether_consensus::{EpochSchedule, LeaderSchedule, ValidatorInfo, ValidatorSet};
use aether_crypto::bls::{BlsPublicKey, BlsSignature};
use aether_crypto::leader_keys::LeaderPublicKeys;
use aether_ledger::rules::output_state_value;
use aether_types::{Hash, Lock, Output, OutputReference, ValidatorIndex, Value};

use crate::MAX_FAUCET_OUTPUTS;
use crate::error::GenesisError;
use crate::file::ClusterGenesis;

/// BLAKE3 key-derivation context of [`ClusterGenesis::genesis_hash`].
pub const GENESIS_HASH_CONTEXT: &str = "aether 2026-01-01 cluster genesis";
/// BLAKE3 key-derivation context of [`ClusterGenesis::genesis_transaction_id`].
pub const GENESIS_TRANSACTION_CONTEXT: &str = "aether 2026-01-01 cluster genesis transaction";

fn put_text(out: &mut Vec<u8>, text: &str) {
    let length = u32::try_from(text.len()).expect("strings are validated short");
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

impl ClusterGenesis {
    /// The canonical encoding hashed by [`ClusterGenesis::genesis_hash`] (every field,
    /// in file order; see the crate docs).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.validators.len() * 300);
        out.extend_from_slice(&self.version.to_le_bytes());
        put_text(&mut out, &self.chain_id);
        out.extend_from_slice(&self.created_at_ms.to_le_bytes());
        out.extend_from_slice(&self.slot_ms.to_le_bytes());
        out.extend_from_slice(&self.epoch_slots.to_le_bytes());
        out.extend_from_slice(&self.kes_slots_per_period.to_le_bytes());
        out.extend_from_slice(&self.kes_depth.to_le_bytes());
        out.extend_from_slice(&self.genesis_nonce.0);
        let count = u32::try_from(self.validators.len()).expect("validator count fits u32");
        out.extend_from_slice(&count.to_le_bytes());
        for validator in &self.validators {
            put_text(&mut out, &validator.name);
            out.extend_from_slice(&validator.identity.0);
            out.extend_from_slice(&validator.vote_public_key);
            out.extend_from_slice(&validator.vote_proof_of_possession);
            out.extend_from_slice(&validator.vrf_public_key.0);
            out.extend_from_slice(&validator.stake.to_le_bytes());
        }
        out.extend_from_slice(&self.faucet.public_key.0);
        out.extend_from_slice(&self.faucet.outputs.to_le_bytes());
        out.extend_from_slice(&self.faucet.output_aeth.to_le_bytes());
        out
    }

    /// The genesis block hash: `BLAKE3-derive-key(GENESIS_HASH_CONTEXT, canonical_bytes)`.
    pub fn genesis_hash(&self) -> Hash {
        let mut hasher = blake3::Hasher::new_derive_key(GENESIS_HASH_CONTEXT);
        hasher.update(&self.canonical_bytes());
        Hash(*hasher.finalize().as_bytes())
    }

    /// Id of the "genesis transaction" that creates the faucet outputs:
    /// `BLAKE3-derive-key(GENESIS_TRANSACTION_CONTEXT, genesis_hash)`.
    pub fn genesis_transaction_id(&self) -> Hash {
        let mut hasher = blake3::Hasher::new_derive_key(GENESIS_TRANSACTION_CONTEXT);
        hasher.update(&self.genesis_hash().0);
        Hash(*hasher.finalize().as_bytes())
    }

    /// The genesis state: one `(state key, output_state_value)` per faucet output,
    /// sorted by key, as the dev genesis builds it.
    ///
    /// Panics if `faucet.outputs` is over [`MAX_FAUCET_OUTPUTS`], which
    /// [`ClusterGenesis::validate`] refuses.
    pub fn state_entries(&self) -> Vec<(Hash, Vec<u8>)> {
        assert!(
            self.faucet.outputs <= MAX_FAUCET_OUTPUTS,
            "faucet.outputs is validated"
        );
        let transaction_id = self.genesis_transaction_id();
        let output = Output {
            lock: Lock::for_public_key(&self.faucet.public_key.0),
            value: Value::from_aeth(self.faucet.output_aeth),
            datum: None,
        };
        let count = u16::try_from(self.faucet.outputs).expect("checked above");
        let mut entries: Vec<(Hash, Vec<u8>)> = (0..count)
            .map(|index| {
                let reference = OutputReference {
                    transaction_id,
                    index,
                };
                (
                    reference.key(),
                    output_state_value(&reference, &output).to_vec(),
                )
            })
            .collect();
        entries.sort_by_key(|(key, _)| *key);
        assert_eq!(entries.len(), usize::from(count));
        entries
    }

    /// The epoch-0 validator set, in file order (index `i` is `validators[i]`).
    /// [`ValidatorSet::new`] verifies every proof of possession again.
    pub fn validator_set(&self) -> Result<ValidatorSet, GenesisError> {
        let infos =
            self.validators
                .iter()
                .enumerate()
                .map(|(index, validator)| {
                    let bls_public_key = BlsPublicKey::from_bytes(&validator.vote_public_key)
                        .map_err(|reason| GenesisError::BadVoteKey {
                            field: format!("validators[{index}].vote_public_key"),
                            reason,
                        })?;
                    let bls_possession_proof = BlsSignature::from_bytes(
                        &validator.vote_proof_of_possession,
                    )
                    .map_err(|_| GenesisError::BadProofOfPossession {
                        field: format!("validators[{index}].vote_proof_of_possession"),
                    })?;
                    Ok(ValidatorInfo {
                        bls_public_key,
                        bls_possession_proof,
                        vrf_public_key: validator.vrf_public_key,
                        stake: validator.stake,
                    })
                })
                .collect::<Result<Vec<_>, GenesisError>>()?;
        let set = ValidatorSet::new(infos)?;
        assert_eq!(set.len(), self.validators.len());
        Ok(set)
    }

    /// The replay keys of the validator at `index`, or `None` past the end.
    pub fn leader_public_keys(&self, index: ValidatorIndex) -> Option<LeaderPublicKeys> {
        let validator = self.validators.get(usize::try_from(index.0).ok()?)?;
        Some(LeaderPublicKeys {
            identity: validator.identity,
            vrf: validator.vrf_public_key,
            kes_depth: self.kes_depth,
        })
    }

    /// Every validator's replay keys, by index.
    pub fn all_leader_public_keys(&self) -> Vec<LeaderPublicKeys> {
        (0..self.validators.len())
            .filter_map(|index| self.leader_public_keys(ValidatorIndex(index as u32)))
            .collect()
    }

    /// The leader schedule at genesis over `validators` (this genesis's set): its
    /// epochs, with the genesis nonce for epochs 0 and 1.
    pub fn leader_schedule(&self, validators: Arc<ValidatorSet>) -> LeaderSchedule {
        LeaderSchedule::new(
            validators,
            EpochSchedule::new(self.epoch_slots, 1),
            self.genesis_nonce,
        )
    }

    /// A certificate verifier over `validators` (this genesis's set) that trusts the
    /// genesis block's QC (round 0).
    pub fn certificate_verifier(&self, validators: Arc<ValidatorSet>) -> CertificateVerifier {
        CertificateVerifier::new(
            validators,
            genesis_qc(self.genesis_hash(), 0, self.validators.len()),
        )
    }

    /// Sum of the stakes (validated to fit a `u64`; saturates on an unvalidated value).
    pub fn total_stake(&self) -> u64 {
        self.validators.iter().fold(0u64, |total, validator| {
            total.saturating_add(validator.stake)
        })
    }
}
