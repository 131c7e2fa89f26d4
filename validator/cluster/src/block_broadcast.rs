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
//! **Repair** ([`BlockBroadcast::repair_requests`], [`BlockBroadcast::on_repair_request`],
//! [`BlockBroadcast::on_repair_response`]; see [`crate::shred_repair`]): a slot still
//! incomplete [`REPAIR_DELAY_MS`] after its first shred is completed by signed
//! requests, per FEC set for exactly the shreds it lacks, to stake-weighted peers;
//! peers answer from the leader-signed shreds they sent or received recently, after
//! `aether-turbine`'s server checks (recipient, time window, known requester,
//! signature, replay, per-requester rate). A repaired shred goes through the same
//! checks as a Turbine one, but is not forwarded.
//!
//! Invariants: memory is bounded (assemblers for [`ASSEMBLING_SLOTS_MAX`] slots, the
//! lowest evicted first; the verifier's cache and the retransmitter's slots are bounded
//! by their crates); every refused shred is counted under one stable label and changes
//! nothing; a block is handed out at most once per slot. A block too far from its parent
//! for a shred header (65,535 slots) cannot be shredded: the caller sends it whole.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::NonZeroUsize;
use std::sync::Arc;

use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey};
use aether_network::MessageKind;
use aether_shred::{
    AssemblerLimits, InsertOutcome, Shred, ShredError, ShredVerifier, ShredderConfig,
    SlotAssembler, SlotContext, VerifyError, shred_block,
};
use aether_turbine::{
    ClusterError, ClusterNode, ClusterNodes, RepairPlanner, RepairResponse, RepairServer,
    RepairServerConfig, RetransmitConfig, RetransmitDecision, Retransmitter, ShredId,
    SignedRepairRequest, TreeBuilder,
};
use aether_types::codec::{Decode, Reader, encode};
use aether_types::{Block, TimeoutCertificate, ValidatorIndex};

use crate::shred_repair::{AssemblerView, REPAIR_DELAY_MS, REPAIR_INTERVAL_MS, RecentShreds};

/// A Turbine tree member: identity and stake.
pub use aether_turbine::ClusterNode as TurbineNode;

use crate::wire::ClusterMessage;

/// Slots whose shreds are assembled at once (the lowest is evicted for a new one).
pub const ASSEMBLING_SLOTS_MAX: usize = 64;
/// Shreds of slots more than this many slots past the current round are assembled but
/// not forwarded, kept for repair or repaired, and give way to nearer slots when the
/// memory is full: a leader of far-future slots cannot push out the slots being decided
/// now, and a validator catching up (its round behind) still rebuilds current blocks.
pub const FUTURE_SLOTS_MAX: u64 = 16;
/// Highest shred index accepted (as the retransmitter tracks).
const SHRED_INDEX_MAX: u32 = 32_768;
/// Repair requests remembered, so that only solicited answers are taken.
const OUTSTANDING_REPAIRS_MAX: usize = 8_192;
/// How long answers to one repair request are taken.
const REPAIR_ANSWER_WINDOW_MS: u64 = 2_000;
/// Slots remembered as delivered (above the final slot).
const DELIVERED_SLOTS_MAX: usize = 1_024;
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
    /// Repair requests sent to peers.
    pub repair_requests_sent: u64,
    /// Shreds received in answer to repair requests.
    pub repaired_shreds: u64,
    /// Peers' repair requests answered.
    pub repair_requests_served: u64,
    /// Shreds sent in answer to peers' repair requests.
    pub repair_shreds_served: u64,
    /// Peers' repair requests refused, by reason.
    pub repair_dropped: HashMap<&'static str, u64>,
}

/// Which way a shred came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrival {
    /// Down a Turbine tree: forwarded to this node's children.
    Turbine,
    /// In answer to this node's repair request about this slot: kept, not forwarded.
    Repair(u64),
}

