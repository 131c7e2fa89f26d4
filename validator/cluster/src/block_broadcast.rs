//! Turbine between validators: a leader's block leaves as signed Merkle shreds down
//! stake-weighted trees, and every receiver verifies, retransmits and reassembles them.
//!
//! **Leader** ([`BlockBroadcast::shred`]): the proposal's payload (`Block ‖
//! Option<TimeoutCertificate>`, the `Proposal` frame of [`crate::wire`]) is cut by
//! `aether-shred` into FEC sets of 32 data + 32 coding shreds, each set's Merkle root
//! signed once with the leader's identity key. Each shred goes to the root of its own
//! tree (`aether-turbine`: seeded by slot, kind, index and leader), so a node that dies
//! or withholds costs each set only its share of shreds, which erasure coding absorbs.
//!
//! **Receiver** ([`BlockBroadcast::on_shred`]), cheapest check first:
//! 1. decode (bounded; a malformed packet is `undecodable`);
//! 2. the slot's scheduled leader must be known (`unknown_leader` otherwise: the epoch's
//!    nonce is not derived here yet; such a validator catches up by block fetch) and the
//!    slot above the last final one (`too_old`);
//! 3. the Merkle path and the leader's signature over the set's root (`merkle`,
//!    `signature`; one Ed25519 check per set, cached);
//! 4. the retransmit decision: first sight of `(slot, kind, index)` is forwarded as
//!    received to this node's children in the shred's tree (dedup is per node, so a
//!    shred is forwarded at most once);
//! 5. the slot's assembler: any 32 of a set's 64 shreds recover it (recovered sets must
//!    hash to the signed root); once every set is in, the payload decodes to the block
//!    and its TC (`bad_block` if it does not, or names another slot).
//!
//! Invariants: memory is bounded (assemblers for [`ASSEMBLING_SLOTS_MAX`] slots, the
//! lowest evicted first; the verifier's cache and the retransmitter's slots are bounded
//! by their crates); every refused shred is counted under one stable label and changes
//! nothing; a block is handed out at most once per slot. A block too far from its parent
//! for a shred header (65,535 slots) cannot be shredded: the caller sends it whole.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;
use std::sync::Arc;

use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey};
use aether_network::MessageKind;
use aether_shred::{
    AssemblerLimits, InsertOutcome, Shred, ShredError, ShredVerifier, ShredderConfig,
    SlotAssembler, SlotContext, VerifyError, shred_block,
};
use aether_turbine::{
    ClusterError, ClusterNode, ClusterNodes, RetransmitConfig, RetransmitDecision, Retransmitter,
    ShredId, TreeBuilder,
};
use aether_types::{Block, TimeoutCertificate, ValidatorIndex};

/// A Turbine tree member: identity and stake.
pub use aether_turbine::ClusterNode as TurbineNode;

use crate::wire::ClusterMessage;

/// Slots whose shreds are assembled at once (the lowest is evicted for a new one).
pub const ASSEMBLING_SLOTS_MAX: usize = 64;
/// FEC-set roots whose signature check is remembered.
const VERIFIED_ROOTS_MAX: usize = 4_096;
/// The default children per node in a shred's tree (Solana's data-plane fan-out).
pub const TURBINE_FANOUT_DEFAULT: usize = 200;

/// A shred for one peer: its identity and the shred's bytes.
pub type ShredSend = (Ed25519PublicKey, Vec<u8>);

/// What one received shred led to.
#[derive(Debug, Default)]
pub struct Received {
    /// The shred's bytes for this node's children in its tree.
    pub forwards: Vec<ShredSend>,
    /// The block it completed, with the TC of its round.
    pub block: Option<(Block, Option<TimeoutCertificate>)>,
}

/// Counters, rendered under `aether_turbine_*`.
#[derive(Debug, Default, Clone)]
pub struct BroadcastCounts {
    /// Shreds this node made as leader.
    pub shreds_sent: u64,
    /// Shreds received from peers.
    pub shreds_received: u64,
    /// Shred sends to children (one per child).
    pub retransmitted: u64,
    /// Blocks reassembled from shreds.
    pub blocks_assembled: u64,
    /// Shreds refused, by reason.
    pub dropped: HashMap<&'static str, u64>,
}

/// One validator's Turbine: leader-side shredding and receiver-side checks. See the
/// module docs.
pub struct BlockBroadcast {
    me: Ed25519PublicKey,
    signer: Arc<Ed25519SecretKey>,
    /// Validator identities, by validator index.
    identities: Vec<Ed25519PublicKey>,
    trees: TreeBuilder,
    shredder: ShredderConfig,
    shred_version: u16,
    verifier: ShredVerifier,
    retransmitter: Retransmitter,
    assemblers: BTreeMap<u64, SlotAssembler>,
    /// Slots at or below this are final here: their shreds are not needed.
    final_slot: u64,
    counts: BroadcastCounts,
}

