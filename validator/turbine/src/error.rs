//! Errors of this crate. Per-packet problems are not errors but counted drops
//! ([`crate::retransmit::RetransmitDrop`], [`crate::repair::RepairDrop`]).

use aether_crypto::ed25519::Ed25519PublicKey;
use thiserror::Error;

/// Why a cluster description was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClusterError {
    /// The same identity is listed twice.
    #[error("identity {identity} is listed more than once")]
    DuplicateIdentity {
        /// The repeated identity.
        identity: Ed25519PublicKey,
    },
    /// More nodes than the crate supports.
    #[error("{count} nodes is over the maximum of {max}")]
    TooManyNodes {
        /// Nodes given.
        count: usize,
        /// The maximum.
        max: usize,
    },
}