/// When a slot's shreds started arriving and when its missing ones were last asked for.
#[derive(Debug, Clone, Copy)]
struct RepairTiming {
    first_shred_ms: u64,
    asked_ms: Option<u64>,
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
    /// Per assembling slot: repair timing (same keys as `assemblers`).
    timings: BTreeMap<u64, RepairTiming>,
    /// Slots at or below this are final here: their shreds are not needed.
    final_slot: u64,
    /// The consensus round now: shreds beyond it by [`FUTURE_SLOTS_MAX`] are refused.
    round: u64,
    /// Slots whose block was handed out already (above `final_slot`).
    delivered: BTreeSet<u64>,
    /// Nonces of repair requests in flight: their slot and until when answers count.
    outstanding: BTreeMap<u32, (u64, u64)>,
    /// Leader-signed shreds kept to answer peers' repairs.
    recent: RecentShreds,
    planner: RepairPlanner,
    server: RepairServer,
    /// Nonce of the next repair request.
    next_nonce: u32,
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
        let cluster = ClusterNodes::new(validators)?;
        let identities: Vec<_> = validators.iter().map(|node| node.identity).collect();
        let mut server = RepairServer::new(me, RepairServerConfig::default());
        server.set_known_requesters(identities.iter().copied(), 0);
        Ok(Self {
            me,
            signer,
            identities,
            planner: RepairPlanner::new(&cluster, &me),
            trees: TreeBuilder::new(cluster, fanout),
            shredder: ShredderConfig::default(),
            shred_version,
            verifier: ShredVerifier::new(VERIFIED_ROOTS_MAX),
            retransmitter: Retransmitter::new(me, RetransmitConfig::default()),
            assemblers: BTreeMap::new(),
            timings: BTreeMap::new(),
            final_slot: 0,
            round: 0,
            delivered: BTreeSet::new(),
            outstanding: BTreeMap::new(),
            recent: RecentShreds::default(),
            server,
            next_nonce: 0,
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
        self.timings = self.timings.split_off(&(slot + 1));
        self.delivered = self.delivered.split_off(&(slot + 1));
        self.retransmitter.set_floor(slot + 1);
    }

    /// The consensus round now (shreds far past it are refused).
    pub fn set_round(&mut self, round: u64) {
        self.round = self.round.max(round);
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
        for shred in &shreds {
            self.recent.insert(shred.header(), shred.as_bytes());
        }
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

    /// A shred from a peer down a Turbine tree, at `now_ms` (the caller's monotonic
    /// clock); `leader_of` names a slot's scheduled leader (`None` when its epoch's
    /// nonce is not known here).
    pub fn on_shred(
        &mut self,
        bytes: &[u8],
        leader_of: impl Fn(u64) -> Option<ValidatorIndex>,
        now_ms: u64,
    ) -> Received {
        self.counts.shreds_received += 1;
        self.accept(bytes, leader_of, now_ms, Arrival::Turbine)
    }

    /// Forgets repair requests whose answer window closed, and makes room for one more.
    fn expire_outstanding(&mut self, now_ms: u64) {
        self.outstanding
            .retain(|_, (_, until_ms)| *until_ms >= now_ms);
        while self.outstanding.len() >= OUTSTANDING_REPAIRS_MAX {
            self.outstanding.pop_first();
        }
    }

    /// A peer's answer to one of this node's repair requests: a shred and the nonce.
    pub fn on_repair_response(
        &mut self,
        bytes: &[u8],
        leader_of: impl Fn(u64) -> Option<ValidatorIndex>,
        now_ms: u64,
    ) -> Received {
        let mut reader = Reader::new(bytes);
        let Ok(response) = RepairResponse::decode_from(&mut reader) else {
            self.count_drop("undecodable");
            return Received::default();
        };
        // Only answers to requests in flight, for the slot asked about.
        let Some(&(slot, until_ms)) = self.outstanding.get(&response.nonce) else {
            self.count_drop("unsolicited");
            return Received::default();
        };
        if now_ms > until_ms {
            self.count_drop("unsolicited");
            return Received::default();
        }
        self.counts.repaired_shreds += 1;
        self.accept(&response.shred, leader_of, now_ms, Arrival::Repair(slot))
    }

    /// A peer's repair request, at `wallclock_ms` (milliseconds since the Unix epoch,
    /// what request timestamps are checked against): the answers for the sender, each
    /// a `RepairResponse` payload. A refused request is counted and answered with
    /// nothing.
    pub fn on_repair_request(
        &mut self,
        bytes: &[u8],
        sender: &Ed25519PublicKey,
        wallclock_ms: u64,
    ) -> Vec<Vec<u8>> {
        // Answers go to the connection's peer: it must be the requester that signed.
        let requester = SignedRepairRequest::decode_from(&mut Reader::new(bytes))
            .map(|request| request.header.requester);
        if requester.is_ok_and(|requester| requester != *sender) {
            *self
                .counts
                .repair_dropped
                .entry("requester_mismatch")
                .or_default() += 1;
            return Vec::new();
        }
        match self.server.handle(bytes, wallclock_ms, &self.recent) {
            Ok(responses) => {
                self.counts.repair_requests_served += 1;
                self.counts.repair_shreds_served += responses.len() as u64;
                responses.iter().map(encode).collect()
            }
            Err(reason) => {
                *self
                    .counts
                    .repair_dropped
                    .entry(reason.label())
                    .or_default() += 1;
                Vec::new()
            }
        }
    }

    /// Signed repair requests for every slot whose shreds stopped short: each slot at
    /// most every [`REPAIR_INTERVAL_MS`], starting [`REPAIR_DELAY_MS`] after its first
    /// shred. `now_ms` is the caller's monotonic clock, `wallclock_ms` the request
    /// timestamp.
    pub fn repair_requests(&mut self, now_ms: u64, wallclock_ms: u64) -> Vec<ShredSend> {
        let mut planned = Vec::new();
        for (slot, assembler) in &self.assemblers {
            let Some(timing) = self.timings.get_mut(slot) else {
                continue;
            };
            let due = match timing.asked_ms {
                None => now_ms >= timing.first_shred_ms + REPAIR_DELAY_MS,
                Some(asked) => now_ms >= asked + REPAIR_INTERVAL_MS,
            };
            if assembler.is_complete() || !due {
                continue;
            }
            timing.asked_ms = Some(now_ms);
            let seed = *blake3::hash(&now_ms.to_le_bytes()).as_bytes();
            planned.extend(
                self.planner
                    .plan(&AssemblerView(assembler), &seed)
                    .into_iter()
                    .map(|repair| (*slot, repair)),
            );
        }
        let mut sends = Vec::with_capacity(planned.len());
        for (slot, repair) in planned {
            let nonce = self.next_nonce;
            self.next_nonce = self.next_nonce.wrapping_add(1);
            self.expire_outstanding(now_ms);
            self.outstanding
                .insert(nonce, (slot, now_ms + REPAIR_ANSWER_WINDOW_MS));
            let request = SignedRepairRequest::sign(
                &self.signer,
                repair.peer,
                wallclock_ms,
                nonce,
                repair.request,
            );
            sends.push((repair.peer, encode(&request)));
        }
        self.counts.repair_requests_sent += sends.len() as u64;
        sends
    }

    fn accept(
        &mut self,
        bytes: &[u8],
        leader_of: impl Fn(u64) -> Option<ValidatorIndex>,
        now_ms: u64,
        arrival: Arrival,
    ) -> Received {
        let mut received = Received::default();
        let Ok(shred) = Shred::decode(bytes) else {
            self.count_drop("undecodable");
            return received;
        };
        let header = *shred.header();
        let slot = header.slot;
        if slot <= self.final_slot {
            self.count_drop("too_old");
            return received;
        }
        // Slots past the window are what a validator catching up sees (its round is
        // behind the cluster's) or what a leader of future slots could flood with: they
        // are assembled, but not forwarded, served or repaired, and they give way to
        // slots inside the window when memory is full.
        let window_end = self.round.saturating_add(FUTURE_SLOTS_MAX);
        let near = slot <= window_end;
        if header.index >= SHRED_INDEX_MAX {
            self.count_drop("index_out_of_range");
            return received;
        }
        if matches!(arrival, Arrival::Repair(asked) if asked != slot) {
            self.count_drop("unsolicited");
            return received;
        }
        if self.delivered.contains(&slot) {
            self.count_drop("already_delivered");
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
        if arrival == Arrival::Turbine && near {
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
        }
        if !self.assemblers.contains_key(&slot) && self.assemblers.len() >= ASSEMBLING_SLOTS_MAX {
            let highest = self
                .assemblers
                .last_key_value()
                .map_or(0, |(&highest, _)| highest);
            let evicted = if highest > window_end {
                // Slots past the window go first, the furthest first.
                if slot >= highest {
                    self.count_drop("too_far_ahead");
                    return received;
                }
                self.assemblers.pop_last()
            } else {
                self.assemblers.pop_first()
            };
            if let Some((evicted, _)) = evicted {
                self.timings.remove(&evicted);
            }
        }
        if near {
            self.timings.entry(slot).or_insert(RepairTiming {
                first_shred_ms: now_ms,
                asked_ms: None,
            });
        }
        let assembler = self
            .assemblers
            .entry(slot)
            .or_insert_with(|| SlotAssembler::new(slot, AssemblerLimits::default()));
        let outcome = assembler.insert(verified);
        // Kept for peers' repairs only once the assembler took it (same set root, free
        // position): what it refuses is never served.
        if near
            && matches!(
                outcome,
                Ok(InsertOutcome::Stored
                    | InsertOutcome::SetComplete { .. }
                    | InsertOutcome::BlockComplete(_))
            )
        {
            self.recent.insert(&header, bytes);
        }
        match outcome {
            Ok(InsertOutcome::BlockComplete(payload)) => {
                self.delivered.insert(slot);
                if self.delivered.len() > DELIVERED_SLOTS_MAX {
                    self.delivered.pop_first();
                }
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
pub(crate) mod tests;
