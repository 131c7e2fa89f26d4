//! Final blocks read back from this node's blockstore, to answer a peer's block fetch
//! after the in-memory history no longer holds them (after a restart, or beyond
//! [`crate::driver::FINAL_HISTORY_ROUNDS`]).
//!
//! The blockstore keeps each final block as the shreds this node's shred stage made
//! (FEC sets signed with this node's identity): the data shreds are verified against
//! that identity and reassembled; the block's hash must be the one asked for.

use aether_blockstore::Blockstore;
use aether_crypto::ed25519::Ed25519PublicKey;
use aether_crypto::vrf::{VrfOutput, VrfProof, proof_to_hash};
use aether_shred::{AssemblerLimits, InsertOutcome, Shred, ShredVerifier, SlotAssembler};
use aether_types::codec::decode_exact;
use aether_types::{Block, Hash, ShredKind};

/// How many final slots back a fetch by hash searches.
pub const SEARCH_SLOTS: u64 = 4_096;

/// The final block with `hash` among the newest [`SEARCH_SLOTS`] slots of
/// `blockstore`, whose shreds `signer` signed; `None` when it is not there or does not
/// reassemble.
pub fn final_block(
    blockstore: &Blockstore,
    hash: &Hash,
    signer: &Ed25519PublicKey,
) -> Option<Block> {
    let newest = blockstore.newest_finalized_slot()?;
    let slot = (newest.saturating_sub(SEARCH_SLOTS)..=newest)
        .rev()
        .find(|slot| {
            blockstore
                .block_meta(*slot)
                .ok()
                .flatten()
                .is_some_and(|meta| meta.hash == *hash)
        })?;
    final_block_at(blockstore, slot, signer).filter(|block| block.hash() == *hash)
}

/// The block stored for `slot`, reassembled from its data shreds (signed by `signer`).
pub fn final_block_at(
    blockstore: &Blockstore,
    slot: u64,
    signer: &Ed25519PublicKey,
) -> Option<Block> {
    let mut verifier = ShredVerifier::new(64);
    let mut assembler = SlotAssembler::new(slot, AssemblerLimits::default());
    for (_, bytes) in blockstore.slot_shreds(slot, ShredKind::Data).ok()? {
        let shred = Shred::decode(&bytes).ok()?;
        let verified = verifier.verify(shred, signer).ok()?;
        if let InsertOutcome::BlockComplete(encoded) = assembler.insert(verified).ok()? {
            return decode_exact(&encoded).ok();
        }
    }
    None
}

/// The VRF outputs of the final blocks stored in `slots` (the headers' proofs), for
/// re-deriving epoch nonces after a restart.
pub fn final_vrf_outputs(
    blockstore: &Blockstore,
    slots: std::ops::RangeInclusive<u64>,
    signer: &Ed25519PublicKey,
) -> Vec<(u64, VrfOutput)> {
    slots
        .filter(|slot| blockstore.block_meta(*slot).ok().flatten().is_some())
        .filter_map(|slot| {
            let block = final_block_at(blockstore, slot, signer)?;
            let output = proof_to_hash(&VrfProof(block.header.header.vrf_proof)).ok()?;
            Some((slot, output))
        })
        .collect()
}
