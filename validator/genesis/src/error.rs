//! Why a genesis file was refused. Every variant about a field names it by its JSON path
//! (`validators[2].stake`, `faucet.outputs`).

use std::path::PathBuf;

use thiserror::Error;

/// Why a genesis file could not be read, parsed, validated or written.
#[derive(Debug, Error)]
pub enum GenesisError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file already exists (genesis files are never overwritten).
    #[error("{path} already exists; refusing to overwrite a genesis file")]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// Not JSON of the right shape: a missing, unknown or mistyped field. Serde's
    /// message names missing and unknown fields and gives the position; `near` is the
    /// file text just before that position, which names a mistyped field.
    #[error("genesis JSON: {source} (near `{near}`)")]
    Json {
        /// The parser's error.
        source: serde_json::Error,
        /// Up to 48 characters of the text ending at the error's position.
        near: String,
    },
    /// A hex field does not decode, or has the wrong length.
    #[error("{field}: {reason}")]
    Hex {
        /// The field's path.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `version` is not one this build knows.
    #[error("version: {version} is not a known genesis version (expected {expected})")]
    UnknownVersion {
        /// The file's version.
        version: u32,
        /// [`crate::GENESIS_VERSION`].
        expected: u32,
    },
    /// A parameter that must be positive is zero.
    #[error("{field}: must be positive")]
    Zero {
        /// The field's path.
        field: String,
    },
    /// A value is outside its allowed range.
    #[error("{field}: {value} is outside {allowed}")]
    OutOfRange {
        /// The field's path.
        field: String,
        /// The value given.
        value: u64,
        /// The allowed range, in words.
        allowed: String,
    },
    /// A string field is empty, too long, or not printable ASCII.
    #[error("{field}: {value:?} must be 1 to {max_bytes} bytes of printable ASCII, no spaces")]
    BadText {
        /// The field's path.
        field: String,
        /// The value given.
        value: String,
        /// Its maximum length.
        max_bytes: usize,
    },
    /// The validator list is empty.
    #[error("validators: at least one validator is required")]
    NoValidators,
    /// Two validators share a name, identity or vote key.
    #[error("{field}: duplicates validators[{first}]")]
    Duplicate {
        /// The later field's path (`validators[3].identity`).
        field: String,
        /// Index of the validator that has it first.
        first: usize,
    },
    /// A BLS vote key does not decode to a valid G1 point.
    #[error("{field}: not a valid BLS12-381 public key ({reason})")]
    BadVoteKey {
        /// The field's path.
        field: String,
        /// The decoder's reason.
        reason: aether_crypto::bls::BlsError,
    },
    /// A proof of possession does not decode or does not verify under its vote key.
    #[error("{field}: BLS proof of possession does not verify")]
    BadProofOfPossession {
        /// The field's path.
        field: String,
    },
    /// The stakes add up to more than `u64::MAX`.
    #[error("validators: total stake overflows u64")]
    StakeOverflow,
    /// `faucet.outputs × faucet.output_aeth` overflows `u64`.
    #[error("faucet: outputs × output_aeth overflows u64")]
    FaucetSupplyOverflow,
    /// The consensus crate refused the validator set (cannot happen after [`validate`]
    /// succeeded; kept so the conversion never panics).
    ///
    /// [`validate`]: crate::ClusterGenesis::validate
    #[error("validators: {0}")]
    ValidatorSet(#[from] aether_consensus::ValidatorSetError),
}