impl BlockBroadcast {
    /// Turbine for the validator signing with `signer`, in a cluster of `validators`
    /// (identity and stake, by validator index), with `fanout` children per node.
    pub fn new(
        signer: Arc<Ed25519SecretKey>,
        validators: &[ClusterNode],
        fanout: NonZeroUsize,
        shred_version: u16,
    ) -> Result<Self, ClusterError> {
        let me = signer.public_key();
        Ok(Self {
            me,
            signer,
            identities: validators.iter().map(|node| node.identity).collect(),
            trees: TreeBuilder::new(ClusterNodes::new(validators)?, fanout),
            shredder: ShredderConfig::default(),
            shred_version,
            verifier: ShredVerifier::new(VERIFIED_ROOTS_MAX),
            retransmitter: Retransmitter::new(me, RetransmitConfig::default()),
            assemblers: BTreeMap::new(),
            final_slot: 0,
            counts: BroadcastCounts::default(),
        })
    }

    /// Counters so far.
    pub fn counts(&self) -> &BroadcastCounts {
        &self.counts
    }

    /// Slots up to `slot` are final: their assemblers and dedup memory go.
    pub fn set_final_slot(&mut self, slot: u64) {
        if slot <= self.final_slot {
            return;
        }
        self.final_slot = slot;
        self.assemblers = self.assemblers.split_off(&(slot + 1));
        self.retransmitter.set_floor(slot + 1);
    }

    /// This leader's shreds of `block` (with the TC of its round), each addressed to
    /// the root of its tree.
    pub fn shred(
        &mut self,
        block: &Block,
        tc: &Option<TimeoutCertificate>,
    ) -> Result<Vec<ShredSend>, ShredError> {
        let header = &block.header.header;
        let payload = ClusterMessage::Proposal {
            block: Box::new(block.clone()),
            tc: tc.clone(),
        }
        .to_frame()
        .1;
        let context = SlotContext {
            slot: header.slot,
            parent_slot: header.parent_slot,
            shred_version: self.shred_version,
        };
        let shreds = shred_block(&payload, &context, &self.shredder, &self.signer)?;
        let sends: Vec<ShredSend> = shreds
            .into_iter()
            .filter_map(|shred| {
                let root = *self.trees.tree(&shred_id(&shred), &self.me).root()?;
                Some((root, shred.into_bytes()))
            })
            .collect();
        self.counts.shreds_sent += sends.len() as u64;
        Ok(sends)
    }

    /// A shred from a peer; `leader_of` names a slot's scheduled leader (`None` when its
    /// epoch's nonce is not known here).
    pub fn on_shred(
        &mut self,
        bytes: &[u8],
        leader_of: impl Fn(u64) -> Option<ValidatorIndex>,
    ) -> Received {
        self.counts.shreds_received += 1;
        let mut received = Received::default();
        let Ok(shred) = Shred::decode(bytes) else {
            self.count_drop("undecodable");
            return received;
        };
        let slot = shred.header().slot;
        if slot <= self.final_slot {
            self.count_drop("too_old");
            return received;
        }
        let Some(leader) = leader_of(slot)
            .and_then(|leader| self.identities.get(leader.0 as usize))
            .copied()
        else {
            self.count_drop("unknown_leader");
            return received;
        };
        if leader == self.me {
            self.count_drop("own_shred");
            return received;
        }
        let verified = match self.verifier.verify(shred, &leader) {
            Ok(verified) => verified,
            Err(VerifyError::MerkleProofMismatch { .. }) => {
                self.count_drop("merkle");
                return received;
            }
            Err(VerifyError::SignatureInvalid { .. }) => {
                self.count_drop("signature");
                return received;
            }
        };
        match self
            .retransmitter
            .on_shred(verified.shred().header(), &leader, &self.trees)
        {
            RetransmitDecision::Forward(children) => {
                self.counts.retransmitted += children.len() as u64;
                received.forwards = children
                    .into_iter()
                    .map(|child| (child, bytes.to_vec()))
                    .collect();
            }
            // Seen before: the assembler holds it already.
            RetransmitDecision::Drop(reason) => {
                self.count_drop(reason.label());
                return received;
            }
        }
        if !self.assemblers.contains_key(&slot) && self.assemblers.len() >= ASSEMBLING_SLOTS_MAX {
            self.assemblers.pop_first();
        }
        let assembler = self
            .assemblers
            .entry(slot)
            .or_insert_with(|| SlotAssembler::new(slot, AssemblerLimits::default()));
        match assembler.insert(verified) {
            Ok(InsertOutcome::BlockComplete(payload)) => {
                match ClusterMessage::from_frame(MessageKind::Proposal, &payload) {
                    Ok(ClusterMessage::Proposal { block, tc })
                        if block.header.header.slot == slot =>
                    {
                        self.counts.blocks_assembled += 1;
                        received.block = Some((*block, tc));
                    }
                    _ => self.count_drop("bad_block"),
                }
            }
            Ok(_) => {}
            Err(_) => self.count_drop("assemble"),
        }
        received
    }

    fn count_drop(&mut self, reason: &'static str) {
        *self.counts.dropped.entry(reason).or_default() += 1;
    }
}

fn shred_id(shred: &Shred) -> ShredId {
    let header = shred.header();
    ShredId {
        slot: header.slot,
        kind: header.kind,
        index: header.index,
    }
}

#[cfg(test)]
mod tests;
