//! [`ClusterGenesis::validate`]: every bound in the crate docs' table. The parameters
//! (everything but `validators`) are checked first, then the validators in order.

use std::collections::HashMap;

use aether_crypto::bls::{BlsPublicKey, BlsSignature, verify_possession};
use aether_crypto::kes::KES_DEPTH_MAX;
use aether_types::MAX_VALIDATORS;

use crate::error::GenesisError;
use crate::file::{ClusterGenesis, GenesisValidator};
use crate::{GENESIS_VERSION, MAX_CHAIN_ID_BYTES, MAX_FAUCET_OUTPUTS, MAX_NAME_BYTES};

/// Non-empty, at most `max_bytes`, printable ASCII without spaces.
fn check_text(field: &str, value: &str, max_bytes: usize) -> Result<(), GenesisError> {
    let printable = value.bytes().all(|byte| byte.is_ascii_graphic());
    if value.is_empty() || value.len() > max_bytes || !printable {
        return Err(GenesisError::BadText {
            field: field.to_owned(),
            value: value.to_owned(),
            max_bytes,
        });
    }
    Ok(())
}

fn check_positive(field: &str, value: u64) -> Result<(), GenesisError> {
    if value == 0 {
        return Err(GenesisError::Zero {
            field: field.to_owned(),
        });
    }
    Ok(())
}

/// Records `key` for validator `index`; an earlier holder is a duplicate.
fn check_unique<K: std::hash::Hash + Eq>(
    seen: &mut HashMap<K, usize>,
    key: K,
    index: usize,
    name: &str,
) -> Result<(), GenesisError> {
    if let Some(&first) = seen.get(&key) {
        return Err(GenesisError::Duplicate {
            field: format!("validators[{index}].{name}"),
            first,
        });
    }
    seen.insert(key, index);
    Ok(())
}

/// Decodes the vote key and checks its proof of possession.
fn check_vote_key(index: usize, validator: &GenesisValidator) -> Result<(), GenesisError> {
    let key = BlsPublicKey::from_bytes(&validator.vote_public_key).map_err(|reason| {
        GenesisError::BadVoteKey {
            field: format!("validators[{index}].vote_public_key"),
            reason,
        }
    })?;
    let bad_proof = || GenesisError::BadProofOfPossession {
        field: format!("validators[{index}].vote_proof_of_possession"),
    };
    let proof =
        BlsSignature::from_bytes(&validator.vote_proof_of_possession).map_err(|_| bad_proof())?;
    verify_possession(&key, &proof).map_err(|_| bad_proof())
}

impl ClusterGenesis {
    /// Checks every field against the bounds in the crate docs; the error names the
    /// first bad field. Verifies every proof of possession (about a millisecond each).
    pub fn validate(&self) -> Result<(), GenesisError> {
        self.validate_parameters()?;
        self.validate_validators()
    }

    /// Checks everything but the validator list (version, chain id, slot and KES
    /// parameters, faucet); lets a tool refuse bad parameters before generating keys.
    pub fn validate_parameters(&self) -> Result<(), GenesisError> {
        if self.version != GENESIS_VERSION {
            return Err(GenesisError::UnknownVersion {
                version: self.version,
                expected: GENESIS_VERSION,
            });
        }
        check_text("chain_id", &self.chain_id, MAX_CHAIN_ID_BYTES)?;
        check_positive("slot_ms", self.slot_ms)?;
        check_positive("epoch_slots", self.epoch_slots)?;
        check_positive("kes_slots_per_period", self.kes_slots_per_period)?;
        if !(1..=KES_DEPTH_MAX).contains(&self.kes_depth) {
            return Err(GenesisError::OutOfRange {
                field: "kes_depth".to_owned(),
                value: u64::from(self.kes_depth),
                allowed: format!("1..={KES_DEPTH_MAX}"),
            });
        }
        self.validate_faucet()
    }

    fn validate_validators(&self) -> Result<(), GenesisError> {
        if self.validators.is_empty() {
            return Err(GenesisError::NoValidators);
        }
        if self.validators.len() > MAX_VALIDATORS {
            return Err(GenesisError::OutOfRange {
                field: "validators".to_owned(),
                value: self.validators.len() as u64,
                allowed: format!("1..={MAX_VALIDATORS} validators"),
            });
        }
        let mut names = HashMap::new();
        let mut identities = HashMap::new();
        let mut vote_keys = HashMap::new();
        let mut total_stake: u64 = 0;
        for (index, validator) in self.validators.iter().enumerate() {
            let field = |name: &str| format!("validators[{index}].{name}");
            check_text(&field("name"), &validator.name, MAX_NAME_BYTES)?;
            check_unique(&mut names, validator.name.as_str(), index, "name")?;
            check_unique(&mut identities, validator.identity, index, "identity")?;
            check_unique(
                &mut vote_keys,
                validator.vote_public_key,
                index,
                "vote_public_key",
            )?;
            check_vote_key(index, validator)?;
            check_positive(&field("stake"), validator.stake)?;
            total_stake = total_stake
                .checked_add(validator.stake)
                .ok_or(GenesisError::StakeOverflow)?;
        }
        assert!(total_stake >= self.validators.len() as u64);
        Ok(())
    }

    fn validate_faucet(&self) -> Result<(), GenesisError> {
        let faucet = &self.faucet;
        if faucet.outputs > MAX_FAUCET_OUTPUTS {
            return Err(GenesisError::OutOfRange {
                field: "faucet.outputs".to_owned(),
                value: u64::from(faucet.outputs),
                allowed: format!("0..={MAX_FAUCET_OUTPUTS}"),
            });
        }
        if faucet.outputs > 0 {
            check_positive("faucet.output_aeth", faucet.output_aeth)?;
        }
        u64::from(faucet.outputs)
            .checked_mul(faucet.output_aeth)
            .ok_or(GenesisError::FaucetSupplyOverflow)?;
        Ok(())
    }
}
