//! One epoch's validator set: keys and stake per validator index, and the two stake
//! thresholds ([`is_quorum`], [`exceeds_one_third`]) every other module uses.

use aether_crypto::bls::{BlsPublicKey, BlsSignature, verify_possession};
use aether_crypto::vrf::VrfPublicKey;
use aether_types::{MAX_VALIDATORS, SignerBitmap, ValidatorIndex};

use crate::error::{CertificateError, ValidatorSetError};

/// The quorum rule, and the only place it is written: signers holding `signed` of `total`
/// stake form a quorum when `signed * 3 > total * 2` (so 3 of 4 equal stakes, not 2).
/// Computed in 128 bits, so it cannot overflow.
pub fn is_quorum(signed: u64, total: u64) -> bool {
    u128::from(signed) * 3 > u128::from(total) * 2
}

/// More than a third of the stake (`signed * 3 > total`): at least one honest validator
/// is among the signers when at most a third is faulty. Used to join a timeout early.
pub fn exceeds_one_third(signed: u64, total: u64) -> bool {
    u128::from(signed) * 3 > u128::from(total)
}

/// One validator's registration for an epoch.
#[derive(Debug, Clone)]
pub struct ValidatorInfo {
    /// Vote and timeout signing key.
    pub bls_public_key: BlsPublicKey,
    /// Proof of possession of `bls_public_key`, checked when the set is built.
    pub bls_possession_proof: BlsSignature,
    /// Leader-election VRF key.
    pub vrf_public_key: VrfPublicKey,
    /// Stake (base units); zero-stake validators are members that never lead and whose
    /// signatures count for nothing.
    pub stake: u64,
}

/// The validators of one epoch, by [`ValidatorIndex`].
#[derive(Debug, Clone)]
pub struct ValidatorSet {
    validators: Vec<ValidatorInfo>,
    /// `cumulative_stake[i]` = stake of validators `0..=i` (for leader sampling).
    cumulative_stake: Vec<u64>,
    total_stake: u64,
}

impl ValidatorSet {
    /// Builds a set, checking every proof of possession (so aggregate verification over
    /// these keys is sound) and that the total stake is positive and fits a `u64`.
    pub fn new(validators: Vec<ValidatorInfo>) -> Result<ValidatorSet, ValidatorSetError> {
        if validators.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        if validators.len() > MAX_VALIDATORS {
            return Err(ValidatorSetError::TooMany {
                count: validators.len(),
                max: MAX_VALIDATORS,
            });
        }
        let mut cumulative_stake = Vec::with_capacity(validators.len());
        let mut total: u64 = 0;
        for (index, validator) in validators.iter().enumerate() {
            verify_possession(&validator.bls_public_key, &validator.bls_possession_proof).map_err(
                |_| ValidatorSetError::BadPossessionProof {
                    index: ValidatorIndex(index as u32),
                },
            )?;
            total = total
                .checked_add(validator.stake)
                .ok_or(ValidatorSetError::StakeOverflow)?;
            cumulative_stake.push(total);
        }
        if total == 0 {
            return Err(ValidatorSetError::ZeroTotalStake);
        }
        Ok(ValidatorSet {
            validators,
            cumulative_stake,
            total_stake: total,
        })
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Always false (a set has at least one validator); for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Sum of all stakes (positive).
    pub fn total_stake(&self) -> u64 {
        self.total_stake
    }

    /// The validator at `index`, if it exists.
    pub fn get(&self, index: ValidatorIndex) -> Option<&ValidatorInfo> {
        self.validators.get(index.0 as usize)
    }

    /// Stake of `index` (zero if unknown).
    pub fn stake(&self, index: ValidatorIndex) -> u64 {
        self.get(index).map_or(0, |validator| validator.stake)
    }

    /// The validator whose cumulative-stake interval contains `point` (`point <
    /// total_stake`). A zero-stake validator has an empty interval, so it is never chosen.
    pub fn by_stake_point(&self, point: u64) -> ValidatorIndex {
        assert!(
            point < self.total_stake,
            "stake point must be below the total"
        );
        // First index whose cumulative stake exceeds the point.
        let index = self.cumulative_stake.partition_point(|&sum| sum <= point);
        assert!(index < self.validators.len());
        ValidatorIndex(index as u32)
    }

    /// Stake held by the signers of `bitmap`, which must cover exactly this set.
    pub fn signed_stake(&self, bitmap: &SignerBitmap) -> Result<u64, CertificateError> {
        if bitmap.len() != self.validators.len() {
            return Err(CertificateError::BitmapLength {
                bitmap_len: bitmap.len(),
                set_len: self.validators.len(),
            });
        }
        // Cannot overflow: a subset of stakes whose total fits a u64.
        Ok(bitmap.iter().map(|signer| self.stake(signer)).sum())
    }

    /// The public keys of `bitmap`'s signers, in ascending index order.
    pub fn signer_keys(&self, bitmap: &SignerBitmap) -> Vec<BlsPublicKey> {
        bitmap
            .iter()
            .filter_map(|signer| self.get(signer))
            .map(|validator| validator.bls_public_key.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_is_strictly_more_than_two_thirds() {
        // (signed, total, quorum?)
        let cases = [
            (3, 4, true),
            (2, 4, false),
            (2, 3, false),
            (3, 3, true),
            (67, 100, true),
            (66, 100, false),
            (u64::MAX, u64::MAX, true),
            (0, 1, false),
        ];
        for (signed, total, expected) in cases {
            assert_eq!(is_quorum(signed, total), expected, "{signed}/{total}");
        }
        assert!(exceeds_one_third(2, 4) && !exceeds_one_third(1, 3));
    }
}
