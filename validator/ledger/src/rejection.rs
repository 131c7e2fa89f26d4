//! Why a transaction was rejected.

use aether_types::Hash;
use thiserror::Error;

/// A rule the transaction broke. Rejection changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RejectReason {
    /// The slot is outside the transaction's validity window.
    #[error("slot {slot} is outside the validity window {first_slot}..={last_slot}")]
    ExpiredOrNotYetValid {
        /// Execution slot.
        slot: u64,
        /// First valid slot.
        first_slot: u64,
        /// Last valid slot.
        last_slot: u64,
    },
    /// No inputs: nothing makes the id unique or pays the fee.
    #[error("transaction consumes no input")]
    NoInputs,
    /// The same output is both spent and referenced.
    #[error("output {0} is both an input and a reference input")]
    InputAlsoReferenced(Hash),
    /// The fee is below `fee_per_byte × size`.
    #[error("fee {fee} is below the minimum {minimum} for {size_bytes} bytes")]
    FeeTooLow {
        /// Fee offered.
        fee: u64,
        /// Minimum for this size.
        minimum: u64,
        /// Encoded size.
        size_bytes: usize,
    },
    /// Program calls and state-cell writes need native programs (not yet enabled).
    #[error("programs and state-cell writes are not enabled on this chain yet")]
    ProgramsNotEnabled,
    /// An input or reference input is not in the state (never existed or spent).
    #[error("input {0} does not exist or is already spent")]
    UnknownInput(Hash),
    /// The referenced key holds something that is not an output.
    #[error("key {0} does not hold an output")]
    NotAnOutput(Hash),
    /// A public-key lock without a signature by that key.
    #[error("input {input} needs a signature by the key hashing to {lock}")]
    MissingSignature {
        /// The input's state key.
        input: Hash,
        /// The lock's key hash.
        lock: Hash,
    },
    /// A program lock (programs are not yet enabled).
    #[error("input {0} is locked by a program; programs are not enabled yet")]
    ProgramLock(Hash),
    /// An output carries no value.
    #[error("output {index} has zero value")]
    ZeroOutput {
        /// Output index.
        index: usize,
    },
    /// Sums overflow u64.
    #[error("value overflow while summing {what}")]
    ValueOverflow {
        /// Which sum.
        what: &'static str,
    },
    /// Σ inputs ≠ Σ outputs + fee.
    #[error(
        "value not conserved: inputs {inputs_aeth} AETH, outputs + fee {spent_aeth} AETH{assets}"
    )]
    ValueNotConserved {
        /// AETH consumed.
        inputs_aeth: u64,
        /// AETH created plus fee.
        spent_aeth: u64,
        /// Extra note when native assets differ.
        assets: &'static str,
    },
}

impl RejectReason {
    /// A short stable label for metrics and RPC (`aether_banking_rejected_total{reason=...}`).
    pub fn label(&self) -> &'static str {
        match self {
            Self::ExpiredOrNotYetValid { .. } => "validity_window",
            Self::NoInputs => "no_inputs",
            Self::InputAlsoReferenced(_) => "input_also_referenced",
            Self::FeeTooLow { .. } => "fee_too_low",
            Self::ProgramsNotEnabled => "programs_not_enabled",
            Self::UnknownInput(_) => "unknown_input",
            Self::NotAnOutput(_) => "not_an_output",
            Self::MissingSignature { .. } => "missing_signature",
            Self::ProgramLock(_) => "program_lock",
            Self::ZeroOutput { .. } => "zero_output",
            Self::ValueOverflow { .. } => "value_overflow",
            Self::ValueNotConserved { .. } => "value_not_conserved",
        }
    }

    /// Every label, for declaring metrics up front.
    pub const LABELS: [&'static str; 12] = [
        "validity_window",
        "no_inputs",
        "input_also_referenced",
        "fee_too_low",
        "programs_not_enabled",
        "unknown_input",
        "not_an_output",
        "missing_signature",
        "program_lock",
        "zero_output",
        "value_overflow",
        "value_not_conserved",
    ];
}
