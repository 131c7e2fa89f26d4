//! Helpers shared by the integration tests.
#![allow(dead_code, missing_docs)]

use std::collections::BTreeMap;

use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey};
use aether_shred::merkle::{MerkleTree, leaf_hash};
use aether_shred::signing::sign_root;
use aether_shred::{
    AssembleError, AssemblerLimits, InsertOutcome, SetShape, Shred, ShredVerifier, ShredderConfig,
    SlotAssembler, SlotContext, shred_block,
};
use aether_types::ShredHeader;
use aether_types::codec::{Decode, Encode, Reader};

pub const SLOT: u64 = 1_000;

pub fn leader() -> Ed25519SecretKey {
    Ed25519SecretKey::from_seed(&[7; 32])
}

pub fn leader_key() -> Ed25519PublicKey {
    leader().public_key()
}

pub fn context(slot: u64) -> SlotContext {
    SlotContext {
        slot,
        parent_slot: slot - 1,
        shred_version: 0x5eed,
    }
}

/// `len` deterministic pseudo-random bytes.
pub fn block_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    blake3::Hasher::new()
        .update(&seed.to_le_bytes())
        .finalize_xof()
        .fill(&mut bytes);
    bytes
}

pub fn shred(block: &[u8], slot: u64) -> Vec<Shred> {
    shred_block(block, &context(slot), &ShredderConfig::default(), &leader()).unwrap()
}

/// The shreds grouped by set, in set order.
pub fn by_set(shreds: Vec<Shred>) -> BTreeMap<u32, Vec<Shred>> {
    let mut sets: BTreeMap<u32, Vec<Shred>> = BTreeMap::new();
    for shred in shreds {
        sets.entry(shred.header().fec_set_index)
            .or_default()
            .push(shred);
    }
    sets
}

/// A small deterministic generator (SplitMix64) for choosing subsets and orders.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Verifies and inserts `shreds` in order; returns the block if it completed, checking
/// that it completes on the last shred given and not before.
pub fn assemble(shreds: Vec<Shred>, slot: u64) -> Result<Option<Vec<u8>>, AssembleError> {
    let mut verifier = ShredVerifier::default();
    let mut assembler = SlotAssembler::new(slot, AssemblerLimits::default());
    let count = shreds.len();
    let mut block = None;
    for (i, shred) in shreds.into_iter().enumerate() {
        let verified = verifier.verify(shred, &leader_key()).expect("valid shred");
        if let InsertOutcome::BlockComplete(bytes) = assembler.insert(verified)? {
            assert_eq!(i + 1, count, "block completed before its last needed shred");
            block = Some(bytes);
        }
    }
    Ok(block)
}

/// Rewrites a set's shreds after their headers or bodies were changed: recomputes the
/// tree and signs it with `signer` as `(slot, fec_set_index)`, so the result is a
/// validly signed set whose contents are whatever the caller made them.
pub fn reseal(set: &mut [Vec<u8>], signer: &Ed25519SecretKey, slot: u64, fec_set_index: u32) {
    let header = ShredHeader::decode_from(&mut Reader::new(&set[0])).unwrap();
    let shape = SetShape::new(header.data_count, header.coding_count).unwrap();
    let trailer = 32 * shape.proof_depth() as usize + 32 + 64;
    let leaves: Vec<_> = set
        .iter()
        .map(|bytes| leaf_hash(&bytes[..bytes.len() - trailer]))
        .collect();
    let tree = MerkleTree::new(leaves);
    let signature = sign_root(signer, slot, fec_set_index, &tree.root());
    for (leaf_index, bytes) in set.iter_mut().enumerate() {
        let leaf_len = bytes.len() - trailer;
        bytes.truncate(leaf_len);
        for sibling in tree.proof(leaf_index) {
            bytes.extend_from_slice(sibling.as_bytes());
        }
        bytes.extend_from_slice(tree.root().as_bytes());
        bytes.extend_from_slice(&signature.0);
    }
}

/// Rewrites the header at the front of `bytes`.
pub fn edit_header(bytes: &mut [u8], edit: impl FnOnce(&mut ShredHeader)) {
    let mut header = ShredHeader::decode_from(&mut Reader::new(bytes)).unwrap();
    edit(&mut header);
    let mut encoded = Vec::new();
    header.encode_to(&mut encoded);
    bytes[..encoded.len()].copy_from_slice(&encoded);
}
