//! The public keys a block's leader is checked against.

use crate::ed25519::Ed25519PublicKey;
use crate::vrf::VrfPublicKey;

/// What replay checks a block header against: the operational certificate's cold key,
/// the VRF key of the leader proof, and the depth of the leader's KES keys. The cluster
/// genesis provides one per validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaderPublicKeys {
    /// Cold identity key: signs the operational certificate.
    pub identity: Ed25519PublicKey,
    /// VRF key for leader proofs.
    pub vrf: VrfPublicKey,
    /// Depth of the leader's KES keys.
    pub kes_depth: u32,
}
