//! Errors from the checked constructors (values built in memory, not decoded).

use thiserror::Error;

/// Why a checked constructor refused its input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BuildError {
    /// A collection is longer than its documented maximum.
    #[error("{what}: length {length} is over the maximum of {max}")]
    TooLong {
        /// The collection.
        what: &'static str,
        /// The length given.
        length: usize,
        /// The maximum.
        max: usize,
    },
    /// An index is outside the collection.
    #[error("{what}: index {index} is outside the length {length}")]
    IndexOutOfRange {
        /// The collection.
        what: &'static str,
        /// The index given.
        index: u64,
        /// The collection's length.
        length: u64,
    },
    /// A sum of amounts does not fit in a `u64`.
    #[error("{what}: amount overflows u64")]
    AmountOverflow {
        /// The amount.
        what: &'static str,
    },
}
