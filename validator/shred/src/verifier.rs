//! The receiver's check of one shred: its Merkle path, then the leader's signature over
//! the set root, with verified signatures cached so a set costs one Ed25519 check.
//!
//! Order: (1) hash the leaf up its proof; the result must equal the root the shred
//! carries, else [`VerifyError::MerkleProofMismatch`]; (2) the signature must verify over
//! `(slot, fec_set_index, root)` under the slot leader's key, else
//! [`VerifyError::SignatureInvalid`]. Step 2 is skipped when the cache already holds this
//! exact `(slot, fec_set_index, root, leader)` with these exact signature bytes; a
//! different signature over a cached root is verified in full (so a flipped signature
//! bit is always caught).

use std::collections::{HashMap, VecDeque};

use aether_crypto::ed25519::{self, Ed25519PublicKey, Ed25519Signature};
use aether_types::Hash;

use crate::error::VerifyError;
use crate::layout::Shred;
use crate::merkle;
use crate::signing::root_signing_message;

/// Default number of set roots the verifier remembers (a few slots of large blocks).
pub const SIGNATURE_CACHE_CAPACITY_DEFAULT: usize = 4096;

/// A shred whose Merkle path and root signature have been checked. Only the verifier
/// makes these, so an assembler that takes them never sees an unauthenticated shred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedShred {
    shred: Shred,
    /// The shred's Merkle leaf, computed while verifying (recovery reuses it).
    leaf: Hash,
}

impl VerifiedShred {
    /// The shred.
    pub fn shred(&self) -> &Shred {
        &self.shred
    }

    /// The shred, by value.
    pub fn into_shred(self) -> Shred {
        self.shred
    }

    /// The shred's Merkle leaf hash.
    pub fn leaf(&self) -> Hash {
        self.leaf
    }
}

/// Checks a shred without a cache: Merkle path, then the signature. Returns the root.
pub fn verify_shred(shred: &Shred, leader: &Ed25519PublicKey) -> Result<Hash, VerifyError> {
    let (_, root) = check_merkle_path(shred)?;
    check_signature(shred, &root, leader)?;
    Ok(root)
}

/// Returns the shred's leaf and the root it carries, once they agree.
fn check_merkle_path(shred: &Shred) -> Result<(Hash, Hash), VerifyError> {
    let root = shred.merkle_root();
    let leaf = merkle::leaf_hash(shred.leaf_bytes());
    if merkle::root_from_proof(leaf, shred.leaf_index(), shred.proof()) != root {
        let header = shred.header();
        return Err(VerifyError::MerkleProofMismatch {
            slot: header.slot,
            fec_set_index: header.fec_set_index,
            kind: header.kind,
            position: header.position_in_set,
        });
    }
    Ok((leaf, root))
}

fn check_signature(
    shred: &Shred,
    root: &Hash,
    leader: &Ed25519PublicKey,
) -> Result<(), VerifyError> {
    let header = shred.header();
    let message = root_signing_message(header.slot, header.fec_set_index, root);
    ed25519::verify(leader, &message, &shred.signature()).map_err(|reason| {
        VerifyError::SignatureInvalid {
            slot: header.slot,
            fec_set_index: header.fec_set_index,
            reason,
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CacheKey {
    slot: u64,
    fec_set_index: u32,
    root: Hash,
    leader: Ed25519PublicKey,
}

/// Counters a stage exports as metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifierCounts {
    /// Full Ed25519 verifications run.
    pub signature_checks: u64,
    /// Signatures accepted from the cache.
    pub cache_hits: u64,
    /// Shreds rejected for a bad Merkle path.
    pub merkle_failures: u64,
    /// Shreds rejected for a bad signature.
    pub signature_failures: u64,
}

/// Verifies shreds, remembering up to `capacity` verified set roots (oldest forgotten
/// first), so each set costs one signature check while it stays in the cache.
#[derive(Debug)]
pub struct ShredVerifier {
    capacity: usize,
    verified: HashMap<CacheKey, Ed25519Signature>,
    /// Insertion order, for eviction; holds exactly the keys of `verified`.
    order: VecDeque<CacheKey>,
    counts: VerifierCounts,
}

impl Default for ShredVerifier {
    fn default() -> Self {
        ShredVerifier::new(SIGNATURE_CACHE_CAPACITY_DEFAULT)
    }
}

impl ShredVerifier {
    /// A verifier that caches up to `capacity` (at least 1) set roots.
    pub fn new(capacity: usize) -> ShredVerifier {
        assert!(capacity > 0, "signature cache capacity must be at least 1");
        ShredVerifier {
            capacity,
            verified: HashMap::with_capacity(capacity),
            order: VecDeque::with_capacity(capacity),
            counts: VerifierCounts::default(),
        }
    }

    /// Checks `shred` as from `leader` (the slot's scheduled leader) and returns it
    /// verified, or why not.
    pub fn verify(
        &mut self,
        shred: Shred,
        leader: &Ed25519PublicKey,
    ) -> Result<VerifiedShred, VerifyError> {
        let (leaf, root) =
            check_merkle_path(&shred).inspect_err(|_| self.counts.merkle_failures += 1)?;
        let header = shred.header();
        let key = CacheKey {
            slot: header.slot,
            fec_set_index: header.fec_set_index,
            root,
            leader: *leader,
        };
        let signature = shred.signature();
        if self.verified.get(&key) == Some(&signature) {
            self.counts.cache_hits += 1;
            return Ok(VerifiedShred { shred, leaf });
        }
        self.counts.signature_checks += 1;
        check_signature(&shred, &root, leader)
            .inspect_err(|_| self.counts.signature_failures += 1)?;
        self.remember(key, signature);
        Ok(VerifiedShred { shred, leaf })
    }

    /// Counters so far.
    pub fn counts(&self) -> VerifierCounts {
        self.counts
    }

    /// Set roots currently cached.
    pub fn cached_roots(&self) -> usize {
        self.verified.len()
    }

    fn remember(&mut self, key: CacheKey, signature: Ed25519Signature) {
        if self.verified.contains_key(&key) {
            // Another valid signature over a cached root: keep the first one.
            return;
        }
        if self.verified.len() == self.capacity {
            let oldest = self
                .order
                .pop_front()
                .expect("a full cache has an oldest key");
            self.verified.remove(&oldest);
        }
        self.verified.insert(key, signature);
        self.order.push_back(key);
        assert_eq!(self.verified.len(), self.order.len());
        assert!(self.verified.len() <= self.capacity);
    }
}
