//! The shared, updatable view of who may talk to this node and where they listen.
//!
//! The allowed set is the validator set (the node updates it at epoch boundaries); the
//! address book maps an identity to its consensus/gossip address and is written by gossip
//! (from verified contact infos) and by entrypoint resolution (from a verified hello).
//! Only allowed identities get an address, so the book is bounded by the allowed set.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::RwLock;

use aether_crypto::ed25519::Ed25519PublicKey;

#[derive(Debug, Default)]
struct Inner {
    allowed: HashSet<Ed25519PublicKey>,
    addresses: HashMap<Ed25519PublicKey, SocketAddr>,
}

/// Allowed identities and their addresses. Share it as `Arc<Membership>`.
#[derive(Debug, Default)]
pub struct Membership {
    inner: RwLock<Inner>,
}

impl Membership {
    /// A membership that allows exactly `allowed`.
    pub fn new(allowed: impl IntoIterator<Item = Ed25519PublicKey>) -> Membership {
        let membership = Membership::default();
        membership.set_allowed(allowed);
        membership
    }

    /// Replaces the allowed set; addresses of identities no longer allowed are forgotten
    /// (open connections are not cut here: the next hello check refuses them).
    pub fn set_allowed(&self, allowed: impl IntoIterator<Item = Ed25519PublicKey>) {
        let mut inner = self
            .inner
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        inner.allowed = allowed.into_iter().collect();
        let Inner { allowed, addresses } = &mut *inner;
        addresses.retain(|identity, _| allowed.contains(identity));
    }

    /// Whether `identity` is in the allowed set.
    pub fn is_allowed(&self, identity: &Ed25519PublicKey) -> bool {
        self.read().allowed.contains(identity)
    }

    /// How many identities are allowed.
    pub fn allowed_count(&self) -> usize {
        self.read().allowed.len()
    }

    /// Records `identity`'s address. Returns false (and records nothing) when the identity
    /// is not allowed.
    pub fn set_address(&self, identity: Ed25519PublicKey, address: SocketAddr) -> bool {
        let mut inner = self
            .inner
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if !inner.allowed.contains(&identity) {
            return false;
        }
        inner.addresses.insert(identity, address);
        true
    }

    /// The address recorded for `identity`.
    pub fn address(&self, identity: &Ed25519PublicKey) -> Option<SocketAddr> {
        self.read().addresses.get(identity).copied()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_exist_only_for_allowed_identities() {
        let (a, b) = (Ed25519PublicKey([1; 32]), Ed25519PublicKey([2; 32]));
        let address: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        let membership = Membership::new([a]);
        assert!(membership.set_address(a, address));
        assert!(!membership.set_address(b, address));
        assert_eq!(membership.address(&b), None);
        membership.set_allowed([b]);
        assert_eq!(membership.address(&a), None, "dropped with its identity");
        assert!(membership.is_allowed(&b) && !membership.is_allowed(&a));
    }
}
