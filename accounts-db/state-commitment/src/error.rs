//! Errors of this crate.

use aether_types::Hash;
use thiserror::Error;

/// Why a bulk build refused its input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BuildError {
    /// Entry `index` does not have a greater key than entry `index - 1` (unsorted or a
    /// duplicate key).
    #[error("entry {index} is not in strictly ascending key order")]
    NotAscending {
        /// Position of the first out-of-order entry.
        index: usize,
    },
}

/// Why a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// A value was claimed but the proof shows the key absent.
    #[error("the proof shows the key absent, but a value was claimed")]
    KeyAbsent,
    /// Absence was claimed but the proof shows the key present.
    #[error("the proof shows the key present, but absence was claimed")]
    KeyPresent,
    /// The proof's leaf is the key, with another value.
    #[error("the proof commits to value hash {proven}, not the claimed {claimed}")]
    ValueMismatch {
        /// The value hash in the proof.
        proven: Hash,
        /// The value hash claimed.
        claimed: Hash,
    },
    /// The proof's leaf does not share the first `depth` bits with the key, so it cannot
    /// sit on the key's path.
    #[error("the proof's leaf is not on the key's path at depth {depth}")]
    LeafOffPath {
        /// The proof's path length.
        depth: usize,
    },
    /// Hashing up the path did not give the trusted root.
    #[error("the proof hashes to root {computed}, not {expected}")]
    RootMismatch {
        /// The trusted root.
        expected: Hash,
        /// The root the proof leads to.
        computed: Hash,
    },
    /// A proof path longer than the 256 key bits.
    #[error("a proof path of {depth} levels is deeper than the 256 key bits")]
    TooDeep {
        /// The path length given.
        depth: usize,
    },
}
