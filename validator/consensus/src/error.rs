//! Errors of the consensus crate's checked constructors and verifiers.
//!
//! Messages from the network never produce these as a failure of the core: the core turns
//! them into counted drops ([`crate::drops`]). They exist for callers that build or check
//! things directly (the driver, tests, tools).

use aether_crypto::bls::BlsError;
use aether_crypto::vrf::VrfError;
use aether_types::ValidatorIndex;
use thiserror::Error;

/// Why a validator set could not be built.
#[derive(Debug, Error)]
pub enum ValidatorSetError {
    /// No validators.
    #[error("a validator set needs at least one validator")]
    Empty,
    /// More validators than a signer bitmap can hold.
    #[error("{count} validators is over the maximum of {max}")]
    TooMany {
        /// Validators given.
        count: usize,
        /// [`aether_types::MAX_VALIDATORS`].
        max: usize,
    },
    /// The stakes add up to zero.
    #[error("total stake is zero")]
    ZeroTotalStake,
    /// The stakes add up to more than `u64::MAX`.
    #[error("total stake overflows u64")]
    StakeOverflow,
    /// A BLS key's proof of possession does not verify (rogue-key defence).
    #[error("validator {index:?}: BLS proof of possession does not verify")]
    BadPossessionProof {
        /// The validator.
        index: ValidatorIndex,
    },
}

/// Why a quorum or timeout certificate was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CertificateError {
    /// The signer bitmap does not cover exactly the validator set.
    #[error("signer bitmap covers {bitmap_len} validators, the set has {set_len}")]
    BitmapLength {
        /// Bits in the bitmap.
        bitmap_len: usize,
        /// Validators in the set.
        set_len: usize,
    },
    /// The signers do not hold a quorum of stake.
    #[error("signers hold {signed} of {total} stake, not a quorum")]
    NotQuorum {
        /// Stake of the signers.
        signed: u64,
        /// Total stake.
        total: u64,
    },
    /// A timeout certificate's high-QC rounds do not match its signers, or one is not
    /// below the certificate's round.
    #[error("timeout certificate high-QC rounds are malformed")]
    MalformedHighQcRounds,
    /// The aggregate signature bytes do not parse, or it does not verify.
    #[error("aggregate signature: {0}")]
    Signature(#[from] BlsError),
}

/// Why a slot's leader or VRF proof was rejected.
#[derive(Debug, Error)]
pub enum LeaderError {
    /// The epoch's nonce is not known yet.
    #[error("no nonce known for epoch {epoch}")]
    UnknownEpoch {
        /// The epoch.
        epoch: u64,
    },
    /// The header names a validator that is not the slot's leader.
    #[error("slot {slot}: leader is {expected:?}, header names {actual:?}")]
    WrongLeader {
        /// The slot.
        slot: u64,
        /// The scheduled leader.
        expected: ValidatorIndex,
        /// The header's leader.
        actual: ValidatorIndex,
    },
    /// The header's leader index is outside the validator set.
    #[error("leader {0:?} is not in the validator set")]
    UnknownValidator(ValidatorIndex),
    /// The VRF proof does not verify for the leader's key and the slot's input.
    #[error("VRF proof: {0}")]
    Vrf(#[from] VrfError),
}
